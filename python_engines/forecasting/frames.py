"""Between long frames (one row per host, resource and day) and per-series arrays, without per-row Python."""

from __future__ import annotations

import itertools
from datetime import date

import numpy as np
import polars as pl

from python_engines.forecasting.series import Series

INPUT_COLUMNS = ("host_id", "resource", "ds", "y", "is_imputed")


def series_from_frame(frame: pl.DataFrame) -> list[Series]:
    """Split a long ``processed_data``-shaped frame into one :class:`Series` per (host_id, resource)."""
    missing = [c for c in INPUT_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"input is missing columns {missing}")
    frame = frame.select(
        pl.col("host_id").cast(pl.String),
        pl.col("resource").cast(pl.String),
        pl.col("ds").cast(pl.Date),
        pl.col("y").cast(pl.Float64).fill_nan(None),
        pl.col("is_imputed").cast(pl.Boolean).fill_null(False),
    )
    if frame.is_empty():
        return []
    frame = frame.sort("host_id", "resource", "ds").with_columns(
        pl.struct("host_id", "resource").rle_id().alias("series_id")
    )
    series_id = frame["series_id"].to_numpy()
    ds = frame["ds"].to_numpy().astype("datetime64[D]")
    repeated_day = np.r_[False, (series_id[1:] == series_id[:-1]) & (ds[1:] == ds[:-1])]
    if repeated_day.any():  # keep the first row of a repeated (host_id, resource, ds)
        frame = frame.filter(pl.Series(~repeated_day))
        series_id, ds = series_id[~repeated_day], ds[~repeated_day]
    starts = np.flatnonzero(np.r_[True, series_id[1:] != series_id[:-1]])
    bounds = np.r_[starts, frame.height]
    hosts = frame["host_id"].gather(starts).to_list()
    resources = frame["resource"].gather(starts).to_list()
    y = frame["y"].to_numpy().astype(np.float64)
    imputed = frame["is_imputed"].to_numpy()
    return [
        Series(hosts[i], resources[i], ds[a:b], y[a:b], imputed[a:b])
        for i, (a, b) in enumerate(itertools.pairwise(bounds))
    ]


def history_bounds(frame: pl.DataFrame) -> tuple[date, date]:
    """First and last day of the data (the default history window)."""
    first, last = frame.select(pl.col("ds").min(), pl.col("ds").max()).row(0)
    if first is None:
        raise ValueError("no rows to forecast")
    return first, last

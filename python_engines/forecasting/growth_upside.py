"""Compounding growth as the golden band's upside: one curve fit per series, for ``int_series_growth_upside``.

Prophet continues a compounding curve as its point forecast only on strong evidence
(``ProphetSettings.growth_evidence``): a curve continued where none is coming is a false breach alarm in the
point forecast itself. Below that bar the curve can still be as likely as a line or a hinge (BIC), and then
an 80% band drawn around the line alone is too narrow on one side: growth that compounds slowly (doubling
every 100-170 days from a few points over its floor) looks almost straight over the history and more than
doubles in the next 180 days. On stress seeds 47-58 such series were most of the compounding family's
misses (its band covered 0.51-0.76 of the future).

So every series' last ``growth_window`` days are fitted once with the same curve search Prophet uses
(:func:`.prophet_engine.compounding_fit`), whatever its champion, and ``forecasts`` lifts the champion's
upper bound to the curve plus the band's own upper half-width wherever the curve is at least as likely as
its rivals (var ``growth_upside_min_evidence``). The point forecast and the lower bound are untouched: the
curve is a plausible upside, not the expected path.

Memory: only the window is read, keyed by a dense series number (int32, int16, float32 per row), and the
curve search runs one series at a time over numpy slices (a loop over series, never over rows).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from python_engines.forecasting.prophet_engine import ProphetSettings, compounding_fit

log = logging.getLogger(__name__)

#: Columns of ``int_series_growth_upside``.
UPSIDE_SCHEMA = pa.schema(
    [
        ("host_id", pa.string()),
        ("resource", pa.string()),
        ("anchor_date", pa.date32()),
        ("observed_days", pa.int32()),
        ("curve_floor", pa.float64()),
        ("curve_scale", pa.float64()),
        ("growth_rate", pa.float64()),
        ("doubling_days", pa.float64()),
        ("evidence", pa.float64()),
    ]
)


@dataclass(frozen=True)
class UpsideSettings:
    """The curve search: Prophet's own window and doubling-time grid, and the share of the window's days
    that must be observed (Prophet's rule too)."""

    window_days: int = ProphetSettings.growth_window
    doubling_days: tuple[float, float] = ProphetSettings.doubling_days
    min_observed_share: float = 0.6

    @property
    def min_observed(self) -> int:
        return int(np.ceil(self.min_observed_share * self.window_days))


def _numbered(processed: Any, history_end: date, window_days: int) -> Any:
    """The observed days of each series' last ``window_days`` up to ``history_end``, with a dense series
    number (by host_id, resource) and the day relative to the series' last observed day (``x`` <= 0)."""
    first = history_end - timedelta(days=window_days)
    window = processed.filter(
        f"not is_imputed and y is not null and ds > DATE '{first.isoformat()}' "
        f"and ds <= DATE '{history_end.isoformat()}'"
    ).project("cast(host_id as varchar) as host_id, cast(resource as varchar) as resource, ds, y")
    return window.query(
        "window_points",
        """
        select
            cast(dense_rank() over (order by host_id, resource) - 1 as integer) as series_no,
            host_id,
            resource,
            max(ds) over (partition by host_id, resource) as anchor_date,
            ds,
            y
        from window_points
        """,
    )


def fit_upsides(
    series_no: np.ndarray, x: np.ndarray, y: np.ndarray, settings: UpsideSettings
) -> dict[int, tuple[float, float, float, float]]:
    """``series_no -> (floor, scale, rate, evidence)`` for every series with enough observed days whose best
    curve rises. ``series_no`` must be sorted (rows of one series together)."""
    starts = np.flatnonzero(np.r_[True, series_no[1:] != series_no[:-1]])
    ends = np.r_[starts[1:], series_no.size]
    fits: dict[int, tuple[float, float, float, float]] = {}
    for start, end in zip(starts, ends, strict=True):  # one curve search per series
        if end - start < settings.min_observed:
            continue
        fit = compounding_fit(x[start:end].astype(np.float64), y[start:end].astype(np.float64), settings.doubling_days)
        if fit is not None:
            curve, evidence = fit
            fits[int(series_no[start])] = (curve.floor, curve.scale, curve.rate, evidence)
    return fits


def upside_table(processed: Any, history_end: date, settings: UpsideSettings) -> pa.Table:
    """One row per series (of the DuckDB relation ``processed``, shaped like ``processed_data``) whose recent
    growth fits a rising compounding curve, at any evidence: ``forecasts`` applies the bar."""
    started = time.perf_counter()
    numbered = _numbered(processed, history_end, settings.window_days)
    points = numbered.query(
        "numbered",
        "select series_no, cast(datediff('day', anchor_date, ds) as smallint) as x, cast(y as float) as y "
        "from numbered order by series_no, x",
    ).to_arrow_table()
    if points.num_rows == 0:
        return UPSIDE_SCHEMA.empty_table()
    fits = fit_upsides(
        points.column("series_no").to_numpy(), points.column("x").to_numpy(), points.column("y").to_numpy(), settings
    )
    del points
    keys = numbered.query(
        "numbered",
        "select series_no, any_value(host_id) as host_id, any_value(resource) as resource, "
        "any_value(anchor_date) as anchor_date, cast(count(*) as integer) as observed_days "
        "from numbered group by series_no order by series_no",
    ).to_arrow_table()
    keep = np.array([number in fits for number in keys.column("series_no").to_pylist()], dtype=bool)
    rows = np.flatnonzero(keep)
    values = np.array([fits[number] for number in keys.column("series_no").take(rows).to_pylist()], dtype=np.float64)
    values = values.reshape(-1, 4)
    table = pa.table(
        {
            "host_id": keys.column("host_id").take(rows),
            "resource": keys.column("resource").take(rows),
            "anchor_date": keys.column("anchor_date").take(rows),
            "observed_days": keys.column("observed_days").take(rows),
            "curve_floor": values[:, 0],
            "curve_scale": values[:, 1],
            "growth_rate": values[:, 2],
            "doubling_days": np.log(2.0) / values[:, 2],
            "evidence": values[:, 3],
        }
    ).cast(UPSIDE_SCHEMA)
    log.info(
        "growth upside: %d of %d series fit a rising compounding curve, %d of them at evidence >= 0 (%.1f s)",
        table.num_rows,
        keys.num_rows,
        int((values[:, 3] >= 0).sum()),
        time.perf_counter() - started,
    )
    return table

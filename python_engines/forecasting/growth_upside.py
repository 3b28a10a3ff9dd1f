"""Compounding growth as the golden band's upside: one curve fit per series, for ``int_series_growth_upside``.

Prophet continues a compounding curve as its point forecast only on strong evidence
(``ProphetSettings.growth_evidence`` over the window, or over two years for a young curve the window still
fits: ``prophet_engine.young_curve``): a curve continued where none is coming is a false breach alarm in the
point forecast itself. Below that bar the curve can still be as likely as a line or a hinge (BIC), and then
an 80% band drawn around the line alone is too narrow on one side: growth that compounds slowly (doubling
every 100-170 days from a few points over its floor) looks almost straight over the history and more than
doubles in the next 180 days. On stress seeds 47-58 such series were most of the compounding family's
misses (its band covered 0.51-0.76 of the future).

So every series' last ``growth_window`` days are fitted once with the same curve search Prophet uses
(:func:`.prophet_engine.compounding_fit`), whatever its champion, and ``forecasts`` lifts the champion's
upper bound to the curve plus the band's own upper half-width wherever the curve is at least as likely as
its rivals (var ``growth_upside_min_evidence``). The point forecast and the lower bound are untouched: the
curve is a plausible upside, not the expected path. Those curves, and only those, are then read over the last
two years where they still fit the window, as Prophet reads its own (:func:`.prophet_engine.longer_curve`).

Memory and passes: the window is read once, sorted by series and day (int16 and float32 per row; a series'
keys only on its first row), and the curve search runs one series at a time over numpy slices (a loop over
series, never over rows); a second read fetches two years of just the hosts whose curve reached the bar (151
of 8,000 series on the default fleet).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from python_engines.forecasting.prophet_engine import MOSTLY_OBSERVED, ProphetSettings, compounding_fit, longer_curve

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
    min_observed_share: float = MOSTLY_OBSERVED
    fit_window_days: int | None = ProphetSettings.growth_fit_window
    fit_tolerance: float = ProphetSettings.growth_fit_tolerance
    # Curves are read over the longer window only where the window's evidence reaches this (the bar
    # `forecasts` applies, var growth_upside_min_evidence; None: nowhere): the others are never used, and the
    # longer search is most of the model's time.
    refit_min_evidence: float | None = 0.0

    @property
    def min_observed(self) -> int:
        return int(np.ceil(self.min_observed_share * self.window_days))

    @property
    def read_days(self) -> int:
        """Days read per series: the window, or the longer one its curve is read over once found."""
        if self.refit_min_evidence is None:
            return self.window_days
        return max(self.window_days, self.fit_window_days or 0)

    def prophet(self) -> ProphetSettings:
        """Prophet's settings for the same curve search (:func:`.prophet_engine.longer_curve`)."""
        return ProphetSettings(
            growth_window=self.window_days,
            doubling_days=self.doubling_days,
            growth_fit_window=self.fit_window_days,
            growth_fit_tolerance=self.fit_tolerance,
        )


def _window_points(processed: Any, history_end: date, window_days: int) -> pa.Table:
    """The observed days of each series' last ``window_days`` up to ``history_end`` in one pass, sorted by
    series and day: ``x`` (days relative to the series' last observed day, <= 0) and ``y``, with the series'
    host_id, resource and anchor date (its last observed day) on its first row only (null on the others, so
    that the keys cost nothing per row)."""
    first = history_end - timedelta(days=window_days)
    window = processed.filter(
        f"not is_imputed and y is not null and ds > DATE '{first.isoformat()}' "
        f"and ds <= DATE '{history_end.isoformat()}'"
    ).project("cast(host_id as varchar) as host_id, cast(resource as varchar) as resource, ds, y")
    return window.query(
        "window_points",
        """
        with dated as (
            select
                host_id,
                resource,
                datediff('day', max(ds) over (partition by host_id, resource), ds) as x,
                max(ds) over (partition by host_id, resource) as anchor_date,
                y
            from window_points
        )
        select
            case when x = min(x) over (partition by host_id, resource) then host_id end as host_id,
            case when x = min(x) over (partition by host_id, resource) then resource end as resource,
            case when x = min(x) over (partition by host_id, resource) then anchor_date end as anchor_date,
            cast(x as smallint) as x,
            cast(y as float) as y
        from dated
        order by dated.host_id, dated.resource, dated.x
        """,
    ).to_arrow_table()


def fit_upsides(starts: np.ndarray, x: np.ndarray, y: np.ndarray, settings: UpsideSettings) -> np.ndarray:
    """``(floor, scale, rate, evidence, days fitted)`` per series, one row per series whose rows begin at
    ``starts`` (rows of one series together, in day order); NaN for a series with too few observed days in the
    window or whose best curve there falls. Evidence is the window's; where it reaches ``refit_min_evidence``
    the curve is read over the longer window if it still fits the window (:func:`.prophet_engine.longer_curve`).
    """
    ends = np.r_[starts[1:], x.size]
    fits = np.full((starts.size, 5), np.nan)
    prophet = settings.prophet()
    for i, (start, end) in enumerate(zip(starts, ends, strict=True)):  # one curve search per series
        days, values = x[start:end].astype(np.float64), y[start:end].astype(np.float64)
        recent = days > -settings.window_days
        if recent.sum() < settings.min_observed:
            continue
        fit = compounding_fit(days[recent], values[recent], settings.doubling_days)
        if fit is not None:
            curve, evidence = fit
            refit = settings.refit_min_evidence is not None and evidence >= settings.refit_min_evidence
            longer = longer_curve(days, values, curve, prophet) if refit else curve
            fitted = days.size if longer is not curve else int(recent.sum())
            fits[i] = (longer.floor, longer.scale, longer.rate, evidence, fitted)
    return fits


def _fit_table(points: pa.Table, settings: UpsideSettings) -> pa.Table:
    """The rows of :func:`upside_table` from the points of :func:`_window_points`."""
    starts = np.flatnonzero(points.column("host_id").is_valid().to_numpy(zero_copy_only=False))
    values = fit_upsides(starts, points.column("x").to_numpy(), points.column("y").to_numpy(), settings)
    fitted = np.flatnonzero(~np.isnan(values[:, 3]))
    rows = starts[fitted]
    values = values[fitted]
    return pa.table(
        {
            "host_id": points.column("host_id").take(rows),
            "resource": points.column("resource").take(rows),
            "anchor_date": points.column("anchor_date").take(rows),
            "observed_days": values[:, 4].astype(np.int32),
            "curve_floor": values[:, 0],
            "curve_scale": values[:, 1],
            "growth_rate": values[:, 2],
            "doubling_days": np.log(2.0) / values[:, 2],
            "evidence": values[:, 3],
        }
    ).cast(UPSIDE_SCHEMA)


def _read_longer(processed: Any, history_end: date, table: pa.Table, settings: UpsideSettings) -> pa.Table:
    """``table`` with the curves whose evidence reaches ``refit_min_evidence`` read again over the longer
    window: a second, narrow read of just their hosts (a few percent of a fleet), so the window pass over every
    series stays as cheap as before."""
    chosen = pl.from_arrow(table).filter(pl.col("evidence") >= settings.refit_min_evidence)
    if chosen.height == 0:
        return table
    hosts = ", ".join("'" + host.replace("'", "''") + "'" for host in chosen["host_id"].unique().sort())
    points = _window_points(processed.filter(f"cast(host_id as varchar) in ({hosts})"), history_end, settings.read_days)
    longer = pl.from_arrow(_fit_table(points, settings)).join(
        chosen.select("host_id", "resource"), on=["host_id", "resource"], how="semi"
    )
    return pl.from_arrow(table).update(longer, on=["host_id", "resource"]).to_arrow().cast(UPSIDE_SCHEMA)


def upside_table(processed: Any, history_end: date, settings: UpsideSettings) -> pa.Table:
    """One row per series (of the DuckDB relation ``processed``, shaped like ``processed_data``) whose recent
    growth fits a rising compounding curve, at any evidence: ``forecasts`` applies the bar."""
    started = time.perf_counter()
    points = _window_points(processed, history_end, settings.window_days)
    if points.num_rows == 0:
        return UPSIDE_SCHEMA.empty_table()
    series = int(points.column("host_id").is_valid().to_numpy(zero_copy_only=False).sum())
    table = _fit_table(points, settings)  # the window's days only: every curve is the window's
    if settings.read_days > settings.window_days:
        table = _read_longer(processed, history_end, table, settings)
    evidence = table.column("evidence").to_numpy()
    log.info(
        "growth upside: %d of %d series fit a rising compounding curve, %d of them at evidence >= 0 (%.1f s)",
        table.num_rows,
        series,
        int((evidence >= 0).sum()),
        time.perf_counter() - started,
    )
    return table

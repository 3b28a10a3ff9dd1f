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
curve is a plausible upside, not the expected path. Those curves are then read over the last two years where
they still fit the window, as Prophet reads its own (:func:`.prophet_engine.longer_curve`).

Some compounding growth still bends too little over 36 weeks to beat a line there (slow, or still a few
points over its floor), yet clearly over two years (stress seeds 1-5: 35 of 200 compounding series were
under the bar in the window, their actual above the band on 14-82% of the days below 100, worse each month).
So the two years are also searched afresh (:func:`.prophet_engine.longer_reading`): where that curve is at
least as likely as a line and a hinge over the two years (``long_evidence`` at the same bar) and still keeps,
over the window, at least the chance an 80% band leaves above its upper bound against the window's own line
and hinge (``UpsideSettings.window_min_evidence``), it is the series' upside too. Growth that stopped a few
months ago fails the second test, and a ramp that began within the two years (a hinge) the first.

Memory and passes: the fleet is read ``block_hosts`` hosts at a time over the longer window, sorted by series
and day (int16 and float32 per row; a series' keys only on its first row), and the curve searches run one
series at a time over numpy slices (a loop over series, never over rows).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from python_engines.forecasting.prophet_engine import (
    MOSTLY_OBSERVED,
    ProphetSettings,
    compounding_fit,
    doubling_grid,
    longer_reading,
    rivals_bic,
    staircase_growth,
)
from python_engines.forecasting.streaming import RelationSource

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
        ("is_edge_rate", pa.bool_()),
        ("evidence", pa.float64()),
        ("long_evidence", pa.float64()),
        ("staircase_steps", pa.int32()),
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
    # The bar `forecasts` applies (var growth_upside_min_evidence; None: no curve is used, and none is read over
    # the longer window). A curve reaching it over the window is read over the longer window if it still fits
    # the window; a series under it there is read over the longer window afresh (long_evidence).
    min_evidence: float | None = 0.0
    # The golden band's central share (var interval_width): a two-year curve must keep at least the chance the
    # band leaves above it, (1 - interval_width) / 2, against the window's own line and hinge.
    interval_width: float = 0.8
    # Hosts read and fitted at a time over the longer window, so memory stays flat on 20,000-host fleets. On
    # the default fleet (2,000 hosts, upside_table outside dbt): 250 / 500 / 1,000 / 2,000 hosts a block peak at
    # 0.48 / 0.59 / 1.05 / 1.35 GB in 10.8 / 8.3 / 8.9 / 10.6 s (the window-only read of session 25: 0.63 GB).
    block_hosts: int = 500
    # A history that grew in steps (Prophet's staircase test over the read days, var prophet_staircase) gets no
    # curve: its latest step reads as compounding over the window, and Prophet forecasts its steps to come.
    staircase: bool = True
    # ... its levels beating ramps through the same breaks whether or not they beat the line (var
    # prophet_staircase_many_steps, ProphetSettings.staircase_many_steps): the same reading as Prophet's.
    staircase_many_steps: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.interval_width < 1.0:
            raise ValueError(f"interval_width must be between 0 and 1 (e.g. 0.8), got {self.interval_width!r}")
        if self.block_hosts < 1:
            raise ValueError(f"block_hosts must be a positive number of hosts, got {self.block_hosts!r}")

    @property
    def min_observed(self) -> int:
        return int(np.ceil(self.min_observed_share * self.window_days))

    @property
    def read_days(self) -> int:
        """Days read per series: the window, the longer one its curve may be read over, and the staircase's."""
        longer = 0 if self.min_evidence is None else self.fit_window_days or 0
        steps = ProphetSettings.staircase_window if self.staircase else 0
        return max(self.window_days, longer, steps)

    @property
    def window_min_evidence(self) -> float:
        """The lowest window evidence a two-year curve may have: BIC odds of ``(1 - w) / (1 + w)`` against the
        window's line and hinge are a posterior chance of ``(1 - w) / 2`` (w: ``interval_width``); 80%: -4.39."""
        return -2.0 * float(np.log((1.0 + self.interval_width) / (1.0 - self.interval_width)))

    def prophet(self) -> ProphetSettings:
        """Prophet's settings for the same curve search (:func:`.prophet_engine.longer_curve`)."""
        return ProphetSettings(
            growth_window=self.window_days,
            doubling_days=self.doubling_days,
            growth_fit_window=self.fit_window_days,
            growth_fit_tolerance=self.fit_tolerance,
            staircase_many_steps=self.staircase_many_steps,
        )


def edge_rates(doubling: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    """Whether each doubling time lies in the outermost step at either end of the searched grid
    (:func:`.prophet_engine.doubling_grid` over ``bounds``, the grid :func:`.prophet_engine.compounding_fit` searches):
    at the limit of the range searched or next to it, so the fit found no rate clearly inside that range (NaN:
    False).

    At the fast end the curve is a few high days at the window's end (a calm host's noise, the first days of a
    busy season) read as growth doubling every 25 days, and 180 days of that lift the upper bound by tens of
    points; at the slow end the growth is slower than any curve searched (traffic compounding 15-60% a year),
    and the 400-day curve outruns it. On read blind seeds 2036-2044 every fast-end lift (22 series, 20 of them
    calm) and 40 of the 46 slow-end ones raised the Winkler score of their band; on seen seeds 206 and 1031 all
    four edge lifts did, and none of the 35 compounding-growth series' curves was at an edge."""
    grid = doubling_grid(bounds)
    with np.errstate(invalid="ignore"):
        return (doubling <= grid[1] * (1 + 1e-9)) | (doubling >= grid[-2] * (1 - 1e-9))


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
    """``(floor, scale, rate, evidence, days fitted, long evidence, staircase steps)`` per series, one row per
    series whose rows begin at ``starts`` (rows of one series together, in day order); NaN for a series with
    too few observed days in the window or whose best curve there falls. A series whose days grew in steps
    (``staircase``: :func:`.prophet_engine.staircase_growth`) gets no curve (NaN), its days read and its number
    of steps. Evidence is the window's. Over the longer window (when the
    rows reach further back and a bar is set): a curve at the bar is read again there if it still fits the
    window (:func:`.prophet_engine.longer_curve`); every series gets the longer window's own best curve
    (:func:`.prophet_engine.longer_reading`), whose evidence there is the long evidence when that curve keeps
    ``window_min_evidence`` in the window (NaN otherwise), and whose parameters are the series' curve when the
    window's evidence is under the bar and the long evidence reaches it."""
    ends = np.r_[starts[1:], x.size]
    fits = np.full((starts.size, 7), np.nan)
    prophet, bar = settings.prophet(), settings.min_evidence
    for i, (start, end) in enumerate(zip(starts, ends, strict=True)):  # one curve search per series
        days, values = x[start:end].astype(np.float64), y[start:end].astype(np.float64)
        recent = days > -settings.window_days
        if recent.sum() < settings.min_observed:
            continue
        stairs = staircase_growth(days, values, prophet) if settings.staircase else None
        if stairs is not None:
            fits[i, 4], fits[i, 6] = days.size, stairs.starts.size
            continue
        rivals = rivals_bic(days[recent], values[recent])  # the window's line and hinge, for both readings
        fit = compounding_fit(days[recent], values[recent], settings.doubling_days, rivals=rivals)
        if fit is None:
            continue
        curve, evidence = fit
        chosen, long_evidence = curve, np.nan
        reading = None if bar is None else longer_reading(days, values, curve, prophet, rivals)
        if reading is not None:
            if reading.window_evidence >= settings.window_min_evidence:
                long_evidence = reading.evidence
            # at the bar over the window: its curve read over more days (longer_curve's test); under it: the
            # two years' own curve where the long evidence reaches the bar
            if reading.fits_window if evidence >= bar else long_evidence >= bar:
                chosen = reading.curve
        fitted = days.size if chosen is not curve else int(recent.sum())
        fits[i, :6] = (chosen.floor, chosen.scale, chosen.rate, evidence, fitted, long_evidence)
    return fits


def _fit_table(points: pa.Table, settings: UpsideSettings) -> pa.Table:
    """The rows of :func:`upside_table` from the points of :func:`_window_points`."""
    starts = np.flatnonzero(points.column("host_id").is_valid().to_numpy(zero_copy_only=False))
    values = fit_upsides(starts, points.column("x").to_numpy(), points.column("y").to_numpy(), settings)
    fitted = np.flatnonzero(~np.isnan(values[:, 3]) | ~np.isnan(values[:, 6]))
    rows = starts[fitted]
    values = values[fitted]
    doubling = np.log(2.0) / values[:, 2]
    return pa.table(
        {
            "host_id": points.column("host_id").take(rows),
            "resource": points.column("resource").take(rows),
            "anchor_date": points.column("anchor_date").take(rows),
            "observed_days": values[:, 4].astype(np.int32),
            # NaN -> null: a staircase has no curve, a curve no steps
            "curve_floor": pa.array(values[:, 0], from_pandas=True),
            "curve_scale": pa.array(values[:, 1], from_pandas=True),
            "growth_rate": pa.array(values[:, 2], from_pandas=True),
            "doubling_days": pa.array(doubling, from_pandas=True),
            "is_edge_rate": pa.array(edge_rates(doubling, settings.doubling_days), mask=np.isnan(doubling)),
            "evidence": pa.array(values[:, 3], from_pandas=True),
            "long_evidence": pa.array(values[:, 5], from_pandas=True),
            "staircase_steps": pa.array(values[:, 6], from_pandas=True),
        }
    ).cast(UPSIDE_SCHEMA)


def upside_table(processed: Any, history_end: date, settings: UpsideSettings) -> pa.Table:
    """One row per series (of the DuckDB relation ``processed``, shaped like ``processed_data``) whose recent
    growth fits a rising compounding curve, at any evidence (``forecasts`` applies the bar), or whose last two
    years grew in steps (``staircase_steps``; ``model_leaderboard`` hands it to the regime engine). Read and
    fitted ``block_hosts`` hosts at a time."""
    started = time.perf_counter()
    source = RelationSource(processed, chunk_hosts=settings.block_hosts)  # the engines' host chunks
    tables, series = [], 0
    for number, (first, last) in enumerate(source.host_ranges(), start=1):
        points = _window_points(source.chunk_relation(first, last), history_end, settings.read_days)
        if points.num_rows == 0:
            continue
        series += int(points.column("host_id").is_valid().to_numpy(zero_copy_only=False).sum())
        tables.append(_fit_table(points, settings))
        if source.chunk_count > 1:
            log.info(
                "growth upside: block %d of %d fitted (%.1f s)",
                number,
                source.chunk_count,
                time.perf_counter() - started,
            )
    if not tables:
        return UPSIDE_SCHEMA.empty_table()
    table = pa.concat_tables(tables)
    evidence = table.column("evidence").fill_null(-np.inf).to_numpy()
    long_evidence = table.column("long_evidence").fill_null(-np.inf).to_numpy()
    staircases = int(table.column("staircase_steps").is_valid().to_numpy(zero_copy_only=False).sum())
    log.info(
        "growth upside: %d of %d series fit a rising compounding curve, %d of them at evidence >= 0 over the "
        "window, %d more over the longer window; %d grew in steps (%.1f s)",
        table.num_rows - staircases,
        series,
        int((evidence >= 0).sum()),
        int(((evidence < 0) & (long_evidence >= 0)).sum()),
        staircases,
        time.perf_counter() - started,
    )
    return table

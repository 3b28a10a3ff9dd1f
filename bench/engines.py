"""Benchmark the forecasting engines on a built warehouse; prints Markdown tables (bench/README.md).

    python -m bench.engines [--data-dir DIR] [--timing-series 40] [--speedup-series 400] [--sample 300]
                            [--local-series 100] [--sections 1,2,3,4,5]

Needs ``processed_data`` and ``forecast_windows`` in ``DIR/horizonscale.duckdb`` (``horizonscale generate``
then ``dbt build --select +processed_data``); sections 4 and 5 also read the engine tables and the golden
record when a full ``dbt build`` has run. Every section uses fixed, hash-chosen samples of series.

1. cost per fit + predict, one process: stock Prophet (``Prophet()`` defaults, 1000 uncertainty samples)
   vs our Prophet engine (same model, numpy setup, no sampling) on the same series; XGBoost per series.
2. parallel speedup of the Prophet fleet runner, 1 vs 2 workers.
3. design measurements: Prophet growth, changepoint range and interval; warm-started refit; XGBoost drift
   base; global vs local XGBoost.
4. fleet accuracy from the built tables: backtest MAPE / WAPE / interval coverage per engine, and how
   often and by how much each engine beats the seasonal naive.
5. planted capacity breaches (synthetic fleets: ``raw.planted_breaches``): how early each engine's
   production forecast, and the golden record's breach rule, see the breaches the generator planted.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
import zlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import numpy as np

from python_engines.forecasting.fleet import EngineTask, FleetOptions, run_fleet
from python_engines.forecasting.frames import INPUT_COLUMNS, series_from_frame
from python_engines.forecasting.intervals import HorizonQuantiles
from python_engines.forecasting.output import STATUS_OK, SeriesForecast
from python_engines.forecasting.prophet_engine import (
    ProphetParams,
    ProphetSettings,
    fit_prophet,
    prophet_chunk,
    prophet_forecast,
)
from python_engines.forecasting.series import Series, history_problem
from python_engines.forecasting.windows import ForecastWindows
from python_engines.forecasting.xgboost_engine import (
    XGBoostParams,
    XGBoostSettings,
    train_global,
    xgboost_chunk,
)

MAPE_MIN_ACTUAL = 1.0  # the leaderboard's guard: actuals under 1 point are left out of MAPE
#: Zero-width quantiles: a point forecast without any interval work (isolates the cost of the fit).
POINT_ONLY = HorizonQuantiles(np.zeros(180), np.zeros(180), 0.8, 0)


def load(data_dir: Path) -> tuple[list[Series], ForecastWindows, dict[tuple[str, str], str]]:
    with duckdb.connect(str(data_dir / "horizonscale.duckdb"), read_only=True) as con:
        frame = con.sql(f"select {', '.join(INPUT_COLUMNS)}, scenario from processed_data").pl()
        (row,) = con.sql("select * from forecast_windows").pl().to_dicts()
    scenarios = {(h, r): s for h, r, s in frame.select("host_id", "resource", "scenario").unique().iter_rows()}
    return series_from_frame(frame), ForecastWindows.from_mapping(row), scenarios


def sample(series: Sequence[Series], windows: ForecastWindows, size: int, salt: str) -> list[Series]:
    """Deterministic pseudo-random sample of forecastable series."""
    eligible = [s for s in series if history_problem(s, windows, ProphetSettings().history) is None]
    eligible.sort(key=lambda s: zlib.crc32(f"{salt}|{s.host_id}|{s.resource}".encode()))
    return eligible[:size]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (first column left-aligned, the rest right), floats to 3 significant digits."""
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
    for row in rows:
        lines.append("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    print(markdown_table(header, rows))


def actual(series: Series, windows: ForecastWindows) -> tuple[np.ndarray, np.ndarray]:
    """Backtest-window values and their observed mask, on the 122 backtest days."""
    days = windows.backtest_dates()
    values = np.full(days.size, np.nan)
    observed = np.zeros(days.size, dtype=bool)
    inside = series.ds >= days[0]
    index = (series.ds[inside] - days[0]).astype(np.int64)
    keep = index < days.size
    values[index[keep]] = series.y[inside][keep]
    observed[index[keep]] = series.observed()[inside][keep]
    return values, observed


def scores(series: Sequence[Series], results: Sequence[SeriesForecast], windows: ForecastWindows) -> dict:
    """Backtest MAPE (guarded), WAPE, coverage over ok series; per-series MAPE for head-to-head counts."""
    per_series, abs_err, act_sum, covered, points = {}, 0.0, 0.0, 0, 0
    for s, r in zip(series, results, strict=True):
        if r.status != STATUS_OK or r.backtest is None:
            continue
        y, observed = actual(s, windows)
        error = np.abs(r.backtest.yhat - y)[observed]
        abs_err += float(error.sum())
        act_sum += float(y[observed].sum())
        inside = (y >= r.backtest.lower) & (y <= r.backtest.upper)
        covered += int(inside[observed].sum())
        points += int(observed.sum())
        guard = observed & (y >= MAPE_MIN_ACTUAL)
        if guard.any():
            per_series[s.key] = float(np.mean(np.abs(r.backtest.yhat - y)[guard] / y[guard]) * 100)
    values = np.array(list(per_series.values()))
    return {
        "ok": sum(r.status == STATUS_OK for r in results),
        "failed": sum(r.status == "failed" for r in results),
        "mean_mape": float(values.mean()) if values.size else float("nan"),
        "median_mape": float(np.median(values)) if values.size else float("nan"),
        "wape": 100 * abs_err / act_sum if act_sum else float("nan"),
        "coverage": covered / points if points else float("nan"),
        "per_series": per_series,
    }


# ---------------------------------------------------------------------------------------------- section 1


def stock_prophet_seconds(series: Series, windows: ForecastWindows) -> float:
    import pandas as pd
    from prophet import Prophet

    keep = series.observed() & (series.ds <= np.datetime64(windows.train_end, "D"))
    history = pd.DataFrame({"ds": pd.to_datetime(series.ds[keep]), "y": series.y[keep]})
    future = pd.DataFrame({"ds": pd.to_datetime(windows.backtest_dates())})
    started = time.perf_counter()
    model = Prophet()
    model.fit(history)
    model.predict(future)
    return time.perf_counter() - started


def our_prophet_seconds(series: Series, windows: ForecastWindows, quantiles: HorizonQuantiles) -> float:
    started = time.perf_counter()
    result = prophet_forecast(series, windows, ProphetSettings(), quantiles, segments=("backtest",))
    assert result.status == STATUS_OK, result.error
    return time.perf_counter() - started


def cost_section(series: list[Series], windows: ForecastWindows) -> None:
    quantiles = HorizonQuantiles(np.full(180, -1.5), np.full(180, 1.5), 0.8, 0)
    stock_prophet_seconds(series[0], windows)  # first fit pays imports and caches
    our_prophet_seconds(series[0], windows, quantiles)
    stock = [stock_prophet_seconds(s, windows) for s in series]
    ours = [our_prophet_seconds(s, windows, quantiles) for s in series]
    settings = XGBoostSettings()
    boosters = train_global(series, windows, [windows.train_end], settings, nthread=1)
    started = time.perf_counter()
    xgboost_chunk(series, windows, XGBoostParams(settings, boosters, quantiles, segments=("backtest",)))
    predict_seconds = (time.perf_counter() - started) / len(series)
    print(f"### 1. Cost per fit + predict (backtest, {len(series)} series, one process)\n")
    table(
        ["engine", "mean ms", "median ms", "p95 ms", "vs stock Prophet"],
        [
            ["stock Prophet (defaults, 1000 samples)", *_ms(stock), 1.0],
            ["our Prophet engine", *_ms(ours), float(np.mean(stock) / np.mean(ours))],
            ["XGBoost global: features + batch prediction per series", 1000 * predict_seconds, "", "", ""],
        ],
    )
    print(
        "XGBoost's training is a fleet-level step (one model per cut, on 1,000 sampled rows a series, at least "
        f"{settings.min_train_rows:,} and at most {settings.max_train_rows:,}): its share per series is in section 4 "
        "(engine_timings).\n"
    )


def _ms(seconds: Sequence[float]) -> list[float]:
    values = 1000 * np.asarray(seconds)
    return [float(values.mean()), float(np.median(values)), float(np.quantile(values, 0.95))]


# ---------------------------------------------------------------------------------------------- section 2


def speedup_section(series: list[Series], windows: ForecastWindows) -> None:
    params = ProphetParams(ProphetSettings(), POINT_ONLY)
    task = EngineTask("prophet", prophet_chunk, windows, params)
    walls = {}
    for workers in (1, 2):
        walls[workers] = run_fleet(task, series, FleetOptions(workers=workers, chunk_size=10)).wall_seconds
    print(f"### 2. Prophet fleet runner, {len(series)} series (backtest + refit = {2 * len(series)} fits)\n")
    table(
        ["workers", "wall s", "series/s", "speedup"],
        [[w, walls[w], len(series) / walls[w], walls[1] / walls[w]] for w in (1, 2)],
    )


# ---------------------------------------------------------------------------------------------- section 3


def backtest_pass(series: list[Series], windows: ForecastWindows, settings: ProphetSettings, quantiles) -> tuple:
    params = ProphetParams(settings, quantiles, segments=("backtest",))
    fleet_pass = run_fleet(EngineTask("prophet", prophet_chunk, windows, params), series, FleetOptions(chunk_size=10))
    return fleet_pass.results, fleet_pass.wall_seconds


def head_to_head(a: dict, b: dict) -> float:
    common = a["per_series"].keys() & b["per_series"].keys()
    return 100 * np.mean([a["per_series"][k] < b["per_series"][k] for k in common]) if common else float("nan")


def prophet_design(series: list[Series], windows: ForecastWindows) -> None:
    rows, measured = [], {}
    for name, settings, quantiles in [
        ("linear + clip, changepoint_range 0.95 (default)", ProphetSettings(), POINT_ONLY),
        ("logistic, cap 100 / floor 0", replace(ProphetSettings(), growth="logistic"), POINT_ONLY),
        (
            "linear, changepoint_range 0.8 (Prophet's default)",
            replace(ProphetSettings(), changepoint_range=0.8),
            POINT_ONLY,
        ),
        ("linear, Prophet's own sampled interval", ProphetSettings(), None),
    ]:
        results, wall = backtest_pass(series, windows, settings, quantiles)
        measured[name] = s = scores(series, results, windows)
        coverage = f"{s['coverage']:.3f}" if quantiles is None else ""
        rows.append([name, s["failed"], s["mean_mape"], s["median_mape"], s["wape"], coverage, wall])
    table(["Prophet variant", "failed", "mean MAPE %", "median MAPE %", "WAPE %", "80% coverage", "wall s"], rows)
    logistic = measured["logistic, cap 100 / floor 0"]
    linear = measured["linear + clip, changepoint_range 0.95 (default)"]
    print(f"Logistic has the lower MAPE on {head_to_head(logistic, linear):.0f}% of series.\n")


def warm_start_design(series: list[Series], windows: ForecastWindows) -> None:
    cold, warm, differences = [], [], []
    settings = ProphetSettings(calendar_peaks=False)  # the one fit of a series without month-end closes
    for s in series[:60]:
        train = s.observed() & (s.ds <= np.datetime64(windows.train_end, "D"))
        full = s.observed()
        backtest_fit = fit_prophet(s.ds[train], s.y[train], settings)
        started = time.perf_counter()
        cold_fit = fit_prophet(s.ds[full], s.y[full], settings)
        cold.append(time.perf_counter() - started)
        started = time.perf_counter()
        warm_fit = fit_prophet(s.ds[full], s.y[full], settings, warm=backtest_fit)
        warm.append(time.perf_counter() - started)
        days = windows.forecast_dates()
        differences.append(float(np.max(np.abs(cold_fit.predict(days) - warm_fit.predict(days)))))
    table(
        ["production refit (60 series)", "mean ms", "median ms", "p95 ms"],
        [["cold start (default)", *_ms(cold)], ["warm start from the backtest fit", *_ms(warm)]],
    )
    print(f"Warm vs cold forecast: median max difference {np.median(differences):.3f} points.\n")


def xgboost_pass(series: list[Series], windows: ForecastWindows, params: XGBoostParams, segment: str) -> list:
    params = replace(params, quantiles=POINT_ONLY, segments=(segment,))
    task = EngineTask("xgboost", xgboost_chunk, windows, params, per_series=False)
    return run_fleet(task, series, FleetOptions(chunk_size=25 if params.settings.mode == "local" else 500)).results


def xgboost_design(fleet: list[Series], series: list[Series], local_series: list[Series], windows) -> None:
    """Global models are trained on the whole fleet, as the dbt model does."""
    rows, default_boosters = [], {}
    for kind in ("blend", "year", "quarter"):
        settings = replace(XGBoostSettings(), drift=kind)
        started = time.perf_counter()
        boosters = train_global(fleet, windows, [windows.train_end], settings, nthread=2)
        train_seconds = time.perf_counter() - started
        s = scores(series, xgboost_pass(series, windows, XGBoostParams(settings, boosters), "backtest"), windows)
        name = f"global, drift {kind}" + (" (default)" if settings == XGBoostSettings() else "")
        rows.append([name, s["mean_mape"], s["median_mape"], s["wape"], train_seconds])
        if settings == XGBoostSettings():
            default_boosters = boosters
    table([f"XGBoost on {len(series)} series", "mean MAPE %", "median MAPE %", "WAPE %", "training s"], rows)

    settings, boosters = XGBoostSettings(), default_boosters  # the fleet's default model, trained above
    rows = []
    for name, params in [
        (f"global, trained on the fleet ({len(fleet):,} series; default)", XGBoostParams(settings, boosters)),
        ("local, one model per series", XGBoostParams(replace(settings, mode="local"))),
    ]:
        started = time.perf_counter()
        s = scores(local_series, xgboost_pass(local_series, windows, params, "backtest"), windows)
        seconds = time.perf_counter() - started
        rows.append([name, s["mean_mape"], s["median_mape"], s["wape"], 1000 * seconds / len(local_series)])
    results, _ = backtest_pass(local_series, windows, ProphetSettings(), POINT_ONLY)
    s = scores(local_series, results, windows)
    rows.append(["(Prophet, same series)", s["mean_mape"], s["median_mape"], s["wape"], ""])
    table(
        [
            f"XGBoost on {len(local_series)} series",
            "mean MAPE %",
            "median MAPE %",
            "WAPE %",
            "ms per series (2 workers)",
        ],
        rows,
    )


# ---------------------------------------------------------------------------------------------- section 4


FLEET_SQL = """
with runs as (select model, status from engine_runs),
errors as (
    select f.model, f.host_id, f.resource, p.y, f.yhat, f.yhat_lower, f.yhat_upper
    from ({engines}) as f
    inner join processed_data as p using (host_id, resource, ds)
    where f.segment = 'backtest' and not p.is_imputed
),
per_series as (
    select model, host_id, resource,
        avg(abs(yhat - y) / y) filter (where y >= {guard}) * 100 as mape,
        sum(abs(yhat - y)) as abs_error, sum(y) as actual,
        avg(case when y between yhat_lower and yhat_upper then 1.0 else 0.0 end) as coverage
    from errors group by all
),
naive as (select host_id, resource, mape as naive_mape from per_series where model = 'seasonal_naive')
select model,
    count(*) as series,
    avg(mape) as mean_mape, median(mape) as median_mape,
    100 * sum(abs_error) / sum(actual) as wape,
    avg(coverage) as coverage,
    100 * avg(case when mape < naive_mape then 1.0 else 0.0 end) as beats_naive_pct,
    median(naive_mape - mape) as median_gain_vs_naive
from per_series left join naive using (host_id, resource)
group by model order by model
"""


def fleet_section(data_dir: Path) -> None:
    try:
        with duckdb.connect(str(data_dir / "horizonscale.duckdb"), read_only=True) as con:
            relations = [r for (r,) in con.sql("select relation from engine_registry order by simplicity").fetchall()]
            engines = " union all ".join(f'select * from "{relation}"' for relation in relations)
            rows = con.sql(FLEET_SQL.format(guard=MAPE_MIN_ACTUAL, engines=engines)).fetchall()
            statuses = con.sql("select model, status, count(*) from engine_runs group by all order by all").fetchall()
            timings = con.sql("select model, phase, series, wall_seconds, workers from engine_timings").fetchall()
    except duckdb.Error as exc:
        print(f"### 4. Fleet accuracy: skipped (no engine tables yet: {exc})\n")
        return
    print("### 4. Fleet backtest accuracy (from the built tables; MAPE over actuals >= 1 point)\n")
    table(
        [
            "engine",
            "series",
            "mean MAPE %",
            "median MAPE %",
            "WAPE %",
            "80% coverage",
            "beats naive (% series)",
            "median MAPE gain vs naive (points)",
        ],
        rows,
    )
    table(["engine", "status", "series"], statuses)
    table(["engine", "phase", "series", "wall s", "workers"], timings)


# ---------------------------------------------------------------------------------------------- section 5


def planted(data_dir: Path) -> dict[tuple[str, str], float]:
    """The generator's ground truth: days after history end at which each planted breach reaches 95%."""
    try:
        with duckdb.connect(str(data_dir / "horizonscale.duckdb"), read_only=True) as con:
            rows = con.sql("select host_id, resource, days_after_end from raw.planted_breaches").fetchall()
    except duckdb.Error:
        return {}
    return {(h, r): d for h, r, d in rows}


def crossing_days(paths: np.ndarray, threshold: float = 95.0) -> np.ndarray:
    """Per path, the first day (1-based) above the threshold; a large number if never."""
    above = paths > threshold
    return np.where(above.any(axis=1), above.argmax(axis=1) + 1, 10_000)


def breach_row(name: str, first: np.ndarray, truth: np.ndarray, window: int) -> list[object]:
    imminent, later, none = truth <= window, (truth > window) & np.isfinite(truth), ~np.isfinite(truth)
    crossed = imminent & (first < 10_000)
    lag = first[crossed] - truth[crossed]
    return [
        name,
        f"{int((first[imminent] <= window).sum())} / {int(imminent.sum())}",
        float(np.median(lag)) if lag.size else "",
        f"{int((first[later] <= window).sum())} / {int(later.sum())}",
        f"{int((first[none] <= window).sum())} / {int(none.sum())}",
    ]


def breach_section(fleet: list[Series], windows: ForecastWindows, truth: dict, others: list[Series]) -> None:
    """Point forecasts of the production segment against the planted breaches (and unplanted series)."""
    window = 90
    series = [s for s in fleet if s.key in truth] + others
    days = np.array([truth.get(s.key, np.nan) for s in series])
    rows = []
    for name, settings in [
        ("Prophet, changepoint_range 0.95 (default)", ProphetSettings()),
        ("Prophet, changepoint_range 0.8", replace(ProphetSettings(), changepoint_range=0.8)),
    ]:
        params = ProphetParams(settings, POINT_ONLY, segments=("forecast",))
        results = run_fleet(EngineTask("prophet", prophet_chunk, windows, params), series, FleetOptions(chunk_size=10))
        rows.append(breach_row(name, crossing_days(np.array([r.forecast.yhat for r in results.results])), days, window))
    for kind in ("blend", "year", "quarter"):
        settings = replace(XGBoostSettings(), drift=kind)
        boosters = train_global(fleet, windows, [windows.history_end], settings, nthread=2)
        results = xgboost_pass(series, windows, XGBoostParams(settings, boosters), "forecast")
        name = f"XGBoost, drift {kind}" + (" (default)" if kind == "blend" else "")
        rows.append(breach_row(name, crossing_days(np.array([r.forecast.yhat for r in results])), days, window))
    print(f"### 5. Planted capacity breaches: does the point forecast cross 95% in time? ({window}-day window)\n")
    table(
        [
            "engine (production forecast)",
            f"planted within {window} d: crossed within {window} d",
            "median lag, days (crossing - planted)",
            f"planted later: crossed within {window} d",
            f"not planted: crossed within {window} d",
        ],
        rows,
    )


GOLDEN_BREACH_SQL = """
with series as (select distinct host_id, resource from forecasts),
truth as (select host_id, resource, days_after_end from raw.planted_breaches)
select
    case when t.days_after_end <= {window} then 'planted within {window} days'
         when t.days_after_end is not null then 'planted after {window} days' else 'not planted' end as truth,
    count(*) as series,
    count(r.host_id) as flagged,
    median(r.days_to_breach - t.days_after_end) as median_lag_upper,
    count(r.days_to_expected_breach) filter (where r.days_to_expected_breach <= {window}) as expected_within,
    median(r.days_to_expected_breach - t.days_after_end) as median_lag_expected
from series as s
left join truth as t using (host_id, resource)
left join capacity_risks as r using (host_id, resource)
group by all order by 1
"""


def golden_breach_section(data_dir: Path) -> None:
    try:
        with duckdb.connect(str(data_dir / "horizonscale.duckdb"), read_only=True) as con:
            rows = con.sql(GOLDEN_BREACH_SQL.format(window=90)).fetchall()
    except duckdb.Error as exc:
        print(f"Golden record vs planted breaches: skipped ({exc})\n")
        return
    print("Golden record (`capacity_risks`: calibrated upper bound over 95% within 90 days) vs the planted truth:\n")
    table(
        [
            "series",
            "count",
            "flagged (upper bound)",
            "median lag, days (flag - planted)",
            "point forecast crosses within 90 d",
            "median lag, days (expected - planted)",
        ],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("HORIZONSCALE_DATA_DIR", "data"))
    parser.add_argument("--timing-series", type=int, default=40)
    parser.add_argument("--speedup-series", type=int, default=400)
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--local-series", type=int, default=100)
    parser.add_argument("--sections", default="1,2,3,4,5", help="which sections to run, e.g. 1,2")
    args = parser.parse_args()
    sections = {int(part) for part in args.sections.split(",") if part.strip()}
    logging.basicConfig(level=logging.WARNING)
    import prophet  # noqa: F401  (its import sets its logger to INFO: silence it afterwards)

    for noisy in ("cmdstanpy", "prophet"):  # stock Prophet's per-fit INFO lines
        logging.getLogger(noisy).setLevel(logging.WARNING)
    data_dir = Path(args.data_dir)
    series, windows, _ = load(data_dir)
    print(f"## Engine benchmark: {len(series):,} series in {data_dir}, windows {windows.backtest_start} backtest")
    print(f"machine: {os.cpu_count()} cores; load average at start {os.getloadavg()[0]:.2f}\n")
    if 1 in sections:
        cost_section(sample(series, windows, args.timing_series, "cost"), windows)
    if 2 in sections:
        speedup_section(sample(series, windows, args.speedup_series, "speedup"), windows)
    if 3 in sections:
        print("### 3. Design measurements (backtest window, 2 workers)\n")
        prophet_design(sample(series, windows, args.sample, "design"), windows)
        warm_start_design(sample(series, windows, args.sample, "design"), windows)
        xgboost_design(
            series,
            sample(series, windows, args.sample, "design"),
            sample(series, windows, args.local_series, "local"),
            windows,
        )
    if 4 in sections:
        fleet_section(data_dir)
    truth = planted(data_dir) if 5 in sections else {}
    if truth:
        others = [s for s in sample(series, windows, args.sample + len(truth), "others") if s.key not in truth]
        breach_section(series, windows, truth, others[: args.sample])
        golden_breach_section(data_dir)
    print(f"load average at end {os.getloadavg()[0]:.2f}; started {date.today()}")


if __name__ == "__main__":
    main()

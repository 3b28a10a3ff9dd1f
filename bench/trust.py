"""Trust: how HorizonScale's forecasts and breach alert do on fleets we did not generate (bench/README.md).

    python -m bench.trust [--seeds 11,12] [--hosts 400] [--default-hosts 500] [--default-seed 42]
                          [--default-cut-days 180] [--default-future-days 180] [--vars YAML] [--out bench/results]
                          [--work /tmp/horizonscale_trust]
                          [--skip-build] [--stock-sample N] [--stress-pythonpath DIR] [--family-set tuned|holdout|blind]

Per fleet, each step a subprocess of the installed ``horizonscale`` with ``HORIZONSCALE_DATA_DIR`` set to the
fleet's own directory:

- stress fleets (one per seed): ``horizonscale stress-fleet`` writes exports plus the clean future (truth),
  ``horizonscale load`` + ``build`` forecast them; every method is scored on the 180 days after history_end
  against the truth. ``--family-set holdout`` draws them from the held-out families (``stress.holdout``, never
  tuned on; seeds from 1001) and names them ``holdout_s<seed>`` instead of ``stress_s<seed>``; ``--family-set
  blind`` from the blind families (``stress.blind``, nothing tuned on it; seeds from 2001), ``blind_s<seed>``;
- the default synthetic fleet: ``horizonscale generate`` + ``build``; no future exists, so point and band
  figures are on the backtest window (each method's backtest segment against the non-imputed actuals) and the
  alert is scored against the breaches the generator planted (``raw.planted_breaches``). The champions were
  chosen on that window, so ``--default-cut-days N`` (180 by default; 0: off) also scores the same fleet on a
  future it has: ``default_s<seed>_cut<N>`` is generated alike, its history refined once (``build --select
  +processed_data``) so that the N days after ``history_end - N`` can be kept aside as the truth (its
  non-imputed ``processed_data``), then built from nothing with ``history_end`` N days earlier; every method is
  scored on those N days as on a stress fleet (its families the DNA's scenarios; no oracle). And
  ``--default-future-days N`` (180 by default; 0: off) scores the default fleet's own production forecasts on
  the N days the same fleet goes on to have: ``default_s<seed>_future<N>`` is generated alike, continued
  (``generate --extend-days N``: same hosts, DNA and seed) and refined with ``history_end`` N days later; its
  non-imputed days after the default fleet's history_end are the truth, every breach in them counted, not only
  the planted ones.

Methods, on the same series (those with a golden forecast): ``horizonscale`` (the golden record ``forecasts``;
on the backtest the champion's own backtest band), each engine's raw output (``prophet``, ``xgboost``,
``seasonal_naive``: the SQL engine ``baseline_forecasts``, same weekday of the last week with the band from the
series' own k-week differences) and ``stock_prophet`` (``prophet.Prophet()`` defaults, 80% band, fitted here
on the non-imputed history before the cut). The alert: upper bound over 95 on any day 1..90 after the cut;
for ``horizonscale`` a ``capacity_risks`` row with ``days_to_breach <= 90``. On stress fleets, ``oracle`` is
the generator's ideal forecaster (``python_engines.stress.oracle``): its alert on every series, its median and
80% band on the families whose noise law it knows, as the best figures those families allow.

Writes ``OUT/trust_<fleet>.md`` (tables), ``OUT/trust_<fleet>.json`` (raw figures, timings, exclusions),
``OUT/trust_<fleet>_alerts.csv`` (the golden record's false alarms and misses), ``OUT/trust_summary.md`` and
``OUT/trust_metrics.parquet`` (every figure of every fleet, long).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import yaml

from bench.engines import markdown_table
from bench.trust_metrics import (
    ALL,
    BREACH_THRESHOLD,
    BREACH_WINDOW,
    KEYS,
    alert_scores,
    breach_flags,
    oracle_gap,
    point_scores,
    probability_scores,
    ratio,
    reliability,
    with_all,
)
from python_engines.stress.fleet import ORACLE_BAND_COLUMNS

#: The forecast horizon: a false alarm on a series whose truth crosses by then is an early warning.
LATER_WINDOW = 180

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("bench.trust")

GOLDEN = "horizonscale"
STOCK = "stock_prophet"
#: capacity_risks.breach_basis of a series flagged by its recurring peaks alone (no upper-bound crossing).
RECURRING_BASIS = "recurring peaks"
#: The stress generator's oracle (python_engines.stress.oracle): flags a series when a breach within the window
#: is at least this likely for a forecaster that knew its path and noise law. 0.5 is the rule that minimises
#: false alarms plus misses, so its errors are the dice: what no forecaster could avoid on that fleet.
ORACLE = "oracle"
ORACLE_LEVEL = 0.5
WORST_DAY = "horizonscale_worst_day"  # the chance of the likeliest window day alone (before the breach chance)
PROBABILITY_SOURCES = {
    GOLDEN: f"int_series_breach_outlook.breach_probability, the chance of at least one day over {BREACH_THRESHOLD:g}",
    WORST_DAY: "the likeliest day's chance alone (int_series_breach_outlook.worst_day_probability)",
    ORACLE: "the generator's (a forecaster that knew each series' path and noise law)",
}
ORACLE_COLUMN = "oracle_breach_probability"
# HorizonScale's golden record with the oracle's median and band put in its place wherever the generator states
# them: roughly the ratio to stock Prophet HorizonScale would reach if it forecast every such series as the law
# that made it does, and stayed as it is on the rest (calm series, autoscaled pools, stuck sensors). A reference
# point, not a bound: the law's median can lose to a forecast that happens to sit closer to one draw.
WITH_ORACLE = "horizonscale_oracle_where_known"
#: Issue 10's target for the golden record's 80% band coverage, per family (days 1-180).
FAMILY_COVERAGE = (0.70, 0.90)
ENGINE_COLUMNS = ("host_id", "resource", "model", "segment", "ds", "yhat", "yhat_lower", "yhat_upper")
#: Engine relations when the warehouse has no ``engine_registry`` (the XGBoost table may carry either name).
FALLBACK_ENGINES = ("prophet_forecasts", "challenger_forecasts", "xgboost_forecasts", "baseline_forecasts")
POINT_COLUMNS = ("method", "host_id", "resource", "h", "yhat", "yhat_lower", "yhat_upper")
STOCK_WORKERS = 2
#: The longest --default-cut-days and --default-future-days: the production forecast's horizon (var
#: forecast_horizon_days).
MAX_CUT_DAYS = 180
#: Fleets scored on a future (a truth file beside them) rather than on their backtest.
FUTURE_KINDS = ("stress", "default_cut", "default_future")


# ---------------------------------------------------------------------------------------------- fleets


@dataclass
class Fleet:
    """One fleet under test: where its files live and how long each stage took."""

    name: str
    kind: str  # "stress" | "default" | "default_cut" | "default_future"
    hosts: int
    seed: int
    work: Path
    timings: dict[str, float] = field(default_factory=dict)
    family_set: str = "tuned"  # stress fleets: the generator's --family-set
    cut_days: int = 0  # default_cut fleets: the days kept aside as the truth; default_future: the days generated on
    source: Fleet | None = None  # default_future fleets: the default fleet whose forecasts are scored

    @property
    def data_dir(self) -> Path:
        return self.work / "data"

    @property
    def exports(self) -> Path:
        return self.work / "fleet"

    @property
    def warehouse(self) -> Path:
        return self.data_dir / "horizonscale.duckdb"

    @property
    def scored_warehouse(self) -> Path:
        """The warehouse whose forecasts are scored: the fleet's own, or for a default_future fleet the default
        fleet's (its own warehouse only refines the continued fleet into the truth)."""
        return self.source.warehouse if self.source else self.warehouse


class StageError(RuntimeError):
    """A subprocess stage failed; the message names the stage and its log."""


def horizonscale_executable() -> str:
    beside = Path(sys.executable).with_name("horizonscale")
    return str(beside) if beside.exists() else "horizonscale"


def run_stage(fleet: Fleet, stage: str, arguments: Sequence[str], pythonpath: str | None = None) -> None:
    """Run ``horizonscale <arguments>`` from the project root against the fleet's data dir; time it."""
    env = {**os.environ, "HORIZONSCALE_DATA_DIR": str(fleet.data_dir)}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    log_file = fleet.work / f"{stage}.log"
    command = [horizonscale_executable(), *arguments]
    log.info("%s: %s (log: %s)", fleet.name, " ".join(command), log_file)
    started = time.perf_counter()
    with log_file.open("w") as out:
        completed = subprocess.run(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    fleet.timings[stage] = time.perf_counter() - started
    if completed.returncode != 0:
        tail = log_file.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        hint = ""
        if stage == "stress-fleet" and "invalid choice" in tail[0]:
            hint = " (this checkout has no stress-fleet command: merge it, or pass --stress-pythonpath DIR)"
        raise StageError(f"{fleet.name}: {stage} failed (exit {completed.returncode}): {tail[0]}{hint}; see {log_file}")
    log.info("%s: %s done in %.1f s", fleet.name, stage, fleet.timings[stage])


def prepare(fleet: Fleet, args: argparse.Namespace) -> None:
    """Generate (stress or default), load and build the fleet in a fresh directory (a default_future fleet:
    generate, continue and refine it, :func:`write_future_truth`)."""
    if fleet.kind == "default_future" and (fleet.source is None or not fleet.scored_warehouse.is_file()):
        raise StageError(f"{fleet.name}: the default fleet's warehouse {fleet.scored_warehouse} is not built")
    for stale in (fleet.data_dir, fleet.exports):
        shutil.rmtree(stale, ignore_errors=True)
    fleet.data_dir.mkdir(parents=True)
    if fleet.kind == "stress":
        run_stage(
            fleet,
            "stress-fleet",
            ["stress-fleet", "--hosts", str(fleet.hosts), "--seed", str(fleet.seed), "--out", str(fleet.exports)]
            # Only the held-out set is asked for by name: a checkout older than the option still makes tuned fleets.
            + (["--family-set", fleet.family_set] if fleet.family_set != "tuned" else []),
            pythonpath=args.stress_pythonpath,
        )
        inventory, telemetry = fleet.exports / "inventory.csv", fleet.exports / "telemetry.parquet"
        run_stage(fleet, "load", ["load", "--inventory", str(inventory), "--telemetry", str(telemetry)])
    else:
        run_stage(fleet, "generate", ["generate", "--hosts", str(fleet.hosts), "--seed", str(fleet.seed)])
    if fleet.kind == "default_future":
        write_future_truth(fleet, args)
        return
    build = ["build", "--out", str(fleet.work / "reports")]
    if fleet.kind == "default_cut":
        # The refinery only, without the unit tests (the whole build below runs them).
        refine = ["build", "--select", "+processed_data", "--exclude", "test_type:unit"]
        refine += ["--vars", args.vars] if args.vars else []
        run_stage(fleet, "refine", refine)
        cut, _ = write_cut_truth(fleet)
        build += ["--full-refresh", "--vars", cut_vars(args.vars, cut)]
    elif args.vars:
        build += ["--vars", args.vars]
    run_stage(fleet, "build", build)


def write_future_truth(fleet: Fleet, args: argparse.Namespace) -> None:
    """The default fleet (built already, ``fleet.source``) goes on: the same fleet, generated again in this
    fleet's directory, is continued by ``fleet.cut_days`` days (``generate --extend-days``: same hosts, DNA and
    seed; every day it had is kept), refined with ``history_end`` that many days later, and its refined,
    non-imputed days after the default fleet's history_end are kept as the truth its production forecasts are
    scored on."""
    end, hosts = continued_end_and_hosts(fleet)
    run_stage(fleet, "extend", ["generate", "--extend-days", str(fleet.cut_days)])
    refine = ["build", "--select", "+processed_data", "--exclude", "test_type:unit"]
    run_stage(fleet, "refine", [*refine, "--vars", cut_vars(args.vars, end)])
    _, truth = write_cut_truth(fleet, future=True)
    refuse_future_truth(fleet, truth, end, hosts)


def continued_end_and_hosts(fleet: Fleet) -> tuple[date, frozenset[str]]:
    """The last day a default_future fleet's truth must reach (the default fleet's history_end plus
    ``fleet.cut_days``) and the default fleet's host ids, read from its built warehouse."""
    with duckdb.connect(str(fleet.scored_warehouse), read_only=True) as con:
        ((history_end,),) = con.sql("select history_end from int_history_window").fetchall()
        hosts = frozenset(con.sql("select distinct host_id from processed_data").pl()["host_id"].to_list())
    return history_end + timedelta(days=fleet.cut_days), hosts


def refuse_future_truth(fleet: Fleet, truth: pl.DataFrame, end: date, hosts: frozenset[str]) -> None:
    """Raise StageError where ``truth`` cannot score the default fleet (:func:`future_truth_problem`)."""
    problem = future_truth_problem(truth, end, hosts)
    if problem:
        raise StageError(
            f"{fleet.name}: {problem}; the default fleet {fleet.scored_warehouse} is not the one continued"
        )


def check_stored_future(fleet: Fleet) -> None:
    """--skip-build: the continued fleet's stored truth must still belong to the default fleet as it is built now
    (a default fleet rebuilt at another size or with other hosts would score its forecasts on another fleet's
    days; another seed or --default-future-days is another work directory, :func:`not_built_cut`)."""
    end, hosts = continued_end_and_hosts(fleet)
    refuse_future_truth(fleet, pl.read_parquet(fleet.exports / "truth.parquet"), end, hosts)


def future_truth_problem(truth: pl.DataFrame, end: date, hosts: frozenset[str]) -> str | None:
    """Why a continued fleet's truth cannot score the default fleet it continues (None when it can): its days must
    reach ``end`` (the refinery fills days the generator never made and drops them as imputed, so a short
    continuation would shrink the truth silently) and it must hold the default fleet's ``hosts``, the same ids (a
    fleet of the same size generated otherwise has the same count and none of the same series)."""
    last = truth["ds"].max() if truth.height else None
    if last != end:
        return f"the continued days end on {last}, not on {end}"
    held = frozenset(truth["host_id"].unique().to_list())
    if held != hosts:
        extra, missing = sorted(held - hosts), sorted(hosts - held)
        return (
            f"its truth holds {len(held)} hosts, the default fleet {len(hosts)}: {len(extra)} only in the truth"
            f"{f' (e.g. {extra[0]})' if extra else ''}, {len(missing)} only in the default fleet"
            f"{f' (e.g. {missing[0]})' if missing else ''}"
        )
    return None


def cut_vars(user_vars: str | None, cut: date) -> str:
    """The user's dbt vars with ``history_end`` at ``cut`` (as JSON, which YAML reads)."""
    merged = yaml.safe_load(user_vars) if user_vars else {}
    if not isinstance(merged, dict):
        raise StageError(f"--vars {user_vars!r} is not a YAML mapping, e.g. '{{forecast_workers: 1}}'")
    if merged.get("history_end"):
        raise StageError(
            "--vars sets history_end: the default_cut and default_future fleets set their own; drop it or "
            "--default-cut-days 0 --default-future-days 0"
        )
    return json.dumps({**merged, "history_end": cut.isoformat()}, default=str)  # YAML reads dates as dates


def cut_truth(processed: pl.DataFrame, history_end: date, days: int) -> tuple[date, pl.DataFrame, pl.DataFrame]:
    """The cut (``days`` before ``history_end``), the truth after it (KEYS, family, ds, y: non-imputed days
    1..days) and the series (KEYS, family: the DNA scenario, 'unknown' without one) of a refined fleet."""
    cut = history_end - timedelta(days=days)
    family = pl.col("scenario").cast(pl.String).fill_null("unknown").alias("family")
    series = processed.select(*KEYS, family).unique(subset=list(KEYS), keep="first").sort(list(KEYS))
    truth = (
        processed.filter(
            ~pl.col("is_imputed") & pl.col("y").is_not_null() & (pl.col("ds") > cut) & (pl.col("ds") <= history_end)
        )
        .select(*KEYS, "ds", "y")
        .join(series, on=list(KEYS))
        .sort([*KEYS, "ds"])
    )
    return cut, truth, series


def write_cut_truth(fleet: Fleet, future: bool = False) -> tuple[date, pl.DataFrame]:
    """Keep the refined fleet's last ``fleet.cut_days`` aside as the truth (manifest, truth and series, the
    stress generator's files); the cut date and the truth. ``future``: days the fleet went on to have, not days
    cut off."""
    with duckdb.connect(str(fleet.warehouse), read_only=True) as con:
        ((history_end,),) = con.sql("select history_end from int_history_window").fetchall()
        processed = con.sql("select host_id, resource, ds, y, is_imputed, scenario from processed_data").pl()
    cut, truth, series = cut_truth(processed, history_end, fleet.cut_days)
    fleet.exports.mkdir(parents=True, exist_ok=True)
    truth.write_parquet(fleet.exports / "truth.parquet")
    series.write_parquet(fleet.exports / "series.parquet")
    manifest = {
        "history_end": cut.isoformat(),
        "horizon_days": fleet.cut_days,
        "hosts": fleet.hosts,
        "oracle": False,
        "truth": "continued" if future else "cut",
    }
    (fleet.exports / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    log.info("%s: %d truth rows after the cut %s, %d series", fleet.name, truth.height, cut, series.height)
    return cut, truth


# ---------------------------------------------------------------------------------------------- warehouse


@dataclass(frozen=True)
class Warehouse:
    """The built tables the trust figures need, as polars frames."""

    windows: dict[str, date]
    forecasts: pl.DataFrame  # host_id, resource, ds, yhat, yhat_lower, yhat_upper, champion_model
    risks: pl.DataFrame  # host_id, resource, first_breach_date, days_to_breach, breach_basis (null before it)
    processed: pl.DataFrame  # host_id, resource, ds, y, is_imputed, scenario
    exclusions: pl.DataFrame  # host_id, resource, reason
    engines: pl.DataFrame  # ENGINE_COLUMNS, every engine's raw forecast (both segments)
    engine_relations: tuple[str, ...]
    planted: pl.DataFrame | None  # host_id, resource, days_after_end, breach_date (synthetic fleets)
    # int_series_breach_outlook: host_id, resource, breach_probability, worst_day_probability (newer builds), ...
    outlook: pl.DataFrame = field(default_factory=pl.DataFrame)


def engine_relations(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """The engine tables: from ``engine_registry`` if the warehouse has one, else the known names present."""
    tables = {row[0] for row in con.sql("select table_name from information_schema.tables").fetchall()}
    if "engine_registry" in tables:
        try:
            rows = con.sql("select distinct relation from engine_registry order by relation").fetchall()
            return tuple(row[0] for row in rows)
        except duckdb.Error as exc:
            log.warning("engine_registry unreadable (%s): using the known engine tables", exc)
    return tuple(name for name in FALLBACK_ENGINES if name in tables)


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    found = con.execute(
        "select count(*) from information_schema.columns where table_name = ? and column_name = ?", [table, column]
    ).fetchall()
    return bool(found[0][0])


def read_warehouse(path: Path) -> Warehouse:
    if not path.is_file():
        raise StageError(f"no warehouse at {path}: run without --skip-build first")
    with duckdb.connect(str(path), read_only=True) as con:
        relations = engine_relations(con)
        if not relations:
            raise StageError(f"{path} holds no engine tables: did the build finish?")
        columns = ", ".join(ENGINE_COLUMNS)
        union = " union all ".join(f"select {columns} from {relation}" for relation in relations)
        scenario = (
            "scenario"
            if con.sql(
                "select 1 from information_schema.columns where table_name = 'processed_data' "
                "and column_name = 'scenario'"
            ).fetchall()
            else "null::varchar as scenario"
        )
        try:
            planted = con.sql("select host_id, resource, days_after_end, breach_date from raw.planted_breaches").pl()
        except duckdb.Error:
            planted = None
        (windows,) = con.sql("select * from forecast_windows").pl().to_dicts()
        has_basis = _has_column(con, "capacity_risks", "breach_basis")
        basis = "breach_basis" if has_basis else "null::varchar as breach_basis"
        try:  # breach_probabilities reads the columns a build of its age has
            outlook = con.sql("select * from int_series_breach_outlook").pl()
        except duckdb.Error:
            outlook = pl.DataFrame()
        return Warehouse(
            windows=windows,
            forecasts=con.sql(
                "select host_id, resource, ds, yhat, yhat_lower, yhat_upper, champion_model from forecasts"
            ).pl(),
            risks=con.sql(
                f"select host_id, resource, first_breach_date, days_to_breach, {basis} from capacity_risks"
            ).pl(),
            processed=con.sql(f"select host_id, resource, ds, y, is_imputed, {scenario} from processed_data").pl(),
            exclusions=con.sql("select host_id, resource, reason from forecast_exclusions").pl(),
            engines=con.sql(union).pl(),
            engine_relations=relations,
            planted=planted,
            outlook=outlook,
        )


# ---------------------------------------------------------------------------------------------- stock Prophet


def _quiet_worker() -> None:
    """Silence stock Prophet's per-fit INFO lines (cmdstanpy configures its own logger on first use)."""
    import cmdstanpy
    import prophet  # noqa: F401  (its import sets its logger to INFO)

    logging.getLogger("prophet").setLevel(logging.ERROR)
    stan_logger = cmdstanpy.utils.get_logger()  # cached: configured once, here, then quietened
    stan_logger.setLevel(logging.ERROR)
    for handler in stan_logger.handlers:
        handler.setLevel(logging.ERROR)


def _fit_stock(task: tuple) -> tuple[str, str, list[tuple[str, np.ndarray, np.ndarray]], str | None]:
    """Fit ``prophet.Prophet()`` (defaults) once per cut; forecasts as (segment, ds, yhat/lower/upper). Its band
    comes from trend changes Prophet simulates with numpy's global generator, seeded here per series and cut,
    so the same fleet gives the same stock band in every run (unseeded, one seed's stock alerts moved 9 -> 10)."""
    import pandas as pd
    from prophet import Prophet

    host_id, resource, ds, y, cuts = task
    out = []
    try:
        for segment, cut, days in cuts:
            keep = ds <= np.datetime64(cut, "D")
            model = Prophet(interval_width=0.8)
            model.fit(pd.DataFrame({"ds": pd.to_datetime(ds[keep]), "y": y[keep]}))
            np.random.seed(zlib.crc32(f"{host_id}|{resource}|{segment}".encode()))
            future = np.arange(np.datetime64(cut, "D") + 1, np.datetime64(cut, "D") + 1 + days)
            predicted = model.predict(pd.DataFrame({"ds": pd.to_datetime(future)}))
            values = predicted[["yhat", "yhat_lower", "yhat_upper"]].to_numpy(dtype=np.float64)
            out.append((segment, future, values))
    except Exception as exc:  # a failed fit is a figure, never a stop
        return host_id, resource, [], f"{type(exc).__name__}: {exc}"
    return host_id, resource, out, None


def sample_keys(keys: pl.DataFrame, size: int | None, salt: str) -> pl.DataFrame:
    """A fixed, hash-chosen sample of series keys (all of them when size is None, 0 or large enough)."""
    if not size or size >= keys.height:
        return keys
    rank = [zlib.crc32(f"{salt}|{h}|{r}".encode()) for h, r in keys.select(*KEYS).iter_rows()]
    return keys.with_columns(pl.Series("_rank", rank)).sort("_rank").head(size).drop("_rank")


def stock_prophet(
    processed: pl.DataFrame, keys: pl.DataFrame, cuts: Sequence[tuple[str, date, int]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Stock Prophet on the non-imputed history of each series in ``keys``, one fit per cut.

    Returns the forecasts (segment, host_id, resource, ds, yhat, yhat_lower, yhat_upper) and the failures.
    """
    history = (
        processed.join(keys.select(*KEYS), on=list(KEYS), how="semi")
        .filter(~pl.col("is_imputed") & pl.col("y").is_not_null())
        .sort(*KEYS, "ds")
    )
    tasks = [
        (h, r, group["ds"].to_numpy().astype("datetime64[D]"), group["y"].to_numpy(), tuple(cuts))
        for (h, r), group in history.group_by(list(KEYS), maintain_order=True)
    ]
    log.info("stock Prophet: %d series x %d cut(s) on %d processes", len(tasks), len(cuts), STOCK_WORKERS)
    frames, failures = [], []
    context = multiprocessing.get_context("spawn")
    with context.Pool(STOCK_WORKERS, initializer=_quiet_worker) as pool:
        for done, (host_id, resource, out, error) in enumerate(pool.imap(_fit_stock, tasks, chunksize=4), 1):
            if error:
                failures.append({"host_id": host_id, "resource": resource, "error": error})
            for segment, future, values in out:
                frames.append(
                    pl.DataFrame(
                        {
                            "segment": segment,
                            "host_id": host_id,
                            "resource": resource,
                            "ds": future,
                            "yhat": values[:, 0],
                            "yhat_lower": values[:, 1],
                            "yhat_upper": values[:, 2],
                        }
                    )
                )
            if done % max(1, len(tasks) // 10) == 0:
                log.info("stock Prophet: %d / %d series", done, len(tasks))
    schema = {"host_id": pl.String, "resource": pl.String, "error": pl.String}
    forecasts = (
        pl.concat(frames)
        if frames
        else pl.DataFrame(
            schema={
                "segment": pl.String,
                **dict.fromkeys(KEYS, pl.String),
                "ds": pl.Date,
                "yhat": pl.Float64,
                "yhat_lower": pl.Float64,
                "yhat_upper": pl.Float64,
            }
        )
    )
    return forecasts.with_columns(pl.col("ds").cast(pl.Date)), pl.DataFrame(failures, schema=schema)


def cached_stock_prophet(
    fleet: Fleet, processed: pl.DataFrame, keys: pl.DataFrame, cuts: Sequence[tuple[str, date, int]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Stock Prophet, reused from the fleet's work dir when the same history, series and cuts were fitted."""
    fingerprint = hashlib.sha256(
        json.dumps(
            [
                processed.select(
                    pl.len(), pl.col("y").sum(), pl.col("ds").min().alias("first"), pl.col("ds").max().alias("last")
                ).row(0),
                sorted(keys.select(*KEYS).iter_rows()),
                list(cuts),
            ],
            default=str,
        ).encode()
    ).hexdigest()
    cache, failed, stamp = (
        fleet.work / f"stock_prophet{suffix}" for suffix in (".parquet", "_failures.parquet", ".key")
    )
    if stamp.is_file() and stamp.read_text() == fingerprint and cache.is_file() and failed.is_file():
        log.info("%s: stock Prophet reused from %s (same history, series and cuts)", fleet.name, cache)
        fleet.timings["stock prophet (cached)"] = 0.0
        return pl.read_parquet(cache), pl.read_parquet(failed)
    started = time.perf_counter()
    forecasts, failures = stock_prophet(processed, keys, cuts)
    fleet.timings["stock prophet"] = time.perf_counter() - started
    forecasts.write_parquet(cache)
    failures.write_parquet(failed)
    stamp.write_text(fingerprint)
    return forecasts, failures


# ---------------------------------------------------------------------------------------------- evaluation

#: Runs stock Prophet on (a sample of) the given series keys for the given cuts: (forecasts, failures).
StockRunner = Callable[[pl.DataFrame, Sequence[tuple[str, date, int]]], tuple[pl.DataFrame, pl.DataFrame]]


@dataclass
class Evaluation:
    """Everything one fleet reports."""

    points: pl.DataFrame  # point_scores per method x family (+ ALL) x horizon
    alerts: pl.DataFrame  # alert_scores per method x family (+ ALL)
    ratios: pl.DataFrame  # per family: HorizonScale / stock Prophet, Winkler and WAPE (1-180), same series
    diagnosis: pl.DataFrame  # the golden record's false alarms and misses
    excluded: pl.DataFrame  # reason, series: truth series without a golden forecast
    stock_failures: pl.DataFrame
    series: int  # series scored (with a golden forecast)
    stock_series: int  # of which stock Prophet was run on
    note: str  # what the point figures are measured on
    probabilities: pl.DataFrame = field(default_factory=pl.DataFrame)  # probability_scores per method
    reliability: pl.DataFrame = field(default_factory=pl.DataFrame)  # reliability per method x bin
    truth_note: str = ""  # what "breached" means where it is not "a day over the threshold in the window"
    oracle_gap: pl.DataFrame = field(default_factory=pl.DataFrame)  # oracle_gap of the golden record, by family
    # alert_scores of HorizonScale and stock Prophet on the series stock Prophet ran on (ALL only): the same series
    same_alerts: pl.DataFrame = field(default_factory=pl.DataFrame)
    unforecast_breaches: int = 0  # true breaches of series without a golden forecast: golden misses
    # the golden alert by capacity_risks.breach_basis: basis, flagged, true_positives
    by_basis: pl.DataFrame = field(default_factory=pl.DataFrame)


def ratios_with_oracle(scored: pl.DataFrame, stock_keys: pl.DataFrame) -> pl.DataFrame:
    """family, winkler_ratio_with_oracle, wape_ratio_with_oracle: WITH_ORACLE over stock Prophet on stock
    Prophet's series (days 1-180), where the fleet has an oracle band on some of them (an empty frame otherwise)."""
    on_stock = scored.join(stock_keys, on=list(KEYS), how="semi")
    oracle = on_stock.filter(pl.col("method") == ORACLE)
    if oracle.is_empty():
        return pl.DataFrame(
            schema={"family": pl.String, "winkler_ratio_with_oracle": pl.Float64, "wape_ratio_with_oracle": pl.Float64}
        )
    golden = on_stock.filter(pl.col("method") == GOLDEN)
    substituted = pl.concat(
        [golden.join(oracle.select(*KEYS, "h"), on=[*KEYS, "h"], how="anti"), oracle.select(golden.columns)],
        how="vertical_relaxed",
    ).with_columns(pl.lit(WITH_ORACLE).alias("method"))
    scores = point_scores(
        with_all(pl.concat([substituted, on_stock.filter(pl.col("method") == STOCK)])), horizons=(180,)
    )
    return target_ratios(scores, WITH_ORACLE, suffix="_with_oracle")


def target_ratios(scores: pl.DataFrame, method: str, suffix: str = "") -> pl.DataFrame:
    """family, winkler_ratio<suffix>, wape_ratio<suffix>: ``method`` over stock Prophet in ``scores``."""
    by_metric = [
        ratio(scores, metric, method, STOCK, on=["family"]).select(
            "family", pl.col("ratio").alias(f"{metric}_ratio{suffix}")
        )
        for metric in ("winkler", "wape")
    ]
    return by_metric[0].join(by_metric[1], on="family")


def horizon_day(cut: date) -> pl.Expr:
    return (pl.col("ds") - pl.lit(cut)).dt.total_days().cast(pl.Int64).alias("h")


def method_points(warehouse: Warehouse, stock: pl.DataFrame, segment: str, cut: date) -> pl.DataFrame:
    """Every method's forecast of one segment, as POINT_COLUMNS with ``h`` counted from ``cut``."""
    engines = warehouse.engines.filter(pl.col("segment") == segment).rename({"model": "method"})
    if segment == "forecast":
        golden = warehouse.forecasts.with_columns(pl.lit(GOLDEN).alias("method"))
    else:  # the golden record on the backtest: its champion's own backtest forecast and band
        champions = warehouse.forecasts.select(*KEYS, pl.col("champion_model").alias("method")).unique()
        golden = engines.join(champions, on=[*KEYS, "method"], how="semi").with_columns(pl.lit(GOLDEN).alias("method"))
    stock = stock.filter(pl.col("segment") == segment).with_columns(pl.lit(STOCK).alias("method"))
    frames = [f.with_columns(horizon_day(cut)).select(POINT_COLUMNS) for f in (golden, engines, stock)]
    return pl.concat(frames, how="vertical_relaxed")


def evaluate(
    scored: pl.DataFrame,
    flag_points: pl.DataFrame,
    warehouse: Warehouse,
    keys: pl.DataFrame,
    truth: pl.DataFrame,
    excluded: pl.DataFrame,
    stock_failures: pl.DataFrame,
    note: str,
    extra_flags: pl.DataFrame | None = None,
) -> Evaluation:
    """Scores of every method on the series in ``keys`` (host_id, resource, family, champion_model).

    ``scored``: POINT_COLUMNS plus ``y`` (the actual) on the evaluation window; ``flag_points``: POINT_COLUMNS
    on the production horizon (``h`` after history_end); ``truth``: host_id, resource, truth (breach within
    90 days), true_breach_date, and optionally the oracle's probability (ORACLE_COLUMN), which the diagnosis
    then carries. ``extra_flags``: method, host_id, resource, flagged of alert-only methods (the oracle).
    """
    family = keys.select(*KEYS, "family")
    scored = scored.join(family, on=list(KEYS), how="inner")
    # The oracle's band exists on a few families only: its ALL would be another set of series than the others'.
    points = point_scores(with_all(scored)).filter((pl.col("method") != ORACLE) | (pl.col("family") != ALL))

    flags = breach_flags(flag_points.join(family, on=list(KEYS), how="semi"), "yhat_upper")
    golden_flags = (
        keys.select(*KEYS)
        .join(warehouse.risks.filter(pl.col("days_to_breach") <= BREACH_WINDOW), on=list(KEYS), how="left")
        .select(pl.lit(GOLDEN).alias("method"), *KEYS, pl.col("first_breach_date").is_not_null().alias("flagged"))
    )
    # Every engine answers for every series (no forecast = no alert); stock Prophet for the series it ran on.
    methods = flags.filter(~pl.col("method").is_in([GOLDEN, STOCK])).select("method").unique()
    stock_ran = pl.concat(
        [flag_points.filter(pl.col("method") == STOCK).select(*KEYS), stock_failures.select(*KEYS)]
    ).unique()
    asked = pl.concat(
        [
            methods.join(keys.select(*KEYS), how="cross"),
            stock_ran.join(keys, on=list(KEYS), how="semi").select(pl.lit(STOCK).alias("method"), *KEYS),
        ]
    )
    extra = [] if extra_flags is None else [extra_flags.join(keys, on=list(KEYS), how="semi")]
    grid = pl.concat(
        [golden_flags, asked.join(flags, on=["method", *KEYS], how="left"), *extra],
        how="diagonal_relaxed",
    )
    alerts_frame = (
        grid.join(keys, on=list(KEYS))
        .join(truth.select(*KEYS, "truth", "days_to_true_breach"), on=list(KEYS), how="left")
        .with_columns(  # a false alarm on these is an early warning: the truth crosses within the forecast horizon
            # Not is_between(91, 180): the default fleet's planted days are fractional (90.5 is after the window).
            ((pl.col("days_to_true_breach") > BREACH_WINDOW) & (pl.col("days_to_true_breach") <= LATER_WINDOW)).alias(
                "breaches_later"
            )
        )
    )
    # A series that truly breaches but got no golden forecast is a miss of the golden record, not a series less.
    unforecast = (
        truth.filter(pl.col("truth").fill_null(False))
        .join(keys, on=list(KEYS), how="anti")
        .select(
            pl.lit(GOLDEN).alias("method"),
            pl.lit("unforecast").alias("family"),
            *KEYS,
            pl.lit(False).alias("flagged"),
            pl.lit(True).alias("truth"),
            pl.lit(False).alias("breaches_later"),
        )
    )
    if unforecast.height:
        log.warning(
            "%d series breach within %d days without a golden forecast: counted as misses",
            unforecast.height,
            BREACH_WINDOW,
        )
    alert_rows = pl.concat(
        [alerts_frame.select("method", "family", *KEYS, "flagged", "truth", "breaches_later"), unforecast],
        how="vertical_relaxed",
    )
    alerts = alert_scores(with_all(alert_rows))
    same_alerts = alert_scores(
        with_all(alert_rows.filter(pl.col("method").is_in([GOLDEN, STOCK])).join(stock_ran, on=list(KEYS), how="semi"))
    ).filter(pl.col("family") == ALL)
    # Recurring peaks flag without an upper-bound crossing: the golden upper bound cannot agree on those.
    recurring = warehouse.risks.filter(pl.col("breach_basis") == RECURRING_BASIS).select(*KEYS)
    _check_golden_rule(flags, golden_flags.join(recurring, on=list(KEYS), how="anti"))
    by_basis = (
        warehouse.risks.filter(pl.col("days_to_breach") <= BREACH_WINDOW)
        .join(keys.select(*KEYS), on=list(KEYS), how="semi")
        .join(truth.select(*KEYS, "truth"), on=list(KEYS), how="left")
        .group_by("breach_basis")
        .agg(pl.len().alias("flagged"), pl.col("truth").fill_null(False).sum().alias("true_positives"))
        .sort("flagged", "breach_basis", descending=[True, False])
    )

    stock_keys = scored.filter(pl.col("method") == STOCK).select(*KEYS).unique()
    same = scored.join(stock_keys, on=list(KEYS), how="semi").filter(pl.col("method").is_in([GOLDEN, STOCK]))
    same_scores = point_scores(with_all(same), horizons=(180,))
    ratios = (
        target_ratios(same_scores, GOLDEN)
        .join(same_scores.filter(pl.col("method") == GOLDEN).select("family", "series"), on="family")
        .join(ratios_with_oracle(scored, stock_keys), on="family", how="left")
        .sort("family")
    )

    risks = warehouse.risks.select(*KEYS, "first_breach_date", "days_to_breach", "breach_basis")
    oracle_columns = [ORACLE_COLUMN] if ORACLE_COLUMN in truth.columns else []
    stated = breach_probabilities(warehouse.outlook, keys, truth)
    diagnosis = (
        alerts_frame.filter((pl.col("method") == GOLDEN) & (pl.col("flagged") != pl.col("truth").fill_null(False)))
        .join(risks, on=list(KEYS), how="left")
        .join(
            truth.select(*KEYS, "true_breach_date", "days_to_true_breach", *oracle_columns),
            on=list(KEYS),
            how="left",
        )
        .select(
            pl.when(pl.col("flagged")).then(pl.lit("false_alarm")).otherwise(pl.lit("missed")).alias("kind"),
            *KEYS,
            "family",
            "champion_model",
            "first_breach_date",
            "days_to_breach",
            "breach_basis",
            "true_breach_date",
            "days_to_true_breach",
            *oracle_columns,
        )
        .sort("kind", *KEYS)
    )
    return Evaluation(
        points=points,
        alerts=alerts,
        ratios=ratios,
        diagnosis=diagnosis,
        excluded=excluded,
        stock_failures=stock_failures,
        series=keys.height,
        stock_series=stock_keys.height,
        note=note,
        probabilities=probability_scores(stated) if stated.height else pl.DataFrame(),
        reliability=reliability(stated) if stated.height else pl.DataFrame(),
        oracle_gap=oracle_gap(scored, GOLDEN, ORACLE) if (scored["method"] == ORACLE).any() else pl.DataFrame(),
        same_alerts=same_alerts,
        unforecast_breaches=unforecast.height,
        by_basis=by_basis,
    )


def breach_probabilities(outlook: pl.DataFrame, keys: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """method, host_id, resource, probability, truth: every stated chance of a breach within the window, each
    method on the same series (those in ``keys`` that every method states a chance for): HorizonScale's
    (int_series_breach_outlook.breach_probability), its worst day's alone, and the oracle's where the fleet has
    it. A build from before the breach chance has only breach_probability, which was then the worst day's: it
    is scored as that."""
    truth_columns = [c for c in ("truth", ORACLE_COLUMN) if c in truth.columns]
    stated = keys.select(*KEYS).join(truth.select(*KEYS, *truth_columns), on=list(KEYS), how="left")
    columns = (
        {GOLDEN: "breach_probability", WORST_DAY: "worst_day_probability"}
        if "worst_day_probability" in outlook.columns
        else {WORST_DAY: "breach_probability"}
    )
    columns = {method: column for method, column in columns.items() if column in outlook.columns}
    if columns:
        renamed = outlook.select(*KEYS, *[pl.col(c).alias(m) for m, c in columns.items()])
        stated = stated.join(renamed, on=list(KEYS), how="left")
    if ORACLE_COLUMN in stated.columns:
        stated = stated.rename({ORACLE_COLUMN: ORACLE})
    methods = [m for m in (GOLDEN, WORST_DAY, ORACLE) if m in stated.columns]
    if not methods:
        return pl.DataFrame()
    own = [m for m in methods if m != ORACLE]
    complete = stated.drop_nulls(subset=own or methods)
    if complete.height < stated.height:
        log.warning(
            "%d series lack a stated breach probability: scored on the other %d",
            stated.height - complete.height,
            complete.height,
        )
    # A null oracle probability is a law the generator could not state (not a 0): the oracle is scored on the
    # series it knows only, the other methods on all of them.
    return (
        complete.unpivot(index=[*KEYS, "truth"], on=methods, variable_name="method", value_name="probability")
        .filter(pl.col("probability").is_not_null())
        .select("method", *KEYS, "probability", "truth")
    )


def _check_golden_rule(flags: pl.DataFrame, golden_flags: pl.DataFrame) -> None:
    """capacity_risks and the golden forecasts' own upper bound should flag the same series: warn if not."""
    from_upper = flags.filter(pl.col("method") == GOLDEN).select(*KEYS, pl.col("flagged").alias("upper"))
    differ = golden_flags.join(from_upper, on=list(KEYS), how="left").filter(
        pl.col("flagged") != pl.col("upper").fill_null(False)
    )
    if differ.height:
        log.warning(
            "%d series where capacity_risks and the golden upper bound disagree: an upper bound over the threshold "
            "that the alert's band rules (breach_alert_band_max_difficulty, breach_alert_min_probability) leave "
            "unflagged, or a history_end that differs",
            differ.height,
        )


def golden_keys(warehouse: Warehouse, family: pl.DataFrame) -> pl.DataFrame:
    """The series scored: those with a golden forecast, with their family and champion."""
    champions = warehouse.forecasts.select(*KEYS, "champion_model").unique()
    return (
        champions.join(family, on=list(KEYS), how="left")
        .with_columns(pl.col("family").fill_null("unknown"))
        .sort(*KEYS)
    )


def exclusions(all_series: pl.DataFrame, keys: pl.DataFrame, warehouse: Warehouse) -> pl.DataFrame:
    """Truth series without a golden forecast, counted by reason."""
    missing = all_series.select(*KEYS).join(keys, on=list(KEYS), how="anti")
    in_processed = warehouse.processed.select(*KEYS).unique()
    return (
        missing.join(warehouse.exclusions, on=list(KEYS), how="left")
        .join(in_processed.with_columns(pl.lit(True).alias("processed")), on=list(KEYS), how="left")
        .select(
            pl.when(pl.col("reason").is_not_null())
            .then(pl.col("reason"))
            .when(pl.col("processed").is_null())
            .then(pl.lit("not in processed_data (rejected by the refinery)"))
            .otherwise(pl.lit("no forecast, no exclusion row"))
            .alias("reason")
        )
        .group_by("reason")
        .agg(pl.len().alias("series"))
        .sort("series", descending=True)
    )


def read_stress_truth(exports: Path) -> tuple[dict, pl.DataFrame, pl.DataFrame]:
    """The stress generator's manifest, truth (clean future) and per-series truth."""
    missing = [name for name in ("manifest.json", "truth.parquet", "series.parquet") if not (exports / name).is_file()]
    if missing:
        raise StageError(f"{exports} lacks {', '.join(missing)}: regenerate it (run without --skip-build)")
    manifest = json.loads((exports / "manifest.json").read_text())
    truth = pl.read_parquet(exports / "truth.parquet").with_columns(
        pl.col("host_id").str.to_lowercase(), pl.col("ds").cast(pl.Date), pl.col("y").cast(pl.Float64)
    )
    series = pl.read_parquet(exports / "series.parquet").with_columns(pl.col("host_id").str.to_lowercase())
    return manifest, truth, series


def evaluate_stress(exports: Path, warehouse: Warehouse, run_stock: StockRunner) -> Evaluation:
    """Every method's production forecast against the stress generator's clean future in ``exports`` (or, for
    a default_cut fleet, against the refined actuals kept aside after its cut: no oracle there)."""
    manifest, truth, series = read_stress_truth(exports)
    has_oracle = manifest.get("oracle", True)
    history_end = date.fromisoformat(str(manifest["history_end"]))
    if warehouse.windows["history_end"] != history_end:
        # The golden alert is capacity_risks' days_to_breach, counted from the warehouse's history_end; every
        # other method's alert and the truth count from the generator's. Scored anyway, the golden record's
        # window would be shifted against the truth's (its day 90 another day of the truth), so: no figures.
        raise StageError(
            f"the warehouse's history_end {warehouse.windows['history_end']} is not the generator's {history_end} "
            f"({exports / 'manifest.json'}): the golden alert's window would not be the truth's; rebuild the fleet "
            + ("without a history_end var" if has_oracle else "(without --skip-build: its build sets history_end)")
        )
    keys = golden_keys(warehouse, series.select(*KEYS, "family"))
    horizon = int(manifest.get("horizon_days", 180))
    stock, failures = run_stock(keys, [("forecast", history_end, horizon)])
    forecast = method_points(warehouse, stock, "forecast", history_end)
    actual = truth.with_columns(horizon_day(history_end)).select(*KEYS, "h", "y")
    scored = forecast.join(actual, on=[*KEYS, "h"], how="inner")
    ideal = oracle_points(truth, history_end) if has_oracle else None
    if ideal is not None:
        scored = pl.concat([scored, ideal], how="vertical_relaxed")
    over = (pl.col("y") > BREACH_THRESHOLD) & pl.col("h").is_between(1, BREACH_WINDOW)
    truth_flags = (
        actual.group_by(list(KEYS))
        .agg(
            over.any().alias("truth"),
            pl.col("h").filter(pl.col("y") > BREACH_THRESHOLD).min().alias("days_to_true_breach"),
        )
        .with_columns((pl.lit(history_end) + pl.duration(days=pl.col("days_to_true_breach"))).alias("true_breach_date"))
    )
    oracle = oracle_flags(series) if has_oracle else None
    if oracle is not None:
        truth_flags = truth_flags.join(series.select(*KEYS, ORACLE_COLUMN), on=list(KEYS), how="left")
    result = evaluate(
        scored,
        forecast,
        warehouse,
        keys,
        truth_flags,
        exclusions(series, keys, warehouse),
        failures,
        truth_note(manifest, history_end, horizon, has_oracle),
        extra_flags=oracle,
    )
    return result


def truth_note(manifest: dict, history_end: date, horizon: int, has_oracle: bool) -> str:
    """What the point and band figures of a fleet with a future compare (the report's first line)."""
    if has_oracle:
        return f"production forecasts vs the generator's clean future, days 1-{horizon} after {history_end}"
    if manifest.get("truth") == "continued":
        return (
            f"the default fleet's production forecasts (history_end {history_end}) vs the refined, non-imputed "
            f"actuals of the {horizon} days the same fleet went on to have (generate --extend-days)"
        )
    return (
        f"production forecasts built with history_end {history_end} vs the refined, non-imputed actuals of "
        f"days 1-{horizon} after it, kept aside before the build"
    )


def oracle_points(truth: pl.DataFrame, history_end: date) -> pl.DataFrame | None:
    """The oracle's 80% band and median (POINT_COLUMNS plus ``y``) on the series whose noise law the generator
    kept (``stress.oracle.band``); None for a fleet written before the generator kept it."""
    if ORACLE_BAND_COLUMNS[0] not in truth.columns:
        log.warning("truth.parquet lacks the oracle's band: no oracle band figures for this fleet (regenerate it)")
        return None
    lower, median, upper = ORACLE_BAND_COLUMNS
    return (
        truth.filter(pl.col(median).is_not_null())
        .with_columns(
            horizon_day(history_end),
            pl.lit(ORACLE).alias("method"),
            pl.col(median).alias("yhat"),
            pl.col(lower).alias("yhat_lower"),
            pl.col(upper).alias("yhat_upper"),
        )
        .select(*POINT_COLUMNS, "y")
    )


def oracle_flags(series: pl.DataFrame) -> pl.DataFrame | None:
    """The oracle alert (method, host_id, resource, flagged) from the generator's per-series probability; None
    for a fleet written before the generator kept it."""
    if ORACLE_COLUMN not in series.columns:
        log.warning("series.parquet lacks %s: no oracle alert for this fleet (regenerate it)", ORACLE_COLUMN)
        return None
    # A null probability (a law the generator could not state) is no alert either way: left out, so the oracle's
    # alert is scored on the series it knows, never as a 0 that did not flag.
    return series.filter(pl.col(ORACLE_COLUMN).is_not_null()).select(
        pl.lit(ORACLE).alias("method"), *KEYS, (pl.col(ORACLE_COLUMN) >= ORACLE_LEVEL).alias("flagged")
    )


def default_stock_cuts(warehouse: Warehouse) -> list[tuple[str, date, int]]:
    """Stock Prophet's fits on the default fleet: at its backtest's start and at its history's end (segment, cut,
    days), as its backtest reading fits them and its continued fleet reuses them."""
    windows = warehouse.windows
    train_end, history_end = windows["train_end"], windows["history_end"]
    horizon = int(windows["forecast_horizon_days"])
    return [("backtest", train_end, (history_end - train_end).days), ("forecast", history_end, horizon)]


def evaluate_default(warehouse: Warehouse, run_stock: StockRunner) -> Evaluation:
    """Backtest figures of every method; the alert against the generator's planted breaches."""
    windows = warehouse.windows
    train_end, history_end = windows["train_end"], windows["history_end"]
    if windows["backtest_end"] != history_end:
        raise ValueError("the default fleet's build kept an earlier tournament: build it fresh (--full-refresh)")
    family = warehouse.processed.select(*KEYS, pl.col("scenario").alias("family")).unique(subset=list(KEYS))
    keys = golden_keys(warehouse, family)
    backtest_days = (history_end - train_end).days
    stock, failures = run_stock(keys, default_stock_cuts(warehouse))
    actual = (
        warehouse.processed.filter(~pl.col("is_imputed") & pl.col("y").is_not_null() & (pl.col("ds") > train_end))
        .with_columns(horizon_day(train_end))
        .select(*KEYS, "h", "y")
    )
    scored = method_points(warehouse, stock, "backtest", train_end).join(actual, on=[*KEYS, "h"], how="inner")
    planted = (
        warehouse.planted
        if warehouse.planted is not None
        else pl.DataFrame(
            schema={"host_id": pl.String, "resource": pl.String, "days_after_end": pl.Float64, "breach_date": pl.Date}
        )
    )
    truth_flags = (
        keys.select(*KEYS)
        .join(planted, on=list(KEYS), how="left")
        .select(
            *KEYS,
            (pl.col("days_after_end") <= BREACH_WINDOW).fill_null(False).alias("truth"),
            pl.col("breach_date").alias("true_breach_date"),
            pl.col("days_after_end").alias("days_to_true_breach"),
        )
    )
    result = evaluate(
        scored,
        method_points(warehouse, stock, "forecast", history_end),
        warehouse,
        keys,
        truth_flags,
        exclusions(warehouse.processed.select(*KEYS).unique(), keys, warehouse),
        failures,
        f"backtest {windows['backtest_start']}..{history_end} (days 1-{backtest_days} after {train_end}) vs "
        "non-imputed actuals; alert vs raw.planted_breaches",
    )
    return replace(
        result,
        truth_note="Breached here means a planted breach within the window (raw.planted_breaches), not any day over "
        f"{BREACH_THRESHOLD:g}: a host that already runs over it, or whose noise crosses it, counts as no breach, "
        "so these figures do not measure the stated chance as the stress fleets do.",
    )


# ---------------------------------------------------------------------------------------------- reporting


def fmt(value: object, digits: int = 3) -> object:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    return round(value, digits) if isinstance(value, float) else value


def method_order(methods: Iterable[str]) -> list[str]:
    first = [GOLDEN, "prophet", "xgboost", "seasonal_naive", STOCK]
    methods = set(methods)
    last = [ORACLE] if ORACLE in methods else []
    return [m for m in first if m in methods] + sorted(methods - set(first) - set(last)) + last


def same_series_alerts(result: Evaluation, method: str) -> str:
    """ "precision / recall" of one method's alert on stock Prophet's series, or "-"."""
    rows = result.same_alerts.filter(pl.col("method") == method) if result.same_alerts.height else result.same_alerts
    if not rows.height:
        return "-"
    return f"{fmt(rows['precision'].item())} / {fmt(rows['recall'].item())}"


def basis_lines(result: Evaluation) -> list[str]:
    """The golden alert split by why it flagged (capacity_risks.breach_basis), with how many were true."""
    if not result.by_basis.height or result.by_basis["breach_basis"].is_null().all():
        return []
    parts = [
        f"{row['breach_basis']} {row['flagged']} ({row['true_positives']} true)" for row in result.by_basis.to_dicts()
    ]
    return [f"The {GOLDEN} alert by why it flagged (breach_basis): " + "; ".join(parts) + ".\n"]


def same_series_alert_lines(result: Evaluation) -> list[str]:
    """The alert of HorizonScale and stock Prophet on the same series: the table above scores stock Prophet on
    the series it ran on only, HorizonScale on all of them."""
    if not result.same_alerts.height:
        return []
    both = {row["method"]: row for row in result.same_alerts.to_dicts()}
    if GOLDEN not in both or STOCK not in both:
        return []
    golden, stock = both[GOLDEN], both[STOCK]
    return [
        f"The alert on the {golden['series']} series stock Prophet ran on, the same series for both "
        f"({golden['true']} true breaches): {GOLDEN} flagged {golden['flagged']}, {golden['false_positives']} false "
        f"and {golden['missed']} missed (precision / recall {same_series_alerts(result, GOLDEN)}); {STOCK} flagged "
        f"{stock['flagged']}, {stock['false_positives']} false and {stock['missed']} missed "
        f"({same_series_alerts(result, STOCK)}). The table's {STOCK} row is on those series only; the point and "
        "band figures of both on the same series are the summary's ratios.\n"
    ]


def fleet_report(fleet: Fleet, result: Evaluation) -> str:
    points, alerts = result.points, result.alerts
    methods = method_order(points["method"].unique().to_list() + alerts["method"].unique().to_list())
    families = [ALL, *sorted(f for f in points["family"].unique().to_list() if f != ALL)]
    excluded = ", ".join(f"{r['series']} {r['reason']}" for r in result.excluded.to_dicts()) or "none"
    lines = [
        f"## Trust: {fleet.name} ({fleet.kind} fleet, {fleet.hosts} hosts, seed {fleet.seed})",
        "",
        f"Scored: {result.series} series with a golden forecast; excluded: {excluded}. "
        f"Stock Prophet on {result.stock_series} of them ({result.stock_failures.height} failed fits).",
        f"Point and band figures: {result.note}. 80% bands; Winkler at alpha 0.2; MAPE over actuals >= 1.",
        "",
        "### All series",
        "",
    ]

    def pick(frame: pl.DataFrame, method: str, family: str, column: str, horizon: int | None = None) -> object:
        rows = frame.filter((pl.col("method") == method) & (pl.col("family") == family))
        if horizon is not None:
            rows = rows.filter(pl.col("horizon") == horizon)
        return fmt(rows[column].item()) if rows.height else "-"

    header = [
        "method",
        "series",
        "WAPE 1-90 %",
        "WAPE 1-180 %",
        "MAPE 1-180 %",
        "coverage",
        "width",
        "Winkler",
        "flagged",
        "TP",
        "FP",
        f"FP crossing by day {LATER_WINDOW}",
        "missed",
        "precision",
        "recall",
    ]
    rows = [
        [
            m,
            pick(points, m, ALL, "series", 180),
            pick(points, m, ALL, "wape", 90),
            pick(points, m, ALL, "wape", 180),
            pick(points, m, ALL, "mape", 180),
            pick(points, m, ALL, "coverage", 180),
            pick(points, m, ALL, "width", 180),
            pick(points, m, ALL, "winkler", 180),
        ]
        + [
            pick(alerts, m, ALL, c)
            for c in (
                "flagged",
                "true_positives",
                "false_positives",
                "false_positives_breach_later",
                "missed",
                "precision",
                "recall",
            )
        ]
        for m in methods
    ]
    lines.append(markdown_table(header, rows))
    true_count = pick(alerts, GOLDEN, ALL, "true")
    unforecast = (
        f" ({result.unforecast_breaches} of them on series without a golden forecast: counted as its misses)"
        if result.unforecast_breaches
        else ""
    )
    lines.append(f"True breaches within {BREACH_WINDOW} days: {true_count}{unforecast}.\n")
    lines += basis_lines(result)
    lines += same_series_alert_lines(result)
    if ORACLE in methods:
        lines.append(
            f"{ORACLE}: the generator's oracle alert (breach within {BREACH_WINDOW} days at least {ORACLE_LEVEL} "
            "likely for a forecaster that knew each series' path and noise law, not the future's noise draws); its "
            "false alarms and misses are what no forecaster could avoid on this fleet. In the point and band "
            "tables by family, its column is the same forecaster's median and 80% band, on the families whose noise "
            "law the generator keeps (those that can breach): the coverage and Winkler score an ideal band gets "
            "there. Where a series is all but sure to sit at 100, the ideal band reaches 100 and covers a truth "
            "pinned there.\n"
        )
    for title, frame, column, horizon in [
        ("WAPE % (days 1-180)", points, "wape", 180),
        ("80% band coverage (days 1-180)", points, "coverage", 180),
        ("80% band coverage on the days the actual is below 100 (days 1-180)", points, "coverage_below_ceiling", 180),
        ("Winkler score (days 1-180)", points, "winkler", 180),
        ("alert recall", alerts, "recall", None),
        ("alert precision", alerts, "precision", None),
    ]:
        lines += [f"### {title} by family", ""]
        # Beside the alert figures, what they rest on: the family's series and true breaches within 90 days.
        counts = ["series", "true"] if frame is alerts else ["series"]
        shown = [m for m in methods if m in set(frame["method"].to_list())]
        rows = [
            [f]
            + [pick(frame, GOLDEN, f, c, horizon) for c in counts]
            + [pick(frame, m, f, column, horizon) for m in shown]
            for f in families
        ]
        lines.append(markdown_table(["family", *counts, *shown], rows))
    lines += gap_section(result.oracle_gap, f"### Against the oracle: {GOLDEN}'s point bias and upper half-width")
    lines += probability_section(result)
    lines += ["### HorizonScale / stock Prophet on the same series (days 1-180)", ""]
    lines.append(
        markdown_table(
            [
                "family",
                "series",
                "Winkler ratio",
                "WAPE ratio",
                "Winkler ratio with the oracle where it has one",
                "WAPE ratio with the oracle where it has one",
            ],
            [
                [
                    r["family"],
                    r["series"],
                    fmt(r["winkler_ratio"]),
                    fmt(r["wape_ratio"]),
                    fmt(r.get("winkler_ratio_with_oracle")),
                    fmt(r.get("wape_ratio_with_oracle")),
                ]
                for r in result.ratios.to_dicts()
            ],
        )
    )
    lines += [
        "### Time per stage",
        "",
        markdown_table(["stage", "seconds"], [[k, f"{v:.1f}"] for k, v in fleet.timings.items()]),
    ]
    return "\n".join(lines)


def gap_section(gap: pl.DataFrame, title: str) -> list[str]:
    """oracle_gap as a table (empty without an oracle): per family and horizon bucket, how far the golden
    record's point forecast sits from the oracle's median and how wide its upper half is beside the oracle's."""
    if gap.is_empty():
        return []
    header = ["family", "days", "series", "bias", "mean abs gap", "upper half-width", "oracle upper half-width"]
    rows = [
        [
            r["family"],
            r["days"],
            r["series"],
            fmt(r["bias"]),
            fmt(r["gap"]),
            fmt(r["upper_half"]),
            fmt(r["oracle_upper_half"]),
        ]
        for r in gap.to_dicts()
    ]
    return [
        title,
        "",
        "On the families with an ideal band, days where both upper bounds are under 99. Bias: our yhat less the "
        "oracle's median (negative = behind it). An upper half-width wider than the oracle's, on a point forecast "
        "close to its median, states more chance of a breach than the series' own noise gives.",
        "",
        markdown_table(header, rows),
    ]


def pool_oracle_gap(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """oracle_gap tables of several fleets as one: series and points summed, the rest weighted by points."""
    frames = [f for f in frames if not f.is_empty()]
    if not frames:
        return pl.DataFrame()
    order = pl.concat(frames).select("days").unique(maintain_order=True)
    weighted = [
        ((pl.col(c) * pl.col("points")).sum() / pl.col("points").sum()).alias(c)
        for c in ("bias", "gap", "upper_half", "oracle_upper_half")
    ]
    return (
        pl.concat(frames)
        .group_by("family", "days", maintain_order=True)
        .agg(pl.col("series").sum(), pl.col("points").sum(), *weighted)
        .join(order.with_row_index("order"), on="days")
        .sort("family", "order")
        .drop("order")
    )


def probability_section(result: Evaluation) -> list[str]:
    """The stated chance of a breach within the window against the truth: proper scores, then a reliability
    table (per bin of the stated chance, how often the series really breached). Empty without figures."""
    scores, bins = result.probabilities, result.reliability
    if scores.is_empty():
        return []
    methods = [m for m in (GOLDEN, WORST_DAY, ORACLE) if m in set(scores["method"].to_list())]
    lines = [
        f"### Breach probability (within {BREACH_WINDOW} days) against the truth",
        "",
        "; ".join(f"{m}: {PROBABILITY_SOURCES[m]}" for m in methods)
        + ". Brier score and log loss are proper scores (lower is better)."
        + (f" {result.truth_note}" if result.truth_note else ""),
        "",
    ]
    rows = [
        [r["method"], r["series"], r["true"], fmt(r["mean_probability"], 4), fmt(r["brier"], 5), fmt(r["log_loss"], 5)]
        for r in scores.to_dicts()
        if r["method"] in methods
    ]
    lines.append(markdown_table(["method", "series", "true breaches", "mean stated", "Brier", "log loss"], rows))
    return lines + reliability_table(bins, methods)


def reliability_table(bins: pl.DataFrame, methods: Sequence[str]) -> list[str]:
    """Per bin of the stated chance and method: series, mean stated chance, share that breached."""
    header = ["stated chance"] + [f"{m}: series / stated / breached" for m in methods]
    edges = sorted(set(bins["bin_low"].to_list()))
    table = []
    for low in edges:
        row: list[object] = [f">= {low:g}"]
        for m in methods:
            cell = bins.filter((pl.col("method") == m) & (pl.col("bin_low") == low))
            row.append(
                "-"
                if cell.is_empty()
                else f"{cell['series'].item()} / {cell['mean_probability'].item():.3f} / {cell['frequency'].item():.3f}"
            )
        table.append(row)
    return [markdown_table(header, table)]


def overall(frame: pl.DataFrame, method: str, column: str, horizon: int | None = 180) -> object:
    """One method's figure over all series (days 1..horizon for point figures)."""
    rows = frame.filter((pl.col("method") == method) & (pl.col("family") == ALL))
    if horizon is not None and "horizon" in frame.columns:
        rows = rows.filter(pl.col("horizon") == horizon)
    return fmt(rows[column].item()) if rows.height else "-"


def _apart(value: float | None, bounds: tuple[float, ...]) -> str:
    """``value`` with 3 significant digits, or as many more as it takes not to print as one of ``bounds``
    (0.90004 outside 0.90 must not read "0.9"); "-" for none."""
    if value is None:
        return "-"
    digits = 3
    while digits < 12 and any(float(f"{value:.{digits}g}") == bound != value for bound in bounds):
        digits += 1
    return f"{value:.{digits}g}"


def families_out_of_range(
    points: pl.DataFrame,
    low: float = FAMILY_COVERAGE[0],
    high: float = FAMILY_COVERAGE[1],
    column: str = "coverage",
) -> str:
    """The issue's family gate for the golden record (80% coverage, days 1-180, within [low, high] for every
    family): "n of m in range", then each family outside with its coverage and, where the oracle's band exists,
    the ideal band's coverage beside it (an ideal above the range means a calibrated band cannot reach the range
    there). A family without a coverage figure counts as out. ``column``: ``coverage`` over all days, or
    ``coverage_below_ceiling`` on the days the actual is below 100 (where a truth pinned at 100 does not count)."""
    coverage = points.filter((pl.col("horizon") == 180) & (pl.col("family") != ALL))
    golden = coverage.filter(pl.col("method") == GOLDEN).select("family", pl.col(column).alias("coverage"))
    ideal = coverage.filter(pl.col("method") == ORACLE).select("family", pl.col(column).alias("ideal"))
    inside = pl.col("coverage").is_between(low, high).fill_null(False)
    out = golden.join(ideal, on="family", how="left").filter(~inside).sort("family")
    text = f"{golden.height - out.height} of {golden.height}"
    if out.is_empty():
        return text
    parts = [
        f"{r['family']} {_apart(r['coverage'], (low, high))}"
        + ("" if r["ideal"] is None else f" (ideal {r['ideal']:.3f})")
        for r in out.to_dicts()
    ]
    return f"{text}; out: {', '.join(parts)}"


def pool_reliability(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Reliability tables of several fleets as one: series summed, stated chance and frequency weighted."""
    if not frames:
        return pl.DataFrame()
    return (
        pl.concat(frames, how="vertical_relaxed")
        .group_by("method", "bin_low")
        .agg(
            pl.col("series").sum(),
            ((pl.col("mean_probability") * pl.col("series")).sum() / pl.col("series").sum()).alias("mean_probability"),
            ((pl.col("frequency") * pl.col("series")).sum() / pl.col("series").sum()).alias("frequency"),
        )
        .sort("method", "bin_low")
    )


def brier(result: Evaluation, method: str) -> object:
    """One method's Brier score of its breach probability, or "-"."""
    scores = result.probabilities
    rows = scores.filter(pl.col("method") == method) if not scores.is_empty() else scores
    return fmt(rows["brier"].item(), 5) if rows.height else "-"


def summary_report(results: dict[str, tuple[Fleet, Evaluation]]) -> str:
    rows = []
    for name, (_, result) in results.items():
        ratios = result.ratios.filter(pl.col("family") == ALL)
        rows.append(
            [
                name,
                result.series,
                overall(result.points, GOLDEN, "wape"),
                overall(result.points, STOCK, "wape"),
                fmt(ratios["wape_ratio"].item()) if ratios.height else "-",
                overall(result.points, GOLDEN, "winkler"),
                overall(result.points, STOCK, "winkler"),
                fmt(ratios["winkler_ratio"].item()) if ratios.height else "-",
                fmt(ratios["wape_ratio_with_oracle"].item()) if ratios.height else "-",
                fmt(ratios["winkler_ratio_with_oracle"].item()) if ratios.height else "-",
                overall(result.points, GOLDEN, "coverage"),
                f"{overall(result.alerts, GOLDEN, 'precision')} / {overall(result.alerts, GOLDEN, 'recall')}",
                f"{same_series_alerts(result, GOLDEN)} vs {same_series_alerts(result, STOCK)}",
                f"{overall(result.alerts, ORACLE, 'precision')} / {overall(result.alerts, ORACLE, 'recall')}",
                families_out_of_range(result.points),
                families_out_of_range(result.points, column="coverage_below_ceiling"),
                " / ".join(str(brier(result, m)) for m in (GOLDEN, WORST_DAY, ORACLE)),
            ]
        )
    header = [
        "fleet",
        "series",
        "HS WAPE %",
        "stock WAPE %",
        "WAPE ratio",
        "HS Winkler",
        "stock Winkler",
        "Winkler ratio",
        "WAPE ratio with the oracle where it has one",
        "Winkler ratio with the oracle where it has one",
        "HS coverage",
        "HS alert precision / recall",
        "on stock's series: HS vs stock alert precision / recall",
        "oracle alert precision / recall",
        f"HS families with coverage in {FAMILY_COVERAGE[0]:.2f}-{FAMILY_COVERAGE[1]:.2f}",
        "the same on the days the actual is below 100",
        "breach-probability Brier: HS / HS worst day / oracle",
    ]
    stages = list(dict.fromkeys(stage for fleet, _ in results.values() for stage in fleet.timings))
    timing_rows = [
        [name] + [f"{fleet.timings[s]:.1f}" if s in fleet.timings else "-" for s in stages]
        for name, (fleet, _) in results.items()
    ]
    stress = [
        result.reliability
        for fleet, result in results.values()
        if fleet.kind == "stress" and not result.reliability.is_empty()
    ]
    pooled = pool_reliability(stress)
    gaps = pool_oracle_gap([result.oracle_gap for fleet, result in results.values() if fleet.kind == "stress"])
    pooled_lines = (
        [
            f"### Breach probability reliability, pooled over the {len(stress)} stress fleets",
            "",
            *reliability_table(pooled, [m for m in (GOLDEN, WORST_DAY, ORACLE) if m in set(pooled["method"])]),
        ]
        if not pooled.is_empty()
        else []
    )
    return "\n".join(
        [
            "## Trust across fleets (WAPE, Winkler, coverage: days 1-180; stress fleets on the future, the default "
            "fleet on its backtest, whose days 1-180 are its backtest's (122 at the default vars) and whose champion "
            "was chosen on them, the default fleet's cut (default_s<seed>_cut<N>) on the N days after its cut, kept "
            "aside before its build, the default fleet's production forecasts (default_s<seed>_future<N>) on the N "
            "days the same fleet goes on to have; HS = HorizonScale golden record; stock Prophet runs on a sample of "
            "each fleet's series: its WAPE and Winkler over that sample, the ratios and the alert comparison on the "
            "same series for both)",
            "",
            markdown_table(header, rows),
            *pooled_lines,
            *gap_section(
                gaps,
                f"### Against the oracle, pooled over the stress fleets: {GOLDEN}'s point bias and upper half-width",
            ),
            "### Time per stage (seconds)",
            "",
            markdown_table(["fleet", *stages], timing_rows),
        ]
    )


def long_figures(fleet: Fleet, result: Evaluation) -> pl.DataFrame:
    """Every figure as one row: fleet, method, family, horizon, metric, value."""
    points = result.points.unpivot(index=["method", "family", "horizon"], variable_name="metric")
    alerts = result.alerts.unpivot(index=["method", "family"], variable_name="metric").with_columns(
        pl.lit(BREACH_WINDOW).alias("horizon")
    )
    return pl.concat(
        [points.with_columns(pl.col("value").cast(pl.Float64)), alerts.with_columns(pl.col("value").cast(pl.Float64))],
        how="diagonal_relaxed",
    ).select(pl.lit(fleet.name).alias("fleet"), "method", "family", "horizon", "metric", "value")


def save(fleet: Fleet, result: Evaluation, out: Path) -> str:
    out.mkdir(parents=True, exist_ok=True)
    report = fleet_report(fleet, result)
    (out / f"trust_{fleet.name}.md").write_text(report + "\n")
    result.diagnosis.write_csv(out / f"trust_{fleet.name}_alerts.csv")
    figures = {
        "fleet": fleet.name,
        "kind": fleet.kind,
        "hosts": fleet.hosts,
        "seed": fleet.seed,
        "series": result.series,
        "stock_series": result.stock_series,
        "note": result.note,
        "timings_seconds": fleet.timings,
        "excluded": result.excluded.to_dicts(),
        "stock_failures": result.stock_failures.to_dicts(),
        "points": result.points.to_dicts(),
        "alerts": result.alerts.to_dicts(),
        "ratios": result.ratios.to_dicts(),
        "breach_probability_scores": result.probabilities.to_dicts(),
        "breach_probability_reliability": result.reliability.to_dicts(),
        "oracle_gap": result.oracle_gap.to_dicts(),
        "alerts_on_stock_series": result.same_alerts.to_dicts(),
        "unforecast_breaches": result.unforecast_breaches,
        "alerts_by_basis": result.by_basis.to_dicts(),
    }
    (out / f"trust_{fleet.name}.json").write_text(json.dumps(figures, indent=1, default=str) + "\n")
    return report


# ---------------------------------------------------------------------------------------------- main


def evaluate_fleet(fleet: Fleet, warehouse: Warehouse, args: argparse.Namespace) -> Evaluation:
    def run_stock(keys: pl.DataFrame, cuts: Sequence[tuple[str, date, int]]) -> tuple[pl.DataFrame, pl.DataFrame]:
        if fleet.source is None:
            return cached_stock_prophet(
                fleet, warehouse.processed, sample_keys(keys, args.stock_sample, fleet.name), cuts
            )
        # A continued fleet scores the default fleet's production forecasts: stock Prophet's production fits of the
        # same history are the default fleet's own (same sample, same cuts, its cache), not fitted again.
        sample = sample_keys(keys, args.stock_sample, fleet.source.name)
        stock, failures = cached_stock_prophet(fleet.source, warehouse.processed, sample, default_stock_cuts(warehouse))
        return stock.filter(pl.col("segment").is_in([name for name, _, _ in cuts])), failures

    if fleet.kind in FUTURE_KINDS:
        return evaluate_stress(fleet.exports, warehouse, run_stock)
    return evaluate_default(warehouse, run_stock)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="11,12,13", help="stress fleet seeds, comma separated ('' for none)")
    parser.add_argument("--hosts", type=int, default=400, help="hosts per stress fleet (default 400)")
    parser.add_argument("--default-hosts", type=int, default=2000, help="hosts of the default fleet (0 to skip)")
    parser.add_argument("--default-seed", type=int, default=42, help="the default fleet's generator seed (42)")
    parser.add_argument(
        "--default-cut-days",
        type=int,
        default=180,
        help="also score the default fleet on its last N days, kept aside: built with history_end N days earlier "
        "(default 180, the forecast horizon; 0 to skip)",
    )
    parser.add_argument(
        "--default-future-days",
        type=int,
        default=180,
        help="also score the default fleet's production forecasts on the N days the same fleet goes on to have "
        "(generate --extend-days N, refined; default 180; 0 to skip)",
    )
    parser.add_argument("--vars", help="dbt vars YAML passed to every build, e.g. '{forecast_workers: 1}'")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="results dir")
    parser.add_argument("--work", type=Path, default=Path("/tmp/horizonscale_trust"), help="fleet data dirs")
    parser.add_argument("--skip-build", action="store_true", help="re-evaluate the builds already in --work")
    parser.add_argument(
        "--stock-sample", type=int, default=400, help="stock Prophet on N hash-chosen series per fleet (0: all)"
    )
    parser.add_argument(
        "--family-set",
        choices=("tuned", "holdout", "blind"),
        default="tuned",
        help="stress fleets' families: tuned (default), holdout (report on fresh seeds from 1001) or blind (nothing "
        "tuned on it; seeds from 2001); holdout and blind fleets are named holdout_s<seed> and blind_s<seed>",
    )
    parser.add_argument(
        "--stress-pythonpath",
        help="PYTHONPATH for the stress-fleet step only (a checkout that has the command, until it is merged)",
    )
    args = parser.parse_args(argv)
    try:
        args.seed_list = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--seeds {args.seeds!r}: give whole numbers separated by commas, e.g. 11,12")
    if args.hosts < 1 or args.default_hosts < 0 or (args.stock_sample is not None and args.stock_sample < 0):
        parser.error("--hosts and --stock-sample must be >= 1, --default-hosts >= 0")
    windows = (("--default-cut-days", args.default_cut_days), ("--default-future-days", args.default_future_days))
    for option, days in windows:
        if days and not BREACH_WINDOW <= days <= MAX_CUT_DAYS:
            parser.error(
                f"{option} must be 0 (off) or {BREACH_WINDOW} (the alert's window, which the kept days must "
                f"cover) to {MAX_CUT_DAYS} (the forecast horizon)"
            )
    if (args.default_cut_days or args.default_future_days) and args.default_hosts and not args.skip_build:
        try:  # before minutes of generating and refining: the cut build's vars must merge
            cut_vars(args.vars, date(2000, 1, 1))
        except StageError as exc:
            parser.error(str(exc))
    return args


def built_hosts(fleet: Fleet, warehouse: Warehouse) -> int:
    """Hosts of a fleet already built: the stress generator's manifest, else the hosts in processed_data."""
    manifest = fleet.exports / "manifest.json"
    if fleet.kind in FUTURE_KINDS and manifest.is_file():
        return int(json.loads(manifest.read_text())["hosts"])
    return warehouse.processed["host_id"].n_unique()


def fleets(args: argparse.Namespace) -> list[Fleet]:
    family_set = getattr(args, "family_set", "tuned")
    prefix = "stress" if family_set == "tuned" else family_set
    chosen = [
        Fleet(f"{prefix}_s{s}", "stress", args.hosts, s, args.work / f"{prefix}_s{s}", family_set=family_set)
        for s in args.seed_list
    ]
    if args.default_hosts:
        seed = getattr(args, "default_seed", 42)
        default = Fleet(f"default_s{seed}", "default", args.default_hosts, seed, args.work / f"default_s{seed}")
        chosen.append(default)
        days = getattr(args, "default_cut_days", 0)
        if days:
            name = f"default_s{seed}_cut{days}"
            chosen.append(Fleet(name, "default_cut", args.default_hosts, seed, args.work / name, cut_days=days))
        days = getattr(args, "default_future_days", 0)
        if days:
            name = f"default_s{seed}_future{days}"
            future = Fleet(name, "default_future", args.default_hosts, seed, args.work / name, cut_days=days)
            future.source = default
            chosen.append(future)
    return chosen


def not_built_cut(fleet: Fleet, args: argparse.Namespace) -> bool:
    """A default_cut or default_future fleet that --skip-build cannot re-score: work dirs built before they
    existed, or with --default-cut-days 0 / --default-future-days 0, re-score without them rather than fail."""
    if not args.skip_build:
        return False
    if fleet.kind == "default_cut":
        return not fleet.warehouse.is_file()
    return fleet.kind == "default_future" and not (fleet.exports / "truth.parquet").is_file()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    results: dict[str, tuple[Fleet, Evaluation]] = {}
    try:
        for fleet in fleets(args):
            if not_built_cut(fleet, args):
                log.warning(
                    "%s: no build in %s to re-score: left out (build it without --skip-build)", fleet.name, fleet.work
                )
                continue
            fleet.work.mkdir(parents=True, exist_ok=True)
            if not args.skip_build:
                prepare(fleet, args)
            elif fleet.kind == "default_future":
                check_stored_future(fleet)
            started = time.perf_counter()
            warehouse = read_warehouse(fleet.scored_warehouse)
            fleet.timings["read warehouse"] = time.perf_counter() - started
            if args.skip_build:  # the fleet's size is the build's, not this run's --hosts
                fleet.hosts = built_hosts(fleet, warehouse)
            log.info("%s: engines %s", fleet.name, ", ".join(warehouse.engine_relations))
            started = time.perf_counter()
            result = evaluate_fleet(fleet, warehouse, args)
            fleet.timings["evaluate"] = time.perf_counter() - started - fleet.timings.get("stock prophet", 0.0)
            print(save(fleet, result, args.out), flush=True)
            results[fleet.name] = (fleet, result)
    except StageError as exc:
        print(f"bench.trust: error: {exc}", file=sys.stderr)
        return 1
    if results:
        summary = summary_report(results)
        (args.out / "trust_summary.md").write_text(summary + "\n")
        pl.concat([long_figures(f, r) for f, r in results.values()]).write_parquet(args.out / "trust_metrics.parquet")
        print(summary)
        log.info("results in %s", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

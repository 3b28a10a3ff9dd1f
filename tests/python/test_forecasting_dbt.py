"""The engine models as dbt runs them: a real `dbt build` of the forecasting layer on a small generated fleet.

The whole DAG is covered by test_pipeline; this module checks what the engines promise on their own:
contract shape and counts, the run log, the lake copies, the SQL/Python window rule, and the dev subset var.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml
from support import PROJECT_ROOT, registered_engines

from python_engines.forecasting.runs import ENGINES
from python_engines.forecasting.windows import compute_windows
from python_engines.paths import ProjectPaths

HOSTS_FORECAST = 3  # forecast_host_limit: 12 series keep the build to about a minute


def _dbt(paths: ProjectPaths, work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HORIZONSCALE_DATA_DIR": str(paths.data_dir),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
    }
    dbt = Path(sys.executable).with_name("dbt")
    return subprocess.run([str(dbt), *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def built(small_fleet: ProjectPaths, tmp_path_factory: pytest.TempPathFactory) -> ProjectPaths:
    work = tmp_path_factory.mktemp("forecasting_dbt")
    paths = ProjectPaths(root=small_fleet.root, data_dir=work / "data")
    shutil.copytree(small_fleet.data_dir, paths.data_dir)  # the shared fleet stays read-only
    # One build: the selection holds the seeds it reads (a separate `dbt seed` loaded every seed again).
    result = _dbt(
        paths,
        work,
        "build",
        "--select",
        "+engine_runs",
        "+engine_timings",
        "+engine_registry",
        "--indirect-selection",
        "cautious",  # only tests whose every parent is built here
        "--exclude-resource-type",
        "unit_test",  # every full build runs them (conftest.pipeline_build)
        "--vars",
        f"{{forecast_host_limit: {HOSTS_FORECAST}, calibration_series: 12}}",
    )
    assert result.returncode == 0, f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    return paths


def _query(paths: ProjectPaths, sql: str) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def _registry(paths: ProjectPaths) -> list[tuple]:
    return _query(paths, "select model, relation, simplicity, writes_run_log from engine_registry order by model")


def test_engine_registry_table_is_the_registry(built: ProjectPaths) -> None:
    declared = sorted((e["name"], e["relation"], e["simplicity"], e["writes_run_log"]) for e in registered_engines())
    assert _registry(built) == declared
    # The Python engines of the registry are exactly the ones python_engines can run (and write a run log for).
    assert {m for m, _, _, writes in declared if writes} == set(ENGINES)
    assert {m for m, *_ in declared} == {"prophet", "xgboost", "seasonal_naive"}


def test_every_engine_table_has_the_contract_shape(built: ProjectPaths) -> None:
    expected_series = HOSTS_FORECAST * 4
    for model, table, *_ in _registry(built):
        rows = _query(
            built,
            f"""
            select model, segment, count(distinct (host_id, resource)), count(*),
                   min(yhat_lower), max(yhat_upper), count(*) filter (where not yhat_lower <= yhat
                   or not yhat <= yhat_upper)
            from {table} group by all order by segment
            """,
        )
        assert [r[:4] for r in rows] == [
            (model, "backtest", expected_series, expected_series * 122),
            (model, "forecast", expected_series, expected_series * 180),
        ], table
        for row in rows:
            assert row[4] >= 0 and row[5] <= 100 and row[6] == 0, table


def test_run_log_and_timings(built: ProjectPaths) -> None:
    runs = dict(
        ((model, status), n)
        for model, status, n in _query(built, "select model, status, count(*) from engine_runs group by all")
    )
    engines = _registry(built)
    assert runs == {(m, "ok"): HOSTS_FORECAST * 4 for m, *_ in engines}
    phases = {(m, p) for m, p in _query(built, "select model, phase from engine_timings")}
    python_models = [m for m, _, _, writes in engines if writes]
    assert phases == {(m, p) for m in python_models for p in ("calibrate", "forecast")} | {("xgboost", "train")}


def test_lake_copies_match_the_tables(built: ProjectPaths) -> None:
    for stem, table, _, writes in _registry(built):
        if not writes:
            continue
        lake = built.lake_dir / "forecasts" / f"{stem}.parquet"
        (difference,) = _query(
            built,
            f"select count(*) from (select * from {table} except all select * from read_parquet('{lake}'))",
        )[0]
        assert difference == 0 and lake.stat().st_size > 0


def test_sql_and_python_agree_on_the_windows(built: ProjectPaths) -> None:
    (row,) = _query(
        built,
        "select history_start, history_end, backtest_start, train_end, forecast_start, forecast_end "
        "from forecast_windows",
    )
    windows = compute_windows(row[0], row[1])
    assert (windows.backtest_start, windows.train_end, windows.forecast_start, windows.forecast_end) == row[2:]


def test_prophet_reads_the_recent_trend_vars_the_leaderboard_reads() -> None:
    """One definition of a material recent trend: dbt_project.yml's recent_trend_* vars set Prophet's
    recent-shape reading too (defaults equal, so the default run is unchanged; a var change moves both)."""
    from python_engines.forecasting.dbt_bridge import RECENT_TREND_VARS, ModelConfig
    from python_engines.forecasting.prophet_engine import ProphetSettings

    project_vars = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())["vars"]
    configs = {var: str(project_vars[var]) for var in RECENT_TREND_VARS}  # dbt renders configs as text
    settings = ModelConfig.from_configs(configs).fleet.prophet
    defaults = ProphetSettings()
    for var, name in RECENT_TREND_VARS.items():
        assert getattr(settings, name) == project_vars[var] == getattr(defaults, name)
    assert repr(settings) == repr(defaults)  # so the same backtest keys as before
    moved = ModelConfig.from_configs({**configs, "recent_trend_min_points": "3"}).fleet.prophet
    assert moved.material_points == 3.0
    with pytest.raises(ValueError, match="recent_trend_days"):
        ModelConfig.from_configs({**configs, "recent_trend_days": "0"})


@pytest.mark.parametrize(
    ("var", "field_name"),
    [
        ("recent_slope_uncertainty", "recent_slope_uncertainty"),
        ("prophet_residual_autocorrelation", "residual_autocorrelation"),
        ("prophet_since_step", "since_step"),
        ("prophet_since_step_recent_pull", "since_step_recent_pull"),
        ("prophet_staircase", "staircase"),
        ("prophet_staircase_renewal", "staircase_renewal"),
        ("prophet_staircase_many_steps", "staircase_many_steps"),
        ("prophet_level_cycle", "level_cycle"),
        ("prophet_cycle_in_trend", "cycle_in_trend"),
        ("prophet_slow_compounding", "slow_compounding"),
        ("prophet_sharp_seasons", "sharp_seasons"),
        ("prophet_growing_seasons", "growing_seasons"),
        ("prophet_season_size_own_base", "season_size_own_base"),
        ("prophet_wander_damping", "wander_damping"),
        ("prophet_wandering_levels", "wandering_levels"),
        ("prophet_wander_model_floor", "wander_model_floor"),
        ("prophet_season_ramp_check", "season_ramp_check"),
        ("prophet_season_free_yardstick", "season_free_yardstick"),
        ("prophet_season_size_uncertainty", "season_size_uncertainty"),
        ("prophet_young_ramp_check", "young_ramp_check"),
        ("prophet_calendar_peaks", "calendar_peaks"),
        ("prophet_reset_steps", "reset_steps"),
    ],
)
def test_the_prophet_switch_vars_reach_prophet(var: str, field_name: str) -> None:
    """dbt_project.yml's on/off vars for Prophet (rendered as text) set its settings; anything but true or
    false is refused by name."""
    from python_engines.forecasting.dbt_bridge import ModelConfig

    project_vars = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())["vars"]
    assert project_vars[var] is True
    for rendered, expected in (("True", True), ("False", False), ("false", False)):
        settings = ModelConfig.from_configs({var: rendered}).fleet.prophet
        assert getattr(settings, field_name) is expected
    with pytest.raises(ValueError, match=f"{var} must be true or false"):
        ModelConfig.from_configs({var: "maybe"})


def test_the_sharp_season_order_var_reaches_prophet() -> None:
    """dbt_project.yml's prophet_sharp_season_order (rendered as text) sets Prophet's sharpest_yearly_order,
    the same as its default and the model yml's fallback; anything but one of the orders a season climbs is
    refused by name."""
    from python_engines.forecasting.dbt_bridge import ModelConfig
    from python_engines.forecasting.prophet_engine import SHARP_YEARLY_ORDERS, ProphetSettings

    project_vars = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())["vars"]
    model_yml = (PROJECT_ROOT / "models" / "forecasting" / "_forecasting__models.yml").read_text()
    default = ProphetSettings().sharpest_yearly_order
    assert project_vars["prophet_sharp_season_order"] == default
    assert f"var('prophet_sharp_season_order', {default})" in model_yml
    for order in SHARP_YEARLY_ORDERS:
        assert (
            ModelConfig.from_configs({"prophet_sharp_season_order": str(order)}).fleet.prophet.sharpest_yearly_order
            == order
        )
    for bad in ("15", "5", "20.5", "sharp"):
        with pytest.raises(ValueError, match="prophet_sharp_season_order must be one of 10, 20"):
            ModelConfig.from_configs({"prophet_sharp_season_order": bad})


@pytest.mark.parametrize(
    ("var", "field_name", "other", "bad"),
    [
        ("prophet_hinge_lookback", "hinge_lookback", ({"recent_trend_days": "30"}, "40", 40), ("1", "56", "84.5")),
        ("prophet_growth_search_window", "growth_search_window", None, ("100", "252", "730.5")),
    ],
)
def test_the_search_window_vars_reach_prophet(
    var: str, field_name: str, other: tuple[dict[str, str], str, int] | None, bad: tuple[str, ...]
) -> None:
    """dbt_project.yml's prophet_hinge_lookback and prophet_growth_search_window (days, rendered as text) set
    Prophet's hinge_lookback and growth_search_window, the same as their defaults and the model yml's
    fallbacks; 0 or null turns each off; a value that is not a whole number of days over the window it searches
    beyond (the recent window, recent_trend_days; the 252-day growth window) is refused by name."""
    from python_engines.forecasting.dbt_bridge import ModelConfig
    from python_engines.forecasting.prophet_engine import ProphetSettings

    project_vars = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())["vars"]
    days = project_vars[var]
    assert days == getattr(ProphetSettings(), field_name)
    models_yml = (PROJECT_ROOT / "models" / "forecasting" / "_forecasting__models.yml").read_text()
    assert f"var('{var}', {days})" in models_yml
    prophet_model = (PROJECT_ROOT / "models" / "forecasting" / "prophet_forecasts.py").read_text()
    assert f'dbt.config.meta_get("{var}")' in prophet_model

    def setting(configs: dict[str, str]) -> int | None:
        return getattr(ModelConfig.from_configs(configs).fleet.prophet, field_name)

    assert setting({}) == days  # not passed: Prophet's default
    assert setting({var: str(days)}) == setting({var: f"{days}.0"}) == days
    for off in ("0", "None", ""):
        assert setting({var: off}) is None
    if other is not None:  # the window it must exceed is itself a var
        configs, value, expected = other
        assert setting({var: value, **configs}) == expected
    for value in ("-7", "many", "inf", *bad):
        with pytest.raises(ValueError, match=var):
            ModelConfig.from_configs({var: value})


@pytest.mark.parametrize("margin", ["1", "ten"])
def test_a_bad_challenger_margin_is_refused_by_name(built: ProjectPaths, tmp_path: Path, margin: str) -> None:
    """model_leaderboard's challenger_margin must be a number from 0 up to, not including, 1: anything else
    stops the compile with a message that names the var, not a SQL error downstream."""
    result = _dbt(
        built, tmp_path, "compile", "--select", "model_leaderboard", "--vars", f"{{challenger_margin: {margin}}}"
    )
    assert result.returncode != 0
    assert "var 'challenger_margin' is" in result.stdout + result.stderr


def test_a_bad_curve_evidence_bar_is_refused_by_name(built: ProjectPaths, tmp_path: Path) -> None:
    """model_leaderboard's regime_curve_min_evidence must be a number (or null): a word stops the compile with a
    message that names the var, not a SQL error about a missing column."""
    result = _dbt(
        built, tmp_path, "compile", "--select", "model_leaderboard", "--vars", "{regime_curve_min_evidence: ten}"
    )
    assert result.returncode != 0
    assert "var 'regime_curve_min_evidence' is ten" in result.stdout + result.stderr


@pytest.mark.parametrize("terms", ["5", "ten"])
def test_a_bad_sharp_season_bar_is_refused_by_name(built: ProjectPaths, tmp_path: Path, terms: str) -> None:
    """model_leaderboard's regime_sharp_season_terms must be a whole number of at least 10 (or null): Prophet's
    own fits have 5 yearly terms, so 5 would hand every yearly season over; a word would be a SQL error. Both
    stop the compile with a message that names the var."""
    result = _dbt(
        built, tmp_path, "compile", "--select", "model_leaderboard", "--vars", f"{{regime_sharp_season_terms: {terms}}}"
    )
    assert result.returncode != 0
    assert f"var 'regime_sharp_season_terms' is {terms}" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("var", "value"), [("calibration_narrow_weight", "halves"), ("calibration_narrow_weight", "1.5")]
)
def test_a_bad_calibration_weight_is_refused_by_name(built: ProjectPaths, tmp_path: Path, var: str, value: str) -> None:
    """forecast_calibration's calibration_narrow_weight is 'backtest_halves' or a number from 0 to 1: a misspelt
    word would otherwise be a SQL error about a missing column, and 1.5 would push a calm group's band past its
    own quantile, away from its engine's pool."""
    result = _dbt(built, tmp_path, "compile", "--select", "forecast_calibration", "--vars", f"{{{var}: {value}}}")
    assert result.returncode != 0
    assert f"{var} must be 'backtest_halves'" in result.stdout + result.stderr
    assert f"got {value}" in result.stdout + result.stderr


#: The switches SQL models read (flag_var), each with a model that reads it and its default.
SQL_SWITCHES = {
    "breach_alert_growth_upside": ("int_series_breach_outlook", False),
    "breach_chance_daily_noise": ("int_series_breach_chance", True),
    "breach_chance_two_sided": ("int_series_breach_chance", True),
    "growth_upside_edge_rates": ("forecasts", False),
    "history_band_year_on_year": ("int_series_history_band", True),
    "trend_stop_falls": ("forecasts", True),
    "wander_band": ("forecasts", True),
}


def _compiled(work: Path, model: str) -> str:
    (path,) = (work / "target" / "compiled").rglob(f"{model}.sql")
    return path.read_text(encoding="utf-8")


def test_a_quoted_switch_reads_as_what_it_says(built: ProjectPaths, tmp_path: Path) -> None:
    """A switch passed quoted ('false', as a shell user or a YAML file may write it) is a string, and Jinja reads
    any non-empty string as true: wander_band 'false' once left the wander band on. Every switch the SQL reads,
    set against its default, now compiles the same quoted (capitalised) as unquoted, and unlike the default."""
    models = sorted({model for model, _ in SQL_SWITCHES.values()})
    compiled = {}
    for name, quote in (("default", None), ("unquoted", ""), ("quoted", "'")):
        work = tmp_path / name
        flipped = {var: str(not default).lower() for var, (_, default) in SQL_SWITCHES.items()}
        if quote:
            flipped = {var: f"{quote}{value.title()}{quote}" for var, value in flipped.items()}
        switches = [] if quote is None else ["--vars", "{" + ", ".join(f"{k}: {v}" for k, v in flipped.items()) + "}"]
        result = _dbt(built, work, "compile", "--select", *models, *switches)
        assert result.returncode == 0, result.stdout[-3000:]
        compiled[name] = {model: _compiled(work, model) for model in models}
    assert compiled["quoted"] == compiled["unquoted"]
    assert all(compiled["unquoted"][model] != compiled["default"][model] for model in models)


def test_a_switch_that_is_neither_true_nor_false_is_refused_by_name(built: ProjectPaths, tmp_path: Path) -> None:
    """A word that is not true or false (here 'maybe') would be read as true by Jinja: the compile stops on the
    var instead."""
    switch = "{breach_alert_growth_upside: maybe}"
    result = _dbt(built, tmp_path, "compile", "--select", "int_series_breach_outlook", "--vars", switch)
    assert result.returncode != 0
    assert "breach_alert_growth_upside must be true or false, got 'maybe'" in result.stdout + result.stderr


@pytest.mark.parametrize("limit", ["abc", "0", "-1", "2.5"])
def test_a_bad_host_limit_is_refused_by_name(built: ProjectPaths, tmp_path: Path, limit: str) -> None:
    """forecast_host_limit 'abc' once gave the baseline 0 hosts while the Python engines forecast every one, and
    -1 failed with a LIMIT error: the compile now stops on the var, as the Python engines do."""
    from python_engines.forecasting.dbt_bridge import ModelConfig

    result = _dbt(
        built, tmp_path, "compile", "--select", "baseline_forecasts", "--vars", f"{{forecast_host_limit: {limit}}}"
    )
    assert result.returncode != 0
    assert "forecast_host_limit must be a whole number of at least 1" in result.stdout + result.stderr
    with pytest.raises(ValueError, match="forecast_host_limit must be a whole number of at least 1"):
        ModelConfig.from_configs({"forecast_host_limit": limit})


def test_counts_and_time_limits_are_checked_by_name() -> None:
    """A negative time limit failed every series one worker restart at a time while the build passed; 0 workers
    or series quietly meant the default."""
    from python_engines.forecasting.dbt_bridge import ModelConfig

    config = ModelConfig.from_configs({"forecast_host_limit": "3", "forecast_time_limit_seconds": "2.5"})
    assert (config.host_limit, config.fleet.time_limit) == (3, 2.5)
    assert ModelConfig.from_configs({"forecast_host_limit": "None"}).host_limit is None
    assert ModelConfig.from_configs({"xgboost_anchor_days": "1"}).fleet.xgboost.anchor_days == 1
    assert ModelConfig.from_configs({}).fleet.xgboost.anchor_days == 7
    for var, value in (
        ("forecast_time_limit_seconds", "-1"),
        ("forecast_time_limit_seconds", "0"),
        ("forecast_time_limit_seconds", "soon"),
        ("forecast_workers", "0"),
        ("calibration_series", "-5"),
        ("xgboost_train_series", "many"),
        ("xgboost_anchor_days", "0"),
        ("forecast_chunk_hosts", "0"),
        ("interval_width", "80"),
    ):
        with pytest.raises(ValueError, match=var):
            ModelConfig.from_configs({var: value})

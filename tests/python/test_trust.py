"""bench.trust's evaluation on stand-in stress-fleet files and a warehouse written by hand (no dbt, no fits).

Series (history_end 2025-12-31, horizon days h = 1..180):
- h1/cpu "ramp": truth 90 + 0.1 h, over 95 from h = 51 (true breach within 90 days). Golden forecast = truth,
  band +-1 (flagged from h = 41: a true positive). Prophet: truth + 10, zero-width band. Stock: truth + 2.
- h2/memory "flat": truth 50. Golden 50, band 40..97 (flagged on day 1: a false alarm). Prophet 60.
- h3/disk "flat": no golden forecast, insufficient_history in forecast_exclusions.
- h4/network "flat": not in processed_data at all (rejected by the refinery).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from stress_standin import HISTORY_END, HORIZON, write_stress_standin

from bench.trust import (
    GOLDEN,
    ORACLE,
    ORACLE_BAND_COLUMNS,
    ORACLE_COLUMN,
    STOCK,
    WORST_DAY,
    StageError,
    Warehouse,
    _fit_stock,
    evaluate_stress,
    families_out_of_range,
    gap_section,
    pool_oracle_gap,
    probability_section,
    ratios_with_oracle,
    read_stress_truth,
    same_series_alert_lines,
    sample_keys,
)
from bench.trust_metrics import ALL

DAYS = np.arange(1, HORIZON + 1)
DATES = [HISTORY_END + timedelta(days=int(h)) for h in DAYS]


def ramp(h: np.ndarray) -> np.ndarray:
    return 90 + 0.1 * h


def flat(h: np.ndarray) -> np.ndarray:
    return np.full(h.shape, 50.0)


def frame(host: str, resource: str, yhat: np.ndarray, lower: np.ndarray, upper: np.ndarray, **extra) -> pl.DataFrame:
    return pl.DataFrame(
        {"host_id": host, "resource": resource, "ds": DATES, "yhat": yhat, "yhat_lower": lower, "yhat_upper": upper}
    ).with_columns(**{k: pl.lit(v) for k, v in extra.items()})


def warehouse() -> Warehouse:
    y1, y2 = ramp(DAYS), flat(DAYS)
    forecasts = pl.concat(
        [
            frame("h1", "cpu", y1, y1 - 1, y1 + 1, champion_model="prophet"),
            frame("h2", "memory", y2, y2 - 10, y2 + 47, champion_model="prophet"),
        ]
    )
    engines = pl.concat(
        [
            frame("h1", "cpu", y1 + 10, y1 + 10, y1 + 10, model="prophet", segment="forecast"),
            frame("h2", "memory", y2 + 10, y2 + 10, y2 + 10, model="prophet", segment="forecast"),
        ]
    ).select("host_id", "resource", "model", "segment", "ds", "yhat", "yhat_lower", "yhat_upper")
    processed = pl.DataFrame(
        {
            "host_id": ["h1", "h2", "h3"],
            "resource": ["cpu", "memory", "disk"],
            "ds": [HISTORY_END] * 3,
            "y": [50.0] * 3,
            "is_imputed": [False] * 3,
            "scenario": [None] * 3,
        }
    )
    return Warehouse(
        windows={"history_end": HISTORY_END, "train_end": date(2025, 8, 31), "forecast_horizon_days": HORIZON},
        forecasts=forecasts,
        risks=pl.DataFrame(
            {
                "host_id": ["h1", "h2"],
                "resource": ["cpu", "memory"],
                "first_breach_date": [HISTORY_END + timedelta(days=41), HISTORY_END + timedelta(days=1)],
                "days_to_breach": [41, 1],
                "breach_basis": ["band", "point forecast"],
            }
        ),
        processed=processed,
        exclusions=pl.DataFrame({"host_id": ["h3"], "resource": ["disk"], "reason": ["insufficient_history"]}),
        engines=engines,
        engine_relations=("prophet_forecasts",),
        planted=None,
    )


def stock_runner(calls: list, h2_failed: bool = True) -> object:
    """Stock Prophet ran on h1 (truth + 2, zero-width band) and, if ``h2_failed``, failed on h2."""

    def run(keys: pl.DataFrame, cuts: list) -> tuple[pl.DataFrame, pl.DataFrame]:
        calls.append((keys.select("host_id", "resource").rows(), cuts))
        y1 = ramp(DAYS)
        stock = frame("h1", "cpu", y1 + 2, y1 + 2, y1 + 2, segment="forecast")
        failed = ["h2"] if h2_failed else []
        failures = pl.DataFrame(
            {
                "host_id": failed,
                "resource": ["memory"] * len(failed),
                "error": ["RuntimeError: stand-in"] * len(failed),
            },
            schema={"host_id": pl.String, "resource": pl.String, "error": pl.String},
        )
        return stock, failures

    return run


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    return write_stress_standin(
        tmp_path / "fleet",
        [
            ("h1", "cpu", "ramp", ramp),
            ("h2", "memory", "flat", flat),
            ("h3", "disk", "flat", flat),
            ("h4", "network", "flat", flat),
        ],
    )


def test_standin_has_the_contract_shape(exports: Path) -> None:
    manifest, truth, series = read_stress_truth(exports)
    assert manifest["history_end"] == "2025-12-31" and manifest["family_counts"] == {"ramp": 1, "flat": 3}
    assert truth.columns == ["host_id", "resource", "family", "ds", "y", *ORACLE_BAND_COLUMNS]
    assert truth.height == 4 * HORIZON
    (ramp_row,) = series.filter(pl.col("family") == "ramp").to_dicts()
    assert ramp_row["days_to_true_breach"] == 51 and ramp_row["true_breach_date"] == date(2026, 2, 20)


def test_stress_evaluation(exports: Path) -> None:
    calls: list = []
    result = evaluate_stress(exports, warehouse(), stock_runner(calls))
    assert calls == [([("h1", "cpu"), ("h2", "memory")], [("forecast", HISTORY_END, HORIZON)])]
    assert result.series == 2 and result.stock_series == 1
    assert dict(result.excluded.rows()) == {
        "insufficient_history": 1,
        "not in processed_data (rejected by the refinery)": 1,
    }

    points = {(r["method"], r["family"], r["horizon"]): r for r in result.points.to_dicts()}
    golden = points[(GOLDEN, ALL, 180)]
    assert (golden["series"], golden["points"], golden["wape"], golden["coverage"]) == (2, 360, 0.0, 1.0)
    assert golden["width"] == pytest.approx((2 + 57) / 2)
    assert points[("prophet", "flat", 90)]["wape"] == pytest.approx(20.0)  # |60 - 50| / 50
    assert points[("prophet", ALL, 180)]["coverage"] == 0.0
    stock = points[(STOCK, ALL, 180)]
    assert (stock["series"], stock["winkler"]) == (1, pytest.approx(20.0))  # 0 width + 10 x 2 below
    # The oracle's band: on the family whose law it knows only (the ramp, no noise: the curve itself), never ALL.
    ideal = points[(ORACLE, "ramp", 180)]
    assert (ideal["series"], ideal["coverage"], ideal["width"], ideal["winkler"], ideal["wape"]) == (1, 1.0, 0, 0, 0)
    assert not [key for key in points if key[0] == ORACLE and key[1] != "ramp"]

    alerts = {(r["method"], r["family"]): r for r in result.alerts.to_dicts()}
    assert [alerts[(GOLDEN, ALL)][k] for k in ("true", "flagged", "true_positives", "false_positives", "missed")] == [
        1,
        2,
        1,
        1,
        0,
    ]
    assert (alerts[(GOLDEN, ALL)]["precision"], alerts[(GOLDEN, ALL)]["recall"]) == (0.5, 1.0)
    assert (alerts[("prophet", ALL)]["flagged"], alerts[("prophet", ALL)]["precision"]) == (1, 1.0)
    assert alerts[(STOCK, ALL)]["series"] == 2 and alerts[(STOCK, ALL)]["flagged"] == 1  # no forecast: not flagged
    assert alerts[(GOLDEN, "flat")]["recall"] is None  # nothing true in the family
    oracle = alerts[(ORACLE, ALL)]  # the generator's oracle, on the same two series
    assert [oracle[k] for k in ("series", "true", "flagged", "false_positives", "missed")] == [2, 1, 1, 0, 0]

    (overall,) = result.ratios.filter(pl.col("family") == ALL).to_dicts()
    assert (overall["series"], overall["winkler_ratio"], overall["wape_ratio"]) == (1, pytest.approx(0.1), 0.0)
    # With the oracle in its place where it has one (h1's ramp: the curve itself, a zero-width band), nothing is
    # left of our 2-point band: both ratios to stock Prophet fall to 0.
    assert (overall["winkler_ratio_with_oracle"], overall["wape_ratio_with_oracle"]) == (0.0, 0.0)

    (row,) = result.diagnosis.to_dicts()
    assert (row["kind"], row["host_id"], row["champion_model"], row["days_to_breach"]) == (
        "false_alarm",
        "h2",
        "prophet",
        1,
    )
    assert row["true_breach_date"] is None
    assert row[ORACLE_COLUMN] == 0.0  # the oracle saw no breach coming: a false alarm that was ours to avoid

    # Against the oracle, on the ramp (its only family): our yhat is the curve (bias 0), our upper bound 1 point
    # over it, the oracle's band the curve itself. Days count while both upper bounds are under 99: ours
    # (91 + 0.1 h) gets there on day 80, so the 61-90 bucket holds days 61-79.
    gap = {(r["family"], r["days"]): r for r in result.oracle_gap.to_dicts()}
    buckets = ("1-30", "31-60", "61-90")
    assert sorted(gap) == sorted((family, days) for family in (ALL, "ramp") for days in buckets)
    assert [gap[("ramp", days)]["points"] for days in buckets] == [30, 30, 19]
    for r in gap.values():
        assert (r["series"], r["bias"], r["gap"], r["oracle_upper_half"]) == (1, 0.0, 0.0, 0.0)
        assert r["upper_half"] == pytest.approx(1.0)
    (title, _, _, _, table) = gap_section(result.oracle_gap, "### gap")
    assert title == "### gap" and "| ramp | 61-90 | 1 |" in table


def test_a_warehouse_ending_on_another_day_than_the_truth_is_not_scored(exports: Path) -> None:
    """capacity_risks counts days_to_breach from the warehouse's history_end, the truth and every other method
    from the generator's. A warehouse ending a day later made h2's crossing on the truth's day 91 its day 90:
    scored as a golden alarm within the window (a false alarm the engines' own bands, counted from the
    generator's end, would not raise), with only a warning in the log."""
    shifted = warehouse()
    later = HISTORY_END + timedelta(days=1)
    shifted = replace(
        shifted,
        windows={**shifted.windows, "history_end": later},
        risks=shifted.risks.with_columns(
            pl.Series("first_breach_date", [HISTORY_END + timedelta(days=41), HISTORY_END + timedelta(days=91)]),
            pl.Series("days_to_breach", [40, 90]),
        ),
    )
    with pytest.raises(StageError, match="history_end 2026-01-01 is not the generator's 2025-12-31"):
        evaluate_stress(exports, shifted, stock_runner([]))


def test_the_oracle_takes_the_golden_records_place_only_where_it_has_a_day() -> None:
    """Series a has the oracle on day 1 only, b none, c (not among stock Prophet's series) both: the oracle
    replaces a's day 1, the golden record stays on a's day 2 and on b, and c is left out. Every actual is 50;
    stock Prophet forecasts 55 with no band (error 5, Winkler 10 x 5 = 50)."""
    rows = [
        # method, host, family, h, yhat, lower, upper
        (GOLDEN, "a", "ramp", 1, 52, 48, 56),  # error 2, Winkler 8
        (GOLDEN, "a", "ramp", 2, 52, 48, 56),
        (ORACLE, "a", "ramp", 1, 50, 49, 51),  # error 0, Winkler 2
        (GOLDEN, "b", "flat", 1, 54, 52, 60),  # error 4, Winkler 8 + 10 x 2 = 28
        (GOLDEN, "b", "flat", 2, 54, 52, 60),
        (GOLDEN, "c", "flat", 1, 60, 60, 60),  # c would raise both ratios if it counted
        (ORACLE, "c", "flat", 2, 60, 60, 60),
    ]
    rows += [(STOCK, host, family, h, 55, 55, 55) for host, family in (("a", "ramp"), ("b", "flat")) for h in (1, 2)]
    rows += [(STOCK, "c", "flat", h, 50, 50, 50) for h in (1, 2)]
    scored = pl.DataFrame(
        rows, schema=["method", "host_id", "family", "h", "yhat", "yhat_lower", "yhat_upper"], orient="row"
    ).with_columns(pl.lit("cpu").alias("resource"), pl.lit(50.0).alias("y"), pl.col("^yhat.*$").cast(pl.Float64))
    stock_keys = pl.DataFrame({"host_id": ["a", "b"], "resource": ["cpu", "cpu"]})
    ratios = {r["family"]: r for r in ratios_with_oracle(scored, stock_keys).to_dicts()}
    expected = {  # family: (Winkler ratio, WAPE ratio)
        ALL: ((2 + 8 + 28 + 28) / 4 / 50, (0 + 2 + 4 + 4) / (5 * 4)),
        "ramp": ((2 + 8) / 2 / 50, (0 + 2) / (5 * 2)),
        "flat": (28 / 50, 4 / 5),
    }
    assert sorted(ratios) == sorted(expected)
    for family, (winkler_ratio, wape_ratio) in expected.items():
        assert ratios[family]["winkler_ratio_with_oracle"] == pytest.approx(winkler_ratio)
        assert ratios[family]["wape_ratio_with_oracle"] == pytest.approx(wape_ratio)


def test_a_fleet_without_the_oracle_columns_still_evaluates(exports: Path) -> None:
    """Fleets written before the generator kept the oracle's probability and band: every figure but the
    oracle's."""
    series = pl.read_parquet(exports / "series.parquet")
    series.drop(ORACLE_COLUMN).write_parquet(exports / "series.parquet")
    pl.read_parquet(exports / "truth.parquet").drop(ORACLE_BAND_COLUMNS).write_parquet(exports / "truth.parquet")
    result = evaluate_stress(exports, warehouse(), stock_runner([]))
    assert ORACLE not in result.alerts["method"].to_list() + result.points["method"].to_list()
    (overall,) = result.ratios.filter(pl.col("family") == ALL).to_dicts()
    assert overall["wape_ratio_with_oracle"] is None and overall["winkler_ratio_with_oracle"] is None
    assert ORACLE_COLUMN not in result.diagnosis.columns and result.diagnosis.height == 1
    assert result.oracle_gap.is_empty() and gap_section(result.oracle_gap, "### gap") == []


def test_pooled_oracle_gap_weighs_each_fleet_by_its_days() -> None:
    """Two fleets' gap tables pooled: series and days summed, each figure the days-weighted mean."""
    row = {"family": "ramp", "days": "1-30", "series": 2, "points": 10, "bias": -1.0, "gap": 1.0}
    first = pl.DataFrame([{**row, "upper_half": 2.0, "oracle_upper_half": 1.0}])
    second = pl.DataFrame(
        [{**row, "points": 30, "bias": -3.0, "gap": 3.0, "upper_half": 4.0, "oracle_upper_half": 1.0}]
    )
    (pooled,) = pool_oracle_gap([first, pl.DataFrame(), second]).to_dicts()
    assert (pooled["series"], pooled["points"]) == (4, 40)
    assert (pooled["bias"], pooled["gap"], pooled["upper_half"]) == (-2.5, 2.5, 3.5)  # (10 x -1 + 30 x -3) / 40 ...
    assert pooled["oracle_upper_half"] == 1.0
    assert pool_oracle_gap([pl.DataFrame()]).is_empty()


def test_stock_alerts_count_only_the_series_it_ran_on(exports: Path) -> None:
    """A series left out of the stock sample is not a miss of stock Prophet (a failed fit is)."""
    result = evaluate_stress(exports, warehouse(), stock_runner([], h2_failed=False))
    (row,) = result.alerts.filter((pl.col("method") == STOCK) & (pl.col("family") == ALL)).to_dicts()
    assert (row["series"], row["flagged"], row["precision"], row["recall"]) == (1, 1, 1.0, 1.0)


def test_the_alert_beside_stock_prophets_is_on_its_series(exports: Path) -> None:
    """Stock Prophet ran on h1 and failed on h2: both methods' alert is scored on those two series alone, and the
    report says so (the all-series table scores HorizonScale on every series, stock Prophet on its sample)."""
    result = evaluate_stress(exports, warehouse(), stock_runner([]))
    same = {r["method"]: r for r in result.same_alerts.to_dicts()}
    assert set(same) == {GOLDEN, STOCK}
    assert [same[GOLDEN][k] for k in ("series", "true", "flagged", "false_positives")] == [2, 1, 2, 1]
    assert [same[STOCK][k] for k in ("series", "true", "flagged", "missed")] == [2, 1, 1, 0]
    (line,) = same_series_alert_lines(result)
    assert "The alert on the 2 series stock Prophet ran on" in line and "(precision / recall 0.5 / 1.0)" in line
    only_h1 = evaluate_stress(exports, warehouse(), stock_runner([], h2_failed=False))
    assert only_h1.same_alerts.filter(pl.col("method") == GOLDEN)["series"].item() == 1


def test_a_true_breach_without_a_golden_forecast_is_a_miss(tmp_path: Path) -> None:
    """h3 ramps to a breach but has no golden forecast (insufficient_history): a miss, not a series fewer."""
    exports = write_stress_standin(
        tmp_path / "fleet",
        [("h1", "cpu", "ramp", ramp), ("h2", "memory", "flat", flat), ("h3", "disk", "ramp", ramp)],
    )
    result = evaluate_stress(exports, warehouse(), stock_runner([]))
    (row,) = result.alerts.filter((pl.col("method") == GOLDEN) & (pl.col("family") == ALL)).to_dicts()
    assert (row["true"], row["missed"], row["recall"]) == (2, 1, 0.5)
    assert result.unforecast_breaches == 1


def test_sample_keys_is_fixed_and_sized() -> None:
    keys = pl.DataFrame({"host_id": [f"h{i}" for i in range(20)], "resource": "cpu"})
    first, again = sample_keys(keys, 5, "salt"), sample_keys(keys.reverse(), 5, "salt")
    assert first.height == 5 and first.sort("host_id").equals(again.sort("host_id"))
    assert sample_keys(keys, None, "salt").height == 20


def test_engine_relations_from_registry_else_known_names() -> None:
    import duckdb

    from bench.trust import engine_relations

    with duckdb.connect() as con:
        con.sql("create table prophet_forecasts (x int); create table challenger_forecasts (x int)")
        assert engine_relations(con) == ("prophet_forecasts", "challenger_forecasts")
        con.sql(
            "create table engine_registry as select * from (values ('xgboost', 'xgboost_forecasts'), "
            "('prophet', 'prophet_forecasts')) as engines (model, relation)"
        )
        assert engine_relations(con) == ("prophet_forecasts", "xgboost_forecasts")


def test_families_out_of_range_names_each_with_the_ideal_beside_it() -> None:
    """The family gate counts the golden record's families only (ALL and other methods are not families), keeps
    0.9003 apart from 0.90, and puts the oracle's coverage beside a family where its band exists."""
    rows = [
        (GOLDEN, ALL, 0.80),
        (GOLDEN, "calm", 0.80),
        (GOLDEN, "late_ramp", 0.92),
        (GOLDEN, "level_shift_up", 0.9003),
        (GOLDEN, "saturating", 0.70),
        ("prophet", "calm", 0.95),
        (ORACLE, "late_ramp", 0.948),
        (GOLDEN, "calm", 0.50),  # another horizon: not the gate's
    ]
    points = pl.DataFrame(rows, schema=["method", "family", "coverage"], orient="row").with_columns(
        pl.Series("horizon", [180] * 7 + [90])
    )
    assert families_out_of_range(points) == "2 of 4; out: late_ramp 0.92 (ideal 0.948), level_shift_up 0.9003"
    near = points.with_columns(pl.col("coverage").replace({0.9003: 0.90004, 0.70: None}))
    assert (
        families_out_of_range(near) == "1 of 4; out: late_ramp 0.92 (ideal 0.948), level_shift_up 0.90004, saturating -"
    )
    assert families_out_of_range(points.filter(pl.col("family") != "late_ramp"), high=0.95) == "3 of 3"
    # on the days below 100 a late ramp pinned at 100 no longer counts, and its ideal is read there too
    below = points.with_columns(pl.col("coverage").replace({0.92: 0.81, 0.948: 0.80}).alias("coverage_below_ceiling"))
    assert families_out_of_range(below, column="coverage_below_ceiling") == "3 of 4; out: level_shift_up 0.9003"


def _with_stated_chances() -> Warehouse:
    """The stand-in warehouse with h1/cpu stating 0.9 (worst day 0.8) and h2/memory 0.3 (worst day 0.1)."""
    return replace(
        warehouse(),
        outlook=pl.DataFrame(
            {
                "host_id": ["h1", "h2"],
                "resource": ["cpu", "memory"],
                "breach_probability": [0.9, 0.3],
                "worst_day_probability": [0.8, 0.1],
            }
        ),
    )


def test_stated_breach_probabilities_are_scored_against_the_truth(exports: Path) -> None:
    """h1 breaches within 90 days (stated 0.9, worst day 0.8), h2 does not (stated 0.3, worst day 0.1); a series
    without an outlook row would state 0. Brier: ((0.9 - 1)^2 + 0.3^2) / 2 = 0.05 and ((0.8 - 1)^2 + 0.1^2) / 2
    = 0.025; the oracle's own probabilities (the stand-in's 1 for the ramp, 0 for the flat) score 0."""
    built = _with_stated_chances()
    result = evaluate_stress(exports, built, stock_runner([]))
    scores = {r["method"]: r for r in result.probabilities.to_dicts()}
    assert scores[GOLDEN]["brier"] == pytest.approx(0.05) and scores[GOLDEN]["true"] == 1
    assert scores[WORST_DAY]["brier"] == pytest.approx(0.025)
    assert scores[ORACLE]["brier"] == pytest.approx(0.0)
    bins = {(r["method"], r["bin_low"]): r for r in result.reliability.to_dicts()}
    assert (bins[(GOLDEN, 0.85)]["series"], bins[(GOLDEN, 0.85)]["frequency"]) == (1, 1.0)
    assert (bins[(GOLDEN, 0.3)]["series"], bins[(GOLDEN, 0.3)]["frequency"]) == (1, 0.0)
    text = "\n".join(probability_section(result))
    assert "Breach probability (within 90 days) against the truth" in text and "| >= 0.85 | 1 / 0.900 / 1.000" in text


def test_a_build_without_the_outlook_scores_the_oracle_alone(exports: Path) -> None:
    """A warehouse written before int_series_breach_outlook existed states no probability of its own."""
    result = evaluate_stress(exports, warehouse(), stock_runner([]))
    assert result.probabilities["method"].to_list() == [ORACLE]


def test_an_old_build_states_its_worst_day_only(exports: Path) -> None:
    """Before the breach chance, int_series_breach_outlook.breach_probability was the worst day's chance; a
    series missing from the outlook is left out of every method's score, not scored as 0."""
    built = replace(
        warehouse(), outlook=pl.DataFrame({"host_id": ["h1"], "resource": ["cpu"], "breach_probability": [0.8]})
    )
    result = evaluate_stress(exports, built, stock_runner([]))
    scores = {r["method"]: r for r in result.probabilities.to_dicts()}
    assert sorted(scores) == [WORST_DAY, ORACLE]
    assert scores[WORST_DAY]["series"] == 1 and scores[WORST_DAY]["brier"] == pytest.approx(0.04)
    assert scores[ORACLE]["series"] == 1


def test_stock_prophets_band_is_the_same_in_every_run() -> None:
    """Stock Prophet's band is sampled; seeded per series and cut, two fits of one series give the same band
    (unseeded they differ), and another series' seed gives another draw."""
    days = np.datetime64("2025-01-01", "D") + np.arange(200)
    values = 40.0 + 0.05 * np.arange(200) + np.random.default_rng(3).normal(0.0, 2.0, 200)
    cuts = [("forecast", date(2025, 7, 19), 30)]
    runs = [_fit_stock(("h1", "cpu", days, values, cuts)) for _ in range(2)]
    assert runs[0][3] is None and runs[1][3] is None
    assert np.array_equal(runs[0][2][0][2], runs[1][2][0][2])
    other = _fit_stock(("h2", "cpu", days, values, cuts))
    assert np.array_equal(other[2][0][2][:, 0], runs[0][2][0][2][:, 0])  # the same point forecast
    assert not np.array_equal(other[2][0][2][:, 2], runs[0][2][0][2][:, 2])  # another draw of the band


def test_a_rescored_fleet_keeps_the_size_it_was_built_with(tmp_path: Path) -> None:
    """--skip-build labelled a 40-host build with this run's --hosts (400 by default)."""
    from bench.trust import Fleet, built_hosts

    stress = Fleet("stress_s11", "stress", 400, 11, tmp_path / "stress_s11")
    stress.exports.mkdir(parents=True)
    (stress.exports / "manifest.json").write_text('{"hosts": 40}')
    assert built_hosts(stress, warehouse()) == 40
    default = Fleet("default_s42", "default", 2000, 42, tmp_path / "default_s42")
    assert built_hosts(default, warehouse()) == 3  # the hosts in processed_data


def test_a_null_oracle_probability_is_left_out_not_scored_as_zero(exports: Path) -> None:
    """A series whose law the generator could not state (null oracle_breach_probability, as a held-out family
    may write) is neither an oracle alert that did not fire nor a stated 0: the oracle is scored on the series
    it knows, every other method on all of them."""
    series = pl.read_parquet(exports / "series.parquet")
    unknown = (pl.col("host_id") == "h2").and_(pl.col("resource") == "memory")
    series.with_columns(
        pl.when(unknown).then(None).otherwise(pl.col(ORACLE_COLUMN)).alias(ORACLE_COLUMN)
    ).write_parquet(exports / "series.parquet")
    built = _with_stated_chances()
    result = evaluate_stress(exports, built, stock_runner([]))
    alerts = {(r["method"], r["family"]): r for r in result.alerts.to_dicts()}
    assert alerts[(ORACLE, ALL)]["series"] == 1 and alerts[(GOLDEN, ALL)]["series"] == 2
    scores = {r["method"]: r for r in result.probabilities.to_dicts()}
    assert (scores[ORACLE]["series"], scores[GOLDEN]["series"], scores[WORST_DAY]["series"]) == (1, 2, 2)


def test_holdout_fleets_are_named_apart() -> None:
    from bench.trust import fleets, parse_args

    held = fleets(parse_args(["--family-set", "holdout", "--seeds", "1001,1002", "--default-hosts", "0"]))
    assert [(f.name, f.family_set, f.work.name) for f in held] == [
        ("holdout_s1001", "holdout", "holdout_s1001"),
        ("holdout_s1002", "holdout", "holdout_s1002"),
    ]
    tuned = fleets(parse_args(["--seeds", "11", "--default-hosts", "0"]))
    assert [(f.name, f.family_set) for f in tuned] == [("stress_s11", "tuned")]


def test_the_default_cut_keeps_its_last_days_aside() -> None:
    """The default fleet scored on a future it has: the days after history_end - N, non-imputed, are the truth;
    each series' family is its DNA scenario ('unknown' without one)."""
    from bench.trust import cut_truth

    end = date(2025, 12, 31)
    days = [end - timedelta(days=k) for k in range(6, -1, -1)]  # 7 days up to history_end
    processed = pl.DataFrame(
        {
            "host_id": ["a"] * 7 + ["b"] * 7,
            "resource": ["cpu"] * 7 + ["disk"] * 7,
            "ds": days * 2,
            "y": [float(v) for v in range(14)],
            "is_imputed": [False] * 12 + [True, False],  # b/disk's second-last day was gap-filled
            "scenario": ["leak"] * 7 + [None] * 7,
        }
    )
    cut, truth, series = cut_truth(processed, end, 3)
    assert cut == date(2025, 12, 28)
    assert series.rows() == [("a", "cpu", "leak"), ("b", "disk", "unknown")]
    assert truth.select("host_id", "ds", "y").rows() == [
        ("a", date(2025, 12, 29), 4.0),
        ("a", date(2025, 12, 30), 5.0),
        ("a", date(2025, 12, 31), 6.0),
        ("b", date(2025, 12, 29), 11.0),
        ("b", date(2025, 12, 31), 13.0),
    ]
    assert truth["family"].to_list() == ["leak"] * 3 + ["unknown"] * 2


def test_the_cut_build_sets_history_end_beside_the_users_vars() -> None:
    from bench.trust import cut_vars

    cut = date(2025, 7, 4)
    assert json.loads(cut_vars("{forecast_workers: 1}", cut)) == {"forecast_workers": 1, "history_end": "2025-07-04"}
    assert json.loads(cut_vars(None, cut)) == {"history_end": "2025-07-04"}
    with pytest.raises(StageError, match="sets history_end"):
        cut_vars("{history_end: '2025-01-01'}", cut)
    with pytest.raises(StageError, match="not a YAML mapping"):
        cut_vars("[1, 2]", cut)
    # YAML reads a date as a date, which JSON cannot write as it is
    assert json.loads(cut_vars("{history_start: 2024-07-01}", cut))["history_start"] == "2024-07-01"


def test_the_default_fleet_is_cut_unless_asked_not_to() -> None:
    from bench.trust import fleets, parse_args

    both = fleets(parse_args(["--seeds", ""]))
    assert [(f.name, f.kind, f.cut_days) for f in both] == [
        ("default_s42", "default", 0),
        ("default_s42_cut180", "default_cut", 180),
        ("default_s42_future180", "default_future", 180),
    ]
    # the continued fleet scores the default fleet's warehouse; the others their own
    assert both[2].scored_warehouse == both[0].warehouse != both[2].warehouse
    assert [f.scored_warehouse for f in both[:2]] == [f.warehouse for f in both[:2]]
    short = fleets(
        parse_args(["--seeds", "", "--default-cut-days", "90", "--default-future-days", "0", "--default-hosts", "50"])
    )
    assert [(f.name, f.hosts, f.cut_days) for f in short] == [("default_s42", 50, 0), ("default_s42_cut90", 50, 90)]
    only = ["--seeds", "", "--default-cut-days", "0", "--default-future-days", "0"]
    assert [f.name for f in fleets(parse_args(only))] == ["default_s42"]
    future = fleets(parse_args(["--seeds", "", "--default-cut-days", "0", "--default-future-days", "90"]))
    assert [(f.name, f.kind) for f in future] == [
        ("default_s42", "default"),
        ("default_s42_future90", "default_future"),
    ]
    other = fleets(parse_args(["--seeds", "", "--default-seed", "43", "--default-future-days", "0"]))
    assert [(f.name, f.seed) for f in other] == [("default_s43", 43), ("default_s43_cut180", 43)]
    for option in ("--default-cut-days", "--default-future-days"):
        for days in ("181", "60"):  # past the horizon; shorter than the alert's 90 days
            with pytest.raises(SystemExit):
                parse_args([option, days])
    with pytest.raises(SystemExit):  # the cut build's vars are checked before anything is generated
        parse_args(["--vars", "{history_end: '2025-01-01'}"])


def test_a_cut_fleet_not_built_is_left_out_of_a_rescoring(tmp_path: Path) -> None:
    from bench.trust import Fleet, built_hosts, not_built_cut, parse_args

    cut = Fleet("default_s42_cut180", "default_cut", 2000, 42, tmp_path / "default_s42_cut180", cut_days=180)
    rescore = parse_args(["--skip-build", "--seeds", ""])
    assert not_built_cut(cut, rescore) and not not_built_cut(cut, parse_args(["--seeds", ""]))
    cut.data_dir.mkdir(parents=True)
    cut.warehouse.write_bytes(b"")
    assert not not_built_cut(cut, rescore)
    default = Fleet("default_s42", "default", 2000, 42, tmp_path / "default_s42")
    assert not not_built_cut(default, rescore)  # the default fleet itself still fails loudly
    future = Fleet("default_s42_future180", "default_future", 2000, 42, tmp_path / "future", cut_days=180)
    future.source = default
    assert not_built_cut(future, rescore) and not not_built_cut(future, parse_args(["--seeds", ""]))
    future.exports.mkdir(parents=True)
    (future.exports / "truth.parquet").write_bytes(b"")
    assert not not_built_cut(future, rescore)
    cut.exports.mkdir(parents=True)
    (cut.exports / "manifest.json").write_text('{"hosts": 10}')
    assert built_hosts(cut, warehouse()) == 10


def test_a_fleet_without_an_oracle_is_scored_on_its_kept_days(exports: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A default_cut fleet's manifest says it has no oracle: no oracle figures and no warning that the files are
    old; the note names the truth for what it is."""
    manifest = exports / "manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "oracle": False}))
    series = pl.read_parquet(exports / "series.parquet")  # a cut fleet's files carry no oracle columns
    series.drop(ORACLE_COLUMN).write_parquet(exports / "series.parquet")
    pl.read_parquet(exports / "truth.parquet").drop(ORACLE_BAND_COLUMNS).write_parquet(exports / "truth.parquet")
    with caplog.at_level("WARNING"):
        result = evaluate_stress(exports, warehouse(), stock_runner([]))
    assert not [r for r in caplog.records if "lacks" in r.getMessage()]  # no "regenerate it" for a fleet with none
    assert ORACLE not in result.alerts["method"].to_list() + result.points["method"].to_list()
    assert "refined, non-imputed actuals" in result.note and "kept aside" in result.note
    alerts = {(r["method"], r["family"]): r for r in result.alerts.to_dicts()}
    assert alerts[(GOLDEN, ALL)]["true_positives"] == 1 and alerts[(GOLDEN, ALL)]["false_positives"] == 1


def test_the_note_names_the_truth_a_fleet_is_scored_on() -> None:
    from bench.trust import truth_note

    end = date(2025, 12, 31)
    assert "clean future" in truth_note({}, end, 180, has_oracle=True)
    assert "kept aside before the build" in truth_note({"truth": "cut"}, end, 180, has_oracle=False)
    assert "kept aside before the build" in truth_note({}, end, 180, has_oracle=False)  # cut fleets of session 51
    continued = truth_note({"truth": "continued"}, end, 90, has_oracle=False)
    assert "went on to have" in continued and "2025-12-31" in continued and "90 days" in continued


def test_a_continued_fleet_that_does_not_reach_its_end_or_holds_other_hosts_is_refused() -> None:
    from bench.trust import future_truth_problem

    end = date(2026, 3, 31)
    days = pl.date_range(date(2026, 1, 1), end, eager=True)
    truth = pl.DataFrame({"host_id": ["a"] * days.len() + ["b"] * days.len(), "ds": pl.concat([days, days])})
    ours = frozenset({"a", "b"})
    assert future_truth_problem(truth, end, ours) is None
    short = truth.filter(pl.col("ds") < date(2026, 3, 1))  # the generator made fewer days: the refinery's are imputed
    assert "end on 2026-02-28, not on 2026-03-31" in (future_truth_problem(short, end, ours) or "")
    bigger = future_truth_problem(truth, end, frozenset({"a", "b", "c"})) or ""
    assert "holds 2 hosts, the default fleet 3: 0 only in the truth, 1 only in the default fleet (e.g. c)" in bigger
    # The same size, other hosts (a default fleet rebuilt with other ids): refused, not scored on the wrong series.
    other = future_truth_problem(truth, end, frozenset({"a", "z"})) or ""
    assert "1 only in the truth (e.g. b), 1 only in the default fleet (e.g. z)" in other
    assert future_truth_problem(truth.head(0), end, ours) is not None


def test_a_continued_fleet_reuses_the_default_fleets_stock_prophet_fits(
    exports: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stock Prophet's production fits of the default fleet's history are the default fleet's own: the continued
    fleet asks for them with the default fleet's cuts and sample (its cache hits) and keeps the production ones."""
    import bench.trust as trust

    default = trust.Fleet("default_s42", "default", 4, 42, tmp_path / "default")
    future = trust.Fleet("default_s42_future180", "default_future", 4, 42, exports.parent, cut_days=180, source=default)
    asked: list[tuple[str, list]] = []

    def cached(fleet: object, processed: pl.DataFrame, keys: pl.DataFrame, cuts: list) -> tuple:
        asked.append((fleet.name, [name for name, _, _ in cuts]))
        y1 = ramp(DAYS)
        both = pl.concat([frame("h1", "cpu", y1 + 2, y1 + 2, y1 + 2, segment=name) for name, _, _ in cuts])
        return both, pl.DataFrame(schema={"host_id": pl.String, "resource": pl.String, "error": pl.String})

    monkeypatch.setattr(trust, "cached_stock_prophet", cached)
    result = trust.evaluate_fleet(future, warehouse(), trust.parse_args(["--seeds", ""]))
    assert asked == [("default_s42", ["backtest", "forecast"])]  # the default fleet's fits, not new ones
    assert result.stock_series == 1  # the production fit alone: the backtest one is not scored on the future

"""bench.trust_metrics on hand-made frames whose answers are worked out by hand in the comments."""

from __future__ import annotations

import math

import polars as pl
import pytest

from bench.trust_metrics import (
    ALL,
    alert_scores,
    breach_flags,
    oracle_gap,
    point_scores,
    probability_scores,
    ratio,
    reliability,
    winkler,
    with_all,
)


def points_frame() -> pl.DataFrame:
    rows = [
        # host, h, y, yhat, lower, upper
        ("a", 1, 10.0, 8.0, 5.0, 12.0),  # inside; width 7; Winkler 7; |error| 2
        ("a", 2, 20.0, 15.0, 12.0, 18.0),  # 2 above; width 6; Winkler 6 + 10 * 2 = 26; |error| 5
        ("b", 1, 0.5, 1.5, 1.0, 2.0),  # 0.5 below; width 1; Winkler 1 + 10 * 0.5 = 6; |error| 1; y < 1: no MAPE
        ("b", 181, 50.0, 0.0, 0.0, 0.0),  # beyond every horizon: ignored
        ("b", 0, 50.0, 0.0, 0.0, 0.0),  # the cut itself: ignored
    ]
    return pl.DataFrame(
        rows, schema=["host_id", "h", "y", "yhat", "yhat_lower", "yhat_upper"], orient="row"
    ).with_columns(pl.lit("m").alias("method"), pl.lit("f").alias("family"), pl.lit("cpu").alias("resource"))


def test_winkler_per_point() -> None:
    scores = points_frame().head(3).select(winkler(0.2).alias("w"))["w"].to_list()
    assert scores == pytest.approx([7.0, 26.0, 6.0])


def test_point_scores_by_horizon() -> None:
    scores = point_scores(points_frame(), horizons=(1, 180)).to_dicts()
    one, full = scores
    assert (one["horizon"], one["series"], one["points"]) == (1, 2, 2)
    assert one["wape"] == pytest.approx(100 * 3 / 10.5)
    assert one["mape"] == pytest.approx(20.0)  # only a's day 1 qualifies: 2 / 10
    assert one["coverage"] == pytest.approx(0.5)
    assert one["width"] == pytest.approx(4.0)
    assert one["winkler"] == pytest.approx(6.5)
    assert (full["horizon"], full["series"], full["points"]) == (180, 2, 3)
    assert full["wape"] == pytest.approx(100 * 8 / 30.5)
    assert full["mape"] == pytest.approx(100 * (0.2 + 0.25) / 2)
    assert full["coverage"] == pytest.approx(1 / 3)
    assert full["width"] == pytest.approx(14 / 3)
    assert full["winkler"] == pytest.approx(13.0)


def test_coverage_below_the_ceiling_leaves_out_saturated_days() -> None:
    frame = pl.concat(
        [
            points_frame().head(3),
            # a saturated host: pinned at 100 inside a band that reaches 100 (covered, but not counted below)
            pl.DataFrame(
                [("c", 1, 100.0, 100.0, 100.0, 100.0), ("c", 2, 100.0, 99.0, 97.0, 100.0)],
                schema=["host_id", "h", "y", "yhat", "yhat_lower", "yhat_upper"],
                orient="row",
            ).with_columns(pl.lit("m").alias("method"), pl.lit("f").alias("family"), pl.lit("cpu").alias("resource")),
        ]
    )
    (full,) = point_scores(frame, horizons=(180,)).to_dicts()
    assert full["coverage"] == pytest.approx(3 / 5)
    assert full["coverage_below_ceiling"] == pytest.approx(1 / 3)


def test_point_scores_per_family_with_all() -> None:
    frame = pl.concat([points_frame(), points_frame().with_columns(pl.lit("g").alias("family"), y=pl.col("y") * 2)])
    scores = point_scores(with_all(frame), horizons=(180,))
    assert scores["family"].to_list() == [ALL, "f", "g"]
    assert scores.filter(pl.col("family") == ALL)["points"].item() == 6
    assert scores.filter(pl.col("family") == ALL)["series"].item() == 2  # same keys in both families


def test_breach_flags_strictly_above_within_window() -> None:
    frame = pl.DataFrame(
        {
            "method": ["m"] * 5,
            "host_id": ["a", "a", "b", "c", "c"],
            "resource": ["cpu"] * 5,
            "h": [90, 91, 91, 5, 90],
            "yhat_upper": [95.1, 99.0, 99.0, 95.0, 96.0],
        }
    )
    flags = breach_flags(frame, "yhat_upper").sort("host_id").to_dicts()
    assert [(f["host_id"], f["flagged"], f["first_day"]) for f in flags] == [
        ("a", True, 90),  # day 90 counts
        ("b", False, None),  # day 91 does not
        ("c", True, 90),  # exactly 95 is not a breach
    ]


def alerts(flagged: list[bool], truth: list[bool]) -> pl.DataFrame:
    n = len(flagged)
    return pl.DataFrame(
        {
            "method": ["m"] * n,
            "family": ["f"] * n,
            "host_id": [f"h{i}" for i in range(n)],
            "resource": ["cpu"] * n,
            "flagged": flagged,
            "truth": truth,
        }
    )


def test_alert_scores_counts_and_rates() -> None:
    (row,) = alert_scores(alerts([True, True, True, False, False], [True, False, False, True, False])).to_dicts()
    assert (row["series"], row["true"], row["flagged"]) == (5, 2, 3)
    assert (row["true_positives"], row["false_positives"], row["missed"]) == (1, 2, 1)
    assert row["precision"] == pytest.approx(1 / 3)
    assert row["recall"] == pytest.approx(1 / 2)


def test_alert_scores_nothing_flagged_has_no_precision() -> None:
    (row,) = alert_scores(alerts([False, False], [True, False])).to_dicts()
    assert (row["flagged"], row["missed"], row["recall"]) == (0, 1, 0.0)
    assert row["precision"] is None


def test_alert_scores_nothing_true_has_no_recall() -> None:
    (row,) = alert_scores(alerts([True, False], [False, False])).to_dicts()
    assert (row["false_positives"], row["precision"]) == (1, 0.0)
    assert row["recall"] is None


def test_alert_scores_missing_flag_counts_as_not_flagged() -> None:
    frame = alerts([True, True], [True, True]).with_columns(pl.Series("flagged", [True, None]))
    (row,) = alert_scores(frame).to_dicts()
    assert (row["true_positives"], row["missed"], row["recall"]) == (1, 1, 0.5)


def test_ratio_matches_groups() -> None:
    scores = pl.DataFrame({"method": ["ours", "stock", "ours"], "family": [ALL, ALL, "x"], "winkler": [6.0, 8.0, 1.0]})
    (row,) = ratio(scores, "winkler", "ours", "stock", on=["family"]).to_dicts()
    assert row["family"] == ALL and math.isclose(row["ratio"], 0.75)


def test_alert_scores_count_the_false_alarms_that_breach_later() -> None:
    frame = alerts([True, True, True, False], [True, False, False, False]).with_columns(
        pl.Series("breaches_later", [False, True, None, True])  # only a flagged non-breach counts
    )
    (row,) = alert_scores(frame).to_dicts()
    assert (row["false_positives"], row["false_positives_breach_later"]) == (2, 1)
    assert "false_positives_breach_later" not in alert_scores(alerts([True], [False])).columns


def stated(probabilities: list[float], truth: list[bool | None]) -> pl.DataFrame:
    return pl.DataFrame({"method": "m", "probability": probabilities, "truth": truth})


def test_probability_scores_brier_and_log_loss() -> None:
    # (0.8 - 1)^2 = 0.04, (0.2 - 0)^2 = 0.04, (0.5 - 1)^2 = 0.25, (0 - 0)^2 = 0 -> Brier 0.0825; a missing truth
    # is no breach. Log loss: -ln 0.8, -ln 0.8, -ln 0.5, -ln(1 - 1e-4) (0 floored at 1e-4), averaged.
    (row,) = probability_scores(stated([0.8, 0.2, 0.5, 0.0], [True, False, True, None])).to_dicts()
    assert (row["series"], row["true"]) == (4, 2)
    assert row["mean_probability"] == pytest.approx(0.375)
    assert row["brier"] == pytest.approx(0.0825)
    expected = (-2 * math.log(0.8) - math.log(0.5) - math.log(1 - 1e-4)) / 4
    assert row["log_loss"] == pytest.approx(expected)


def test_probability_scores_a_sure_miss_costs_the_floor_not_infinity() -> None:
    (row,) = probability_scores(stated([0.0], [True])).to_dicts()
    assert row["brier"] == 1.0 and row["log_loss"] == pytest.approx(-math.log(1e-4))


def test_reliability_bins_by_lower_edge_and_counts_the_breaches() -> None:
    frame = stated([0.0, 0.0004, 0.3, 0.45, 0.5, 1.0, 0.96], [False, False, True, False, True, True, None])
    rows = {r["bin_low"]: r for r in reliability(frame, edges=(0.0, 0.001, 0.3, 0.5, 0.95)).to_dicts()}
    assert sorted(rows) == [0.0, 0.3, 0.5, 0.95]  # empty bins are left out
    assert (rows[0.0]["series"], rows[0.0]["frequency"]) == (2, 0.0)
    assert rows[0.3]["series"] == 2 and rows[0.3]["mean_probability"] == pytest.approx(0.375)
    assert rows[0.3]["frequency"] == pytest.approx(0.5)
    assert (rows[0.5]["series"], rows[0.5]["frequency"]) == (1, 1.0)  # 0.5 sits in the bin it opens
    assert rows[0.95]["series"] == 2 and rows[0.95]["frequency"] == pytest.approx(0.5)  # 1.0 in the last bin


def test_oracle_gap_by_family_and_horizon_bucket() -> None:
    """Our forecast 2 points behind the oracle's median with an upper half-width of 3 against its 1; a day
    whose upper bound reaches the cap and a day beyond the last bucket are left out."""
    rows = []
    for h in (1, 30, 31, 45, 200):
        rows += [("m", "ramp", "a", h, 48.0, 51.0), ("o", "ramp", "a", h, 50.0, 51.0)]
    rows += [("m", "ramp", "b", 5, 97.0, 99.5), ("o", "ramp", "b", 5, 97.0, 98.0)]  # ours at 99.5: out
    rows += [("m", "calm", "c", 5, 40.0, 41.0)]  # no oracle on this family: out
    frame = pl.DataFrame(rows, schema=["method", "family", "host_id", "h", "yhat", "yhat_upper"], orient="row")
    gap = oracle_gap(frame.with_columns(pl.lit("cpu").alias("resource")), "m", "o", buckets=(30, 60))
    assert gap.select("family", "days", "series", "points").rows() == [
        (ALL, "1-30", 1, 2),
        (ALL, "31-60", 1, 2),
        ("ramp", "1-30", 1, 2),
        ("ramp", "31-60", 1, 2),
    ]
    assert gap["bias"].to_list() == [-2.0] * 4 and gap["gap"].to_list() == [2.0] * 4
    assert gap["upper_half"].to_list() == [3.0] * 4 and gap["oracle_upper_half"].to_list() == [1.0] * 4

"""Trust figures of a forecast against the truth, as pure polars functions (used by ``bench.trust``).

Inputs are long frames, one row per series and horizon day:

- points: ``method, family, host_id, resource, h, y, yhat, yhat_lower, yhat_upper`` where ``h`` is the day
  ahead (1 = the first day after the cut) and ``y`` the actual;
- alerts: ``method, family, host_id, resource, flagged, truth`` (booleans, one row per method and series).

Every figure is pooled over points (or series) of a group; a group is the method and the family, with the
family ``ALL`` added by :func:`with_all`.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

ALPHA = 0.2  # the 80% band: Winkler's penalty is 2 / alpha per point outside it
BREACH_THRESHOLD = 95.0
BREACH_WINDOW = 90  # days 1..90 after the cut count, day 91 does not
MAPE_MIN_ACTUAL = 1.0  # actuals under 1 point are left out of MAPE (the leaderboard's guard)
CEILING = 100.0  # utilisation cannot exceed it: a saturated host's actual sits on it
ALL = "ALL"
KEYS = ("host_id", "resource")


def with_all(frame: pl.DataFrame, column: str = "family") -> pl.DataFrame:
    """The frame plus a copy of every row with ``column`` set to ``ALL`` (so a group-by gives the total)."""
    return pl.concat([frame, frame.with_columns(pl.lit(ALL).alias(column))], how="vertical_relaxed")


def winkler(alpha: float = ALPHA) -> pl.Expr:
    """Winkler interval score per point: the band's width plus 2/alpha times the distance by which y misses it."""
    below = (pl.col("yhat_lower") - pl.col("y")).clip(lower_bound=0)
    above = (pl.col("y") - pl.col("yhat_upper")).clip(lower_bound=0)
    return (pl.col("yhat_upper") - pl.col("yhat_lower")) + (2 / alpha) * (below + above)


def point_scores(
    points: pl.DataFrame,
    by: Sequence[str] = ("method", "family"),
    horizons: Sequence[int] = (90, 180),
    alpha: float = ALPHA,
    mape_min_actual: float = MAPE_MIN_ACTUAL,
) -> pl.DataFrame:
    """Per group and horizon (days 1..H): WAPE %, guarded MAPE %, band coverage (also on the days the actual
    is below the 100% ceiling), mean width, mean Winkler.

    Rows with a null ``y`` or ``yhat`` are left out. WAPE = sum|y - yhat| / sum|y|; MAPE = mean |y - yhat| / y
    over the points with ``y >= mape_min_actual``.
    """
    usable = points.filter(pl.col("y").is_not_null() & pl.col("yhat").is_not_null() & (pl.col("h") >= 1))
    error = (pl.col("y") - pl.col("yhat")).abs()
    guarded = pl.col("y") >= mape_min_actual
    frames = []
    for horizon in horizons:
        frames.append(
            usable.filter(pl.col("h") <= horizon)
            .group_by(list(by))
            .agg(
                pl.struct(*KEYS).n_unique().alias("series"),
                pl.len().alias("points"),
                (100 * error.sum() / pl.col("y").abs().sum()).alias("wape"),
                (100 * (error / pl.col("y")).filter(guarded).mean()).alias("mape"),
                pl.col("y").is_between(pl.col("yhat_lower"), pl.col("yhat_upper")).mean().alias("coverage"),
                # The same on the days the actual is below the 100% ceiling: a host pinned at 100 sits inside any
                # band that reaches 100, so its days say nothing of the band's calibration.
                pl.col("y")
                .is_between(pl.col("yhat_lower"), pl.col("yhat_upper"))
                .filter(pl.col("y") < CEILING)
                .mean()
                .alias("coverage_below_ceiling"),
                (pl.col("yhat_upper") - pl.col("yhat_lower")).mean().alias("width"),
                winkler(alpha).mean().alias("winkler"),
            )
            .with_columns(pl.lit(horizon).alias("horizon"))
        )
    return pl.concat(frames).sort([*by, "horizon"])


def breach_flags(
    points: pl.DataFrame,
    column: str,
    by: Sequence[str] = ("method", "host_id", "resource"),
    threshold: float = BREACH_THRESHOLD,
    window: int = BREACH_WINDOW,
) -> pl.DataFrame:
    """Per series: whether ``column`` exceeds the threshold on any day 1..window, and the first such day."""
    over = (pl.col(column) > threshold) & pl.col("h").is_between(1, window)
    return points.group_by(list(by)).agg(
        over.any().alias("flagged"),
        pl.col("h").filter(over).min().alias("first_day"),
    )


def alert_scores(alerts: pl.DataFrame, by: Sequence[str] = ("method", "family")) -> pl.DataFrame:
    """Per group: series, true breaches, flagged, true positives, false positives, missed, precision, recall.

    With a ``breaches_later`` column (the truth crosses after the window but within the forecast horizon), also
    ``false_positives_breach_later``: the false alarms that are early warnings of a real breach, not alarms on
    a series that never breaches. Precision is null when nothing is flagged, recall when nothing is true
    (undefined, not zero).
    """
    flagged, truth = pl.col("flagged").fill_null(False), pl.col("truth").fill_null(False)
    later = (
        [(flagged & ~truth & pl.col("breaches_later").fill_null(False)).sum().alias("false_positives_breach_later")]
        if "breaches_later" in alerts.columns
        else []
    )
    scored = alerts.group_by(list(by)).agg(
        pl.len().alias("series"),
        truth.sum().alias("true"),
        flagged.sum().alias("flagged"),
        (flagged & truth).sum().alias("true_positives"),
        (flagged & ~truth).sum().alias("false_positives"),
        *later,
        (~flagged & truth).sum().alias("missed"),
    )
    return scored.with_columns(
        pl.when(pl.col("flagged") > 0).then(pl.col("true_positives") / pl.col("flagged")).alias("precision"),
        pl.when(pl.col("true") > 0).then(pl.col("true_positives") / pl.col("true")).alias("recall"),
    ).sort(list(by))


def ratio(scores: pl.DataFrame, metric: str, numerator: str, denominator: str, on: Sequence[str]) -> pl.DataFrame:
    """``metric`` of method ``numerator`` over the same metric of ``denominator``, per group ``on``."""
    top = scores.filter(pl.col("method") == numerator).select(*on, pl.col(metric).alias("numerator"))
    bottom = scores.filter(pl.col("method") == denominator).select(*on, pl.col(metric).alias("denominator"))
    return top.join(bottom, on=list(on), how="inner").with_columns(
        (pl.col("numerator") / pl.col("denominator")).alias("ratio")
    )


# Edges of the reliability table's bins of a stated breach probability (the last bin is closed at 1).
PROBABILITY_BINS = (0.0, 0.001, 0.05, 0.15, 0.3, 0.5, 0.7, 0.85, 0.95)
LOG_LOSS_FLOOR = 1e-4  # a stated 0 or 1 that turns out wrong costs -ln(1e-4) = 9.2, not infinity


def probability_scores(probabilities: pl.DataFrame, by: Sequence[str] = ("method",)) -> pl.DataFrame:
    """Per group: series, true breaches, mean stated probability, Brier score and log loss of a breach
    probability (``probability`` in 0..1) against the truth (``truth``, a boolean; null counts as false).
    Both are proper scores: lower is better, and only a probability that matches the frequencies wins."""
    p = pl.col("probability").clip(0.0, 1.0)
    t = pl.col("truth").fill_null(False).cast(pl.Float64)
    clipped = p.clip(LOG_LOSS_FLOOR, 1.0 - LOG_LOSS_FLOOR)
    return (
        probabilities.group_by(list(by))
        .agg(
            pl.len().alias("series"),
            t.sum().cast(pl.Int64).alias("true"),
            p.mean().alias("mean_probability"),
            ((p - t) ** 2).mean().alias("brier"),
            (-(t * clipped.log() + (1.0 - t) * (1.0 - clipped).log())).mean().alias("log_loss"),
        )
        .sort(list(by))
    )


def reliability(
    probabilities: pl.DataFrame, by: Sequence[str] = ("method",), edges: Sequence[float] = PROBABILITY_BINS
) -> pl.DataFrame:
    """Per group and bin of the stated probability: series, mean stated probability and the frequency of true
    breaches. A calibrated probability has the two close in every bin. ``bin_low`` is the bin's lower edge
    (ascending ``edges``: a bin holds lower edge <= p < next edge, the last one p up to 1)."""
    p = pl.col("probability").clip(0.0, 1.0)
    low: pl.Expr = pl.lit(float(edges[0]))
    for edge in edges[1:]:
        low = pl.when(p >= edge).then(pl.lit(float(edge))).otherwise(low)
    return (
        probabilities.with_columns(low.alias("bin_low"))
        .group_by([*by, "bin_low"])
        .agg(
            pl.len().alias("series"),
            p.mean().alias("mean_probability"),
            pl.col("truth").fill_null(False).cast(pl.Float64).mean().alias("frequency"),
        )
        .sort([*by, "bin_low"])
    )


#: Horizon buckets of :func:`oracle_gap` (upper edges in days; 1-30, 31-60, 61-90, 91-180).
GAP_BUCKETS = (30, 60, 90, 180)
#: Days where either band's upper bound reaches this are left out of :func:`oracle_gap`: a bound pinned near
#: the 100% ceiling says nothing about how wide the band would be.
GAP_CAP = 99.0


def oracle_gap(
    points: pl.DataFrame, method: str, oracle: str, buckets: Sequence[int] = GAP_BUCKETS, cap: float = GAP_CAP
) -> pl.DataFrame:
    """Where ``method`` loses to the ideal forecaster ``oracle`` on the same series and days, per family and
    horizon bucket: the mean point bias (``method``'s yhat less the oracle's median; negative = behind it), the
    mean absolute gap, and both upper half-widths (yhat_upper - yhat). A point forecast on the oracle's median
    with a wider upper half-width states more chance of a breach than the series' own noise gives.

    ``points``: ``method, family, host_id, resource, h, yhat, yhat_upper``; only days 1..max(buckets) where
    both upper bounds are under ``cap``. Columns: family (with ``ALL`` over the oracle's families), days
    (e.g. ``1-30``), series, points, bias, gap, upper_half, oracle_upper_half."""
    columns = [*KEYS, "family", "h"]
    mine = points.filter(pl.col("method") == method).select(*columns, "yhat", "yhat_upper")
    ideal = points.filter(pl.col("method") == oracle).select(
        *KEYS, "h", pl.col("yhat").alias("oracle_yhat"), pl.col("yhat_upper").alias("oracle_upper")
    )
    upper_edges = sorted(buckets)
    label: pl.Expr = pl.lit(None, dtype=pl.String)
    for low, high in reversed(list(zip([0, *upper_edges[:-1]], upper_edges, strict=True))):
        label = pl.when(pl.col("h") <= high).then(pl.lit(f"{low + 1}-{high}")).otherwise(label)
    paired = (
        mine.join(ideal, on=[*KEYS, "h"], how="inner")
        .filter(
            pl.col("h").is_between(1, upper_edges[-1])
            & (pl.col("yhat_upper") < cap)
            & (pl.col("oracle_upper") < cap)
            & pl.col("oracle_yhat").is_not_null()
        )
        .with_columns(label.alias("days"), pl.col("h").alias("first_day"))
    )
    return (
        with_all(paired)
        .group_by("family", "days")
        .agg(
            pl.col("first_day").min(),
            pl.struct(*KEYS).n_unique().alias("series"),
            pl.len().alias("points"),
            (pl.col("yhat") - pl.col("oracle_yhat")).mean().alias("bias"),
            (pl.col("yhat") - pl.col("oracle_yhat")).abs().mean().alias("gap"),
            (pl.col("yhat_upper") - pl.col("yhat")).mean().alias("upper_half"),
            (pl.col("oracle_upper") - pl.col("oracle_yhat")).mean().alias("oracle_upper_half"),
        )
        .sort("family", "first_day")
        .drop("first_day")
    )

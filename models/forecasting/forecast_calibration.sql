-- Interval calibration of every engine's band, learned from backtest misses (Mondrian split conformal).
--
-- The engines' bands are already calibrated by horizon on held-out history before the backtest, but one
-- fleet-wide band fits some kinds of series better than others. So each band gets a stretch factor k
-- (yhat +- k x its own half-widths): the conformal quantile, at the nominal level, of stretch_score over
-- every backtest point of its calibration group. With calibration_grouping 'engine_difficulty' (the
-- default) the group is the engine x the band of the series' own median stretch_score on the backtest
-- (difficulty_score, cut at calibration_difficulty_edges): a series whose typical backtest miss was half its
-- band is stretched by what series like it missed by, one whose typical miss was three bands by what those
-- missed by. Why not the trust level ('engine_trust'): MAPE mixes relative noise with misses, so a calm host
-- at 10% utilization lands in MEDIUM or LOW and took those groups' large factors (measured on stress seed 1:
-- calm MEDIUM/LOW series covered 0.99-1.00 of their future with bands 13-17 points wide). There a group with
-- fewer than calibration_min_series series falls back to the engine's pooled factor; the difficulty groups
-- rely on the shrinkage below instead (an empty fallback would give a large-miss series the calm pool's k).
--
-- Why groups and not one offset per series: 122 autocorrelated days of one series are a handful of
-- independent looks, and a single missed ramp turned into +20 points on every future day. Groups pool
-- hundreds of series, and series are exchangeable where days are not, which makes the honest check possible:
-- hosts are split into two folds, each fold's factors are learned on the other fold's hosts only, and
-- crossfit_coverage is the coverage those factors give (out of sample by host).
--
-- Shrinkage, twice. A factor learned on few series is unstable (on an 8-host fleet a group factor once
-- stretched a calm band 113-fold), so each conformal quantile k of n series counts as k ^ (n / (n +
-- calibration_prior_series)): k itself on a large fleet, pulled toward 1 (the engine's own band, already
-- calibrated by horizon on held-out history) on a small one. And a group's own quantile overstates how far it
-- sits from its engine's pool: the series are put in a group by the same backtest days its quantile is read on,
-- so a series calm by chance lands in the calm group and takes a stretch narrower than it goes on to need
-- (DNA seed 44's own future: the calm groups learned 0.75-0.78 and needed 0.79-0.89; the groups over one band
-- learned 1.7-3.5 and needed 0.8-2.5). So a group's factor is k_group ^ calibration_group_weight x k_engine ^
-- (1 - calibration_group_weight), each shrunk as above (1: the group's own quantile; 0: one factor per
-- engine), kept within calibration_min_stretch .. calibration_max_stretch. How far a calm group regresses
-- differs by fleet (Prophet's calm group on DNA seed 45's future learned 0.74 and needed 0.84; on tuned stress
-- seed 207's it learned 0.75 and needed 0.75), so a group narrower than its pool takes its weight from the
-- backtest's two halves instead (calibration_narrow_weight, half_conformal below).
{% set level = var('interval_width') %}
{% set min_series = var('calibration_min_series') %}
{% set prior = var('calibration_prior_series') %}
{% set settings = calibration_settings() %}
{% set grouping, edges, weight = settings.grouping, settings.edges, settings.weight %}
{% set narrow_weight = settings.narrow_weight %}
with

level_shifts as (
    select * from {{ ref('int_backtest_level_shifts') }}
    where is_level_shift
),

-- A clean level shift inside the backtest (int_backtest_level_shifts) is in the refit's history: the days from
-- it on are scored as if the engine had followed it (its error less the shift), the days before it as they were.
errors as (
    select
        backtest.* exclude (stretch_score),
        level_shifts.shift_date as level_shift_date,
        case
            when backtest.ds < level_shifts.shift_date or level_shifts.shift_date is null
                then backtest.stretch_score
            when backtest.error - level_shifts.shift <= 0
                then (level_shifts.shift - backtest.error) / greatest(backtest.yhat_upper - backtest.yhat, 0.05)
            else (backtest.error - level_shifts.shift) / greatest(backtest.yhat - backtest.yhat_lower, 0.05)
        end as stretch_score
    from {{ ref('int_backtest_errors') }} as backtest
    left join level_shifts
        on
            backtest.host_id = level_shifts.host_id
            and backtest.resource = level_shifts.resource
            and backtest.model = level_shifts.model
),

leaderboard as (
    select * from {{ ref('model_leaderboard') }}
),

-- The last day of the backtest's first half (its window's middle day).
backtest_middle as (
    select min(ds) + cast((max(ds) - min(ds)) // 2 as integer) as middle_ds
    from errors
),

difficulty as (
    select
        errors.host_id,
        errors.resource,
        errors.model,
        median(errors.stretch_score) as difficulty_score,
        median(errors.stretch_score) filter (where errors.ds <= backtest_middle.middle_ds) as first_half_score
    from errors
    cross join backtest_middle
    group by all
),

labelled as (
    select
        errors.host_id,
        errors.resource,
        errors.model,
        errors.ds,
        errors.stretch_score,
        errors.is_covered,
        errors.level_shift_date,
        leaderboard.is_champion,
        case
            when leaderboard.mape <= {{ var('trust_high_max_mape') }} then 'HIGH'
            when leaderboard.mape <= {{ var('trust_medium_max_mape') }} then 'MEDIUM'
            else 'LOW'
        end as trust_level,
        -- The series' typical backtest miss in units of its own half-width (< ~0.5 for a band that fits).
        difficulty.difficulty_score,
        difficulty.first_half_score,
        errors.ds <= backtest_middle.middle_ds as is_first_half,
        -- Whole hosts per fold: a host's resources share its behaviour, so they must not straddle folds.
        cast(hash(errors.host_id) % 2 as integer) as fold
    from errors
    inner join leaderboard
        on
            errors.host_id = leaderboard.host_id
            and errors.resource = leaderboard.resource
            and errors.model = leaderboard.model
    inner join difficulty
        on
            errors.host_id = difficulty.host_id
            and errors.resource = difficulty.resource
            and errors.model = difficulty.model
    cross join backtest_middle
    where leaderboard.is_eligible
),

grouped as (
    select
        *,
        case
            when first_half_score is not null then {{ calibration_difficulty_group('first_half_score', edges) }}
        end as first_half_group,
        {%- if grouping == 'engine_difficulty' %}
            {{ calibration_difficulty_group('difficulty_score', edges) }} as own_group
        {%- elif grouping == 'engine_trust' %}
            trust_level as own_group
        {%- else %}
            'ALL' as own_group
        {%- endif %}
    from labelled
),

-- Each series' scores once, listed per engine x own group x first-half group x fold and split by backtest half;
-- the groups' quantiles (conformal_sorted) and the halves' (half_sorted) concatenate these lists per group they
-- belong to. Listing first and concatenating after keeps memory near one copy of the scores (expanding the
-- points four ways before the aggregate held four copies, twice).
score_lists as (
    select
        model,
        own_group,
        first_half_group,
        fold,
        count(distinct hash(host_id, resource)) as series,
        coalesce(list(stretch_score) filter (where is_first_half), []) as first_half_scores,
        coalesce(list(stretch_score) filter (where not is_first_half), []) as second_half_scores
    from grouped
    group by all
),

-- How far a narrowed group's stretch holds up out of sample, read inside the backtest: each series is put in a
-- group by its median score on the backtest's first half, and each group's quantile is read on that half (in
-- sample) and on the second half (out of sample), beside its engine's pooled quantile on each half. A group
-- that keeps its distance from the pool (log ratio second / log ratio first near 1) is calm for a reason and keeps
-- its own factor; one that drifts back toward the pool is pulled toward it as far (weight = that ratio, within
-- 0..1, shrunk toward calibration_group_weight for few series). Only groups narrower than their engine's pool:
-- a group widened by backtest misses learns from them in the refit, which this split cannot see. With a number
-- for calibration_narrow_weight nothing reads these CTEs (weighted skips the join), and they are not run.
half_sorted as (
    select
        score_lists.model,
        own_groups.calibration_group,
        fold_groups.fold,
        sum(score_lists.series) as series,
        list_sort(flatten(list(score_lists.first_half_scores))) as first_scores,
        list_sort(flatten(list(score_lists.second_half_scores))) as second_scores
    from score_lists
    cross join unnest([score_lists.first_half_group, 'ALL']) as own_groups (calibration_group)
    cross join unnest([score_lists.fold, -1]) as fold_groups (fold)
    where score_lists.first_half_group is not null
    group by all
),

half_conformal as (
    select
        model,
        calibration_group,
        fold,
        series,
        len(second_scores) as second_points,
        {{ conformal_quantile('first_scores', level) }} as first_stretch,
        {{ conformal_quantile('second_scores', level) }} as second_stretch
    from half_sorted
),

half_ratios as (
    select
        half_conformal.model,
        half_conformal.calibration_group,
        half_conformal.fold,
        half_conformal.series,
        ln(greatest(half_conformal.first_stretch, 1e-6) / greatest(pooled.first_stretch, 1e-6)) as log_ratio_first,
        ln(greatest(half_conformal.second_stretch, 1e-6) / greatest(pooled.second_stretch, 1e-6)) as log_ratio_second
    from half_conformal
    inner join half_conformal as pooled
        on
            half_conformal.model = pooled.model
            and half_conformal.fold = pooled.fold
            and pooled.calibration_group = 'ALL'
    where
        half_conformal.calibration_group != 'ALL'
        and half_conformal.second_points > 0
        and pooled.second_points > 0
),

narrow_weights as (
    select
        model,
        calibration_group,
        fold,
        {{ weight }} + (
            greatest(0, least(1, log_ratio_second / log_ratio_first)) - {{ weight }}
        ) * series / (series + {{ prior }}) as narrow_weight
    from half_ratios
    where log_ratio_first < 0
),

-- Every series' scores, both halves, once per group it belongs to: its own group and 'ALL' (the engine pooled),
-- each for its own fold and for -1 (both folds), sorted.
conformal_sorted as (
    select
        score_lists.model,
        own_groups.calibration_group,
        fold_groups.fold,
        cast(sum(score_lists.series) as bigint) as series,
        list_sort(flatten(list(list_concat(score_lists.first_half_scores, score_lists.second_half_scores)))) as scores
    from score_lists
    cross join unnest(list_distinct([score_lists.own_group, 'ALL'])) as own_groups (calibration_group)
    cross join unnest([score_lists.fold, -1]) as fold_groups (fold)
    group by all
),

-- Finite-sample conformal quantile: the ceil((n + 1) * level)-th smallest score (capped at n), read from
-- the group's sorted scores. An aggregate per group, not a row_number() window: the window sorted millions of
-- rows in a few dozen partitions and was the slowest SQL of the tournament (bench/README.md).
conformal as (
    select
        model,
        calibration_group,
        fold,
        series,
        cast(len(scores) as bigint) as points,
        {{ conformal_quantile('scores', level) }} as conformal_stretch
    from conformal_sorted
),

-- The engine's pooled quantile (group 'ALL') beside each group's, for the same fold, and the group's weight:
-- calibration_group_weight, or for a group narrower than its pool calibration_narrow_weight (a number, or read
-- from the backtest's halves above).
weighted as (
    select
        conformal.*,
        pooled.conformal_stretch as pooled_stretch,
        pooled.series as pooled_series,
        -- A double whatever the vars' literals are (0.6 alone would be a DECIMAL, against the contract).
        cast(case
            when conformal.conformal_stretch >= pooled.conformal_stretch then {{ weight }}
            {%- if narrow_weight == 'backtest_halves' %}
                else coalesce(narrow_weights.narrow_weight, {{ weight }})
            {%- else %}
                else {{ narrow_weight }}
            {%- endif %}
        end as double) as group_weight
    from conformal
    inner join conformal as pooled
        on
            conformal.model = pooled.model
            and conformal.fold = pooled.fold
            and pooled.calibration_group = 'ALL'
    {%- if narrow_weight == 'backtest_halves' %}
        left join narrow_weights
            on
                conformal.model = narrow_weights.model
                and conformal.calibration_group = narrow_weights.calibration_group
                and conformal.fold = narrow_weights.fold
    {%- endif %}
),

factors as (
    select
        weighted.model,
        weighted.calibration_group,
        weighted.fold,
        weighted.series,
        weighted.points,
        weighted.conformal_stretch,
        weighted.group_weight,
        least(
            {{ var('calibration_max_stretch') }},
            greatest(
                {{ var('calibration_min_stretch') }},
                pow(
                    greatest(weighted.conformal_stretch, 1e-6),
                    weighted.group_weight * weighted.series / (weighted.series + {{ prior }})
                )
                * pow(
                    greatest(weighted.pooled_stretch, 1e-6),
                    (1 - weighted.group_weight) * weighted.pooled_series / (weighted.pooled_series + {{ prior }})
                )
            )
        ) as stretch
    from weighted
),

per_series as (
    select
        host_id,
        resource,
        model,
        any_value(trust_level) as trust_level,
        any_value(own_group) as own_group,
        any_value(difficulty_score) as difficulty_score,
        any_value(level_shift_date) as level_shift_date,
        any_value(fold) as fold,
        any_value(is_champion) as is_champion,
        count(*) as points,
        avg(case when is_covered then 1.0 else 0.0 end) as raw_coverage
    from grouped
    group by all
),

chosen as (
    select
        per_series.*,
        case
            when '{{ grouping }}' = 'engine_difficulty' then per_series.own_group
            when '{{ grouping }}' = 'engine_trust' and group_factor.series >= {{ min_series }}
                then per_series.own_group
            else 'ALL'
        end as calibration_group
    from per_series
    left join factors as group_factor
        on
            per_series.model = group_factor.model
            and per_series.own_group = group_factor.calibration_group
            and group_factor.fold = -1
),

crossfit as (
    select
        chosen.host_id,
        chosen.resource,
        chosen.model,
        any_value(other_fold.stretch) as crossfit_stretch,
        avg(case when labelled.stretch_score <= other_fold.stretch then 1.0 else 0.0 end) as crossfit_coverage
    from chosen
    inner join labelled
        on
            chosen.host_id = labelled.host_id
            and chosen.resource = labelled.resource
            and chosen.model = labelled.model
    inner join factors as other_fold
        on
            chosen.model = other_fold.model
            and chosen.calibration_group = other_fold.calibration_group
            and other_fold.fold = 1 - chosen.fold
    group by all
)

select
    chosen.host_id,
    chosen.resource,
    chosen.model,
    chosen.is_champion,
    chosen.trust_level,
    chosen.calibration_group,
    chosen.difficulty_score,
    chosen.level_shift_date,
    chosen.fold,
    chosen.points,
    cast({{ level }} as double) as nominal_coverage,
    chosen.raw_coverage,
    applied.stretch as interval_stretch,
    applied.group_weight,
    applied.conformal_stretch,
    applied.series as calibration_series,
    crossfit.crossfit_stretch,
    crossfit.crossfit_coverage
from chosen
inner join factors as applied
    on
        chosen.model = applied.model
        and chosen.calibration_group = applied.calibration_group
        and applied.fold = -1
left join crossfit
    on
        chosen.host_id = crossfit.host_id
        and chosen.resource = crossfit.resource
        and chosen.model = crossfit.model

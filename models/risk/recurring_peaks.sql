-- Every run of observed days over breach_threshold in the last recurring_peak_lookback_days of each series'
-- history: the peaks a forecast of the level cannot place on a day (month-end and quarter-end batches,
-- heavy-tailed spikes), but whose recurrence says how likely another one is within the window
-- (int_series_breach_outlook reads their rate). One row per host x resource x episode.
--
-- A peak is an observed day (imputed days never count) over the threshold. An episode is a run of such days
-- on consecutive observed days: an observed day under the threshold ends it; an imputed day inside it neither
-- ends nor lengthens it (the collector was silent, not the load calm). Level guard: a peak counts only if it
-- would still cross on today's level, i.e. its excess over the level of its time (the median of the observed
-- days under the threshold among the recurring_peak_level_days before it) added to today's level (the median
-- of those under the threshold among the last recurring_peak_level_days observed days of the history) also
-- exceeds the threshold. Peaks stay out of both levels, so the second day of a two-day episode is measured
-- against the load's own level, not one lifted by the first. A host resized,
-- rebalanced or drained since its peaks then no longer counts them; a host whose level rose is not credited
-- with peaks it never had.
-- peak_height is the episode's highest day on today's level (at most its actual value): the what-if reads
-- it to tell which peaks a scenario would lift or lower (macros/whatif.sql).
{%- set threshold = var('breach_threshold') -%}
{%- set lookback_days = var('recurring_peak_lookback_days') | int -%}
{%- set level_days = var('recurring_peak_level_days') | int -%}
{{- check_recurring_peak_vars(lookback_days, level_days) }}

with

processed as (
    select * from {{ ref('processed_data') }}
),

windows as (
    select * from {{ ref('forecast_windows') }}
),

recent_days as (
    select
        processed.host_id,
        processed.resource,
        processed.ds,
        processed.y,
        not processed.is_imputed as is_observed,
        processed.ds > windows.history_end - {{ lookback_days }} as is_in_lookback
    from processed
    cross join windows
    where
        processed.ds <= windows.history_end
        -- the days before the lookback give its first days their level
        and processed.ds > windows.history_end - {{ lookback_days + level_days }}
),

-- Series with at least one observed day over the threshold in the lookback: the only ones with peaks.
peak_series as (
    select
        host_id,
        resource,
        count(*) filter (where is_observed and is_in_lookback) as observed_days
    from recent_days
    group by all
    having bool_or(is_observed and is_in_lookback and y > {{ threshold }})
),

levels as (
    select
        recent_days.*,
        peak_series.observed_days,
        median(recent_days.y) filter (where recent_days.is_observed and recent_days.y <= {{ threshold }}) over (
            partition by recent_days.host_id, recent_days.resource
            order by recent_days.ds
            rows between {{ level_days }} preceding and 1 preceding
        ) as level_then,
        -- Each observed day's place among the series' observed days: consecutive observed peak days share
        -- observed_index - row_number() however many imputed days lie between them.
        count(*) filter (where recent_days.is_observed) over (
            partition by recent_days.host_id, recent_days.resource
            order by recent_days.ds
            rows between unbounded preceding and current row
        ) as observed_index
    from recent_days
    inner join peak_series
        on
            recent_days.host_id = peak_series.host_id
            and recent_days.resource = peak_series.resource
),

current_levels as (
    select
        host_id,
        resource,
        median(y) filter (where y <= {{ threshold }}) as level_now
    from (
        select
            host_id,
            resource,
            y,
            row_number() over (partition by host_id, resource order by ds desc) as recency
        from levels
        where is_observed
    ) as observed
    where recency <= {{ level_days }}
    group by all
),

peak_days as (
    select
        levels.host_id,
        levels.resource,
        levels.ds,
        levels.y,
        levels.level_then,
        current_levels.level_now,
        levels.observed_days,
        levels.observed_index,
        least(levels.y, levels.y - levels.level_then + current_levels.level_now) as height
    from levels
    inner join current_levels
        on
            levels.host_id = current_levels.host_id
            and levels.resource = current_levels.resource
    where
        levels.is_observed
        and levels.is_in_lookback
        and levels.y > {{ threshold }}
        and levels.y - levels.level_then + current_levels.level_now > {{ threshold }}
),

-- Gaps and islands: peak days on consecutive observed days share observed_index - row_number().
episodes as (
    select
        *,
        observed_index - row_number() over (partition by host_id, resource order by ds) as island
    from peak_days
)

select
    host_id,
    resource,
    min(ds) as episode_start,
    max(ds) as episode_end,
    count(*) as episode_days,
    round(max(y), 4) as peak_y,
    round(arg_max(level_then, height), 4) as level_then,
    round(any_value(level_now), 4) as level_now,
    -- Not rounded: the outlook and the what-if compare it with the threshold.
    max(height) as peak_height,
    any_value(observed_days) as observed_days
from episodes
group by host_id, resource, island

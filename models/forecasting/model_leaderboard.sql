-- The tournament: every engine of the registry (var `engines`) scored on every series' backtest window,
-- ranked, one champion per series.
--
-- Another engine takes a series from regime_engine only when its backtest score is lower than regime_engine's by
-- at least challenger_margin (a share of regime_engine's score): the ranking multiplies regime_engine's score by
-- 1 - challenger_margin. One origin's 122 autocorrelated days cannot tell engines a few percent apart, and the
-- choice is not neutral: regime_engine reads shapes that change after the backtest origin (below), the others
-- do not. With plain lowest-score picks the golden record forecast worse than regime_engine alone on every
-- stress tuning seed (docs/trust_log.md, session 24).
--
-- The backtest has one origin, 4 months before the end: a series whose shape changed after it (a ramp that
-- began weeks ago, a workload moved on) cannot make its winner lose. So the winner's backtest is checked
-- against the last recent_check_days of the window: when at least recent_break_share of those days fell
-- outside its band on one side (the series has left the model that won), the champion is the registry's
-- regime_engine instead (Prophet, whose forecast continues from the shape of the last weeks), and
-- `forecasts` labels the series LOW trust.
--
-- For the same reason a backtest winner whose forecast cannot carry a trend (registry forecasts_trend: false,
-- the seasonal naive) hands over to regime_engine when the series' last recent_trend_days trend: read as a
-- line, a slope beyond recent_trend_z standard errors (doubled: daily residuals are autocorrelated) that moves
-- at least recent_trend_min_points over recent_trend_material_days. Growth that turned into a decline after
-- the backtest origin made the naive win on the flat months around the peak; it then forecast the peak level
-- flat while the series kept falling.
--
-- The same hand-over where the months ahead held a yearly season: in each of the last two years, the same
-- four-week stretch of the coming forecast_horizon_days moved the same way, by at least
-- recent_trend_min_points, from the four weeks before, beyond the series' drift over the year (a busy season, a
-- year-end close; a steady trend is left to the recent-trend test). The backtest's months
-- may hold none of it, so an engine that carries no trend or season (the seasonal naive) can win them and then
-- forecast the season flat. Any other backtest winner hands such a series over too where the season is sharp:
-- regime_engine's production fit of the whole year earned at least regime_sharp_season_terms yearly Fourier
-- terms (the years agree strongly on one shape and its sharpness pays for the terms; engine_runs.detail
-- yearly_terms; null = off). XGBoost's year-ago features, smoothed over 7 and 28 days, round a season a week or
-- two wide off (a busy peak, a holiday dip).
--
-- And a series whose last weeks fit a rising compounding curve (int_series_growth_upside.evidence at least
-- regime_curve_min_evidence; null = off) goes to regime_engine when another engine won: the backtest ran before
-- the curve bent, and the winners forecast it as a line that falls further behind every month.
--
-- So does a series whose last two years grew in steps (int_series_growth_upside.staircase_steps; none with
-- prophet_staircase off): a backtest that falls between two steps is won by a flat forecast, and the next step
-- then comes as a surprise. regime_engine continues a staircase by its steps to come (prophet_staircase_renewal).
--
-- A series whose level regime_engine's production fit read as wandering (engine_runs.detail
-- reading=wandering_level) keeps its champion, marked has_wandering_level: `forecasts` gives it at least
-- regime_engine's band, whose width grows with the wander's own past misses.
{%- set regime_engine = regime_engine_name() %}
{%- set curve_min_evidence = regime_curve_min_evidence() %}
{%- set sharp_season_terms = regime_sharp_season_terms() %}
{%- set regime_weight = regime_engine_weight() %}
{%- set margin_percent = '%g' | format(((1 - regime_weight) * 100) | round(1)) %}
{%- set recent_days = var('recent_check_days') | int %}
{%- set trend_days = var('recent_trend_days') | int %}
with

processed as (
    select * from {{ ref('processed_data') }}
),

windows as (
    select * from {{ ref('forecast_windows') }}
),

-- The last trend_days of each series' real observations as a least-squares line (x in days).
recent_line as (
    select
        processed.host_id,
        processed.resource,
        count(*) as trend_points,
        regr_slope(processed.y, datediff('day', windows.history_end, processed.ds)) as trend_slope,
        regr_sxx(processed.y, datediff('day', windows.history_end, processed.ds)) as spread_x,
        regr_syy(processed.y, datediff('day', windows.history_end, processed.ds)) as spread_y,
        regr_sxy(processed.y, datediff('day', windows.history_end, processed.ds)) as spread_xy
    from processed
    cross join windows
    where
        not processed.is_imputed
        and processed.ds <= windows.history_end
        and processed.ds > windows.history_end - {{ trend_days }}
    group by all
),

recent_trend as (
    select
        host_id,
        resource,
        trend_slope,
        coalesce(
            trend_points >= {{ (trend_days / 2) | int }}
            and spread_x > 0
            and abs(trend_slope) * {{ var('recent_trend_material_days') }} >= {{ var('recent_trend_min_points') }}
            and abs(trend_slope) > {{ var('recent_trend_z') }} * 2 * sqrt(
                greatest(spread_y - spread_xy * spread_xy / spread_x, 0) / (trend_points - 2) / spread_x
            ),
            false
        ) as has_recent_trend
    from recent_line
),

-- Each of the last two years (years_back 1, 2), from the same day a year or two before history_end: the mean of
-- the four weeks up to it (block 0) and of each following four weeks within forecast_horizon_days (blocks 1..),
-- on observed days only.
season_blocks as (
    select
        processed.host_id,
        processed.resource,
        years_back.k as years_back,
        cast(
            floor((datediff('day', windows.history_end, processed.ds) + 365 * years_back.k - 1) / 28) + 1 as integer
        ) as block,
        count(*) as block_days,
        avg(processed.y) as block_mean
    from processed
    cross join windows
    cross join (values (1), (2)) as years_back (k)
    where
        not processed.is_imputed
        and processed.ds > windows.history_end - 365 * years_back.k - 28
        and processed.ds <= windows.history_end - 365 * years_back.k
        + cast(28 * floor(windows.forecast_horizon_days / 28) as integer)
    group by all
),

-- The series' drift a day over the year between the two block 0s: a steady trend moves the same weeks the same
-- way every year, and is no season.
season_drift as (
    select
        host_id,
        resource,
        (
            any_value(block_mean) filter (where years_back = 1) - any_value(block_mean) filter (where years_back = 2)
        ) / 365 as drift_per_day
    from season_blocks
    where block = 0 and block_days >= 14
    group by all
    having count(*) = 2
),

-- How far each later block's mean moved from block 0's, less the drift over the 28 days a block lies apart,
-- blocks of at least 14 observed days.
season_moves as (
    select
        later.host_id,
        later.resource,
        later.years_back,
        later.block,
        later.block_mean - origin.block_mean - season_drift.drift_per_day * 28 * later.block as block_move
    from season_blocks as later
    inner join season_blocks as origin
        on
            later.host_id = origin.host_id
            and later.resource = origin.resource
            and later.years_back = origin.years_back
            and origin.block = 0
    inner join season_drift
        on
            later.host_id = season_drift.host_id
            and later.resource = season_drift.resource
    where later.block > 0 and later.block_days >= 14 and origin.block_days >= 14
),

-- A block where both years moved the same way: the smaller of the two moves. A level that wanders moves as much
-- but not the same way in the same weeks each year.
season_agreements as (
    select
        last_year.host_id,
        last_year.resource,
        least(abs(last_year.block_move), abs(year_before.block_move)) as agreed_move
    from season_moves as last_year
    inner join season_moves as year_before
        on
            last_year.host_id = year_before.host_id
            and last_year.resource = year_before.resource
            and last_year.block = year_before.block
            and year_before.years_back = 2
    where last_year.years_back = 1 and sign(last_year.block_move) = sign(year_before.block_move)
),

-- A season recurs where some block agreed by at least recent_trend_min_points; season_swing is the largest.
seasons as (
    select
        host_id,
        resource,
        max(agreed_move) as season_swing
    from season_agreements
    where agreed_move >= {{ var('recent_trend_min_points') }}
    group by all
),

errors as (
    select * from {{ ref('int_backtest_errors') }}
),

runs as (
    select * from {{ ref('engine_runs') }}
),

-- Series whose season regime_engine fitted sharp: the yearly Fourier terms of its production fit, from its run
-- log (detail 'yearly_terms=N'), at least sharp_season_terms.
sharp_seasons as (
    select
        host_id,
        resource,
        yearly_terms
    from (
        select
            host_id,
            resource,
            try_cast(regexp_extract(detail, 'yearly_terms=([0-9]+)', 1) as integer) as yearly_terms
        from runs
        where model = '{{ regime_engine }}' and status = 'ok'
    ) as fitted
    {%- if sharp_season_terms is none %}
        where false
    {%- else %}
        where yearly_terms >= {{ sharp_season_terms }}
    {%- endif %}
),

-- Series whose level regime_engine's production fit read as wandering (run log detail 'reading=wandering_level').
wandering_levels as (
    select distinct
        host_id,
        resource
    from runs
    where
        model = '{{ regime_engine }}'
        and status = 'ok'
        and regexp_matches(detail, '(^|, )reading=wandering_level(,|$)')
),

-- Series whose last two years grew in steps (the staircase test of Prophet, on the observed days).
staircases as (
    select
        host_id,
        resource,
        staircase_steps
    from {{ ref('int_series_growth_upside') }}
    where staircase_steps is not null
),

-- Series whose last weeks read as a rising compounding curve (the growth upside's test).
curves as (
    select
        host_id,
        resource,
        evidence
    from {{ ref('int_series_growth_upside') }}
    {%- if curve_min_evidence is none %}
        where false
    {%- else %}
        where evidence >= {{ curve_min_evidence }}
    {%- endif %}
),

forecast_rows as (
    select
        host_id,
        resource,
        model,
        count(*) as forecast_points
    from (
        {{- union_engine_forecasts('forecast', ['host_id', 'resource', 'model']) }}
    )
    group by all
),

series as (
    select distinct
        host_id,
        resource
    from processed
),

models as (
    select unnest([{{ engine_names_sql() }}]) as model
),

entries as (
    select
        series.host_id,
        series.resource,
        models.model
    from series
    cross join models
),

scored as (
    select
        host_id,
        resource,
        model,
        count(*) as backtest_points,
        count(*) filter (where y >= {{ var('mape_min_actual') }}) as mape_points,
        100 * avg(absolute_error / y) filter (where y >= {{ var('mape_min_actual') }}) as strict_mape,
        100 * sum(absolute_error) / nullif(sum(abs(y)), 0) as wape,
        avg(absolute_error) as mae,
        avg(error) as bias,
        avg(case when is_covered then 1.0 else 0.0 end) as coverage
    from errors
    group by all
),

guarded as (
    select
        *,
        -- MAPE guard: on near-idle series most actuals sit under mape_min_actual points, where a percentage
        -- error explodes. If fewer than half of the backtest days qualify, MAPE falls back to WAPE.
        mape_points < 0.5 * backtest_points as is_mape_fallback,
        case when mape_points < 0.5 * backtest_points then wape else strict_mape end as mape
    from scored
),

joined as (
    select
        entries.host_id,
        entries.resource,
        entries.model,
        coalesce(
            runs.status,
            case when guarded.backtest_points is not null then 'ok' else 'missing' end
        ) as status,
        runs.error as run_error,
        guarded.backtest_points,
        guarded.mape_points,
        guarded.mape,
        guarded.is_mape_fallback,
        guarded.wape,
        guarded.mae,
        guarded.bias,
        guarded.coverage,
        coalesce(forecast_rows.forecast_points, 0) as forecast_points
    from entries
    left join runs
        on
            entries.host_id = runs.host_id
            and entries.resource = runs.resource
            and entries.model = runs.model
    left join guarded
        on
            entries.host_id = guarded.host_id
            and entries.resource = guarded.resource
            and entries.model = guarded.model
    left join forecast_rows
        on
            entries.host_id = forecast_rows.host_id
            and entries.resource = forecast_rows.resource
            and entries.model = forecast_rows.model
),

eligibility as (
    select
        *,
        -- Only an engine that ran cleanly, was scored and produced a production forecast can win.
        status = 'ok' and backtest_points > 0 and forecast_points > 0 and mape is not null as is_eligible,
        case when '{{ var("selection_metric") }}' = 'wape' then wape else mape end as selection_score,
        -- Tie-break: the simpler model wins an exact tie (the registry's simplicity: seasonal naive, then
        -- XGBoost, then Prophet).
        {{ engine_simplicity_sql('model') }} as simplicity_order
    from joined
),

-- regime_engine is ranked at its score less challenger_margin.
weighted as (
    select
        *,
        selection_score * case when model = '{{ regime_engine }}' then {{ regime_weight }} else 1 end as ranking_score
    from eligibility
),

ranked as (
    select
        *,
        row_number() over (
            partition by host_id, resource
            order by is_eligible desc, ranking_score asc nulls last, simplicity_order asc
        ) as rank
    from weighted
),

-- How each engine's backtest band held over the last recent_check_days scored days of its series.
recent as (
    select
        host_id,
        resource,
        model,
        count(*) as recent_points,
        count(*) filter (where y > yhat_upper) as recent_above,
        count(*) filter (where y < yhat_lower) as recent_below
    from (
        select
            *,
            max(ds) over (partition by host_id, resource) as last_scored_day
        from errors
    ) as dated_errors
    where ds > last_scored_day - {{ recent_days }}
    group by all
),

checked as (
    select
        ranked.*,
        coalesce(
            recent.recent_points >= {{ (recent_days / 2) | int }}
            and greatest(recent.recent_above, recent.recent_below)
            >= {{ var('recent_break_share') }} * recent.recent_points,
            false
        ) as has_recent_break,
        greatest(recent.recent_above, recent.recent_below) / nullif(recent.recent_points, 0) as recent_miss_share,
        -- Which side the last days left the band on: above (the load outran the forecast, a breach may come
        -- sooner) or below. A LOW label without it read as doubt about an alert that was in fact too late.
        case when recent.recent_above >= recent.recent_below then 'above' else 'below' end as recent_miss_side
    from ranked
    left join recent
        on
            ranked.host_id = recent.host_id
            and ranked.resource = recent.resource
            and ranked.model = recent.model
),

picks as (
    select
        host_id,
        resource,
        any_value(model) filter (where rank = 1 and is_eligible) as top_model,
        coalesce(any_value(has_recent_break) filter (where rank = 1 and is_eligible), false) as top_has_break,
        any_value(recent_miss_share) filter (where rank = 1 and is_eligible) as top_miss_share,
        any_value(recent_miss_side) filter (where rank = 1 and is_eligible) as top_miss_side,
        any_value(selection_score) filter (where rank = 1 and is_eligible) as top_score,
        -- The best score without the margin, and whose it is, for champion_reason.
        min(selection_score) filter (where is_eligible) as leader_score,
        arg_min(model, selection_score) filter (where is_eligible) as score_leader,
        coalesce(bool_or(model = '{{ regime_engine }}' and is_eligible), false) as regime_available
    from checked
    group by all
),

decisions as (
    select
        picks.*,
        recent_trend.trend_slope,
        curves.evidence as curve_evidence,
        seasons.season_swing,
        staircases.staircase_steps,
        sharp_seasons.yearly_terms,
        coalesce(recent_trend.has_recent_trend, false) as has_recent_trend,
        seasons.host_id is not null and sharp_seasons.host_id is not null as has_sharp_season_ahead,
        coalesce(
            (
                picks.top_has_break
                or (
                    (recent_trend.has_recent_trend or seasons.host_id is not null)
                    and {{ engine_trendless_sql('picks.top_model') }}
                )
                or (seasons.host_id is not null and sharp_seasons.host_id is not null)
                or curves.host_id is not null
                or staircases.host_id is not null
            )
            and picks.regime_available
            and picks.top_model != '{{ regime_engine }}',
            false
        ) as is_regime_override
    from picks
    left join recent_trend
        on
            picks.host_id = recent_trend.host_id
            and picks.resource = recent_trend.resource
    left join curves
        on
            picks.host_id = curves.host_id
            and picks.resource = curves.resource
    left join seasons
        on
            picks.host_id = seasons.host_id
            and picks.resource = seasons.resource
    left join staircases
        on
            picks.host_id = staircases.host_id
            and picks.resource = staircases.resource
    left join sharp_seasons
        on
            picks.host_id = sharp_seasons.host_id
            and picks.resource = sharp_seasons.resource
),

champions as (
    select
        host_id,
        resource,
        is_regime_override,
        curve_evidence,
        season_swing is not null as has_yearly_season,
        has_sharp_season_ahead,
        staircase_steps is not null as has_staircase,
        case when is_regime_override then '{{ regime_engine }}' else top_model end as champion_model,
        case
            when top_model is null then null
            when is_regime_override and top_has_break
                then
                    'recent break: ' || cast(round(100 * top_miss_share) as integer)
                    || '% of the last {{ recent_days }} days ran ' || top_miss_side || ' the band of ' || top_model
                    || ', the backtest winner'
            when is_regime_override and curve_evidence is not null
                then
                    'compounding growth: the last weeks fit a rising curve (evidence '
                    || cast(round(curve_evidence, 1) as varchar) || ') that ' || top_model
                    || ', the backtest winner, forecasts as a line'
            when is_regime_override and staircase_steps is not null
                then
                    'growth in steps: the last two years rose in ' || cast(staircase_steps as varchar)
                    || ' level shifts, and ' || top_model || ', the backtest winner, does not forecast the next'
            when is_regime_override and has_sharp_season_ahead and not {{ engine_trendless_sql('top_model') }}
                then
                    'sharp yearly season: in each of the last two years the same weeks ahead moved at least '
                    || cast(round(season_swing, 1) as varchar) || ' points from their start, a season '
                    || '{{ regime_engine }} fits with ' || cast(yearly_terms as varchar) || ' yearly terms and '
                    || top_model || ', the backtest winner, rounds off'
            when is_regime_override and not has_recent_trend
                then
                    'yearly season: in each of the last two years the same weeks ahead moved at least '
                    || cast(round(season_swing, 1) as varchar) || ' points from their start, which ' || top_model
                    || ', the backtest winner, cannot forecast'
            when is_regime_override
                then
                    'recent trend: the last {{ trend_days }} days moved '
                    || cast(round(30 * trend_slope, 1) as varchar) || ' points a month, which ' || top_model
                    || ', the backtest winner, cannot forecast'
            when top_has_break
                then
                    'best backtest score (its last {{ recent_days }} days ran ' || top_miss_side || ' the band: '
                    || cast(round(100 * top_miss_share) as integer) || '%)'
            when leader_score < top_score
                then
                    'best backtest score within the challenger margin: ' || score_leader || ' scored '
                    || cast(round(100 * (1 - leader_score / nullif(top_score, 0)), 1) as varchar)
                    || '% lower, under the {{ margin_percent }}% a challenger needs'
            else 'best backtest score'
        end as champion_reason
    from decisions
),

naive as (
    select
        host_id,
        resource,
        selection_score as naive_score
    from checked
    where model = 'seasonal_naive' and is_eligible
)

select
    checked.host_id,
    checked.resource,
    checked.model,
    checked.status,
    checked.run_error,
    checked.backtest_points,
    checked.mape_points,
    checked.mape,
    checked.is_mape_fallback,
    checked.wape,
    checked.mae,
    checked.bias,
    checked.coverage,
    checked.forecast_points,
    checked.is_eligible,
    '{{ var("selection_metric") }}' as selection_metric,
    checked.selection_score,
    checked.ranking_score,
    checked.rank,
    coalesce(checked.is_eligible and checked.model = champions.champion_model, false) as is_champion,
    case when checked.model = champions.champion_model then champions.champion_reason end as champion_reason,
    coalesce(checked.model = champions.champion_model and champions.is_regime_override, false) as is_regime_override,
    checked.has_recent_break,
    checked.recent_miss_share,
    coalesce(recent_trend.has_recent_trend, false) as has_recent_trend,
    round(recent_trend.trend_slope, 4) as recent_trend_per_day,
    champions.curve_evidence is not null as has_compounding_curve,
    coalesce(champions.has_yearly_season, false) as has_yearly_season,
    coalesce(champions.has_sharp_season_ahead, false) as has_sharp_season,
    coalesce(champions.has_staircase, false) as has_staircase,
    wandering_levels.host_id is not null as has_wandering_level,
    naive.naive_score,
    checked.is_eligible and checked.selection_score < naive.naive_score as beats_naive
from checked
left join champions
    on
        checked.host_id = champions.host_id
        and checked.resource = champions.resource
left join naive
    on
        checked.host_id = naive.host_id
        and checked.resource = naive.resource
left join recent_trend
    on
        checked.host_id = recent_trend.host_id
        and checked.resource = recent_trend.resource
left join wandering_levels
    on
        checked.host_id = wandering_levels.host_id
        and checked.resource = wandering_levels.resource

-- The linter's layout rule (LT02) accepts no indentation of this file's Jinja-branched select lists and CTE list
-- (it reads a whitespace-stripping tag as joining two lines); every other rule applies here.
-- noqa: disable=LT02
{#-
    What-if scenarios: the one place their arithmetic and rules live. The dbt models in models/scenarios call
    these macros with ref()s and var() values; python_engines/whatif.py renders the same file with plain Jinja
    (so nothing here may call var(), ref() or any other dbt function) over the tables of the serving copy, for
    `horizonscale whatif` and the dashboard's What-if view. Every macro returns SQL text: a relation argument is
    a table or CTE name, a value argument a SQL expression or literal.

    The scenario formula (whatif_adjust), for a forecast value v on day ds of a series the scenario affects,
    with d = days from start_date to ds (ds >= start_date; earlier days and unaffected series keep v):
        v' = clip((v * (1 + growth_pct_per_month / 100) ^ (d / 30.4375) * (1 + step_pct / 100) + step_points)
                  / capacity_factor, 0, 100)
    i.e. the load compounds by growth_pct_per_month per average month (30.4375 days) from the start date, a
    step adds step_pct % of the load and step_points utilisation points (points of today's capacity), and a
    capacity change of factor k (cores x2: k = 2) rescales utilisation by old / new capacity = 1 / k. The point
    forecast and both band bounds go through the same monotone formula, so the band keeps its order.
    Except: a value at the 100% cap stays at 100. Telemetry and forecasts stop at 100%, so such a value says
    only that the demand is at least the whole host; dividing it by k would invent a load (a growing host
    capped at 100 looked GREEN under 1.2x its cores while its trend passed 110% of the new capacity).
-#}

{#- Scenario rows as entered (seed, CLI or dashboard) to the columns the other macros read. -#}
{% macro whatif_normalized(scenarios) -%}
    select
        trim(scenario_name) as scenario_name,
        lower(trim(scope_kind)) as scope_kind,
        nullif(trim(cast(scope_value as varchar)), '') as scope_value,
        case
            when lower(trim(scope_kind)) = 'resource' then lower(trim(cast(scope_value as varchar)))
            else coalesce(nullif(lower(trim(cast(resource as varchar))), ''), 'all')
        end as resource_filter,
        cast(start_date as date) as start_date,
        coalesce(cast(growth_pct_per_month as double), 0) as growth_pct_per_month,
        coalesce(cast(step_points as double), 0) as step_points,
        coalesce(cast(step_pct as double), 0) as step_pct,
        coalesce(cast(capacity_factor as double), 1) as capacity_factor,
        cast(description as varchar) as description
    from {{ scenarios }}
{%- endmacro %}

{#- The formula above, as a SQL expression. -#}
{% macro whatif_adjust(value, is_affected, days_since_start, growth_pct, step_points, step_pct, capacity_factor) -%}
    case
        when {{ is_affected }} and {{ value }} >= 100.0 then 100.0
        when {{ is_affected }}
            then least(100.0, greatest(0.0, (
                {{ value }} * power(1 + {{ growth_pct }} / 100.0, {{ days_since_start }} / 30.4375)
                * (1 + {{ step_pct }} / 100.0) + {{ step_points }}
            ) / {{ capacity_factor }}))
        else {{ value }}
    end
{%- endmacro %}

{#- Hosts in each scenario's scope (names compared case-insensitively; a host by host_id or hostname). -#}
{% macro whatif_scope_hosts(scenarios, hosts) -%}
    select
        scenarios.scenario_name,
        hosts.host_id,
        hosts.hostname,
        hosts.department,
        hosts.app_code,
        hosts.region,
        hosts.environment
    from {{ scenarios }} as scenarios
    inner join {{ hosts }} as hosts
        on case scenarios.scope_kind
            when 'department' then lower(hosts.department) = lower(scenarios.scope_value)
            when 'app_code' then lower(hosts.app_code) = lower(scenarios.scope_value)
            when 'host'
                then
                    lower(hosts.host_id) = lower(scenarios.scope_value)
                    or lower(hosts.hostname) = lower(scenarios.scope_value)
            else true
        end
{%- endmacro %}

{#- Every golden forecast row of the hosts in scope, with the scenario's values beside the baseline's. -#}
{% macro whatif_forecasts(scenarios, scope_hosts, forecasts, windows) -%}
    select
        scenario_name,
        host_id,
        resource,
        ds,
        days_ahead,
        is_affected,
        champion_difficulty,
        days_since_start,
        growth_pct_per_month,
        step_points,
        step_pct,
        capacity_factor,
        yhat,
        yhat_lower,
        yhat_upper,
        upper_without_upside,
        {% for column in ['yhat', 'yhat_lower', 'yhat_upper', 'upper_without_upside'] -%}
            {{ whatif_adjust(column, 'is_affected', 'days_since_start', 'growth_pct_per_month', 'step_points',
                'step_pct', 'capacity_factor') }} as scenario_{{ column }}{{ ',' if not loop.last }}
    {% endfor %}
    from (
        select
            scope.scenario_name,
            forecasts.host_id,
            forecasts.resource,
            forecasts.ds,
            datediff('day', windows.history_end, forecasts.ds) as days_ahead,
            datediff('day', coalesce(scenarios.start_date, windows.forecast_start), forecasts.ds)
            as days_since_start,
            scenarios.resource_filter in ('all', forecasts.resource)
            and forecasts.ds >= coalesce(scenarios.start_date, windows.forecast_start) as is_affected,
            scenarios.growth_pct_per_month,
            scenarios.step_points,
            scenarios.step_pct,
            scenarios.capacity_factor,
            forecasts.champion_difficulty,
            forecasts.yhat,
            forecasts.yhat_lower,
            forecasts.yhat_upper,
            forecasts.upper_without_upside
        from {{ scope_hosts }} as scope
        inner join {{ scenarios }} as scenarios on scope.scenario_name = scenarios.scenario_name
        inner join {{ forecasts }} as forecasts on scope.host_id = forecasts.host_id
        cross join {{ windows }} as windows
    ) as affected
{%- endmacro %}

{#- The alert's day rule on one upper bound (a SQL expression beside yhat): it exceeds the threshold and, when
    min_probability is set, the day's chance of exceeding it, reading that bound as a normal band's (z), is at
    least that (a degenerate band, sigma 0, is a certain forecast). int_series_breach_outlook and
    whatif_series_outlook share it. -#}
{% macro breach_alert_day(upper, threshold, z, min_probability=none) -%}
    {{ upper }} > {{ threshold }}
    {%- if min_probability is not none %}
        and {{ normal_exceedance(threshold, 'yhat', '(' ~ upper ~ ' - yhat) / ' ~ z) }} >= {{ min_probability }}
    {%- endif %}
{%- endmacro %}

{#- Whether a champion's band may carry a band-only breach alert: its median backtest miss (difficulty, a SQL
    expression) under band_max_difficulty half-widths; always when band_max_difficulty is none (the rule off)
    or the difficulty is unknown. int_series_breach_outlook and whatif_series_outlook share it. -#}
{% macro band_is_informative(difficulty, band_max_difficulty) -%}
    {%- if band_max_difficulty is none -%}
        true
    {%- else -%}
        coalesce({{ difficulty }} < {{ band_max_difficulty }}, true)
    {%- endif -%}
{%- endmacro %}

{#-
    The recurring-peak outlook of each series (int_series_breach_outlook and whatif_series_outlook share it):
    days is a relation of forecast days (host_id, resource, ds, days_ahead and the keys), peaks the
    recurring_peaks episodes, height a SQL expression over peaks.peak_height (and days' columns) for an
    episode's height on that day: peaks.peak_height itself, or the what-if formula applied to it. Each forecast
    day's rate is the share of the series' observed days that began an episode whose height on that day exceeds
    the threshold; read as a Poisson process, the chance of at least one within window_days is
    1 - exp(-sum of the window days' rates), and recurring_peak_date is the first day by which the chance
    reaches min_probability (none: null); is_recurring_peak_alert says that day falls in the window. A peak
    recurs only if it came at least twice: a series with one episode gets a chance of 0 and no date (one spike
    in a young host's 60 days would otherwise read as a 78% chance). One row per keys x series with episodes.
-#}
{% macro recurring_peak_outlook(days, peaks, keys, height, threshold, window_days, min_probability=none) -%}
    {%- set key_list = (keys | join(', ') ~ ', ') if keys else '' -%}
    {%- set min_episodes = 2 -%}
    select
        {{ key_list }}host_id,
        resource,
        max(episodes) as recurring_peak_episodes,
        case
            when max(episodes) >= {{ min_episodes }}
                then 1 - exp(-coalesce(sum(day_rate) filter (where days_ahead <= {{ window_days }}), 0))
            else 0
        end as recurring_peak_probability,
        {% if min_probability is none -%}
            cast(null as date) as recurring_peak_date,
            cast(null as bigint) as days_to_recurring_peak,
            false as is_recurring_peak_alert
        {%- else -%}
            min(ds) filter (where is_likely) as recurring_peak_date,
            min(days_ahead) filter (where is_likely) as days_to_recurring_peak,
            -- The alert: that day falls in the window (i.e. the window's chance reaches min_probability).
            coalesce(bool_or(is_likely and days_ahead <= {{ window_days }}), false) as is_recurring_peak_alert
        {%- endif %}
    from (
        select
            *,
            {% if min_probability is none -%}
                false
            {%- else -%}
                episodes >= {{ min_episodes }} and sum(day_rate) over (
                    partition by {{ key_list }}host_id, resource order by days_ahead
                ) >= -ln(1 - {{ min_probability }})
            {%- endif %} as is_likely
        from (
            select
                {% for key in keys %}days.{{ key }}, {% endfor %}days.host_id,
                days.resource,
                days.ds,
                days.days_ahead,
                count(*) as episodes,
                count(*) filter (where {{ height }} > {{ threshold }}) / any_value(peaks.observed_days) as day_rate
            from {{ days }} as days
            inner join {{ peaks }} as peaks
                on
                    days.host_id = peaks.host_id
                    and days.resource = peaks.resource
            where days.days_ahead >= 1
            group by all
        ) as day_rates
    ) as likely_days
    group by all
{%- endmacro %}

{#-
    The breach facts of each scenario x series, by the rule of int_series_breach_outlook (see its header):
    reads the <value_prefix>yhat / <value_prefix>yhat_upper columns of whatif_forecasts, writes columns named
    <out_prefix>...; threshold, window_days, z (the band's normal quantile), min_probability (none = the upper
    bound alone) and min_days are the breach vars' values; band_max_difficulty (none = every band may alert):
    a series whose champion_difficulty is not under it is flagged only when its point forecast crosses within
    the window. The difficulty belongs to the series' champion, so baseline and scenario share it.
    peaks (the recurring_peaks relation) and peak_min_probability (none = off): a series is also flagged when
    its recurring peaks, each lifted or lowered by the scenario's formula on each day (recurring_peak_outlook),
    give at least that chance of one within the window; its first_breach_date is then the day that chance is
    reached, unless the band rule flags it too. A scenario cannot add peaks the history never had over the
    threshold: only the episodes recurring_peaks counted are moved. upside_alerts (breach_alert_growth_upside):
    whether the alert's day rule reads <value_prefix>yhat_upper, or (false) <value_prefix>upper_without_upside,
    the band without the growth upside, moved by the scenario like the other bounds.
-#}
{% macro whatif_series_outlook(scenario_forecasts, value_prefix, out_prefix, threshold, window_days, z,
    min_probability=none, min_days=1, band_max_difficulty=none, peaks=none, peak_min_probability=none,
    upside_alerts=false) -%}
    {%- set alert_upper = value_prefix ~ 'yhat_upper' if upside_alerts
        else 'coalesce(' ~ value_prefix ~ 'upper_without_upside, ' ~ value_prefix ~ 'yhat_upper)' -%}
    {%- set with_peaks = peaks is not none and peak_min_probability is not none -%}
    {%- set min_days = min_days | int -%}
    {%- set alert_rule = 'per_series.is_breach_alert' if min_days == 1
        else 'coalesce(runs.longest_alert_run_days, 0) >= ' ~ min_days -%}
    {%- if band_max_difficulty is not none -%}
        {%- set alert_rule = alert_rule ~ ' and (per_series.is_point_breach_in_window or '
            ~ band_is_informative('per_series.champion_difficulty', band_max_difficulty) ~ ')' -%}
    {%- endif -%}
    with
    scored as (
        select
            scenario_name,
            host_id,
            resource,
            ds,
            days_ahead,
            champion_difficulty,
            {{ value_prefix }}yhat as yhat,
            {{ value_prefix }}yhat_upper as yhat_upper,
            {{ alert_upper }} as alert_upper,
            days_ahead between 1 and {{ window_days }} as is_in_window,
            {{ value_prefix }}yhat_upper > {{ threshold }} as is_upper_breach,
            {{ value_prefix }}yhat > {{ threshold }} as is_point_breach
        from {{ scenario_forecasts }}
    ),

    alert_days as (
        select
            *,
            {{ breach_alert_day('alert_upper', threshold, z, min_probability) }} as is_alert_day
        from scored
    ),

    {% if min_days > 1 -%}
        runs as (
            select
                scenario_name,
                host_id,
                resource,
                max(run_days) as longest_alert_run_days
            from (
                select
                    scenario_name,
                    host_id,
                    resource,
                    island,
                    count(*) as run_days
                from (
                    select
                        scenario_name,
                        host_id,
                        resource,
                        days_ahead - row_number() over (
                            partition by scenario_name, host_id, resource order by days_ahead
                        ) as island
                    from alert_days
                    where is_in_window and is_alert_day
                ) as islands
                group by all
            ) as island_lengths
            group by all
        ),
    {%- endif %}

    per_series as (
        select
            scenario_name,
            host_id,
            resource,
            {% if min_days == 1 -%}
        coalesce(bool_or(is_in_window and is_alert_day), false) as is_breach_alert,
    {%- endif %}
            min(ds) filter (where is_upper_breach) as first_breach_date,
            min(days_ahead) filter (where is_upper_breach) as days_to_breach,
            min(ds) filter (where is_point_breach) as expected_breach_date,
            coalesce(bool_or(is_in_window and is_point_breach), false) as is_point_breach_in_window,
            any_value(champion_difficulty) as champion_difficulty,
            max(yhat_upper) filter (where is_in_window) as peak_yhat_upper,
            max(yhat) filter (where is_in_window) as peak_yhat
        from alert_days
        group by all
    ){% if with_peaks %},

    peak_outlook as (
        {% set height = 'peaks.peak_height' if value_prefix == '' else whatif_adjust(
            'peaks.peak_height', 'days.is_affected', 'days.days_since_start', 'days.growth_pct_per_month',
            'days.step_points', 'days.step_pct', 'days.capacity_factor') -%}
        {{ recurring_peak_outlook(scenario_forecasts, peaks, ['scenario_name'], height, threshold, window_days,
            peak_min_probability) }}
    ){% endif %},

    rules as (
        select
            per_series.*,
            {{ alert_rule }} as is_band_alert,
            {% if with_peaks -%}
                coalesce(peak_outlook.is_recurring_peak_alert, false) as is_peak_rule,
                peak_outlook.recurring_peak_date,
                peak_outlook.days_to_recurring_peak
            {%- else -%}
                false as is_peak_rule,
                cast(null as date) as recurring_peak_date,
                cast(null as bigint) as days_to_recurring_peak
            {%- endif %}
        from per_series
        {% if min_days > 1 -%}
            left join runs
                on
                    per_series.scenario_name = runs.scenario_name
                    and per_series.host_id = runs.host_id
                    and per_series.resource = runs.resource
        {%- endif %}
        {% if with_peaks -%}
            left join peak_outlook
                on
                    per_series.scenario_name = peak_outlook.scenario_name
                    and per_series.host_id = peak_outlook.host_id
                    and per_series.resource = peak_outlook.resource
        {%- endif %}
    )

    -- A series flagged by its recurring peaks alone takes their date; flagged by its band, the band's.
    select
        scenario_name,
        host_id,
        resource,
        is_band_alert or is_peak_rule as {{ out_prefix }}is_breach_alert,
        case
            when not is_band_alert and is_peak_rule then recurring_peak_date else first_breach_date
        end as {{ out_prefix }}first_breach_date,
        case
            when not is_band_alert and is_peak_rule then days_to_recurring_peak else days_to_breach
        end as {{ out_prefix }}days_to_breach,
        not is_band_alert and is_peak_rule as {{ out_prefix }}is_peaks_alert,
        expected_breach_date as {{ out_prefix }}expected_breach_date,
        peak_yhat_upper as {{ out_prefix }}peak_yhat_upper,
        peak_yhat as {{ out_prefix }}peak_yhat
    from rules
{%- endmacro %}

{#- Baseline and scenario breach facts side by side (whatif_series_outlook twice), one row per series. -#}
{% macro whatif_series_comparison(scenario_forecasts, threshold, window_days, z, min_probability=none,
    min_days=1, band_max_difficulty=none, peaks=none, peak_min_probability=none, upside_alerts=false) -%}
    select
        baseline.*,
        scenario.* exclude (scenario_name, host_id, resource),
        datediff('day', baseline.baseline_first_breach_date, scenario.scenario_first_breach_date)
        as breach_shift_days
    from (
        {{ whatif_series_outlook(scenario_forecasts, '', 'baseline_', threshold, window_days, z, min_probability,
            min_days, band_max_difficulty, peaks, peak_min_probability, upside_alerts) }}
    ) as baseline
    inner join (
        {{ whatif_series_outlook(scenario_forecasts, 'scenario_', 'scenario_', threshold, window_days, z,
            min_probability, min_days, band_max_difficulty, peaks, peak_min_probability, upside_alerts) }}
    ) as scenario
        on
            baseline.scenario_name = scenario.scenario_name
            and baseline.host_id = scenario.host_id
            and baseline.resource = scenario.resource
{%- endmacro %}

{#- The Red/Amber/Green status a reason of whatif_rag_reason stands for: the rule is written once, there. -#}
{% macro whatif_rag_status(reason) -%}
    case
        when starts_with({{ reason }}, 'flagged: ') then 'RED'
        when {{ reason }} = 'headroom on every resource' then 'GREEN'
        else 'AMBER'
    end
{%- endmacro %}

{#-
    fleet_health's Red/Amber/Green rule over the breach facts of <prefix> (baseline_ or scenario_), as the reason
    in words (whatif_rag_status maps it to the status): RED = a series flagged ('flagged: ...'); AMBER = the host
    stopped reporting (given stale_hosts), whatever the scenario, an upper bound crosses the threshold later in
    the horizon, the window's peak upper bound exceeds amber_threshold, or a series has no forecast; GREEN
    otherwise ('headroom on every resource'). A status that moves to AMBER with no breach date once said
    nothing of the crossing behind it.
-#}
{% macro whatif_rag_reason(prefix, amber_threshold, stale_hosts=none) -%}
    case
        {% if stale_hosts %}when any_value(stale.host_id) is not null then 'stale: stopped reporting'{% endif %}
        when bool_or(series.{{ prefix }}is_breach_alert)
            then
                'flagged: ' || arg_min(
                    series.resource, {'day': series.{{ prefix }}first_breach_date, 'resource': series.resource}
                ) filter (where series.{{ prefix }}is_breach_alert)
                -- A recurring-peaks alert's date is the day another peak becomes likelier than not, no crossing.
                || case
                    when arg_min(
                        series.{{ prefix }}is_peaks_alert,
                        {'day': series.{{ prefix }}first_breach_date, 'resource': series.resource}
                    ) filter (where series.{{ prefix }}is_breach_alert)
                        then ' has recurring peaks, another likelier than not by '
                    else ' breaches on '
                end || strftime(
                    min(series.{{ prefix }}first_breach_date) filter (where series.{{ prefix }}is_breach_alert),
                    '%Y-%m-%d'
                )
        when min(series.{{ prefix }}days_to_breach) is not null
            then
                'crosses later: ' || arg_min(
                    series.resource, {'days': series.{{ prefix }}days_to_breach, 'resource': series.resource}
                ) || ' upper bound crosses in ' || min(series.{{ prefix }}days_to_breach)
                || ' days, not flagged by the alert rule'
        when max(series.{{ prefix }}peak_yhat_upper) > {{ amber_threshold }}
            then
                'hot: upper bound peaks at ' || printf('%g', round(max(series.{{ prefix }}peak_yhat_upper), 1))
                || '% within the window (AMBER above ' || printf('%g', cast({{ amber_threshold }} as double)) || '%)'
        when coalesce(any_value(excluded.unforecast_series), 0) > 0 then 'a series without a forecast'
        else 'headroom on every resource'
    end
{%- endmacro %}

{#- Per scenario x host in scope: baseline vs scenario status and soonest flagged breach. -#}
{% macro whatif_host_comparison(scope_hosts, series_comparison, exclusions, amber_threshold, stale_hosts=none) -%}
    select
        scenario_name,
        host_id,
        hostname,
        department,
        app_code,
        region,
        environment,
        {{ whatif_rag_status('baseline_status_reason') }} as baseline_status,
        {{ whatif_rag_status('scenario_status_reason') }} as scenario_status,
        baseline_status_reason,
        scenario_status_reason,
        baseline_breach_date,
        scenario_breach_date,
        scenario_breach_resource,
        scenario_peak_yhat_upper,
        baseline_peak_yhat_upper
    from (
    select
        scope.scenario_name,
        scope.host_id,
        any_value(scope.hostname) as hostname,
        any_value(scope.department) as department,
        any_value(scope.app_code) as app_code,
        any_value(scope.region) as region,
        any_value(scope.environment) as environment,
        {{ whatif_rag_reason('baseline_', amber_threshold, stale_hosts) }} as baseline_status_reason,
        {{ whatif_rag_reason('scenario_', amber_threshold, stale_hosts) }} as scenario_status_reason,
        min(series.baseline_first_breach_date) filter (where series.baseline_is_breach_alert)
        as baseline_breach_date,
        min(series.scenario_first_breach_date) filter (where series.scenario_is_breach_alert)
        as scenario_breach_date,
        -- Ties on the date go to the first resource by name, so the answer is the same on every run.
        arg_min(
            series.resource, {'breach_date': series.scenario_first_breach_date, 'resource': series.resource}
        ) filter (where series.scenario_is_breach_alert) as scenario_breach_resource,
        max(series.scenario_peak_yhat_upper) as scenario_peak_yhat_upper,
        max(series.baseline_peak_yhat_upper) as baseline_peak_yhat_upper
    from {{ scope_hosts }} as scope
    left join {{ series_comparison }} as series
        on
            scope.scenario_name = series.scenario_name
            and scope.host_id = series.host_id
    left join (
        select
            host_id,
            count(*) as unforecast_series
        from {{ exclusions }}
        group by all
    ) as excluded on scope.host_id = excluded.host_id
    {% if stale_hosts %}left join {{ stale_hosts }} as stale on scope.host_id = stale.host_id{% endif %}
    group by scope.scenario_name, scope.host_id
    ) as reasons
{%- endmacro %}

{#- Per scenario x department: RAG counts under both, hosts that turn RED or leave it, breach dates moved. -#}
{% macro whatif_department_summary(host_comparison) -%}
    select
        scenario_name,
        department,
        count(*) as hosts_in_scope,
        count(*) filter (where baseline_status = 'RED') as baseline_red_hosts,
        count(*) filter (where scenario_status = 'RED') as scenario_red_hosts,
        count(*) filter (where baseline_status = 'AMBER') as baseline_amber_hosts,
        count(*) filter (where scenario_status = 'AMBER') as scenario_amber_hosts,
        count(*) filter (where baseline_status = 'GREEN') as baseline_green_hosts,
        count(*) filter (where scenario_status = 'GREEN') as scenario_green_hosts,
        count(*) filter (where scenario_status = 'RED' and baseline_status <> 'RED') as hosts_turning_red,
        count(*) filter (where baseline_status = 'RED' and scenario_status <> 'RED') as hosts_leaving_red,
        count(*) filter (where baseline_status <> scenario_status) as hosts_changing_status,
        count(*) filter (where scenario_breach_date < baseline_breach_date) as hosts_breaching_earlier,
        count(*) filter (where scenario_breach_date > baseline_breach_date) as hosts_breaching_later,
        max(datediff('day', scenario_breach_date, baseline_breach_date)) as max_days_earlier,
        round(avg(datediff('day', scenario_breach_date, baseline_breach_date)), 1) as avg_days_earlier
    from {{ host_comparison }}
    group by all
{%- endmacro %}

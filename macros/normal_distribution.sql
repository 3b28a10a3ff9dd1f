{#-
    The standard normal distribution as SQL expressions (DuckDB has neither a normal CDF nor erf).

    normal_cdf(x): Phi(x) = (1 + erf(x / sqrt(2))) / 2, with erf from Abramowitz & Stegun, Handbook of
    Mathematical Functions, formula 7.1.26: for u >= 0, erf(u) = 1 - (a1 t + a2 t^2 + a3 t^3 + a4 t^4 + a5 t^5)
    exp(-u^2) with t = 1 / (1 + p u); absolute error below 1.5e-7; erf(-u) = -erf(u).
    `x` is a SQL expression; it is repeated in the output, so pass a column, not a subquery.
-#}
{% macro normal_cdf(x) -%}
    (0.5 * (1 + sign({{ x }}) * (1 - (
        (((((1.061405429 * (1 / (1 + 0.3275911 * abs({{ x }}) / sqrt(2)))
        - 1.453152027) * (1 / (1 + 0.3275911 * abs({{ x }}) / sqrt(2)))
        + 1.421413741) * (1 / (1 + 0.3275911 * abs({{ x }}) / sqrt(2)))
        - 0.284496736) * (1 / (1 + 0.3275911 * abs({{ x }}) / sqrt(2)))
        + 0.254829592) * (1 / (1 + 0.3275911 * abs({{ x }}) / sqrt(2))))
        * exp(-({{ x }} * {{ x }}) / 2)
    ))))
{%- endmacro %}

{#-
    normal_quantile(p): the inverse of Phi for a probability p in (0, 1), a number known when the model compiles
    (e.g. from a var). P. J. Acklam's rational approximation (relative error below 1.15e-9): one rational
    function in the central region [0.02425, 0.97575], one in each tail. Rendered as a SQL literal expression;
    raises a compilation error for p outside (0, 1).
-#}
{% macro normal_quantile(p) -%}
    {%- set p = p | float -%}
    {%- if p <= 0 or p >= 1 -%}
        {{ exceptions.raise_compiler_error(
            "normal_quantile: the probability must lie strictly between 0 and 1, got " ~ p
            ~ " (check the interval_width var: a fraction such as 0.8)") }}
    {%- endif -%}
    {%- set a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690,
        -30.66479806614716, 2.506628277459239] -%}
    {%- set b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
        -13.28068155288572] -%}
    {%- set c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
        4.374664141464968, 2.938163982698783] -%}
    {%- set d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416] -%}
    {%- if 0.02425 <= p <= 0.97575 -%}
        {#- Central region: plain arithmetic, so Jinja evaluates it and the SQL gets the number. -#}
        {%- set q = p - 0.5 -%}
        {%- set r = q * q -%}
        {%- set numerator = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q -%}
        {%- set denominator = ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1 -%}
        cast({{ numerator / denominator }} as double)
    {%- else -%}
        {#- Tails need a logarithm, which Jinja lacks: left to the database (constant-folded). -#}
        {%- set tail = p if p < 0.5 else 1 - p -%}
        {%- set sign = 1 if p < 0.5 else -1 -%}
        ({{ sign }} * (((((({{ c[0] }} * sqrt(-2 * ln({{ tail }})) + {{ c[1] }}) * sqrt(-2 * ln({{ tail }}))
        + {{ c[2] }}) * sqrt(-2 * ln({{ tail }})) + {{ c[3] }}) * sqrt(-2 * ln({{ tail }})) + {{ c[4] }})
        * sqrt(-2 * ln({{ tail }})) + {{ c[5] }})
        / (((({{ d[0] }} * sqrt(-2 * ln({{ tail }})) + {{ d[1] }}) * sqrt(-2 * ln({{ tail }})) + {{ d[2] }})
        * sqrt(-2 * ln({{ tail }})) + {{ d[3] }}) * sqrt(-2 * ln({{ tail }})) + 1)))
    {%- endif -%}
{%- endmacro %}

{#-
    normal_exceedance(threshold, mean, sd): P(X > threshold) for X ~ Normal(mean, sd), as a SQL expression of
    three SQL expressions (each repeated in the output: pass columns). A zero (or negative) sd is a certain
    value: 1 when mean exceeds the threshold, else 0. The breach outlook, the breach chance and the what-if
    rules all read a band's chance of crossing the threshold through it.
-#}
{% macro normal_exceedance(threshold, mean, sd) -%}
    case
        when {{ sd }} > 0 then 1 - {{ normal_cdf('((' ~ threshold ~ ' - (' ~ mean ~ ')) / (' ~ sd ~ '))') }}
        when {{ mean }} > {{ threshold }} then 1.0
        else 0.0
    end
{%- endmacro %}


{#-
    band_exceedance(threshold, mean, lower_sd, upper_sd): P(X > threshold) for a band read as a two-piece normal
    (each half of the distribution has its own sd: lower_sd below the mean, upper_sd above it). A threshold at or
    over the mean is crossed through the upper half, one under it through the lower: a band whose lower bound sits
    far below a point forecast over the threshold says the series may well stay under it. Where both sds are
    positive it is continuous at mean = threshold (1/2 from either side); a zero sd is certain on its side, as in
    normal_exceedance.
-#}
{% macro band_exceedance(threshold, mean, lower_sd, upper_sd) -%}
    case
        when {{ mean }} > {{ threshold }} then {{ normal_exceedance(threshold, mean, lower_sd) }}
        else {{ normal_exceedance(threshold, mean, upper_sd) }}
    end
{%- endmacro %}

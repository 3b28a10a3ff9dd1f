{#-
    Fails with every row whose `column_name` lies outside [min_value, max_value] (either bound may be
    omitted). Nulls pass: pair with not_null when they must not occur.
-#}
{% test values_between(model, column_name, min_value=none, max_value=none) %}

with

out_of_range as (

    select {{ column_name }} as checked_value

    from {{ model }}
    where
        {% if min_value is not none %}{{ column_name }} < {{ min_value }}{% else %}false{% endif %}
        or {% if max_value is not none %}{{ column_name }} > {{ max_value }}{% else %}false{% endif %}

)

select * from out_of_range

{% endtest %}

{#- Fails with one row per combination of `combination_of_columns` that occurs more than once. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with

grouped as (

    select
        {{ combination_of_columns | join(',\n        ') }},
        count(*) as occurrences

    from {{ model }}
    group by all
    having count(*) > 1

)

select * from grouped

{% endtest %}

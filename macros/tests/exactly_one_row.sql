{#- Fails (one row, the count) unless the model has exactly one row: for one-row settings tables. -#}
{% test exactly_one_row(model) %}

with

counted as (

    select count(*) as row_count

    from {{ model }}

)

select * from counted
where row_count <> 1

{% endtest %}

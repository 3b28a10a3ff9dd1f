{#-
    Multi-column `relationships`: fails with every combination of `columns` in the model that has no
    matching row in `to` (on `to_columns`, default: the same names). Rows with a null key are skipped.
-#}
{% test relationships_combination(model, columns, to, to_columns=none) %}

{% set parent_columns = to_columns or columns %}

with

child as (

    select distinct {{ columns | join(', ') }}

    from {{ model }}
    where {{ columns | join(' is not null and ') }} is not null

),

parent as (

    select distinct
        {% for column in parent_columns -%}
            {{ column }} as {{ columns[loop.index0] }}{% if not loop.last %},{% endif %}
        {% endfor %}

    from {{ to }}

),

orphans as (

    select child.*

    from child
    anti join parent using ({{ columns | join(', ') }})

)

select * from orphans

{% endtest %}

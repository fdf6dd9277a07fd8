{#- Layers land in schemas named exactly `staging`, `intermediate`, `marts` (not dbt's default
    `<target schema>_<custom>`), because BI and the publish step address them by those names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

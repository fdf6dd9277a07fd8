{#- Every timestamp in staging and above is a naive UTC `timestamp`. These macros are the
    only place that knows how each engine converts; Spark sessions run with UTC as zone. -#}

{#- ISO 8601 text with `Z`/offset, or a timestamptz as dlt loads it, to naive UTC. -#}
{% macro to_utc_timestamp(column) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'omni')(column)) }}
{%- endmacro %}

{% macro default__to_utc_timestamp(column) -%}
    cast({{ column }} as timestamp)
{%- endmacro %}

{% macro duckdb__to_utc_timestamp(column) -%}
    timezone('UTC', cast({{ column }} as timestamptz))
{%- endmacro %}

{#- Naive wall-clock time of a place (a store till) to naive UTC. -#}
{% macro local_to_utc_timestamp(column, tz) -%}
    {{ return(adapter.dispatch('local_to_utc_timestamp', 'omni')(column, tz)) }}
{%- endmacro %}

{% macro default__local_to_utc_timestamp(column, tz) -%}
    to_utc_timestamp(cast({{ column }} as timestamp), '{{ tz }}')
{%- endmacro %}

{% macro duckdb__local_to_utc_timestamp(column, tz) -%}
    timezone('UTC', timezone('{{ tz }}', cast({{ column }} as timestamp)))
{%- endmacro %}

{#- The retailer's calendar day of a naive UTC timestamp (KPIs are per local business day). -#}
{% macro business_date(column) -%}
    {{ return(adapter.dispatch('business_date', 'omni')(column)) }}
{%- endmacro %}

{% macro default__business_date(column) -%}
    cast(from_utc_timestamp({{ column }}, '{{ var("business_timezone") }}') as date)
{%- endmacro %}

{% macro duckdb__business_date(column) -%}
    cast(timezone('{{ var("business_timezone") }}', timezone('UTC', {{ column }})) as date)
{%- endmacro %}

{#- dlt's `_dlt_load_id` is the load's start as Unix epoch seconds in text. -#}
{% macro dlt_load_id_to_timestamp(column) -%}
    {{ return(adapter.dispatch('dlt_load_id_to_timestamp', 'omni')(column)) }}
{%- endmacro %}

{% macro default__dlt_load_id_to_timestamp(column) -%}
    cast(from_unixtime(cast({{ column }} as double)) as timestamp)
{%- endmacro %}

{% macro duckdb__dlt_load_id_to_timestamp(column) -%}
    timezone('UTC', to_timestamp(cast({{ column }} as double)))
{%- endmacro %}

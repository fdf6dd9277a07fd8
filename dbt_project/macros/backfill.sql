{#- Backfill of a range of business days (vars `backfill_start`, `backfill_end`: ISO dates
    in `business_timezone`, end exclusive). The incremental event facts then delete and
    rebuild exactly the rows of those days and leave every other row untouched.

    `backfill_window()` is none on a normal run, else the window's bounds as naive UTC
    timestamp expressions: a business day is contiguous in UTC, so `occurred_at` in
    [start_at, end_at) is the same as its business date in [start, end), and a filter on
    the raw timestamp reaches the staging tables. -#}
{% macro backfill_window() -%}
    {%- set start = var('backfill_start', none) -%}
    {%- set end = var('backfill_end', none) -%}
    {%- if start is none and end is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if start is none or end is none -%}
        {{ exceptions.raise_compiler_error(
            "A backfill needs both vars backfill_start and backfill_end (ISO dates, end "
            ~ "exclusive); got backfill_start=" ~ start ~ ", backfill_end=" ~ end) }}
    {%- endif -%}
    {%- set iso_date = modules.re.compile('^[0-9]{4}-[0-9]{2}-[0-9]{2}$') -%}
    {%- if not iso_date.match(start | string) or not iso_date.match(end | string) -%}
        {{ exceptions.raise_compiler_error(
            "backfill_start and backfill_end must be ISO dates (YYYY-MM-DD); got "
            ~ start ~ " and " ~ end) }}
    {%- endif -%}
    {%- if (start | string) >= (end | string) -%}
        {{ exceptions.raise_compiler_error(
            "backfill_end is exclusive and must come after backfill_start; got "
            ~ start ~ " to " ~ end) }}
    {%- endif -%}
    {%- set tz = var('business_timezone') -%}
    {{ return({
        'start': start | string,
        'end': end | string,
        'start_at': local_to_utc_timestamp("'" ~ start ~ "'", tz),
        'end_at': local_to_utc_timestamp("'" ~ end ~ "'", tz),
    }) }}
{%- endmacro %}

{#- `column` (naive UTC timestamp) falls on a business day of the backfill window. -#}
{% macro in_backfill_window(column) -%}
    {%- set window = backfill_window() -%}
    ({{ column }} >= {{ window.start_at }} and {{ column }} < {{ window.end_at }})
{%- endmacro %}

{#- Pre-hook of an incremental event fact: on a backfill, first delete every row of the
    window (also rows whose source record is gone), so the insert that follows rebuilds
    exactly those days. Renders nothing on a normal run or a full build. -#}
{% macro delete_backfill_window(timestamp_column) -%}
    {%- if is_incremental() and backfill_window() is not none -%}
        delete from {{ this }} where {{ in_backfill_window(timestamp_column) }}
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of an incremental event fact: rows whose source record no longer exists are
    deleted. Skipped on a backfill, which must leave the rows outside its window untouched. -#}
{% macro delete_rows_without_source(key_column, source_relation) -%}
    {%- if is_incremental() and backfill_window() is none -%}
        delete from {{ this }}
        where {{ key_column }} not in (select {{ key_column }} from {{ source_relation }})
    {%- endif -%}
{%- endmacro %}

{#- The load time a fact row keeps, which is also the watermark of normal incremental runs.
    A backfill never moves that watermark forward: a load the last normal run has not
    processed yet (that run failed, say) must still look new to the next one. -#}
{% macro backfill_capped_loaded_at(column) -%}
    {%- if is_incremental() and backfill_window() is not none -%}
        case
            when {{ column }} > (select max(loaded_at) from {{ this }})
                then (select max(loaded_at) from {{ this }})
            else {{ column }}
        end
    {%- else -%}
        {{ column }}
    {%- endif -%}
{%- endmacro %}

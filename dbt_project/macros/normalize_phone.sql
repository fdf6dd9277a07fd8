{#- Spanish phone numbers in E.164 (`+34` and nine digits starting 6, 7, 8 or 9), whatever
    way they were typed: spaces, dashes, dots, brackets, `0034`, `34`, `+34` or nothing.
    Anything else (foreign, too short, letters) becomes null rather than a wrong match. -#}
{% macro normalize_phone(column) -%}
    {{ return(adapter.dispatch('normalize_phone', 'omni')(column)) }}
{%- endmacro %}

{% macro default__normalize_phone(column) -%}
    {%- set digits = "regexp_replace(trim(" ~ column ~ "), '[[:space:]().-]', '')" -%}
    {%- set national = "regexp_replace(" ~ digits ~ ", '^(\\+34|0034|34)([0-9]{9})$', '\\2')" -%}
    case
        when regexp_like({{ national }}, '^[6789][0-9]{8}$') then '+34' || {{ national }}
    end
{%- endmacro %}

{% macro duckdb__normalize_phone(column) -%}
    {%- set digits = "regexp_replace(trim(" ~ column ~ "), '[\s().-]', '', 'g')" -%}
    {%- set national = "regexp_replace(" ~ digits ~ ", '^(\+34|0034|34)(\d{9})$', '\\2')" -%}
    case
        when regexp_full_match({{ national }}, '[6789]\d{8}') then '+34' || {{ national }}
    end
{%- endmacro %}

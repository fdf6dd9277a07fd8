{#- Canonical form of an email address for exact matching: trimmed, lower case, without a
    `+tag` (plus addressing delivers to the same mailbox at Gmail, Outlook/Hotmail, iCloud,
    Proton, Yahoo and most others), and for Gmail, which also ignores dots and treats
    googlemail.com as gmail.com, the address Google actually delivers to. Anything not
    shaped like an address becomes null so that junk never joins two people. -#}
{% macro normalize_email(column) -%}
    {{ return(adapter.dispatch('normalize_email', 'omni')(column)) }}
{%- endmacro %}

{% macro default__normalize_email(column) -%}
    {%- set cleaned = "lower(trim(" ~ column ~ "))" -%}
    {%- set local_part = dbt.split_part(cleaned, "'@'", 1) -%}
    {%- set domain = dbt.split_part(cleaned, "'@'", 2) -%}
    case
        when not regexp_like({{ cleaned }}, '^[^@[:space:]]+@[^@[:space:]]+[.][a-z]{2,}$')
            then null
        when {{ domain }} in ('gmail.com', 'googlemail.com')
            then replace({{ dbt.split_part(local_part, "'+'", 1) }}, '.', '') || '@gmail.com'
        else {{ dbt.split_part(local_part, "'+'", 1) }} || '@' || {{ domain }}
    end
{%- endmacro %}

{% macro duckdb__normalize_email(column) -%}
    {%- set cleaned = "lower(trim(" ~ column ~ "))" -%}
    {%- set local_part = "split_part(" ~ cleaned ~ ", '@', 1)" -%}
    {%- set domain = "split_part(" ~ cleaned ~ ", '@', 2)" -%}
    case
        when not regexp_full_match({{ cleaned }}, '[^@\s]+@[^@\s]+\.[a-z]{2,}')
            then null
        when {{ domain }} in ('gmail.com', 'googlemail.com')
            then replace(split_part({{ local_part }}, '+', 1), '.', '') || '@gmail.com'
        else split_part({{ local_part }}, '+', 1) || '@' || {{ domain }}
    end
{%- endmacro %}

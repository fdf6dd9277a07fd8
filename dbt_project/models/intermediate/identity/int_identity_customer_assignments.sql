{#- Every (record, customer_id) pair identity resolution has ever produced, with the run that
    first produced it: the memory that lets `customer_id_history` say where a retired id
    went. Append-only, and kept through `--full-refresh`, because a rebuild from scratch
    cannot know which ids earlier runs published. -#}
{{
    config(
        materialized='incremental',
        full_refresh=false,
        on_schema_change='fail',
    )
}}

with

resolved as (

    select
        record_key,
        customer_id
    from {{ ref('int_identity_records_resolved') }}
    where customer_id is not null

),

known as (

    {% if is_incremental() %}
    select
        record_key,
        customer_id
    from {{ this }}
    {% else %}
    select
        cast(null as {{ dbt.type_string() }}) as record_key,
        cast(null as {{ dbt.type_string() }}) as customer_id
    where 1 = 0
    {% endif %}

),

new_pairs as (

    select
        resolved.record_key,
        resolved.customer_id,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
            as first_assigned_at
    from resolved
    left join known
        on
            resolved.record_key = known.record_key
            and resolved.customer_id = known.customer_id
    where known.record_key is null

)

select * from new_pairs

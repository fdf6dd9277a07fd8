{#- Every change of a record's customer_id, with the run that made it: a row when a record
    is first resolved and another each time a run gives it an id other than its latest one
    (a merge, a split, a return to an id it held before). It is the memory that lets
    `customer_id_history` say where an id went. Append-only, and kept through
    `--full-refresh`, because a rebuild from scratch cannot know which ids earlier runs
    published. -#}
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
    from (
        select
            record_key,
            customer_id,
            row_number() over (
                partition by record_key order by first_assigned_at desc, customer_id asc
            ) as recency
        from {{ this }}
    ) as latest
    where recency = 1
    {% else %}
    select
        cast(null as {{ dbt.type_string() }}) as record_key,
        cast(null as {{ dbt.type_string() }}) as customer_id
    where 1 = 0
    {% endif %}

),

changed as (

    select
        resolved.record_key,
        resolved.customer_id,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
            as first_assigned_at
    from resolved
    left join known
        on resolved.record_key = known.record_key
    where known.customer_id is null or known.customer_id <> resolved.customer_id

)

select * from changed

{{
    config(
        materialized='incremental',
        unique_key='touchpoint_id',
        on_schema_change='fail',
        pre_hook="{{ delete_backfill_window('occurred_at') }}",
        post_hook="{{ delete_rows_without_source('touchpoint_id', ref('int_touchpoints_unioned')) }}",
    )
}}
-- depends_on: {{ ref('int_identity_records_resolved') }}
{#- One row per interaction, with the journey it belongs to.

    Journeys: a customer's `is_in_journey` touchpoints in time order; a journey ends at a
    purchase (a store ticket or an online order that was not cancelled: the purchase is its
    last touchpoint) or when the customer goes quiet for more than
    `journey_inactivity_days` (abandonment). `journey_id` = `jny_` + hash of the customer and
    the journey's first touchpoint, so it is stable from run to run.

    Incremental: a run recomputes, per customer, every touchpoint from the earliest one
    that is new or changed, namely loaded by dlt after the last build, or occurred within
    `touchpoints_lookback_days` of the newest touchpoint (late events). Customers whose
    identity resolution changed since the last build (an anonymous device that logged in,
    two clusters that merged or split) are recomputed entirely, under their old and new ids.
    The journey still open before the recomputed span carries on with its id.

    Backfill (vars `backfill_start`, `backfill_end`): the touchpoints of those business days
    are deleted and rebuilt, continuing the journey open before the window; rows after the
    window keep their journey as it was (a `--full-refresh` regroups them if the
    backfilled days changed where a journey ends). Their `loaded_at` is capped at the
    table's watermark, so a backfill never hides a load from the next normal run. -#}
{%- set gap_days = var('journey_inactivity_days') %}
{%- set window = backfill_window() %}

with

touchpoints as (

    select * from {{ ref('int_touchpoints_unioned') }}

),

{% if is_incremental() %}

previous as (

    select
        touchpoint_id,
        customer_id,
        journey_id,
        occurred_at,
        is_conversion,
        is_in_journey,
        -- The identity record behind the touchpoint, as int_touchpoints_unioned picks it.
        case when source_entity = 'events' then 'clickstream' else source_system end
            as identity_source_system,
        case
            when source_entity = 'events' then 'anonymous_ids'
            when source_entity = 'refunds' then 'orders'
            else source_entity
        end as identity_source_entity,
        case
            when source_entity = 'events' then anonymous_id
            when source_entity = 'refunds' then order_id
            else source_record_id
        end as identity_source_record_id
    from {{ this }}

),

{% if window is not none %}

batch as (

    select
        touchpoints.*,
        false as is_context,
        cast(null as {{ dbt.type_string() }}) as context_journey_id
    from touchpoints
    where {{ in_backfill_window('touchpoints.occurred_at') }}

),

recompute_windows as (

    select distinct
        customer_id,
        {{ window.start_at }} as recompute_from
    from batch
    where customer_id is not null

),

{% else %}

watermarks as (

    select
        {{ dbt.dateadd('day', -var('touchpoints_lookback_days'), 'max(occurred_at)') }}
            as lookback_start,
        max(loaded_at) as last_loaded_at
    from {{ this }}

),

restitched_customers as (

    -- Customers whose records moved: both the customer a record left and the one it joined.
    select
        previous.customer_id,
        resolved.customer_id as new_customer_id
    from previous
    left join {{ ref('int_identity_records_resolved') }} as resolved
        on
            previous.identity_source_system = resolved.source_system
            and previous.identity_source_entity = resolved.source_entity
            and previous.identity_source_record_id = resolved.source_record_id
    where
        previous.customer_id <> resolved.customer_id
        or (previous.customer_id is null and resolved.customer_id is not null)
        or (previous.customer_id is not null and resolved.customer_id is null)

),

changed as (

    select touchpoints.*
    from touchpoints
    cross join watermarks
    where
        -- An empty table (a first build over empty sources) takes everything.
        watermarks.last_loaded_at is null
        or touchpoints.loaded_at > watermarks.last_loaded_at
        or touchpoints.occurred_at >= watermarks.lookback_start

),

recompute_candidates as (

    select
        customer_id,
        occurred_at as recompute_from
    from changed
    where customer_id is not null

    union all

    select
        customer_id,
        cast(null as timestamp) as recompute_from
    from restitched_customers
    where customer_id is not null

    union all

    select
        new_customer_id as customer_id,
        cast(null as timestamp) as recompute_from
    from restitched_customers
    where new_customer_id is not null

),

recompute_windows as (

    -- Per customer, the earliest touchpoint to recompute; null: the whole history.
    select
        customer_id,
        case when count(*) = count(recompute_from) then min(recompute_from) end as recompute_from
    from recompute_candidates
    group by customer_id

),

batch as (

    select
        touchpoints.*,
        false as is_context,
        cast(null as {{ dbt.type_string() }}) as context_journey_id
    from touchpoints
    inner join recompute_windows
        on touchpoints.customer_id = recompute_windows.customer_id
    where
        recompute_windows.recompute_from is null
        or touchpoints.occurred_at >= recompute_windows.recompute_from

    union all

    -- Anonymous touchpoints have no journey: only the new or changed ones are rewritten.
    select
        changed.*,
        false as is_context,
        cast(null as {{ dbt.type_string() }}) as context_journey_id
    from changed
    where changed.customer_id is null

),

{% endif %}

context as (

    -- The last journey touchpoint before the recomputed span, to continue its journey.
    select
        touchpoint_id,
        customer_id,
        occurred_at,
        is_conversion,
        journey_id
    from (
        select
            previous.touchpoint_id,
            previous.customer_id,
            previous.occurred_at,
            previous.is_conversion,
            previous.journey_id,
            row_number() over (
                partition by previous.customer_id
                order by previous.occurred_at desc, previous.is_conversion desc, previous.touchpoint_id desc
            ) as recency
        from previous
        inner join recompute_windows
            on previous.customer_id = recompute_windows.customer_id
        where
            previous.is_in_journey
            and previous.occurred_at < recompute_windows.recompute_from
    ) as ranked
    where recency = 1

),

{% else %}

batch as (

    select
        touchpoints.*,
        false as is_context,
        cast(null as {{ dbt.type_string() }}) as context_journey_id
    from touchpoints

),

{% endif %}

journey_steps as (

    select
        touchpoint_id,
        customer_id,
        occurred_at,
        is_conversion,
        is_context,
        context_journey_id
    from batch
    where is_in_journey and customer_id is not null
    {%- if is_incremental() %}

    union all

    select
        touchpoint_id,
        customer_id,
        occurred_at,
        is_conversion,
        true as is_context,
        journey_id as context_journey_id
    from context
    {%- endif %}

),

ordered_steps as (

    select
        *,
        lag(occurred_at) over (
            partition by customer_id
            order by occurred_at asc, is_conversion asc, touchpoint_id asc
        ) as previous_occurred_at,
        lag(is_conversion) over (
            partition by customer_id
            order by occurred_at asc, is_conversion asc, touchpoint_id asc
        ) as previous_is_conversion
    from journey_steps

),

boundaries as (

    select
        *,
        case
            when previous_occurred_at is null then 1
            when previous_is_conversion then 1
            when {{ dbt.dateadd('day', gap_days, 'previous_occurred_at') }} < occurred_at then 1
            else 0
        end as starts_journey
    from ordered_steps

),

numbered as (

    select
        *,
        sum(starts_journey) over (
            partition by customer_id
            order by occurred_at asc, is_conversion asc, touchpoint_id asc
            rows between unbounded preceding and current row
        ) as journey_number
    from boundaries

),

journeys as (

    select
        touchpoint_id,
        first_value(
            case
                when is_context then context_journey_id
                else 'jny_' || substr({{ dbt.hash("customer_id || '|' || touchpoint_id") }}, 1, 16)
            end
        ) over (
            partition by customer_id, journey_number
            order by occurred_at asc, is_conversion asc, touchpoint_id asc
            rows between unbounded preceding and unbounded following
        ) as journey_id
    from numbered

),

final as (

    select
        batch.touchpoint_id,
        batch.customer_id,
        batch.channel,
        batch.touchpoint_type,
        batch.occurred_at,
        journeys.journey_id,
        batch.campaign_channel,
        batch.order_id,
        batch.is_conversion,
        batch.is_in_journey,
        batch.source_system,
        batch.source_entity,
        batch.source_record_id,
        batch.anonymous_id,
        {{ backfill_capped_loaded_at('batch.loaded_at') }} as loaded_at
    from batch
    left join journeys
        on batch.touchpoint_id = journeys.touchpoint_id

)

select * from final

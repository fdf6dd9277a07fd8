{#- Where every retired customer_id went. An id retires when its cluster merged into
    another (the survivor is the cluster whose smallest record key is smaller, so its id
    stands) or lost the record that named it; its records now belong to `customer_id`.
    When they scattered over several customers, the one that took the most records wins. -#}
with

assignments as (

    select * from {{ ref('int_identity_customer_assignments') }}

),

current_assignments as (

    select
        record_key,
        customer_id
    from {{ ref('int_identity_records_resolved') }}
    where customer_id is not null

),

live_ids as (

    select distinct customer_id from current_assignments

),

moves as (

    select
        assignments.customer_id as previous_customer_id,
        current_assignments.customer_id,
        count(*) as records_moved,
        min(now_assigned.first_assigned_at) as retired_at
    from assignments
    inner join current_assignments
        on assignments.record_key = current_assignments.record_key
    inner join assignments as now_assigned
        on
            current_assignments.record_key = now_assigned.record_key
            and current_assignments.customer_id = now_assigned.customer_id
    left join live_ids
        on assignments.customer_id = live_ids.customer_id
    where live_ids.customer_id is null
    group by assignments.customer_id, current_assignments.customer_id

),

ranked as (

    select
        previous_customer_id,
        customer_id,
        records_moved,
        retired_at,
        row_number() over (
            partition by previous_customer_id
            order by records_moved desc, customer_id asc
        ) as survivor_rank
    from moves

)

select
    previous_customer_id,
    customer_id,
    records_moved,
    retired_at
from ranked
where survivor_rank = 1

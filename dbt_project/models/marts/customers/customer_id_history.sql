{#- Where customer_ids went, one row per (previous id, id now holding its records):
    - merged: the previous id retired because its cluster merged into another (the survivor
      is the cluster whose smallest record key is smaller, so its id stands) or lost the
      record that named it; when its records scattered over several customers, the one that
      took the most records is its forwarding address (one row per retired id);
    - split: the previous id is still live (the part holding the record that names it kept
      it) but some of its records now belong to another customer: a junk identifier newly
      excluded, a match undone. One row per part split off. -#}
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

latest_changes as (

    -- When each record came under the id it holds now.
    select
        assignments.record_key,
        max(assignments.first_assigned_at) as changed_at
    from assignments
    inner join current_assignments
        on
            assignments.record_key = current_assignments.record_key
            and assignments.customer_id = current_assignments.customer_id
    group by assignments.record_key

),

moves as (

    select
        assignments.customer_id as previous_customer_id,
        current_assignments.customer_id,
        live_ids.customer_id is null as is_retired,
        count(distinct assignments.record_key) as records_moved,
        min(latest_changes.changed_at) as changed_at
    from assignments
    inner join current_assignments
        on
            assignments.record_key = current_assignments.record_key
            and assignments.customer_id <> current_assignments.customer_id
    inner join latest_changes
        on assignments.record_key = latest_changes.record_key
    left join live_ids
        on assignments.customer_id = live_ids.customer_id
    group by
        assignments.customer_id,
        current_assignments.customer_id,
        live_ids.customer_id is null

),

ranked as (

    select
        previous_customer_id,
        customer_id,
        is_retired,
        records_moved,
        changed_at,
        row_number() over (
            partition by previous_customer_id
            order by records_moved desc, customer_id asc
        ) as survivor_rank
    from moves

),

final as (

    select
        previous_customer_id,
        customer_id,
        case when is_retired then 'merged' else 'split' end as change_type,
        records_moved,
        changed_at
    from ranked
    where not is_retired or survivor_rank = 1

)

select * from final

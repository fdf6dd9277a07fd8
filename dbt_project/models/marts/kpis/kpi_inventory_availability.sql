{#- Day × SKU × location. Stores: `on_hand` from the POS end-of-day snapshot, all of it
    `available_in_store`; `available_online` is what the shop offers from that store
    (pickup, ship-from-store) on the day the shop reported its levels. The online
    warehouse `WH-ONLINE`: `available_online` from the shop's levels; it has no POS stock
    and no counter. The shop only publishes its current levels: their history comes from
    the snapshot `snp_ecommerce__inventory_levels`, so `available_online` is known for the
    days a run loaded a level and null on the other days. -#}
with

store_stock as (

    select
        snapshot_date,
        store_id,
        sku,
        on_hand_quantity
    from {{ ref('stg_pos__inventory_snapshots') }}

),

shop_levels as (

    -- The last level the shop reported on each Madrid day, from the snapshot's history.
    select
        level_date,
        location_id,
        sku,
        available_quantity
    from (
        select
            {{ business_date('updated_at') }} as level_date,
            location_id,
            sku,
            available_quantity,
            row_number() over (
                partition by {{ business_date('updated_at') }}, location_id, sku
                order by updated_at desc
            ) as recency
        from {{ ref('snp_ecommerce__inventory_levels') }}
    ) as versions
    where recency = 1

),

stores as (

    select
        store_stock.snapshot_date as date,  -- noqa: RF04
        store_stock.sku,
        store_stock.store_id as location_id,
        'store' as location_type,
        store_stock.on_hand_quantity as on_hand,
        shop_levels.available_quantity as available_online,
        store_stock.on_hand_quantity as available_in_store
    from store_stock
    left join shop_levels
        on
            store_stock.snapshot_date = shop_levels.level_date
            and store_stock.store_id = shop_levels.location_id
            and store_stock.sku = shop_levels.sku

),

online_warehouse as (

    select
        level_date as date,  -- noqa: RF04
        sku,
        location_id,
        'online_warehouse' as location_type,
        cast(null as integer) as on_hand,
        available_quantity as available_online,
        0 as available_in_store
    from shop_levels
    where location_id = 'WH-ONLINE'

),

unioned as (

    select * from stores
    union all
    select * from online_warehouse

),

final as (

    select
        date,
        sku,
        location_id,
        location_type,
        cast(on_hand as bigint) as on_hand,
        cast(available_online as bigint) as available_online,
        cast(available_in_store as bigint) as available_in_store
    from unioned

)

select * from final

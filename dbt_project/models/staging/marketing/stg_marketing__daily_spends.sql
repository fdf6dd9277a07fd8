with

source as (

    select * from {{ source('marketing', 'spend') }}

),

renamed as (

    select
        cast(date as date) as spend_date,
        lower(channel) as channel,
        cast(campaign_id as {{ dbt.type_string() }}) as campaign_id,
        {{ to_money('spend') }} as spend,
        cast(impressions as bigint) as impressions,
        cast(clicks as bigint) as clicks,
        upper(currency) as currency,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed

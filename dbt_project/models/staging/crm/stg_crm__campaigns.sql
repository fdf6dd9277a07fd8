with

source as (

    select * from {{ source('crm', 'campaigns') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as campaign_id,
        name as campaign_name,
        lower(channel) as channel,
        utm_campaign,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        {{ to_money('budget') }} as budget,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed

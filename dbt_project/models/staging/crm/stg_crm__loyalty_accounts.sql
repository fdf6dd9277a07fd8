with

source as (

    select * from {{ source('crm', 'loyalty_accounts') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as loyalty_id,
        cast(contact_id as {{ dbt.type_string() }}) as crm_contact_id,
        lower(tier) as tier,
        cast(points_balance as integer) as points_balance,
        {{ to_utc_timestamp('enrolled_at') }} as enrolled_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed

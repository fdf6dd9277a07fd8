with

source as (

    select * from {{ source('crm', 'contacts') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as crm_contact_id,
        {{ normalize_email('email') }} as email,
        {{ normalize_email(dbt.split_part('additional_emails', "';'", 1)) }} as additional_email_1,
        {{ normalize_email(dbt.split_part('additional_emails', "';'", 2)) }} as additional_email_2,
        {{ normalize_email(dbt.split_part('additional_emails', "';'", 3)) }} as additional_email_3,
        {{ normalize_phone('phone') }} as phone,
        {{ normalize_phone('mobilephone') }} as mobile_phone,
        nullif(trim(firstname), '') as first_name,
        nullif(trim(lastname), '') as last_name,
        nullif(trim(cast(loyalty_id as {{ dbt.type_string() }})), '') as loyalty_id,
        lower(lifecycle_stage) as lifecycle_stage,
        cast(consent_email as boolean) as has_email_consent,
        cast(consent_sms as boolean) as has_sms_consent,
        cast(consent_whatsapp as boolean) as has_whatsapp_consent,
        cast(consent_push as boolean) as has_push_consent,
        city,
        province,
        cast(zip as {{ dbt.type_string() }}) as zip_code,
        upper(country) as country_code,
        acquisition_channel,
        coalesce(cast(archived as boolean), false) as is_archived,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed

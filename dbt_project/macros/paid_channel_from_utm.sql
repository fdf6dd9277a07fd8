{#- The canonical paid channel a session's UTM tags point at, null for organic traffic.
    Follows the usual tagging conventions (Google Analytics default channel grouping). -#}
{% macro paid_channel_from_utm(medium_column, source_column) -%}
    case
        when {{ medium_column }} in ('cpc', 'ppc', 'paidsearch', 'paid_search')
            then 'paid_search'
        when {{ medium_column }} in ('paid_social', 'paidsocial', 'social_paid', 'cpm_social')
            then 'paid_social'
        when {{ medium_column }} in ('display', 'banner', 'cpm')
            then 'display'
        when {{ medium_column }} in ('affiliate', 'affiliates')
            then 'affiliate'
    end
{%- endmacro %}

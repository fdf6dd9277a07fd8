{#- The key of an identity record: `<rank>|<source_system>|<source_entity>|<source id>`.
    The two-digit rank (1 = CRM contact) makes the smallest key of a cluster its most stable
    member, which names the customer. Built the same way wherever records and their
    identifiers are listed, so the two join on one column instead of three. -#}
{% macro identity_record_key(rank, source_system, source_entity, record_id) -%}
    '{{ "%02d" | format(rank) }}|{{ source_system }}|{{ source_entity }}|' || {{ record_id }}
{%- endmacro %}

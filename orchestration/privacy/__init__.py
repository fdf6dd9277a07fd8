"""``omni forget``: erase one person everywhere and keep them erased (GDPR Art. 17).

- ``resolve``: from an email, phone or customer id to the customer, their source records
  and the identifiers only they used (the marts ``customer_identifiers`` /
  ``customer_identities`` / ``customer_id_history``);
- ``erase``: the rows to delete in the working warehouse and the published file, and the
  deletes themselves (one transaction per database; the published file is rebuilt and
  swapped in like a publish);
- ``forget``: the request end to end, with the ledger of ``ingestion.privacy`` written
  before anything is deleted, so a crash half-way never lets the person come back.
"""

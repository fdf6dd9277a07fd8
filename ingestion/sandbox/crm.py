"""CRM contacts and loyalty accounts, and the shop's customer accounts, as versioned records."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .mess import mess_emails, mess_names, mess_phones
from .params import WorldParams
from .records import Batch
from .state import WorldState
from .timeutil import iso_one, iso_z

CONSENTS = ("email", "sms", "whatsapp", "push")
# What the contact, loyalty and shop-customer records are built from.
RECORD_COLUMNS = (
    "person_id", "contact_id", "dup_contact_id", "crm_email", "crm_email2", "crm_phone",
    "crm_mobile", "crm_firstname", "dup_email", "dup_firstname", "last_name", "loyalty_id",
    "lifecycle", *(f"consent_{c}" for c in CONSENTS), "city", "province", "zip",
    "acquisition_channel", "archived_at", "shop_customer_id", "shop_email", "shop_phone",
    "shop_first_name", "loyalty_points",
)  # fmt: skip


def assign_spellings(
    people: pd.DataFrame, rng: np.random.Generator, params: WorldParams, window_start: np.datetime64
) -> None:
    """How each system stored the person's identifiers when the record was created."""
    m = params.mess
    people["crm_email"] = mess_emails(people["email"].to_numpy(), rng, m.email_variant)
    people["crm_email2"] = mess_emails(people["email2"].to_numpy(), rng, m.email_variant)
    people["crm_mobile"] = mess_phones(people["phone"].to_numpy(), rng, m.phone_not_e164)
    people["crm_phone"] = mess_phones(people["landline"].to_numpy(), rng, m.phone_not_e164)
    people["crm_firstname"] = mess_names(people["first_name"].to_numpy(), rng, m.name_variant)
    dup_src = np.where(people["email2"].notna(), people["email2"], people["email"])
    people["dup_email"] = mess_emails(dup_src, rng, m.email_variant)
    people["dup_firstname"] = mess_names(people["first_name"].to_numpy(), rng, m.name_variant)
    people["shop_email"] = mess_emails(people["email"].to_numpy(), rng, m.email_variant)
    shop_phone = np.where(rng.random(len(people)) < 0.6, people["phone"], None)
    people["shop_phone"] = mess_phones(shop_phone, rng, m.phone_not_e164)
    people["shop_first_name"] = mess_names(people["first_name"].to_numpy(), rng, m.name_variant)
    people["lifecycle"] = np.where(
        people["signup_at"].to_numpy().astype("datetime64[s]") < window_start, "customer", "lead"
    )
    people["loyalty_points"] = np.where(
        people["loyalty_id"].notna(), rng.integers(0, 900, len(people)), 0
    )
    people["dup_offset_days"] = rng.uniform(10, 200, len(people))


def _tier(points: int) -> str:
    return "gold" if points >= 2000 else "silver" if points >= 500 else "bronze"


def _contact_doc(p: dict, created_iso: str, at_iso: str, dup: bool = False) -> dict:
    return {
        "id": p["dup_contact_id"] if dup else p["contact_id"],
        "email": p["dup_email"] if dup else p["crm_email"],
        "additional_emails": "" if dup or p["crm_email2"] is None else p["crm_email2"],
        "phone": None if dup else p["crm_phone"],
        "mobilephone": None if dup else p["crm_mobile"],
        "firstname": p["dup_firstname"] if dup else p["crm_firstname"],
        "lastname": p["last_name"],
        "loyalty_id": None if dup else p["loyalty_id"],
        "lifecycle_stage": "subscriber" if dup else p["lifecycle"],
        **{f"consent_{c}": bool(p[f"consent_{c}"]) for c in CONSENTS},
        "city": p["city"],
        "province": p["province"],
        "zip": p["zip"],
        "country": "ES",
        "acquisition_channel": "email" if dup else p["acquisition_channel"],
        "created_at": created_iso,
        "updated_at": at_iso,
        "archived": p["archived_at"] is not None and not pd.isna(p["archived_at"]),
    }


def _customer_doc(p: dict, created_iso: str, at_iso: str) -> dict:
    archived = p["archived_at"] is not None and not pd.isna(p["archived_at"])
    return {
        "id": p["shop_customer_id"],
        "email": p["shop_email"],
        "phone": p["shop_phone"],
        "first_name": p["shop_first_name"],
        "last_name": p["last_name"],
        "accepts_marketing": bool(p["consent_email"]),
        "created_at": created_iso,
        "updated_at": at_iso,
        "state": "deleted" if archived else "enabled",
    }


def _in_time_order(events: list[tuple]) -> list[tuple]:
    """``sorted(events, key=(when, row, kind))``, stable, without comparing numpy scalars
    one pair at a time (a Python sort of datetime64 tuples is slow at 100k events)."""
    if not events:
        return []
    when = np.array([e[0] for e in events], dtype="datetime64[s]").astype(np.int64)
    row = np.array([e[1] for e in events], dtype=np.int64)
    kinds = np.array([e[2] for e in events], dtype=object)
    kind = np.unique(kinds, return_inverse=True)[1]  # ranks in string order
    order = np.lexsort((kind, row, when))
    return [events[k] for k in order.tolist()]


def emit_people_records(
    state: WorldState,
    events: list[tuple[np.datetime64, int, str, object]],
    batch: Batch,
) -> None:
    """Walk the window's person events in time order, emitting a full version for each.

    ``events`` are (when, person row, kind, detail) with kind one of ``create``,
    ``create_dup``, ``customer``, ``unsubscribe`` (detail: channel), ``archive``,
    ``points`` (detail: new balance).
    """
    people = state.people
    events = _in_time_order(events)
    # Each involved person's fields as one dict of plain Python values, built column-wise.
    involved = np.unique(np.fromiter((e[1] for e in events), dtype=np.int64, count=len(events)))
    values = [people[c].to_numpy()[involved].tolist() for c in RECORD_COLUMNS]
    fields = dict(zip(involved.tolist(), zip(*values, strict=True), strict=True))
    touched: dict[int, dict] = {}
    # Deliveries already applied opt-outs to ``people``; versions before them must not show it.
    opted_out: dict[int, list[str]] = {}
    for _, row, kind, detail in events:
        if kind == "unsubscribe":
            opted_out.setdefault(row, []).append(detail)
    created_iso = iso_z(people["signup_at"].to_numpy().astype("datetime64[s]"))
    for when, row, kind, detail in events:
        p = touched.get(row)
        if p is None:
            p = dict(zip(RECORD_COLUMNS, fields[row], strict=True))
            for ch in opted_out.get(row, []):
                p[f"consent_{ch}"] = True
            touched[row] = p
        at = iso_one(when)
        pid = p["person_id"]
        crm_changed = shop_changed = False
        if kind == "create":
            crm_changed = p["contact_id"] is not None
            shop_changed = p["shop_customer_id"] is not None
            if p["loyalty_id"] is not None:
                _loyalty(batch, p, created_iso[row], at)
        elif kind == "create_dup":
            doc = _contact_doc(p, at, at, dup=True)
            batch.add("crm", "contacts", at, p["dup_contact_id"], doc, pid)
        elif kind == "customer":
            crm_changed = p["lifecycle"] != "customer"
            p["lifecycle"] = "customer"
        elif kind == "unsubscribe":
            p[f"consent_{detail}"] = False
            crm_changed = True
            shop_changed = detail == "email"
        elif kind == "archive":
            p["archived_at"] = when
            crm_changed = True
            shop_changed = True
        elif kind == "points":
            p["loyalty_points"] = int(detail)
            _loyalty(batch, p, created_iso[row], at)
        if crm_changed and p["contact_id"] is not None:
            batch.add(
                "crm", "contacts", at, p["contact_id"], _contact_doc(p, created_iso[row], at), pid
            )
        if shop_changed and p["shop_customer_id"] is not None:
            doc = _customer_doc(p, created_iso[row], at)
            batch.add("ecommerce", "customers", at, p["shop_customer_id"], doc, pid)
    if not touched:
        return
    rows = np.fromiter(touched, dtype=np.int64)
    for c in ("lifecycle", *(f"consent_{c}" for c in CONSENTS), "loyalty_points", "archived_at"):
        values = [touched[r][c] for r in rows]
        if c == "archived_at":
            values = np.array(values, dtype="datetime64[s]")
        people.loc[people.index[rows], c] = values


def _loyalty(batch: Batch, p: dict, enrolled_iso: str, at: str) -> None:
    pts = int(p["loyalty_points"])
    doc = {
        "id": p["loyalty_id"],
        "contact_id": p["contact_id"],
        "tier": _tier(pts),
        "points_balance": pts,
        "enrolled_at": enrolled_iso,
        "updated_at": at,
    }
    batch.add("crm", "loyalty_accounts", at, p["loyalty_id"], doc, p["person_id"])

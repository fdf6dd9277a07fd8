"""CRM contacts and loyalty accounts, and the shop's customer accounts, as versioned records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .columns import constant, iso_utc, strings
from .mess import mess_emails, mess_names, mess_phones
from .params import WorldParams
from .records import Batch
from .state import WorldState
from .timeutil import present

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


KINDS = ("archive", "create", "create_dup", "customer", "points", "unsubscribe")  # tie order


class PersonEvents:
    """What happened to people in a window, as columns: (when, person row, kind, detail).

    Kinds: ``create``, ``create_dup``, ``customer``, ``unsubscribe`` (detail: channel),
    ``archive``, ``points`` (detail: the new balance).
    """

    def __init__(self) -> None:
        self._blocks: list[tuple[np.ndarray, np.ndarray, int, np.ndarray, np.ndarray]] = []

    def add(self, when, rows, kind: str, channel=None, points=None) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        n = rows.size
        if not n:
            return
        self._blocks.append((
            np.asarray(when, dtype="datetime64[s]").astype(np.int64), rows, KINDS.index(kind),
            np.full(n, None, dtype=object) if channel is None else np.asarray(channel, object),
            np.full(n, -1, np.int64) if points is None else np.asarray(points, np.int64),
        ))  # fmt: skip

    def frame(self) -> pd.DataFrame:
        """All events in time order (then person, then kind), as the systems saw them."""
        if not self._blocks:
            return pd.DataFrame(columns=["when", "row", "kind", "channel", "points"])
        df = pd.DataFrame(
            {
                "when": np.concatenate([b[0] for b in self._blocks]),
                "row": np.concatenate([b[1] for b in self._blocks]),
                "kind": np.concatenate([np.full(b[1].size, b[2]) for b in self._blocks]),
                "channel": np.concatenate([b[3] for b in self._blocks]),
                "points": np.concatenate([b[4] for b in self._blocks]),
            }
        )
        return df.sort_values(["when", "row", "kind"], kind="stable", ignore_index=True)


def _state_after(df: pd.DataFrame, people: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each person's mutable fields right after each of their events (``df`` in time order)."""
    row, kind = df["row"].to_numpy(), df["kind"].to_numpy()
    by = df["row"]

    def ever(mask: np.ndarray) -> np.ndarray:
        return pd.Series(mask, index=df.index).groupby(by).cummax().to_numpy()

    state = {}
    lifecycle = people["lifecycle"].to_numpy()[row]
    state["lifecycle"] = np.where(ever(kind == KINDS.index("customer")), "customer", lifecycle)
    unsub = kind == KINDS.index("unsubscribe")
    channel = df["channel"].to_numpy()
    for c in CONSENTS:
        mine = unsub & (channel == c)
        # Deliveries already applied this window's opt-outs to ``people``: before them the
        # person still consented.
        had = people[f"consent_{c}"].to_numpy().astype(bool)
        opted_now = np.zeros(len(people), bool)
        opted_now[row[mine]] = True
        initial = (had | opted_now)[row]
        state[f"consent_{c}"] = initial & ~ever(mine)
    archived_at = people["archived_at"].to_numpy().astype("datetime64[s]")[row]
    is_archive = kind == KINDS.index("archive")
    archived_when = np.where(is_archive, df["when"].to_numpy(), np.iinfo(np.int64).min)
    first_archive = pd.Series(archived_when, index=df.index).groupby(by).cummax().to_numpy()
    state["archived_at"] = np.where(
        first_archive > np.iinfo(np.int64).min, first_archive.astype("datetime64[s]"), archived_at
    )
    pts = pd.Series(
        np.where(kind == KINDS.index("points"), df["points"].to_numpy(), np.nan), index=df.index
    )
    last_pts = pts.groupby(by).ffill().to_numpy()
    initial_pts = people["loyalty_points"].to_numpy().astype(np.int64)[row]
    state["loyalty_points"] = np.where(np.isnan(last_pts), initial_pts, last_pts).astype(np.int64)
    return state


def _tier(points: np.ndarray) -> np.ndarray:
    return np.where(points >= 2000, "gold", np.where(points >= 500, "silver", "bronze"))


def _versions(at: pa.Array, keys: np.ndarray, persons: np.ndarray, doc: dict) -> pa.Table:
    return pa.table(
        {
            "_dt": at,
            "_key": strings(keys),
            "_person": strings(persons),
            **{k: v if isinstance(v, pa.Array) else pa.array(v) for k, v in doc.items()},
        }
    )


def emit_people_records(state: WorldState, events: PersonEvents, batch: Batch) -> None:
    """A full record version for every change to a person's CRM contact, loyalty account
    or shop customer, in time order, as Arrow tables (see ``records.DOC_TABLE_ENTITIES``)."""
    people = state.people
    df = events.frame()
    if not len(df):
        return
    after = _state_after(df, people)
    row, kind = df["row"].to_numpy(), df["kind"].to_numpy()
    col = {c: people[c].to_numpy()[row] for c in RECORD_COLUMNS}
    at = iso_utc(df["when"].to_numpy().astype("datetime64[s]"))
    created = iso_utc(people["signup_at"].to_numpy().astype("datetime64[s]")[row])
    archived = ~np.isnat(after["archived_at"])
    pid = col["person_id"]
    consents = {f"consent_{c}": after[f"consent_{c}"] for c in CONSENTS}
    is_ = {k: kind == KINDS.index(k) for k in KINDS}
    unsub_email = is_["unsubscribe"] & (df["channel"].to_numpy() == "email")

    # CRM contacts: the person's own, and the duplicate some of them have.
    main = present(col["contact_id"]) & (
        is_["create"] | is_["customer"] | is_["unsubscribe"] | is_["archive"]
    )
    dup = is_["create_dup"]
    contact = main | dup
    k = np.flatnonzero(contact)
    d = dup[k]
    email2 = col["crm_email2"][k]
    nulls = np.full(k.size, None, dtype=object)
    contacts = _versions(at.take(k), np.where(d, col["dup_contact_id"][k], col["contact_id"][k]),
                         pid[k], {
        "id": strings(np.where(d, col["dup_contact_id"][k], col["contact_id"][k])),
        "email": strings(np.where(d, col["dup_email"][k], col["crm_email"][k])),
        "additional_emails": strings(np.where(d | ~present(email2), "", email2)),
        "phone": strings(np.where(d, nulls, col["crm_phone"][k])),
        "mobilephone": strings(np.where(d, nulls, col["crm_mobile"][k])),
        "firstname": strings(np.where(d, col["dup_firstname"][k], col["crm_firstname"][k])),
        "lastname": strings(col["last_name"][k]),
        "loyalty_id": strings(np.where(d, nulls, col["loyalty_id"][k])),
        "lifecycle_stage": strings(np.where(d, "subscriber", after["lifecycle"][k]).astype(object)),
        **{c: pa.array(v[k], pa.bool_()) for c, v in consents.items()},
        "city": strings(col["city"][k]),
        "province": strings(col["province"][k]),
        "zip": strings(col["zip"][k]),
        "country": constant("ES", k.size),
        "acquisition_channel": strings(np.where(d, "email", col["acquisition_channel"][k])),
        "created_at": pc.if_else(pa.array(d), at.take(k), created.take(k)),
        "updated_at": at.take(k),
        "archived": pa.array(archived[k], pa.bool_()),
    })  # fmt: skip
    batch.add_table("crm", "contacts", contacts)

    # Loyalty accounts: enrolled at sign-up, a new balance whenever points are earned.
    k = np.flatnonzero(present(col["loyalty_id"]) & (is_["create"] | is_["points"]))
    points = after["loyalty_points"][k]
    batch.add_table("crm", "loyalty_accounts", _versions(at.take(k), col["loyalty_id"][k],
                                                         pid[k], {
        "id": strings(col["loyalty_id"][k]),
        "contact_id": strings(col["contact_id"][k]),
        "tier": strings(_tier(points).astype(object)),
        "points_balance": pa.array(points, pa.int64()),
        "enrolled_at": created.take(k),
        "updated_at": at.take(k),
    }))  # fmt: skip

    # Shop customers: consent to email marketing and deletion requests show there too.
    k = np.flatnonzero(
        present(col["shop_customer_id"]) & (is_["create"] | unsub_email | is_["archive"])
    )
    batch.add_table("ecommerce", "customers", _versions(at.take(k), col["shop_customer_id"][k],
                                                        pid[k], {
        "id": strings(col["shop_customer_id"][k]),
        "email": strings(col["shop_email"][k]),
        "phone": strings(col["shop_phone"][k]),
        "first_name": strings(col["shop_first_name"][k]),
        "last_name": strings(col["last_name"][k]),
        "accepts_marketing": pa.array(after["consent_email"][k], pa.bool_()),
        "created_at": created.take(k),
        "updated_at": at.take(k),
        "state": strings(np.where(archived[k], "deleted", "enabled").astype(object)),
    }))  # fmt: skip

    # The people table keeps each person's state after their last event.
    last = ~df["row"].duplicated(keep="last").to_numpy()
    rows = row[last]
    index = people.index[rows]
    for c in ("lifecycle", *(f"consent_{c}" for c in CONSENTS), "loyalty_points"):
        people.loc[index, c] = after[c][last]
    people.loc[index, "archived_at"] = after["archived_at"][last]

"""The population: people, households, places, behaviour and their canonical identifiers."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .catalog import (
    ACQUISITION_CHANNELS,
    EMAIL_DOMAINS,
    FEMALE_NAMES,
    MALE_NAMES,
    PROVINCES,
    PURCHASE_CHANNELS,
    SEGMENT_SHARES,
    SEGMENTS,
    SURNAMES,
)
from .columns import padded_ids, strings
from .mess import mailbox_key, mailbox_keys
from .params import WorldParams
from .state import as_objects
from .timeutil import day_start

_ASCII = str.maketrans("áéíóúÁÉÍÓÚñÑüÜ", "aeiouAEIOUnNuU")
HISTORY_DAYS = 3 * 365  # how far back pre-existing customers signed up


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_NIBBLES = np.arange(28, -1, -4, dtype=np.uint64)


def _hex8(x: np.ndarray) -> np.ndarray:
    """32-bit numbers as rows of eight lower-case hex digits (ASCII bytes)."""
    return _HEX[(x[:, None] >> _NIBBLES) & np.uint64(15)]


def _hex_ids(
    rng: np.random.Generator, n: int, sep: bytes = b"-", prefix: bytes = b""
) -> np.ndarray:
    """``f"{prefix}{hi:08x}{sep}{lo:08x}"`` for random hi, lo; built as bytes, not f-strings
    (a million of those cost seconds)."""
    hi = rng.integers(0, 2**32, size=n, dtype=np.uint64)
    lo = rng.integers(0, 2**32, size=n, dtype=np.uint64)
    parts = [np.frombuffer(prefix * n, np.uint8).reshape(n, len(prefix)), _hex8(hi),
             np.frombuffer(sep * n, np.uint8).reshape(n, len(sep)), _hex8(lo)]  # fmt: skip
    raw = np.ascontiguousarray(np.concatenate(parts, axis=1))
    width = raw.shape[1]
    return raw.view(f"S{width}").ravel().astype(f"U{width}").astype(object)


def _numbered(prefix: str, numbers: np.ndarray, width: int = 0) -> np.ndarray:
    """``f"{prefix}{n:0{width}d}"`` for every n, formatted by Arrow, as Python strings."""
    return padded_ids(prefix, numbers, width).to_numpy(zero_copy_only=False)


def _zips(prov: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The province's postcode prefix and three drawn digits."""
    prefix = strings(np.array([p[2] for p in PROVINCES], dtype=object)[prov])
    return pc.binary_join_element_wise(prefix, padded_ids("", z, 3), "").to_numpy(
        zero_copy_only=False
    )


def _per_value(values: np.ndarray, fn) -> np.ndarray:
    """``fn`` applied once per distinct value (names come from short lists)."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object))
    return np.array([fn(u) for u in uniques], dtype=object)[codes]


def _channel_weights(rng: np.random.Generator, segment: np.ndarray) -> np.ndarray:
    """Purchase-channel weights (store, web, app, phone, whatsapp) per person."""
    n = segment.size
    w = np.zeros((n, len(PURCHASE_CHANNELS)))
    single = segment == "single"
    one = rng.choice(3, size=n, p=[0.7, 0.2, 0.1])
    w[single, one[single]] = 1.0
    multi = segment == "multi"
    pairs = np.array([[0, 1], [0, 2], [1, 2], [0, 1], [0, 3], [0, 4], [0, 1]])
    pick = pairs[rng.integers(0, len(pairs), size=n)]
    share = rng.uniform(0.3, 0.7, size=n)
    rows = np.flatnonzero(multi)
    w[rows, pick[rows, 0]] = share[rows]
    w[rows, pick[rows, 1]] = 1 - share[rows]
    cross = segment == "cross"
    w[cross] = rng.dirichlet([5.0, 2.0, 2.0, 0.2, 0.3], size=int(cross.sum()))
    omni = segment == "omni"
    w[omni] = rng.dirichlet([4.0, 2.5, 2.5, 0.6, 0.8], size=int(omni.sum()))
    return w


def _email_candidates(rng: np.random.Generator, first: np.ndarray, last: np.ndarray) -> pd.Series:
    """Name-based addresses as people pick them; several people may pick the same one."""
    n = first.size
    domains = np.array([d for d, _ in EMAIL_DOMAINS], dtype=object)
    dom = strings(rng.choice(domains, size=n, p=[p for _, p in EMAIL_DOMAINS]))
    pattern = rng.integers(0, 5, size=n)
    year = pc.cast(pa.array(rng.integers(60, 100, size=n)), pa.string())
    f = strings(_per_value(first, lambda x: x.translate(_ASCII).lower().replace(" ", "")))
    surname = strings(_per_value(last, lambda x: x.split(" ")[0].translate(_ASCII).lower()))
    join = pc.binary_join_element_wise
    forms = [
        join(f, ".", surname, ""),
        join(f, surname, ""),
        join(pc.utf8_slice_codeunits(f, 0, 1), surname, year, ""),
        join(f, "_", surname, ""),
        join(f, year, ""),
    ]
    local = pc.choose(pa.array(pattern, pa.int8()), *forms)
    return pd.Series(join(local, "@", dom, "").to_numpy(zero_copy_only=False), dtype=object)


def _emails(
    rng: np.random.Generator,
    first: np.ndarray,
    last: np.ndarray,
    suffix: np.ndarray,
    taken: set[str],
) -> np.ndarray:
    """One address per person, a different mailbox from every address in ``taken``.

    Two people whose names give the same mailbox (``mercedes.perez@gmail.com`` and
    ``mercedesperez@gmail.com`` are one Gmail inbox) would be one person to any identity
    resolution, so the later one gets a number, as real sign-up forms force. ``taken`` holds
    the mailbox keys already in use and is updated.
    """
    emails = _email_candidates(rng, first, last)
    keys = mailbox_keys(emails)
    clash = (keys.duplicated() | keys.isin(taken)).to_numpy()
    taken.update(keys[~clash])
    out = emails.to_numpy(dtype=object, copy=True)
    for i in np.flatnonzero(clash):
        local, _, domain = out[i].partition("@")
        extra = 0
        while True:
            candidate = f"{local}{suffix[i]}{extra or ''}@{domain}"
            key = mailbox_key(candidate)
            if key not in taken:
                break
            extra += 1
        taken.add(key)
        out[i] = candidate
    return out


def _mobiles(rng: np.random.Generator, idx: np.ndarray) -> np.ndarray:
    # A multiplicative permutation of the person index gives unique, random-looking numbers.
    national = 600_000_000 + (idx.astype(np.int64) * 7_919_993 + 12_345_677) % 100_000_000
    flip = rng.random(idx.size) < 0.12  # some Spanish mobiles start with 7
    national = np.where(flip, national + 100_000_000, national)
    return _numbered("+34", national)


def make_people(
    rng: np.random.Generator,
    n: int,
    first_index: int,
    window_start: date,
    window_days: int,
    share_pre_existing: float,
    stores: pd.DataFrame,
    params: WorldParams,
    household_offset: int,
    taken_emails: set[str] | None = None,
) -> pd.DataFrame:
    """``n`` people with ids from ``first_index``; some existed before ``window_start``.

    ``taken_emails`` are the mailbox keys of everyone who already exists: nobody new may
    get one of them (only household members share an address, deliberately).
    """
    idx = np.arange(first_index, first_index + n)
    sizes = rng.choice([1, 2, 3, 4], size=n, p=[0.42, 0.30, 0.16, 0.12])
    household = np.repeat(np.arange(sizes.size), sizes)[:n] + household_offset
    is_head = np.r_[True, household[1:] != household[:-1]]

    prov_w = np.array([p[3] for p in PROVINCES])
    hh_prov = rng.choice(len(PROVINCES), size=household.max() + 1, p=prov_w / prov_w.sum())
    prov = hh_prov[household]
    hh_surname = rng.integers(0, len(SURNAMES), size=household.max() + 1)
    second = rng.integers(0, len(SURNAMES), size=n)
    surnames = np.array(SURNAMES, dtype=object)
    # Household heads and their children share the first surname.
    first_surname = np.where(rng.random(n) < 0.7, hh_surname[household], rng.integers(0, 52, n))
    last = surnames[first_surname % len(SURNAMES)] + " " + surnames[second]
    gender = np.where(rng.random(n) < 0.52, "F", "M")
    first = np.where(
        gender == "F",
        np.array(FEMALE_NAMES, dtype=object)[rng.integers(0, len(FEMALE_NAMES), n)],
        np.array(MALE_NAMES, dtype=object)[rng.integers(0, len(MALE_NAMES), n)],
    )

    segment = rng.choice(np.array(SEGMENTS, dtype=object), size=n, p=SEGMENT_SHARES)
    weights = _channel_weights(rng, segment)
    beh = params.behaviour
    seg_rate = np.array([beh.daily_purchase_rate[s] for s in segment])
    rate = seg_rate * rng.lognormal(0.0, 0.5, n) / np.exp(0.125)
    browse = np.array([beh.daily_browse_rate[s] for s in segment]) * rng.lognormal(0, 0.4, n)
    online_share = weights[:, 1] + weights[:, 2]
    browse = np.where(online_share > 0, browse, browse * 0.15)
    lifetime = np.array([beh.mean_lifetime_days[s] for s in segment])

    t0 = day_start(window_start)
    pre = rng.random(n) < share_pre_existing
    offset_days = np.where(
        pre, -rng.uniform(1, HISTORY_DAYS, n), rng.uniform(0, max(window_days, 1), n)
    )
    signup_at = t0 + (offset_days * 86400).astype("timedelta64[s]")
    active_from = np.maximum(signup_at, t0)
    churn_at = active_from + (rng.exponential(lifetime) * 86400).astype("timedelta64[s]")

    acq_names = np.array([c for c, _ in ACQUISITION_CHANNELS], dtype=object)
    acq = rng.choice(acq_names, size=n, p=[p for _, p in ACQUISITION_CHANNELS])
    acq = np.where((weights[:, 0] == 1.0) & (rng.random(n) < 0.8), "store", acq)

    taken = set() if taken_emails is None else taken_emails
    email = _emails(rng, first, last, idx, taken)
    has_email2 = rng.random(n) < params.mess.multiple_emails
    # A second address, often from the other surname: drawn only for those who have one.
    other_last = _per_value(last, lambda x: x.split(" ")[-1])
    email2 = np.full(n, None, dtype=object)
    two = np.flatnonzero(has_email2)
    email2[two] = _emails(rng, first[two], other_last[two], idx[two], taken)
    phone = _mobiles(rng, idx)
    has_landline = rng.random(n) < 0.18
    area = np.array([p[4] for p in PROVINCES], dtype=object)[prov]
    landline_num = rng.integers(10_000_000, 99_999_999, n)
    # Area code plus the first 9 - len(area) of the eight drawn digits: nine digits in all.
    keep = 9 - np.array([len(p[4]) for p in PROVINCES])[prov]
    digits = landline_num // 10 ** np.maximum(8 - keep, 0)
    landline = pc.binary_join_element_wise(
        "+34", strings(area), pc.cast(pa.array(digits), pa.string()), ""
    )
    landline = np.where(has_landline, landline.to_numpy(zero_copy_only=False), None)

    # Household members sharing the head's email or phone (a couple on one gmail account).
    head_of = pd.Series(np.arange(n)).groupby(household).transform("min").to_numpy()
    non_head = np.flatnonzero(~is_head)
    share_p = min(1.0, params.mess.household_shared_identifier * n / max(non_head.size, 1))
    sharing = non_head[rng.random(non_head.size) < share_p]
    share_email = rng.random(sharing.size) < 0.5
    email[sharing[share_email]] = email[head_of[sharing[share_email]]]
    phone[sharing[~share_email]] = phone[head_of[sharing[~share_email]]]
    shares = np.zeros(n, dtype=bool)
    shares[sharing] = True

    buys_in_store = weights[:, 0] > 0
    buys_online = weights[:, 1:].sum(axis=1) > 0
    loyalty = buys_in_store & (rng.random(n) < np.where(segment == "single", 0.45, 0.75))
    in_crm = loyalty | buys_online | (rng.random(n) < 0.5)
    account = (weights[:, 1] + weights[:, 2] > 0) & (rng.random(n) < 0.85)
    dup_contact = in_crm & (rng.random(n) < params.mess.duplicate_contact)
    uses_app = weights[:, 2] > 0

    store_prov = stores["province_index"].to_numpy()
    random_store = rng.integers(0, len(stores), n)
    # A store of one's own province, spread by person index; anywhere if the province has none.
    home_store = random_store.astype(np.int64)
    for province in np.unique(prov):
        local = np.flatnonzero(store_prov == province)
        if local.size:
            mine = prov == province
            home_store[mine] = local[idx[mine] % local.size]

    columns = {
        "person_id": _numbered("P", idx, 7),
        "person_index": idx,
        "household_id": _numbered("H", household, 7),
        "gender": gender,
        "first_name": first,
        "last_name": last,
        "birth_year": rng.integers(1945, 2006, n),
        "province": np.array([p[0] for p in PROVINCES], dtype=object)[prov],
        "city": np.array([p[1] for p in PROVINCES], dtype=object)[prov],
        "zip": _zips(prov, rng.integers(1, 90, n)),
        "segment": segment,
        "acquisition_channel": acq,
        "signup_at": signup_at,
        "churn_at": churn_at,
        "purchase_rate": rate,
        "browse_rate": browse,
        **{f"w_{c}": weights[:, k] for k, c in enumerate(PURCHASE_CHANNELS)},
        "email": email,
        "email2": email2,
        "phone": phone,
        "landline": landline,
        "shares_identifier": shares,
        "contact_id": np.where(in_crm, _numbered("", 1_000_000 + 2 * idx), None),
        "dup_contact_id": np.where(dup_contact, _numbered("", 1_000_001 + 2 * idx), None),
        "loyalty_id": np.where(loyalty, _numbered("24", idx, 10), None),
        "shop_customer_id": np.where(account, _numbered("", 7_100_000_000 + idx), None),
        "anon_web": _hex_ids(rng, n),
        "anon_web2": np.where(rng.random(n) < 0.4, _hex_ids(rng, n), None),
        "anon_app": np.where(uses_app, _hex_ids(rng, n), None),
        "card_fp": _hex_ids(rng, n, sep=b"", prefix=b"fp_"),
        "social_handle": pc.binary_join_element_wise(
            "@",
            strings(_per_value(first, lambda x: x.translate(_ASCII).lower())),
            "_",
            pc.cast(pa.array(idx % 9973), pa.string()),
            "",
        ).to_numpy(zero_copy_only=False),
        "consent_email": rng.random(n) < 0.62,
        "consent_sms": rng.random(n) < 0.33,
        "consent_whatsapp": rng.random(n) < 0.28,
        "consent_push": uses_app & (rng.random(n) < 0.55),
        "home_store": home_store,
    }
    # Object columns stay objects: pandas would infer its Arrow str dtype, which
    # ``as_objects`` then turns back into Python strings (seconds at a million people).
    return as_objects(
        pd.DataFrame(
            {
                k: pd.Series(v, dtype=object)
                if isinstance(v, np.ndarray) and v.dtype == object
                else v
                for k, v in columns.items()
            }
        )
    )

"""The population: people, households, places, behaviour and their canonical identifiers."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

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
from .mess import mailbox_key, mailbox_keys
from .params import WorldParams
from .state import as_objects
from .timeutil import day_start

_ASCII = str.maketrans("áéíóúÁÉÍÓÚñÑüÜ", "aeiouAEIOUnNuU")
HISTORY_DAYS = 3 * 365  # how far back pre-existing customers signed up


def _hex_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    hi = rng.integers(0, 2**32, size=n, dtype=np.uint64)
    lo = rng.integers(0, 2**32, size=n, dtype=np.uint64)
    return np.array([f"{a:08x}-{b:08x}" for a, b in zip(hi, lo, strict=True)], dtype=object)


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
    dom = pd.Series(rng.choice(domains, size=n, p=[p for _, p in EMAIL_DOMAINS]), dtype=object)
    pattern = rng.integers(0, 5, size=n)
    year = pd.Series(rng.integers(60, 100, size=n)).astype(str)
    f = pd.Series(first, dtype=object).str.translate(_ASCII).str.lower().str.replace(" ", "")
    surname = pd.Series(last, dtype=object).str.split(" ").str[0].str.translate(_ASCII).str.lower()
    forms = [f + "." + surname, f + surname, f.str[0] + surname + year, f + "_" + surname, f + year]
    local = forms[0].copy()
    for k in range(1, len(forms)):
        local = local.where(pattern != k, forms[k])
    return (local + "@" + dom).astype(object)


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
    return np.array([f"+34{n}" for n in national], dtype=object)


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
    other_last = pd.Series(last, dtype=object).str.split(" ").str[-1].to_numpy(dtype=object)
    email2 = np.full(n, None, dtype=object)
    two = np.flatnonzero(has_email2)
    email2[two] = _emails(rng, first[two], other_last[two], idx[two], taken)
    phone = _mobiles(rng, idx)
    has_landline = rng.random(n) < 0.18
    landline_area = np.array([PROVINCES[p][4] for p in prov], dtype=object)
    landline_num = rng.integers(10_000_000, 99_999_999, n)
    landline = np.array(
        [f"+34{a}{str(x)[: 9 - len(a)]}" for a, x in zip(landline_area, landline_num, strict=True)],
        dtype=object,
    )
    landline = np.where(has_landline, landline, None)

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

    return as_objects(
        pd.DataFrame(
            {
                "person_id": [f"P{i:07d}" for i in idx],
                "person_index": idx,
                "household_id": [f"H{h:07d}" for h in household],
                "gender": gender,
                "first_name": first,
                "last_name": last,
                "birth_year": rng.integers(1945, 2006, n),
                "province": [PROVINCES[p][0] for p in prov],
                "city": [PROVINCES[p][1] for p in prov],
                "zip": [
                    f"{PROVINCES[p][2]}{z:03d}"
                    for p, z in zip(prov, rng.integers(1, 90, n), strict=True)
                ],
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
                "contact_id": np.where(in_crm, [str(1_000_000 + 2 * i) for i in idx], None),
                "dup_contact_id": np.where(
                    dup_contact, [str(1_000_001 + 2 * i) for i in idx], None
                ),
                "loyalty_id": np.where(loyalty, [f"24{i:010d}" for i in idx], None),
                "shop_customer_id": np.where(account, [str(7_100_000_000 + i) for i in idx], None),
                "anon_web": _hex_ids(rng, n),
                "anon_web2": np.where(rng.random(n) < 0.4, _hex_ids(rng, n), None),
                "anon_app": np.where(uses_app, _hex_ids(rng, n), None),
                "card_fp": np.array([f"fp_{h.replace('-', '')}" for h in _hex_ids(rng, n)]),
                "social_handle": [
                    f"@{f.translate(_ASCII).lower()}_{i % 9973}"
                    for f, i in zip(first, idx, strict=True)
                ],
                "consent_email": rng.random(n) < 0.62,
                "consent_sms": rng.random(n) < 0.33,
                "consent_whatsapp": rng.random(n) < 0.28,
                "consent_push": uses_app & (rng.random(n) < 0.55),
                "home_store": home_store,
            }
        )
    )

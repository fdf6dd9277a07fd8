"""The identity mess: how one canonical email, phone or name gets written by people and staff.

Each function takes an array of canonical values and returns the values as they appear in one
set of occurrences, with ``rate`` of them altered. Only the altered subset is touched in Python,
so the cost scales with the mess, not with the data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .catalog import DOMAIN_TYPOS, NICKNAMES
from .timeutil import present

EMAIL_KINDS = ("case", "whitespace", "gmail_dots", "plus_tag", "typo")
PHONE_FORMATS = ("bare", "spaced", "dashed", "prefix_00", "spaced_e164", "dotted")
PLUS_TAGS = ("tienda", "promo", "shop", "compras", "newsletter")


def _email_variant(email: str, kind: int, r: float) -> str:
    local, _, domain = email.partition("@")
    name = EMAIL_KINDS[kind]
    if name == "gmail_dots" and domain != "gmail.com":
        name = "plus_tag" if r < 0.5 else "case"
    if name == "case":
        if r < 0.5:
            return email.upper() if r < 0.15 else local.capitalize() + "@" + domain.capitalize()
        return local.title() + "@" + domain
    if name == "whitespace":
        return (" " + email) if r < 0.4 else (email + " ") if r < 0.8 else (" " + email + "  ")
    if name == "gmail_dots":
        bare = local.replace(".", "")
        if bare != local:
            return bare + "@" + domain
        cut = 1 + int(r * (len(bare) - 1))
        return bare[:cut] + "." + bare[cut:] + "@" + domain
    if name == "plus_tag":
        return f"{local}+{PLUS_TAGS[int(r * len(PLUS_TAGS))]}@{domain}"
    # typo: a misspelt domain most of the time, otherwise two swapped letters in the local part
    if r < 0.6 or len(local) < 3:
        return local + "@" + DOMAIN_TYPOS.get(domain, domain + "m")
    i = int(r * 997) % (len(local) - 1)
    swapped = local[:i] + local[i + 1] + local[i] + local[i + 2 :]
    return (swapped if swapped != local else local + local[-1]) + "@" + domain


def mess_emails(emails: np.ndarray, rng: np.random.Generator, rate: float) -> np.ndarray:
    """Alter ``rate`` of the non-null emails (case, whitespace, gmail dots, plus-tags, typos)."""
    out = emails.astype(object).copy()
    filled = np.flatnonzero(present(out))
    picked = filled[rng.random(filled.size) < rate]
    kinds = rng.choice(len(EMAIL_KINDS), size=picked.size, p=[0.3, 0.15, 0.2, 0.2, 0.15])
    rs = rng.random(picked.size)
    for i, k, r in zip(picked, kinds, rs, strict=True):
        out[i] = _email_variant(out[i], int(k), float(r))
    return out


def _phone_format(e164: str, kind: int) -> str:
    n = e164[3:]  # nine national digits after +34
    name = PHONE_FORMATS[kind]
    if name == "bare":
        return n
    if name == "spaced":
        return f"{n[:3]} {n[3:6]} {n[6:]}"
    if name == "dashed":
        return f"{n[:3]}-{n[3:5]}-{n[5:7]}-{n[7:]}"
    if name == "prefix_00":
        return "0034" + n
    if name == "spaced_e164":
        return f"+34 {n[:3]} {n[3:5]} {n[5:7]} {n[7:]}"
    return f"{n[:3]}.{n[3:6]}.{n[6:]}"


def mess_phones(phones: np.ndarray, rng: np.random.Generator, rate: float) -> np.ndarray:
    """Write ``rate`` of the non-null E.164 phones in another Spanish format."""
    out = phones.astype(object).copy()
    filled = np.flatnonzero(present(out))
    picked = filled[rng.random(filled.size) < rate]
    kinds = rng.choice(len(PHONE_FORMATS), size=picked.size, p=[0.35, 0.25, 0.1, 0.1, 0.15, 0.05])
    for i, k in zip(picked, kinds, strict=True):
        out[i] = _phone_format(out[i], int(k))
    return out


_ACCENTS = str.maketrans("áéíóúÁÉÍÓÚñÑ", "aeiouAEIOUnN")


def _name_variant(name: str, r: float) -> str:
    if name in NICKNAMES and r < 0.7:
        return NICKNAMES[name]
    plain = name.translate(_ACCENTS)
    if plain != name and r < 0.85:
        return plain
    if len(name) < 3:
        return name + name[-1]
    i = 1 + int(r * 991) % (len(name) - 2)
    swapped = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    return swapped if swapped != name else name[:i] + name[i + 1 :]


def mess_names(names: np.ndarray, rng: np.random.Generator, rate: float) -> np.ndarray:
    """Give ``rate`` of the names a nickname, a lost accent or a keyboard slip."""
    out = names.astype(object).copy()
    picked = np.flatnonzero(rng.random(out.size) < rate)
    rs = rng.random(picked.size)
    for i, r in zip(picked, rs, strict=True):
        if out[i] is not None:
            out[i] = _name_variant(out[i], float(r))
    return out


def canonical_email(email: str | None) -> str | None:
    """What the canonical form of an occurrence is: trimmed and lower case."""
    return None if email is None else email.strip().lower()


GMAIL_DOMAINS = ("gmail.com", "googlemail.com")


def mailbox_key(email: str) -> str:
    """The mailbox an address delivers to: trimmed, lower case, Gmail dots and +tags gone."""
    local, _, domain = email.strip().lower().partition("@")
    if domain in GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def mailbox_keys(emails: pd.Series) -> pd.Series:
    """``mailbox_key`` over a Series of addresses, vectorised (Arrow string kernels)."""
    if emails.empty:
        return pd.Series([], index=emails.index, dtype=object)
    e = pc.utf8_lower(pc.utf8_trim_whitespace(pa.array(emails.to_numpy(dtype=object), pa.string())))
    # partition("@"): everything before the first @, and everything after it
    parts = pc.extract_regex(e, r"^(?P<local>[^@]*)@?(?P<domain>.*)$")
    local, domain = parts.field("local"), parts.field("domain")
    gmail = pc.is_in(domain, pa.array(GMAIL_DOMAINS))
    plain = pc.replace_substring(pc.replace_substring_regex(local, r"\+.*$", ""), ".", "")
    local = pc.if_else(gmail, plain, local)
    domain = pc.if_else(gmail, "gmail.com", domain)
    keys = pc.binary_join_element_wise(local, "@", domain, "")
    return pd.Series(keys.to_numpy(zero_copy_only=False), index=emails.index, dtype=object)

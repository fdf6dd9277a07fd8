"""Campaigns, the marketing deliveries they send, and daily paid-media spend."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .catalog import PAID_CHANNELS
from .columns import constant, iso_utc, padded_ids
from .records import Batch
from .seasons import black_friday, demand_factor, season_name
from .state import WorldState
from .timeutil import day_start, iso_one, present

# Euros per day per 1000 customers, cost per 1000 impressions, click-through rate.
PAID_ECONOMICS = {
    "paid_search": (55.0, 9.0, 0.045),
    "paid_social": (40.0, 6.0, 0.012),
    "display": (18.0, 2.5, 0.004),
    "affiliate": (12.0, 4.0, 0.02),
}
OPEN_RATE = {"email": 0.24, "whatsapp": 0.6, "push": 0.07, "sms": 0.0}
CLICK_RATE = {"email": 0.13, "whatsapp": 0.15, "push": 0.25, "sms": 0.04}
UTM_SOURCE = {"email": "newsletter", "sms": "sms", "whatsapp": "whatsapp", "push": "push"}
RECOVERY_CAMPAIGNS = {"email": "CMP-RECOVERY-EMAIL", "sms": "CMP-RECOVERY-SMS"}


def owned_sends(d: date) -> list[tuple[str, str, str]]:
    """(campaign id, channel, name) of the owned-channel sends that go out on ``d``."""
    sends = []
    tag = d.strftime("%Y%m%d")
    if d.weekday() == 3:
        sends.append((f"CMP-EMAIL-{tag}", "email", f"Newsletter {d.isoformat()}"))
    if d.day in (1, 15):
        sends.append((f"CMP-SMS-{tag}", "sms", f"SMS ofertas {d.isoformat()}"))
    if d.weekday() == 4 and d.day <= 7:
        sends.append((f"CMP-WHATSAPP-{tag}", "whatsapp", f"WhatsApp novedades {d:%B %Y}"))
    if d.weekday() == 5:
        sends.append((f"CMP-PUSH-{tag}", "push", f"Push fin de semana {d.isoformat()}"))
    special = {
        black_friday(d.year): "Black Friday",
        date(d.year, 12, 1): "Navidad",
        date(d.year, 1, 7): "Rebajas de invierno",
        date(d.year, 7, 1): "Rebajas de verano",
    }
    if d in special:
        for ch in ("email", "sms", "push"):
            sends.append((f"CMP-{ch.upper()}-{tag}-SPECIAL", ch, f"{special[d]} {d.year}"))
    return sends


def paid_campaign_id(channel: str, d: date) -> str:
    return f"CMP-{channel.upper()}-{d:%Y%m}"


def _campaign_doc(cid, name, channel, start, end, budget) -> tuple[str, dict]:
    visible = (start - timedelta(days=3)).isoformat() + "T09:00:00Z"
    return visible, {
        "id": cid,
        "name": name,
        "channel": channel,
        "utm_campaign": cid.lower().replace("cmp-", ""),
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "budget": round(budget, 2),
        "updated_at": visible,
    }


def emit_campaigns(state: WorldState, days: list[date], batch: Batch, first_window: bool) -> None:
    customers = state.args["customers"]
    if first_window:
        for ch, cid in RECOVERY_CAMPAIGNS.items():
            vis, doc = _campaign_doc(
                cid, f"Carrito abandonado ({ch})", ch, state.start, date(2099, 12, 31), 0.0
            )
            batch.add("crm", "campaigns", vis, cid, doc)
    months = sorted({d.replace(day=1) for d in days})
    for m in months:
        nxt = (m + timedelta(days=32)).replace(day=1)
        for ch in PAID_CHANNELS:
            per_day = PAID_ECONOMICS[ch][0] * customers / 1000
            budget = per_day * (nxt - m).days * 1.2
            vis, doc = _campaign_doc(
                paid_campaign_id(ch, m), f"{ch} {m:%Y-%m}", ch, m, nxt - timedelta(days=1), budget
            )
            batch.add("crm", "campaigns", vis, doc["id"], doc)
    for d in days:
        for cid, ch, name in owned_sends(d):
            vis, doc = _campaign_doc(cid, name, ch, d, d, 0.0)
            batch.add("crm", "campaigns", vis, cid, doc)


def emit_spend(state: WorldState, days: list[date], rng: np.random.Generator, batch: Batch) -> None:
    customers = state.args["customers"]
    for d in days:
        rows = []
        season = season_name(d)
        for ch in PAID_CHANNELS:
            base, cpm, ctr = PAID_ECONOMICS[ch]
            camps = [paid_campaign_id(ch, d)]
            if season and ch in ("paid_search", "paid_social"):
                camps.append(f"CMP-{ch.upper()}-{season.upper()}-{d.year}")
            for k, cid in enumerate(camps):
                share = 1.0 if k == 0 else 0.6
                spend = base * customers / 1000 * demand_factor(d) * share
                spend *= float(rng.lognormal(0, 0.15))
                impressions = int(spend / cpm * 1000)
                clicks = int(rng.binomial(impressions, ctr))
                rows.append((ch, cid, round(spend, 2), impressions, clicks))
        for ch, cid, spend, imp, clk in sorted(rows):
            key = f"{d.isoformat()}|{ch}|{cid}"
            doc = {
                "date": d.isoformat(),
                "channel": ch,
                "campaign_id": cid,
                "spend": spend,
                "impressions": imp,
                "clicks": clk,
                "currency": "EUR",
            }
            batch.add("marketing", "spend", d.isoformat(), key, doc)


def emit_deliveries(
    state: WorldState, days: list[date], rng: np.random.Generator, batch: Batch
) -> tuple[list[tuple[int, np.datetime64, str]], list[tuple[int, np.datetime64, str, str]]]:
    """Send every owned campaign of ``days`` to the consenting contacts.

    Returns the unsubscribes (person, when, channel) and the clicks (person, when, channel,
    campaign utm) that the rest of the simulation turns into consent changes and visits.
    """
    people = state.people
    contact = people["contact_id"].to_numpy()
    signup = people["signup_at"].to_numpy().astype("datetime64[s]")
    archived = people["archived_at"].to_numpy().astype("datetime64[s]")
    # Arrow copies of the identity columns: each send takes its rows by index, no objects.
    arrow = {c: state.arrow_column(c) for c in ("person_id", "contact_id", "anon_app",
                                                 "crm_email", "crm_mobile")}  # fmt: skip
    unsubs: list[tuple[int, np.datetime64, str]] = []
    clicks: list[tuple[int, np.datetime64, str, str]] = []
    for d in days:
        for cid, ch, _ in owned_sends(d):
            consent = people[f"consent_{ch}"].to_numpy()
            send_at = day_start(d) + np.timedelta64(8 * 3600, "s")
            ok = (
                present(contact)
                & consent
                & (signup < send_at)
                & (np.isnat(archived) | (archived > send_at))
            )
            who = np.flatnonzero(ok)
            m = who.size
            if m == 0:
                continue
            source = {"push": "anon_app", "email": "crm_email"}.get(ch, "crm_mobile")
            recipient = arrow[source].take(who)
            sent = send_at + rng.integers(0, 7200, m).astype("timedelta64[s]")
            bounced = (rng.random(m) < 0.015) | (
                _typo_domain(recipient) if ch == "email" else False
            )
            delivered = ~bounced
            opened = delivered & (rng.random(m) < OPEN_RATE[ch])
            clicked = (opened if ch != "sms" else delivered) & (rng.random(m) < CLICK_RATE[ch])
            unsub = delivered & (rng.random(m) < (0.004 if ch != "push" else 0.0))
            t_deliv = sent + rng.integers(2, 120, m).astype("timedelta64[s]")
            t_open = t_deliv + (rng.lognormal(7.5, 1.3, m)).astype("timedelta64[s]")
            t_click = t_open + rng.integers(3, 90, m).astype("timedelta64[s]")
            t_unsub = t_open + rng.integers(20, 300, m).astype("timedelta64[s]")
            delivery_ids = padded_ids("DL", state.next_ids("delivery", m), 10)
            stamps = {
                "sent": (np.ones(m, bool), sent),
                "delivered": (delivered, t_deliv),
                "bounced": (bounced, sent + np.timedelta64(30, "s")),
                "opened": (opened, t_open),
                "clicked": (clicked, t_click),
                "unsubscribed": (unsub, t_unsub),
            }
            for etype, (mask, ts) in stamps.items():
                ks = np.flatnonzero(mask)
                if ks.size:
                    batch.add_table(
                        "messaging", "deliveries",
                        _delivery_table(delivery_ids.take(ks), etype, cid, ch,
                                        arrow["contact_id"].take(who[ks]), recipient.take(ks),
                                        ts[ks], arrow["person_id"].take(who[ks])),
                    )  # fmt: skip
            utm = cid.lower().replace("cmp-", "")
            unsubs += [(int(who[k]), t_unsub[k], ch) for k in np.flatnonzero(unsub)]
            if ch != "push":
                # later sends of this window must already respect the opt-out
                people.loc[people.index[who[unsub]], f"consent_{ch}"] = False
            clicks += [(int(who[k]), t_click[k], ch, utm) for k in np.flatnonzero(clicked)]
    return unsubs, clicks


def _typo_domain(recipients: pa.Array) -> np.ndarray:
    """Addresses whose domain is not a real mail provider (a typo): they bounce."""
    address = pc.utf8_lower(pc.utf8_trim_whitespace(recipients))
    domain = pc.replace_substring_regex(address, "^.*@", "")  # after the last @
    return ~pc.is_in(domain, pa.array(sorted(_GOOD))).to_numpy(zero_copy_only=False)


def _delivery_table(delivery_ids, etype, campaign_id, channel, contacts, recipients, ts, persons):
    n = len(delivery_ids)
    at = iso_utc(ts)
    event_id = pc.binary_join_element_wise(delivery_ids, f"-{etype}", "")
    return pa.table(
        {
            "_dt": pc.utf8_slice_codeunits(at, 0, 10),
            "_key": event_id,
            "_person": persons,
            "event_id": event_id,
            "delivery_id": delivery_ids,
            "campaign_id": constant(campaign_id, n),
            "channel": constant(channel, n),
            "contact_id": contacts,
            "recipient": recipients,
            "event_type": constant(etype, n),
            "occurred_at": at,
        }
    )


def recovery_delivery(
    state: WorldState,
    batch: Batch,
    person: int,
    when: np.datetime64,
    channel: str,
    clicked: bool,
    people: dict[str, np.ndarray],
) -> None:
    """The abandoned-cart reminder that brought a shopper back (``people``: column arrays)."""
    did = f"DL{state.next_ids('delivery', 1)[0]:010d}"
    recipient = people["crm_email"][person] if channel == "email" else people["crm_mobile"][person]
    if recipient is None:
        recipient = people["email"][person] if channel == "email" else people["phone"][person]
    events = [("sent", when), ("delivered", when + np.timedelta64(20, "s"))]
    if clicked:
        if channel == "email":
            events.append(("opened", when + np.timedelta64(1800, "s")))
        events.append(("clicked", when + np.timedelta64(1900, "s")))
    for etype, ts in events:
        iso = iso_one(ts)
        doc = {
            "event_id": f"{did}-{etype}",
            "delivery_id": did,
            "campaign_id": RECOVERY_CAMPAIGNS[channel],
            "channel": channel,
            "contact_id": people["contact_id"][person],
            "recipient": recipient,
            "event_type": etype,
            "occurred_at": iso,
        }
        batch.add(
            "messaging",
            "deliveries",
            iso[:10],
            doc["event_id"],
            doc,
            people["person_id"][person],
        )


_GOOD = {
    "gmail.com",
    "hotmail.com",
    "outlook.es",
    "yahoo.es",
    "icloud.com",
    "hotmail.es",
    "telefonica.net",
    "protonmail.com",
}

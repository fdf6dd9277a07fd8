"""One simulation window: everything the world does between two dates, as record versions.

The steps run in causal order: deletion requests, campaigns and their deliveries, browsing
and abandoned checkouts, purchases (including those recovered by reminders or prompted by a
campaign click), the sessions behind them, service conversations, CRM updates and stock.
"""

from __future__ import annotations

import logging
from datetime import date

import numpy as np
import pandas as pd

from .catalog import PAID_CHANNELS, PURCHASE_CHANNELS, UTM_FOR_PAID
from .commerce import Intents, build_purchases, store_hours
from .crm import emit_people_records
from .inventory import emit_inventory
from .marketing import (
    emit_campaigns,
    emit_deliveries,
    emit_spend,
    paid_campaign_id,
    recovery_delivery,
)
from .mess import mess_emails, mess_phones
from .params import WorldParams
from .records import Batch
from .seasons import demand_factor, store_weekday_factor
from .service import emit_conversations
from .sessions import SessionSpecs, render_sessions
from .state import WorldState
from .timeutil import DAY, day_start, iso_one, iso_z, offsets_for, present

log = logging.getLogger(__name__)

# Share of online orders and visits per local hour: lunch break and evenings on the sofa.
ONLINE_HOURS = np.concatenate(
    [
        [0.5, 0.3, 0.2, 0.1, 0.1, 0.2, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0],
        [3.5, 3.5, 3, 3, 3, 3.2, 3.5, 4, 4.5, 5, 4, 2],
    ]
)
ONLINE_HOURS = ONLINE_HOURS / ONLINE_HOURS.sum()
MIN = np.timedelta64(60, "s")


def _online_times(rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    local_s = rng.choice(24, size=days.size, p=ONLINE_HOURS) * 3600 + rng.integers(
        0, 3600, days.size
    )
    return (
        days.astype("datetime64[s]")
        + local_s.astype("timedelta64[s]")
        - offsets_for(days).astype("timedelta64[s]")
    )


def _active(state: WorldState, d: date) -> np.ndarray:
    t0 = day_start(d)
    signup = state.people["signup_at"].to_numpy().astype("datetime64[s]")
    churn = state.people["churn_at"].to_numpy().astype("datetime64[s]")
    return np.flatnonzero((signup < t0 + DAY) & (churn > t0))


def _paid_utm(rng: np.random.Generator, ts: np.ndarray) -> np.ndarray:
    out = np.empty(ts.size, dtype=object)
    u = rng.random(ts.size)
    ch = rng.choice(PAID_CHANNELS, size=ts.size, p=[0.45, 0.3, 0.1, 0.15])
    for i in range(ts.size):
        if u[i] < 0.25:
            src, med = UTM_FOR_PAID[ch[i]]
            d = ts[i].astype("datetime64[D]").astype(object)
            out[i] = (src, med, paid_campaign_id(ch[i], d).lower().replace("cmp-", ""))
        elif u[i] < 0.37:
            out[i] = ("google", "organic", None)
    return out


class Window:
    def __init__(self, state: WorldState, params: WorldParams, days: list[date], seed: int):
        self.state, self.params, self.days = state, params, days
        self.window_index = state.counters["window"]
        self.rng = np.random.default_rng([seed, self.window_index, 7])
        self.batch = Batch()
        self.sessions = SessionSpecs()
        self.person_events: list[tuple[np.datetime64, int, str, object]] = []
        self.scale = float(state.args.get("scale", 1.0))
        # Identity columns never change within a window: index arrays, not the DataFrame.
        self.cols = {
            c: state.people[c].to_numpy()
            for c in ("person_id", "email", "phone", "contact_id", "crm_email", "crm_mobile",
                      "anon_web", "anon_app", "shop_customer_id")
        }  # fmt: skip
        self.t_start = day_start(days[0])
        self.t_end = day_start(days[-1]) + DAY

    # ------------------------------------------------------------------------------------
    def run(self, first_window: bool) -> tuple[Batch, dict[str, pd.DataFrame]]:
        st, rng = self.state, self.rng
        self._archives()
        emit_campaigns(st, self.days, self.batch, first_window)
        emit_spend(st, self.days, rng, self.batch)
        unsubs, clicks = emit_deliveries(st, self.days, rng, self.batch)
        self.person_events += [(t, p, "unsubscribe", ch) for p, t, ch in unsubs]
        click_intents = self._clicks(clicks)
        recovered = self._browsing()
        base = self._base_purchases()
        intents = Intents(
            *(
                np.concatenate([getattr(x, f) for x in (base, click_intents, recovered)])
                for f in Intents.__dataclass_fields__
            )
        )
        purchases, ledgers = build_purchases(st, self.params, intents, rng, self.batch)
        log.info(
            "window %s..%s: %d purchases (%d in store)",
            self.days[0],
            self.days[-1],
            purchases.key.size,
            int((purchases.channel == "store").sum()),
        )
        self._recovered_checkouts(purchases)
        self._order_sessions(purchases)
        self._research_sessions(purchases)
        emit_conversations(st, self.params, purchases, rng, self.batch)
        self._person_records(purchases, first_window)
        emit_inventory(st, self.days, ledgers.pop("sales"), rng, self.batch)
        n_events = render_sessions(
            st, self.sessions, rng, self.params.behaviour.late_event_share, self.batch
        )
        log.info("window %s..%s: %d clickstream events", self.days[0], self.days[-1], n_events)
        return self.batch, ledgers

    # ------------------------------------------------------------------------------------
    def _archives(self) -> None:
        """Deletion requests: mostly people who stopped buying; they leave CRM and the shop."""
        people, rng = self.state.people, self.rng
        has_contact = people["contact_id"].notna().to_numpy()
        archived = people["archived_at"].to_numpy().astype("datetime64[s]")
        signup = people["signup_at"].to_numpy().astype("datetime64[s]")
        eligible = np.flatnonzero(has_contact & np.isnat(archived) & (signup < self.t_start))
        n = rng.binomial(
            eligible.size, min(1.0, self.params.behaviour.archive_per_day * len(self.days))
        )
        if n == 0:
            return
        who = rng.choice(eligible, size=n, replace=False)
        when = self.t_start + (rng.uniform(0, len(self.days), n) * 86400).astype("timedelta64[s]")
        churn = people["churn_at"].to_numpy().astype("datetime64[s]")
        people.loc[who, "churn_at"] = np.minimum(churn[who], when)
        self.person_events += [(w, int(p), "archive", None) for p, w in zip(who, when, strict=True)]

    def _clicks(self, clicks) -> Intents:
        """Campaign clicks: a visit with the campaign's UTM; one in ten buys right away."""
        rng = self.rng
        buy = rng.random(len(clicks)) < 0.10
        persons, ts, chans, utms = [], [], [], []
        for (p, t, ch, utm), b in zip(clicks, buy, strict=True):
            platform = "app" if ch == "push" and self.cols["anon_app"][p] is not None else "web"
            tag = ({"email": "newsletter"}.get(ch, ch), ch, utm)
            if b:
                persons.append(p)
                ts.append(t + rng.integers(2, 40) * MIN)
                chans.append(platform)
                utms.append(tag)
            else:
                anon = self.cols["anon_app"][p] if platform == "app" else self.cols["anon_web"][p]
                skus = list(rng.choice(len(self.state.products), size=int(rng.integers(1, 3))))
                self.sessions.add(p, platform, anon, t + 20, None, tag, skus, False, False)
        n = len(persons)
        utm_arr = np.empty(n, dtype=object)
        utm_arr[:] = utms if n else []
        return Intents(
            person=np.array(persons, dtype=np.int64),
            ts=np.array(ts, dtype="datetime64[s]"),
            channel=np.array(chans, dtype=object),
            first_sku=np.full(n, -1),
            checkout_id=np.full(n, None, dtype=object),
            utm=utm_arr,
        )

    def _browsing(self) -> Intents:
        """Visits that buy nothing, some leaving a checkout behind that a reminder recovers."""
        st, rng, beh = self.state, self.rng, self.params.behaviour
        people = st.people
        rate = people["browse_rate"].to_numpy() * self.scale
        w_web, w_app = people["w_web"].to_numpy(), people["w_app"].to_numpy()
        anon_web, anon_web2 = people["anon_web"].to_numpy(), people["anon_web2"].to_numpy()
        anon_app, account = people["anon_app"].to_numpy(), people["shop_customer_id"].to_numpy()
        prices = st.products["price"].to_numpy()
        pop = st.products["popularity"].to_numpy()
        rec_person, rec_ts, rec_ch, rec_sku, rec_checkout = [], [], [], [], []
        checkouts = []
        for d in self.days:
            act = _active(st, d)
            n = rng.poisson(rate[act] * demand_factor(d))
            who = np.repeat(act, n)
            m = who.size
            if m == 0:
                continue
            ts = _online_times(rng, np.full(m, np.datetime64(d, "D")))
            app = present(anon_app[who]) & (
                rng.random(m) * (w_web[who] + w_app[who] + 1e-9) < w_app[who]
            )
            u = rng.random((m, 6))
            n_sku = rng.integers(1, 5, m)
            cart = u[:, 0] < 0.35
            checkout = cart & (u[:, 1] < beh.abandoned_checkout_share)
            login = present(account[who]) & (u[:, 2] < 0.45)
            second = present(anon_web2[who]) & (u[:, 3] < 0.5)
            anon = np.where(app, anon_app[who], np.where(second, anon_web2[who], anon_web[who]))
            drawn = rng.choice(len(pop), size=int(n_sku.sum()), p=pop)
            skus = np.full((m, 4), -1, dtype=np.int64)
            rows = np.repeat(np.arange(m), n_sku)
            cols = np.arange(rows.size) - np.repeat(np.cumsum(n_sku) - n_sku, n_sku)
            skus[rows, cols] = drawn
            user = np.where(login, account[who], None)
            platform = np.where(app, "app", "web").astype(object)
            self.sessions.add_many(
                person=who, platform=platform, anon_id=anon, start=ts, user_id=user,
                utm=np.full(m, None, dtype=object), skus=skus, cart=cart, checkout=checkout,
                order_id=np.full(m, None, dtype=object),
                order_ts=np.full(m, np.datetime64("NaT"), dtype="datetime64[s]"),
            )  # fmt: skip
            # Those who left before typing an email are a checkout the shop never knew of.
            known = checkout & ~((user == None) & (u[:, 4] > 0.7))  # noqa: E711
            for k in np.flatnonzero(known):
                row = skus[k]
                checkouts.append(
                    (int(who[k]), ts[k] + 5 * MIN, platform[k], user[k], row[row >= 0].tolist())
                )
        cids = self.state.next_ids("checkout", len(checkouts))
        emails = mess_emails(
            np.array([self.cols["email"][c[0]] for c in checkouts], dtype=object),
            rng,
            self.params.mess.email_variant,
        )
        phones = mess_phones(
            np.array([self.cols["phone"][c[0]] for c in checkouts], dtype=object),
            rng,
            self.params.mess.phone_not_e164,
        )
        recover = rng.random(len(checkouts)) < beh.checkout_recovery_share
        self.checkout_docs = {}
        for k, (p, t, plat, user, skus) in enumerate(checkouts):
            cid = f"{4_400_000_000 + cids[k]}"
            iso = iso_one(t)
            doc = {
                "id": cid,
                "customer_id": user,
                "email": emails[k],
                "phone": phones[k] if rng.random() < 0.4 else None,
                "source_name": plat,
                "total_price": f"{prices[skus].sum():.2f}",
                "created_at": iso,
                "updated_at": iso,
                "recovered_order_id": None,
            }
            self.checkout_docs[cid] = doc
            pid = self.cols["person_id"][p]
            self.batch.add("ecommerce", "checkouts", iso, cid, doc, pid)
            if recover[k]:
                ch = "email" if rng.random() < 0.8 else "sms"
                sent = t + int(rng.integers(60, 360)) * MIN
                if self.cols["contact_id"][p] is not None:
                    recovery_delivery(self.state, self.batch, p, sent, ch, True, self.cols)
                rec_person.append(p)
                rec_ts.append(sent + int(rng.integers(30, 1800)) * MIN)
                rec_ch.append(plat)
                rec_sku.append(skus[0])
                rec_checkout.append(cid)
        n = len(rec_person)
        utm = np.empty(n, dtype=object)
        for k in range(n):
            utm[k] = ("recovery", "email", "carrito_abandonado")
        return Intents(
            person=np.array(rec_person, dtype=np.int64),
            ts=np.array(rec_ts, dtype="datetime64[s]"),
            channel=np.array(rec_ch, dtype=object),
            first_sku=np.array(rec_sku, dtype=np.int64),
            checkout_id=np.array(rec_checkout, dtype=object),
            utm=utm,
        )

    def _base_purchases(self) -> Intents:
        st, rng = self.state, self.rng
        people = st.people
        rate = people["purchase_rate"].to_numpy() * self.scale
        weights = people[[f"w_{c}" for c in PURCHASE_CHANNELS]].to_numpy()
        signup = people["signup_at"].to_numpy().astype("datetime64[s]")
        chans = np.array(PURCHASE_CHANNELS, dtype=object)
        persons, tss, channels = [], [], []
        for d in self.days:
            act = _active(st, d)
            # Shops close on Sundays and fill up on Saturdays; online demand does not care.
            w = weights[act].copy()
            w[:, 0] *= store_weekday_factor(d)
            n = rng.poisson(rate[act] * w.sum(axis=1) * demand_factor(d))
            who = np.repeat(act, n)
            cw = np.repeat(w, n, axis=0).cumsum(axis=1)
            pick = (rng.random(who.size)[:, None] * cw[:, -1:] > cw).sum(axis=1)
            ch = chans[np.minimum(pick, len(chans) - 1)]
            dd = np.full(who.size, np.datetime64(d, "D"))
            ts = np.where(ch == "store", store_hours(rng, dd), _online_times(rng, dd))
            ok = ts >= signup[who]
            persons.append(who[ok])
            tss.append(ts[ok])
            channels.append(ch[ok])
        person = np.concatenate(persons) if persons else np.zeros(0, np.int64)
        ts = np.concatenate(tss).astype("datetime64[s]") if tss else np.zeros(0, "datetime64[s]")
        channel = np.concatenate(channels) if channels else np.zeros(0, object)
        utm = np.where(np.isin(channel, ["web", "app"]), _paid_utm(rng, ts), None)
        return Intents(
            person=person,
            ts=ts,
            channel=channel,
            first_sku=np.full(person.size, -1),
            checkout_id=np.full(person.size, None, dtype=object),
            utm=utm,
        )

    # ------------------------------------------------------------------------------------
    def _recovered_checkouts(self, purchases) -> None:
        iso = iso_z(purchases.ts)
        pids = self.state.people["person_id"].to_numpy()
        for k in np.flatnonzero(present(purchases.checkout_id)):
            cid = purchases.checkout_id[k]
            doc = {
                **self.checkout_docs[cid],
                "recovered_order_id": purchases.key[k],
                "updated_at": iso[k],
            }
            self.batch.add("ecommerce", "checkouts", iso[k], cid, doc, pids[purchases.person[k]])

    def _order_sessions(self, purchases) -> None:
        for k in np.flatnonzero(np.isin(purchases.channel, ["web", "app"])):
            p = int(purchases.person[k])
            self.sessions.add(
                p,
                purchases.channel[k],
                purchases.anon_id[k],
                purchases.ts[k],
                purchases.customer_id[k],
                purchases.utm[k],
                purchases.skus[k][:4],
                True,
                True,
                order_id=purchases.key[k],
                order_ts=purchases.ts[k],
            )

    def _research_sessions(self, purchases) -> None:
        """Cross and omni shoppers look a product up on the app or web before buying in store."""
        people, rng = self.state.people, self.rng
        seg = people["segment"].to_numpy()[purchases.person]
        pick = np.flatnonzero(
            (purchases.channel == "store")
            & np.isin(seg, ["cross", "omni"])
            & (rng.random(purchases.key.size) < self.params.behaviour.store_research_share)
        )
        lead = (rng.uniform(2, 72, pick.size) * 3600).astype("timedelta64[s]")
        u = rng.random((pick.size, 2))
        for j, k in enumerate(pick):
            p = int(purchases.person[k])
            app = self.cols["anon_app"][p]
            platform, anon = ("app", app) if app is not None else ("web", self.cols["anon_web"][p])
            start = max(purchases.ts[k] - lead[j], self.t_start)
            account = self.cols["shop_customer_id"][p]
            user = account if account is not None and u[j, 0] < 0.5 else None
            self.sessions.add(
                p,
                platform,
                anon,
                start,
                user,
                None,
                purchases.skus[k][:2],
                bool(u[j, 1] < 0.3),
                False,
            )

    def _person_records(self, purchases, first_window: bool) -> None:
        people = self.state.people
        signup = people["signup_at"].to_numpy().astype("datetime64[s]")
        in_window = (signup >= self.t_start) & (signup < self.t_end)
        created = in_window | ((signup < self.t_start) if first_window else False)
        ev = self.person_events
        ev += [(signup[p], int(p), "create", None) for p in np.flatnonzero(created)]
        dup_at = signup + (people["dup_offset_days"].to_numpy() * 86400).astype("timedelta64[s]")
        has_dup = people["dup_contact_id"].notna().to_numpy()
        dup_new = has_dup & (dup_at < self.t_end) & ((dup_at >= self.t_start) | first_window)
        ev += [(dup_at[p], int(p), "create_dup", None) for p in np.flatnonzero(dup_new)]
        # First purchase turns a lead into a customer.
        lead = people["lifecycle"].to_numpy() == "lead"
        seen: set[int] = set()
        for k in np.argsort(purchases.ts, kind="stable"):
            p = int(purchases.person[k])
            if lead[p] and p not in seen:
                seen.add(p)
                ev.append((purchases.ts[k], p, "customer", None))
        # Loyalty points: one balance update per member and month they used the card.
        loyalty = people["loyalty_id"].to_numpy()
        points = people["loyalty_points"].to_numpy().astype(np.int64).copy()
        store = np.flatnonzero((purchases.channel == "store") & present(loyalty[purchases.person]))
        if store.size:
            df = pd.DataFrame(
                {
                    "p": purchases.person[store],
                    "ts": purchases.ts[store],
                    "pts": np.floor(purchases.total[store]).astype(np.int64),
                    "month": purchases.ts[store].astype("datetime64[M]").astype(str),
                }
            )
            agg = df.groupby(["p", "month"], sort=True).agg(ts=("ts", "max"), pts=("pts", "sum"))
            who = agg.index.get_level_values("p").to_numpy()
            when = agg["ts"].to_numpy().astype("datetime64[s]")
            for p, t, pts in zip(who.tolist(), when, agg["pts"].tolist(), strict=True):
                points[p] += pts
                ev.append((t, p, "points", int(points[p])))
        emit_people_records(self.state, ev, self.batch)

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
import pyarrow as pa

from .catalog import PAID_CHANNELS, PURCHASE_CHANNELS, UTM_FOR_PAID
from .columns import iso_utc, money, strings
from .commerce import Intents, build_purchases, store_hours
from .crm import PersonEvents, emit_people_records
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
from .timeutil import DAY, day_start, offsets_for, present

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


def _no_intents() -> Intents:
    return Intents(
        person=np.zeros(0, np.int64),
        ts=np.zeros(0, "datetime64[s]"),
        channel=np.zeros(0, object),
        first_sku=np.zeros(0, np.int64),
        checkout_id=np.zeros(0, object),
        utm=np.zeros(0, object),
    )


def _paid_utm(rng: np.random.Generator, ts: np.ndarray) -> np.ndarray:
    out = np.empty(ts.size, dtype=object)
    u = rng.random(ts.size)
    ch = rng.choice(PAID_CHANNELS, size=ts.size, p=[0.45, 0.3, 0.1, 0.15])
    month = ts.astype("datetime64[M]")
    paid = u < 0.25
    # One tag per channel and month, shared by its visits: no per-visit formatting.
    for c in PAID_CHANNELS:
        mine = paid & (ch == c)
        for m in np.unique(month[mine]):
            src, med = UTM_FOR_PAID[c]
            campaign = paid_campaign_id(c, m.astype("datetime64[D]").astype(object))
            tag = (src, med, campaign.lower().replace("cmp-", ""))
            for i in np.flatnonzero(mine & (month == m)).tolist():
                out[i] = tag
    organic = ("google", "organic", None)
    for i in np.flatnonzero(~paid & (u < 0.37)).tolist():
        out[i] = organic
    return out


class Window:
    def __init__(self, state: WorldState, params: WorldParams, days: list[date], seed: int):
        self.state, self.params, self.days = state, params, days
        self.window_index = state.counters["window"]
        self.rng = np.random.default_rng([seed, self.window_index, 7])
        self.batch = Batch()
        self.sessions = SessionSpecs()
        self.person_events = PersonEvents()
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
    def run(
        self, first_window: bool, last_window: bool = True
    ) -> tuple[Batch, dict[str, pd.DataFrame]]:
        st, rng = self.state, self.rng
        self._archives()
        emit_campaigns(st, self.days, self.batch, first_window)
        emit_spend(st, self.days, rng, self.batch)
        unsubs, clicks = emit_deliveries(st, self.days, rng, self.batch)
        if unsubs:
            who, when, chan = zip(*unsubs, strict=True)
            self.person_events.add(np.array(when), np.array(who), "unsubscribe", channel=chan)
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
        emit_inventory(st, self.days, ledgers.pop("sales"), rng, self.batch, last_window)
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
        self.person_events.add(when, who, "archive")

    def _clicks(self, clicks) -> Intents:
        """Campaign clicks: a visit with the campaign's UTM; one in ten buys right away."""
        rng = self.rng
        m = len(clicks)
        if not m:
            return _no_intents()
        p = np.array([c[0] for c in clicks], dtype=np.int64)
        t = np.array([c[1] for c in clicks], dtype="datetime64[s]")
        ch = np.array([c[2] for c in clicks], dtype=object)
        tag = np.empty(m, dtype=object)
        tag[:] = [({"email": "newsletter"}.get(c[2], c[2]), c[2], c[3]) for c in clicks]
        buy = rng.random(m) < 0.10
        app = (ch == "push") & present(self.cols["anon_app"][p])
        platform = np.where(app, "app", "web").astype(object)
        b = np.flatnonzero(buy)
        v = np.flatnonzero(~buy)
        two = rng.random(v.size) < 0.5
        skus = np.full((v.size, 4), -1, dtype=np.int64)
        skus[:, :2] = rng.integers(0, len(self.state.products), (v.size, 2))
        skus[~two, 1] = -1
        self.sessions.add_many(
            person=p[v], platform=platform[v],
            anon_id=np.where(app, self.cols["anon_app"][p], self.cols["anon_web"][p])[v],
            start=t[v] + 20, user_id=np.full(v.size, None, dtype=object), utm=tag[v], skus=skus,
            cart=np.zeros(v.size, bool), checkout=np.zeros(v.size, bool),
            order_id=np.full(v.size, None, dtype=object),
            order_ts=np.full(v.size, np.datetime64("NaT"), dtype="datetime64[s]"),
        )  # fmt: skip
        return Intents(
            person=p[b],
            ts=t[b] + rng.integers(2, 40, b.size) * MIN,
            channel=platform[b],
            first_sku=np.full(b.size, -1),
            checkout_id=np.full(b.size, None, dtype=object),
            utm=tag[b],
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
            known = np.flatnonzero(checkout & ~((user == None) & (u[:, 4] > 0.7)))  # noqa: E711
            checkouts.append((who[known], ts[known] + 5 * MIN, platform[known], user[known],
                              skus[known]))  # fmt: skip
        if not checkouts:
            self.checkouts = None
            return _no_intents()
        who, t, platform, user, skus = (np.concatenate(c) for c in zip(*checkouts, strict=True))
        return self._checkouts(who, t, platform, user, skus, prices)

    def _checkouts(self, who, t, platform, user, skus, prices) -> Intents:
        """Abandoned checkouts the shop recorded; a reminder brings some shoppers back."""
        rng, beh, m = self.rng, self.params.behaviour, who.size
        cids = (4_400_000_000 + self.state.next_ids("checkout", m)).astype(str).astype(object)
        emails = mess_emails(self.cols["email"][who], rng, self.params.mess.email_variant)
        phones = mess_phones(self.cols["phone"][who], rng, self.params.mess.phone_not_e164)
        phones = np.where(rng.random(m) < 0.4, phones, None)
        recover = rng.random(m) < beh.checkout_recovery_share
        iso = iso_utc(t)
        total = np.where(skus >= 0, prices[np.maximum(skus, 0)], 0.0).sum(axis=1)
        self.checkouts = pa.table(
            {
                "_dt": iso,
                "_key": strings(cids),
                "_person": strings(self.cols["person_id"][who]),
                "id": strings(cids),
                "customer_id": strings(user),
                "email": strings(emails),
                "phone": strings(phones),
                "source_name": strings(platform),
                "total_price": strings(money(total)),
                "created_at": iso,
                "updated_at": iso,
                "recovered_order_id": pa.nulls(m, pa.string()),
            }
        )
        self.checkout_row = dict(zip(cids.tolist(), range(m), strict=True))
        self.batch.add_table("ecommerce", "checkouts", self.checkouts)
        r = np.flatnonzero(recover)
        by_email = rng.random(r.size) < 0.8
        sent = t[r] + rng.integers(60, 360, r.size) * MIN
        for k, p in enumerate(who[r].tolist()):
            if self.cols["contact_id"][p] is not None:
                ch = "email" if by_email[k] else "sms"
                recovery_delivery(self.state, self.batch, p, sent[k], ch, True, self.cols)
        utm = np.empty(r.size, dtype=object)
        utm[:] = [("recovery", "email", "carrito_abandonado")] * r.size
        return Intents(
            person=who[r],
            ts=sent + rng.integers(30, 1800, r.size) * MIN,
            channel=platform[r],
            first_sku=skus[r, 0],
            checkout_id=cids[r],
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
        # Channel weights as columns: a day's draw needs the row sums of everyone active but
        # the weights themselves only of the few who buy.
        wcols = [weights[:, k].copy() for k in range(weights.shape[1])]
        for d in self.days:
            act = _active(st, d)
            # Shops close on Sundays and fill up on Saturdays; online demand does not care.
            factor = store_weekday_factor(d)
            total = wcols[0][act] * factor
            for col in wcols[1:]:
                total += col[act]  # the same additions, in the same order, as a row sum
            n = rng.poisson(rate[act] * total * demand_factor(d))
            who = np.repeat(act, n)
            w = weights[who]
            w[:, 0] *= factor
            cw = w.cumsum(axis=1)
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
        """The checkouts a reminder recovered now point at their order."""
        k = np.flatnonzero(present(purchases.checkout_id))
        if not k.size:
            return
        rows = [self.checkout_row[c] for c in purchases.checkout_id[k].tolist()]
        table = self.checkouts.take(pa.array(rows, pa.int64()))
        at = iso_utc(purchases.ts[k])
        for name, col in (("_dt", at), ("updated_at", at),
                          ("recovered_order_id", strings(purchases.key[k]))):  # fmt: skip
            table = table.set_column(table.schema.get_field_index(name), name, col)
        self.batch.add_table("ecommerce", "checkouts", table)

    def _order_sessions(self, purchases) -> None:
        k = np.flatnonzero(np.isin(purchases.channel, ["web", "app"]))
        self.sessions.add_many(
            person=purchases.person[k], platform=purchases.channel[k].astype(object),
            anon_id=purchases.anon_id[k], start=purchases.ts[k].astype("datetime64[s]"),
            user_id=purchases.customer_id[k], utm=purchases.utm[k], skus=purchases.skus[k],
            cart=np.ones(k.size, bool), checkout=np.ones(k.size, bool),
            order_id=purchases.key[k], order_ts=purchases.ts[k].astype("datetime64[s]"),
        )  # fmt: skip

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
        p = purchases.person[pick]
        app = self.cols["anon_app"][p]
        has_app = present(app)
        account = self.cols["shop_customer_id"][p]
        skus = purchases.skus[pick].copy()
        skus[:, 2:] = -1  # the product or two they came for
        self.sessions.add_many(
            person=p, platform=np.where(has_app, "app", "web").astype(object),
            anon_id=np.where(has_app, app, self.cols["anon_web"][p]),
            start=np.maximum(purchases.ts[pick] - lead, self.t_start).astype("datetime64[s]"),
            user_id=np.where(present(account) & (u[:, 0] < 0.5), account, None),
            utm=np.full(pick.size, None, dtype=object), skus=skus, cart=u[:, 1] < 0.3,
            checkout=np.zeros(pick.size, bool), order_id=np.full(pick.size, None, dtype=object),
            order_ts=np.full(pick.size, np.datetime64("NaT"), dtype="datetime64[s]"),
        )  # fmt: skip

    def _person_records(self, purchases, first_window: bool) -> None:
        people = self.state.people
        ev = self.person_events
        signup = people["signup_at"].to_numpy().astype("datetime64[s]")
        in_window = (signup >= self.t_start) & (signup < self.t_end)
        created = np.flatnonzero(in_window | ((signup < self.t_start) if first_window else False))
        ev.add(signup[created], created, "create")
        dup_at = signup + (people["dup_offset_days"].to_numpy() * 86400).astype("timedelta64[s]")
        has_dup = people["dup_contact_id"].notna().to_numpy()
        dup_new = np.flatnonzero(
            has_dup & (dup_at < self.t_end) & ((dup_at >= self.t_start) | first_window)
        )
        ev.add(dup_at[dup_new], dup_new, "create_dup")
        # First purchase turns a lead into a customer.
        lead = people["lifecycle"].to_numpy() == "lead"
        by_time = np.argsort(purchases.ts, kind="stable")
        buyer = purchases.person[by_time]
        _, first = np.unique(buyer, return_index=True)
        first = np.sort(first)
        first = first[lead[buyer[first]]]
        ev.add(purchases.ts[by_time][first], buyer[first], "customer")
        # Loyalty points: one balance update per member and month they used the card.
        loyalty = people["loyalty_id"].to_numpy()
        points = people["loyalty_points"].to_numpy().astype(np.int64)
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
            balance = points[who] + agg["pts"].groupby(level="p").cumsum().to_numpy()
            ev.add(agg["ts"].to_numpy(), who, "points", points=balance)
        emit_people_records(self.state, ev, self.batch)

"""Customer-service conversations: orders taken over WhatsApp/phone and after-sale contacts."""

from __future__ import annotations

import numpy as np

from .catalog import SERVICE_CHANNELS, SERVICE_TOPICS
from .commerce import Purchases
from .mess import mess_emails, mess_phones
from .params import WorldParams
from .records import Batch
from .state import WorldState
from .timeutil import iso_one, iso_z

# median minutes to first response and to resolution after it, per channel
SPEED = {
    "chat": (1.5, 12.0),
    "whatsapp": (12.0, 45.0),
    "email": (300.0, 900.0),
    "phone": (0.6, 7.0),
    "sms": (40.0, 120.0),
    "social": (60.0, 240.0),
}
CUSTOMER_LINES = {
    "estado_pedido": "Hola, ¿dónde está mi pedido {order}?",
    "devolucion": "Quiero devolver un artículo del pedido {order}.",
    "talla_cambio": "¿Puedo cambiar la talla de lo que compré ({order})?",
    "recogida_tienda": "¿Ya puedo pasar a recoger el pedido {order} en tienda?",
    "factura": "Necesito la factura del pedido {order}.",
    "producto_defectuoso": "El producto del pedido {order} ha llegado defectuoso.",
    "fidelizacion": "No me aparecen los puntos de mi tarjeta tras la compra {order}.",
    "pedido_whatsapp": "Hola, quiero hacer un pedido para recoger en tienda, por favor.",
    "pedido_telefono": "Cliente: Buenos días, llamo para hacer un pedido.",
}
AGENT_LINES = [
    "Gracias por escribirnos, lo revisamos ahora mismo.",
    "Ya está gestionado, le llegará un correo de confirmación.",
    "Lo sentimos mucho, le ofrecemos el cambio sin coste.",
    "Agente: Perfecto, le tomo nota del pedido. ¿Me confirma su teléfono?",
]


def emit_conversations(
    state: WorldState,
    params: WorldParams,
    purchases: Purchases,
    rng: np.random.Generator,
    batch: Batch,
) -> None:
    n = purchases.key.size
    if n == 0:
        return
    channels = np.array([c for c, _ in SERVICE_CHANNELS], dtype=object)
    weights = [w for _, w in SERVICE_CHANNELS]
    remote = np.isin(purchases.channel, ["whatsapp", "phone"])
    after_sale = (~purchases.cancelled) & (rng.random(n) < params.behaviour.service_contact_share)
    pick = np.r_[np.flatnonzero(remote), np.flatnonzero(after_sale & ~remote)]
    is_order_talk = np.r_[np.ones(remote.sum(), bool), np.zeros(pick.size - remote.sum(), bool)]
    m = pick.size
    person = purchases.person[pick]
    ch = np.where(is_order_talk, purchases.channel[pick], rng.choice(channels, size=m, p=weights))
    start = np.where(
        is_order_talk,
        purchases.ts[pick] - np.timedelta64(600, "s"),
        purchases.ts[pick] + (rng.uniform(0.3, 10, m) * 86400).astype("timedelta64[s]"),
    )
    first_med = np.array([SPEED[c][0] for c in ch])
    resolve_med = np.array([SPEED[c][1] for c in ch])
    first = start + (rng.lognormal(np.log(first_med * 60), 0.6)).astype("timedelta64[s]")
    resolved = first + (rng.lognormal(np.log(resolve_med * 60), 0.7)).astype("timedelta64[s]")
    csat = np.where(
        rng.random(m) < 0.55,
        rng.choice([1, 2, 3, 4, 5], size=m, p=[0.06, 0.07, 0.13, 0.34, 0.4]),
        0,
    )
    people = state.people
    email = mess_emails(people["email"].to_numpy()[person], rng, params.mess.email_variant)
    phone = mess_phones(people["phone"].to_numpy()[person], rng, params.mess.phone_not_e164)
    handle = people["social_handle"].to_numpy()[person]
    pids = people["person_id"].to_numpy()[person]
    topics = np.array(SERVICE_TOPICS, dtype=object)[rng.integers(0, len(SERVICE_TOPICS), m)]
    n_msgs = rng.integers(2, 7, m)
    cids = state.next_ids("conversation", m)
    start_iso, first_iso, resolved_iso = iso_z(start), iso_z(first), iso_z(resolved)
    chat_email = rng.random(m) < 0.6
    for k in range(m):
        c = ch[k]
        topic = (
            ("pedido_whatsapp" if c == "whatsapp" else "pedido_telefono")
            if is_order_talk[k]
            else topics[k]
        )
        cid = f"CV{cids[k]:09d}"
        span = (resolved[k] - start[k]).astype(np.int64)
        msgs = []
        for j in range(int(n_msgs[k])):
            at = (
                start[k]
                if j == 0
                else first[k]
                if j == 1
                else start[k] + np.timedelta64(int(span * j / n_msgs[k]), "s")
            )
            sender = "customer" if j % 2 == 0 else "agent"
            body = (
                CUSTOMER_LINES[topic].format(order=purchases.name[pick[k]])
                if sender == "customer"
                else AGENT_LINES[3]
                if is_order_talk[k] and j == 1
                else AGENT_LINES[(k + j) % 3]
            )
            msgs.append(
                {
                    "message_id": f"{cid}-{j + 1}",
                    "sender": sender,
                    "sent_at": iso_one(at),
                    "body": body,
                }
            )
        doc = {
            "conversation_id": cid,
            "channel": c,
            "customer_email": email[k] if c == "email" or (c == "chat" and chat_email[k]) else None,
            "customer_phone": phone[k] if c in ("sms", "whatsapp", "phone") else None,
            "customer_handle": handle[k] if c == "social" else None,
            "topic": topic,
            "started_at": start_iso[k],
            "first_response_at": first_iso[k],
            "resolved_at": resolved_iso[k],
            "csat": int(csat[k]) if csat[k] else None,
            "messages": msgs,
        }
        batch.add("messaging", "conversations", resolved_iso[k][:10], cid, doc, pids[k])

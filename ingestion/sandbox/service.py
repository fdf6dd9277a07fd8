"""Customer-service conversations: orders taken over WhatsApp/phone and after-sale contacts."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .catalog import SERVICE_CHANNELS, SERVICE_TOPICS
from .columns import iso_utc, padded_ids, strings
from .commerce import Purchases
from .mess import mess_emails, mess_phones
from .params import WorldParams
from .records import Batch
from .state import WorldState

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
    chat_email = rng.random(m) < 0.6
    topic = np.where(
        is_order_talk, np.where(ch == "whatsapp", "pedido_whatsapp", "pedido_telefono"), topics
    ).astype(object)
    cid = padded_ids("CV", cids, 9)
    resolved_iso = iso_utc(resolved)

    # Messages alternate customer / agent: the first when the conversation starts, the
    # second at the first response, the rest spread evenly until it is resolved.
    conv = np.repeat(np.arange(m), n_msgs)
    j = np.arange(conv.size) - np.repeat(np.cumsum(n_msgs) - n_msgs, n_msgs)
    start_s = start.astype("datetime64[s]").astype(np.int64)
    span = resolved.astype("datetime64[s]").astype(np.int64) - start_s
    sent = np.where(
        j == 0,
        start_s[conv],
        np.where(j == 1, first.astype("datetime64[s]").astype(np.int64)[conv],
                 start_s[conv] + (span[conv] * j / n_msgs[conv]).astype(np.int64)),
    ).astype("datetime64[s]")  # fmt: skip
    asks = np.array(
        [CUSTOMER_LINES[t].format(order=o) for t, o in zip(topic, purchases.name[pick],
                                                            strict=True)], dtype=object,
    )  # fmt: skip
    agent = np.array(AGENT_LINES, dtype=object)
    body = np.where(
        j % 2 == 0,
        asks[conv],
        np.where(is_order_talk[conv] & (j == 1), agent[3], agent[(conv + j) % 3]),
    )
    messages = pa.StructArray.from_arrays(
        [pc.binary_join_element_wise(cid.take(pa.array(conv)), pa.array((j + 1).astype(str)),
                                     "-"),
         strings(np.where(j % 2 == 0, "customer", "agent").astype(object)),
         iso_utc(sent), strings(body)],
        names=["message_id", "sender", "sent_at", "body"],
    )  # fmt: skip
    phone_ch = np.isin(ch, ["sms", "whatsapp", "phone"])
    table = pa.table(
        {
            "_dt": pc.utf8_slice_codeunits(resolved_iso, 0, 10),
            "_key": cid,
            "_person": strings(pids),
            "conversation_id": cid,
            "channel": strings(ch.astype(object)),
            "customer_email": strings(
                np.where((ch == "email") | ((ch == "chat") & chat_email), email, None)
            ),
            "customer_phone": strings(np.where(phone_ch, phone, None)),
            "customer_handle": strings(np.where(ch == "social", handle, None)),
            "topic": strings(topic),
            "started_at": iso_utc(start),
            "first_response_at": iso_utc(first),
            "resolved_at": resolved_iso,
            "csat": pa.array(np.where(csat > 0, csat, 0), pa.int64(), mask=csat == 0),
            "messages": pa.ListArray.from_arrays(
                pa.array(np.r_[0, np.cumsum(n_msgs)], pa.int32()), messages
            ),
        }
    )
    batch.add_table("messaging", "conversations", table)

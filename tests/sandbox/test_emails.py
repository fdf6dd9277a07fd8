"""Canonical emails: one mailbox per person, except addresses a household shares on purpose."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sandbox_helpers import people

from ingestion.sandbox.mess import mailbox_key
from ingestion.sandbox.people import _emails


def _mailboxes(ppl: pd.DataFrame) -> pd.DataFrame:
    rows = pd.concat(
        [
            ppl[["person_id", "household_id", "shares_identifier", col]].rename(
                columns={col: "email"}
            )
            for col in ("email", "email2")
        ]
    ).dropna(subset=["email"])
    rows["mailbox"] = [mailbox_key(e) for e in rows["email"]]
    return rows


def test_mailbox_key_normalises_like_gmail():
    assert mailbox_key(" Mercedes.Perez+tienda@GoogleMail.com ") == "mercedesperez@gmail.com"
    assert mailbox_key("mercedes.perez@hotmail.com") == "mercedes.perez@hotmail.com"


def test_no_two_people_share_a_mailbox_unless_their_household_does(advanced):
    out, _ = advanced
    ppl = people(out)
    assert len(ppl) > 2000, "advance must have added people to the 2000 generated"
    boxes = _mailboxes(ppl)
    owners = boxes.groupby("mailbox").agg(
        persons=("person_id", "nunique"),
        households=("household_id", "nunique"),
        sharers=("shares_identifier", "sum"),
    )
    shared = owners[owners["persons"] > 1]
    # every shared mailbox is one household's, and all but its owner share it deliberately
    assert (shared["households"] == 1).all()
    assert (shared["sharers"] >= shared["persons"] - 1).all()
    assert len(shared) > 0  # households do share, as the world intends
    # a person's second address is a different mailbox from their first
    both = ppl.dropna(subset=["email2"])
    assert all(
        mailbox_key(a) != mailbox_key(b) for a, b in zip(both["email"], both["email2"], strict=True)
    )


def test_namesakes_in_later_batches_get_other_mailboxes():
    """Fifty Mercedes Pérez now, fifty more later: a hundred distinct mailboxes."""
    rng = np.random.default_rng(1)
    first = np.array(["Mercedes"] * 50, dtype=object)
    last = np.array(["Pérez García"] * 50, dtype=object)
    taken: set[str] = set()
    early = _emails(rng, first, last, np.arange(50), taken)
    late = _emails(rng, first, last, np.arange(50, 100), taken)
    keys = [mailbox_key(e) for e in [*early, *late]]
    assert len(set(keys)) == 100
    # the plain name-based address is still what most people have
    assert sum(e.split("@")[0] in {"mercedes.perez", "mercedesperez"} for e in early) >= 1

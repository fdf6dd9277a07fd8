"""Tunable rates of the simulated world. Defaults are the floor of how messy real data is."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class MessRates:
    """Identity mess, as the share of people or of identifier occurrences affected."""

    household_shared_identifier: float = 0.08  # people sharing a phone/email with household
    email_variant: float = 0.15  # email occurrences not in canonical form
    phone_not_e164: float = 0.40  # phone occurrences not written as +34XXXXXXXXX
    name_variant: float = 0.03  # name occurrences with a typo or nickname
    multiple_emails: float = 0.25  # people with two or more emails
    anonymous_ticket: float = 0.30  # store tickets with no identifier at all
    store_phone_ticket: float = 0.04  # walk-in tickets where staff typed the store's phone
    guest_checkout: float = 0.12  # online orders of account holders placed as guest
    duplicate_contact: float = 0.03  # people with a second CRM contact


@dataclass(frozen=True)
class BehaviourRates:
    """Purchase and churn behaviour per segment (single, multi, cross, omni)."""

    daily_purchase_rate: dict[str, float] = field(
        default_factory=lambda: {"single": 0.014, "multi": 0.021, "cross": 0.027, "omni": 0.045}
    )
    mean_lifetime_days: dict[str, float] = field(
        default_factory=lambda: {"single": 240.0, "multi": 420.0, "cross": 600.0, "omni": 1400.0}
    )
    daily_browse_rate: dict[str, float] = field(
        default_factory=lambda: {"single": 0.010, "multi": 0.025, "cross": 0.040, "omni": 0.060}
    )
    store_research_share: float = 0.45  # cross/omni store purchases researched on app/web first
    abandoned_checkout_share: float = 0.50  # browse sessions with a cart that reach checkout
    checkout_recovery_share: float = 0.25  # abandoned checkouts recovered by email/SMS
    service_contact_share: float = 0.08  # orders followed by a service conversation
    online_refund_share: float = 0.07
    online_return_in_store_share: float = 0.05
    store_return_share: float = 0.05
    cancel_share: float = 0.02
    pickup_never_collected: float = 0.10
    late_event_share: float = 0.03  # clickstream events landing 1-3 partitions late
    new_people_per_day: float = 0.002  # share of the initial population joining each day
    archive_per_day: float = 0.0002  # contacts archived (deletion requests) per day


@dataclass(frozen=True)
class WorldParams:
    mess: MessRates = field(default_factory=MessRates)
    behaviour: BehaviourRates = field(default_factory=BehaviourRates)

    def to_dict(self) -> dict:
        return asdict(self)

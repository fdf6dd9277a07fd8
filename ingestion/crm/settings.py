"""CRM (HubSpot-like) resources and their record contracts (SOURCES.md, CRM)."""

from ingestion.contracts import Contract, boolean, day, integer, money, text, timestamp

API_PATH = "crm/v3/objects"
PAGE_SIZE = 100  # the API maximum
DEFAULT_LAG_DAYS = 3.0

CONTRACTS = {
    "contacts": Contract(
        "contacts",
        ("id",),
        (
            text("id", required=True),
            text("email"),
            text("additional_emails"),
            text("phone"),
            text("mobilephone"),
            text("firstname"),
            text("lastname"),
            text("loyalty_id"),
            text("lifecycle_stage"),
            boolean("consent_email"),
            boolean("consent_sms"),
            boolean("consent_whatsapp"),
            boolean("consent_push"),
            text("city"),
            text("province"),
            text("zip"),
            text("country"),
            text("acquisition_channel"),
            timestamp("created_at"),
            timestamp("updated_at", required=True),
            boolean("archived"),
        ),
    ),
    "loyalty_accounts": Contract(
        "loyalty_accounts",
        ("id",),
        (
            text("id", required=True),
            text("contact_id"),
            text("tier"),
            integer("points_balance"),
            timestamp("enrolled_at"),
            timestamp("updated_at", required=True),
        ),
    ),
    "campaigns": Contract(
        "campaigns",
        ("id",),
        (
            text("id", required=True),
            text("name"),
            text("channel"),
            text("utm_campaign"),
            day("start_date"),
            day("end_date"),
            money("budget"),
            timestamp("updated_at", required=True),
        ),
    ),
}

RESOURCES = tuple(CONTRACTS)

"""`omni forget`: one person erased from every table of the warehouse and the published file,
nobody else touched, and still erased after the sources replay."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from run_inspection import digest

from ingestion.privacy import HASHES_FILE, normalise_email, normalise_phone

PUBLISHED = ("published", "marts.duckdb")
# Raw fields that hold an email or a phone as someone typed it (SOURCES.md).
CONTACT_FIELDS = {
    "email",
    "additional_emails",
    "phone",
    "mobilephone",
    "receipt_email",
    "phone_typed",
    "customer_email",
    "customer_phone",
    "recipient",
}


@contextlib.contextmanager
def _env(root: Path) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMNI_DATA_DIR", str(root))
        patch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        yield root


def _omni(root: Path, *args: str) -> tuple[int, str, str]:
    from orchestration.cli import main

    out, err = io.StringIO(), io.StringIO()
    with _env(root), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _copy(data_dir: Path, target: Path) -> Path:
    shutil.copytree(data_dir, target)
    return target


def _rows(database: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect()
    try:
        con.execute(f"attach '{database}' as db (read_only)")
        con.execute("use db")
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _pick_person(root: Path) -> dict:
    """A person of the truth with records in several systems and an order, resolved to one
    customer of their own, whose emails and phones nobody else has."""
    truth = root / "sources" / "_truth" / "identities.parquet"
    (person_id, customer_id, email) = _rows(
        root / "warehouse.duckdb",
        f"""
        with truth as (select * from read_parquet('{truth}')),
        linked as (
            select truth.person_id, ids.customer_id, truth.source_system
            from truth join marts.customer_identities as ids
                using (source_system, source_entity, source_record_id)
        ),
        one_to_one as (
            select person_id, min(customer_id) as customer_id
            from linked group by person_id
            having count(distinct customer_id) = 1 and count(distinct source_system) >= 2
        ),
        own_contacts as (
            select customer_id from marts.customer_identifiers
            where identifier_type in ('email', 'phone')
            group by customer_id
            having bool_and(is_used_for_matching) and bool_and(not exists (
                select 1 from marts.customer_identifiers as other
                where other.identifier_value = customer_identifiers.identifier_value
                  and other.customer_id <> customer_identifiers.customer_id))
        )
        select one_to_one.person_id, one_to_one.customer_id, min(i.identifier_value)
        from one_to_one
        join own_contacts using (customer_id)
        join marts.customer_identifiers as i using (customer_id)
        join marts.fct_orders as o using (customer_id)
        where i.identifier_type = 'email'
          and (select count(distinct person_id) from linked
               where linked.customer_id = one_to_one.customer_id) = 1
        group by all
        having count(distinct o.order_id) >= 2
        order by one_to_one.person_id
        limit 1
        """,
    )[0]
    record_ids = [
        r[0]
        for r in _rows(
            root / "warehouse.duckdb",
            f"select distinct source_record_id from read_parquet('{truth}') where person_id = ?",
            [person_id],
        )
    ]
    normalised = {
        r[0]
        for r in _rows(
            root / "warehouse.duckdb",
            "select identifier_value from marts.customer_identifiers "
            "where customer_id = ? and identifier_type in ('email', 'phone')",
            [customer_id],
        )
    }
    return {
        "person_id": person_id,
        "customer_id": customer_id,
        "email": email,
        "record_ids": record_ids,
        "spellings": sorted(normalised | _raw_spellings(root / "warehouse.duckdb", normalised)),
    }


def _raw_spellings(warehouse: Path, normalised: set[str]) -> set[str]:
    """Every way the person's emails and phones were typed into any source system."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_catalog = current_database() and starts_with(table_schema, 'raw_')"
        ).fetchall()
        found = set()
        for schema, table, column in columns:
            if column not in CONTACT_FIELDS:
                continue
            for (value,) in con.execute(
                f'select distinct "{column}" from "{schema}"."{table}" where "{column}" is not null'
            ).fetchall():
                for part in str(value).split(";"):
                    if {normalise_email(part), normalise_phone(part)} & normalised:
                        found.add(part.strip().lower())
        return found
    finally:
        con.close()


def _messy(email: str) -> str:
    """The email as a person might type it in a request: case, spaces, a plus-tag, and for
    Gmail a dot the mailbox ignores."""
    local, domain = email.split("@")
    if domain == "gmail.com":
        local = local[:1] + "." + local[1:]
    return f"  {local.upper()}+GDPR@{domain.title()} "


def _hits(database: Path, person: dict) -> dict[str, int]:
    """Rows per table.column holding any of the person's ids or spellings (every text column
    of every table, composite keys included), by information_schema, so a table added later
    is scanned too."""
    ids = [person["customer_id"], *person["record_ids"]]
    pattern = "(^|[|:~])(" + "|".join(re.escape(v) for v in ids) + ")($|[|:~])"
    con = duckdb.connect()
    found: dict[str, int] = {}
    try:
        con.execute(f"attach '{database}' as db (read_only)")
        # Base tables only: views hold no rows (and dbt's name the warehouse's own catalog).
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "join information_schema.tables using (table_catalog, table_schema, table_name) "
            "where table_catalog = 'db' and data_type = 'VARCHAR' and table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table, column in columns:
            conditions = [f"regexp_matches(\"{column}\", '{pattern}')"]
            conditions += [f"contains(lower(\"{column}\"), '{s}')" for s in person["spellings"]]
            (n,) = con.execute(
                f'select count(*) from db."{schema}"."{table}" where ' + " or ".join(conditions)
            ).fetchone()
            if n:
                found[f"{schema}.{table}.{column}"] = n
    finally:
        con.close()
    return found


def _orders(published: Path) -> list[tuple]:
    return _rows(
        published,
        "select order_id, customer_id, net_revenue from marts.fct_orders order by order_id",
    )


@pytest.fixture(scope="module")
def erased(first_run, data_dir, tmp_path_factory) -> dict:
    root = _copy(data_dir, tmp_path_factory.mktemp("forget") / "data")
    person = _pick_person(root)
    published = root.joinpath(*PUBLISHED)
    before = {
        "orders": _orders(published),
        "hits": {
            "warehouse": _hits(root / "warehouse.duckdb", person),
            "published": _hits(published, person),
        },
    }
    code, out, err = _omni(root, "forget", "--email", _messy(person["email"]))
    return {"root": root, "person": person, "before": before, "code": code, "out": out, "err": err}


def test_forget_erases_every_row_of_the_person(erased):
    root, person = erased["root"], erased["person"]
    assert erased["code"] == 0, erased["err"][-3000:]
    # The scan finds the person before, so finding nothing after means something.
    assert erased["before"]["hits"]["warehouse"] and erased["before"]["hits"]["published"]
    assert _hits(root / "warehouse.duckdb", person) == {}
    assert _hits(root.joinpath(*PUBLISHED), person) == {}
    assert f"Erased customer {person['customer_id']}" in erased["out"]
    assert "raw_ecommerce.orders__line_items" in erased["out"] or "raw_pos" in erased["out"]


def test_nobody_else_is_touched(erased):
    person, before = erased["person"], erased["before"]["orders"]
    after = _orders(erased["root"].joinpath(*PUBLISHED))
    theirs = [o for o in before if o[1] == person["customer_id"]]
    assert len(theirs) >= 2
    assert after == [o for o in before if o[1] != person["customer_id"]]
    assert sum(o[2] for o in after) == sum(o[2] for o in before) - sum(o[2] for o in theirs)


def test_the_ledger_keeps_hashes_only(erased):
    ledger = erased["root"] / "privacy" / HASHES_FILE
    assert ledger.exists() and str(ledger.parent) in erased["out"]
    content = ledger.read_bytes() + (erased["root"] / "privacy" / "erasures.parquet").read_bytes()
    for value in [erased["person"]["customer_id"], *erased["person"]["spellings"]]:
        assert value.encode() not in content
    # The log names the customer and counts, never another identifier of theirs.
    for spelling in erased["person"]["spellings"]:
        assert spelling not in (erased["out"] + erased["err"]).lower()


@pytest.fixture(scope="module")
def replayed(erased) -> dict:
    """One more `omni run` on the unchanged sources."""
    root = erased["root"]
    code, out, err = _omni(root, "run", "--sources", str(root / "sources"))
    return {"code": code, "out": out, "err": err}


def test_the_person_stays_erased_when_sources_replay(erased, replayed):
    root, person = erased["root"], erased["person"]
    assert replayed["code"] == 0, replayed["err"][-3000:]
    assert _hits(root / "warehouse.duckdb", person) == {}
    assert _hits(root.joinpath(*PUBLISHED), person) == {}
    before = erased["before"]["orders"]
    expected = [o for o in before if o[1] != person["customer_id"]]
    assert _orders(root.joinpath(*PUBLISHED)) == expected
    broken = _rows(
        root / "warehouse.duckdb",
        "select source_system, resource, received, loaded, quarantined, suppressed "
        "from raw_audit.load_reconciliation "
        "where received <> loaded + quarantined + coalesce(suppressed, 0)",
    )
    assert broken == []
    # The replay re-read some of the person's records (the lag windows) and dropped them:
    # absent because suppressed, not merely because nothing was read again.
    ((suppressed,),) = _rows(
        root / "warehouse.duckdb",
        "select sum(suppressed) from raw_audit.load_reconciliation",
    )
    assert suppressed >= 1


@pytest.fixture
def untouched_copy(first_run, data_dir, tmp_path) -> Path:
    return _copy(data_dir, tmp_path / "data")


def _fingerprint(root: Path) -> tuple[str, str, bool]:
    return (
        digest(root / "warehouse.duckdb"),
        digest(root.joinpath(*PUBLISHED)),
        (root / "privacy").exists(),
    )


def test_unknown_identifier_changes_nothing(untouched_copy):
    before = _fingerprint(untouched_copy)
    code, out, err = _omni(untouched_copy, "forget", "--email", "Nadie.Aqui@example.org")
    assert code == 3, out + err
    assert "no customer has the email 'Nadie.Aqui@example.org'" in err
    code, _, err = _omni(untouched_copy, "forget", "--customer-id", "cus_does_not_exist")
    assert code == 3 and "no customer 'cus_does_not_exist'" in err
    assert _fingerprint(untouched_copy) == before


def test_a_household_identifier_is_refused(untouched_copy):
    shared, customers = _rows(
        untouched_copy / "warehouse.duckdb",
        "select identifier_value, list(distinct customer_id order by customer_id) "
        "from marts.customer_identifiers where identifier_type = 'email' "
        "group by 1 having count(distinct customer_id) >= 2 order by 1 limit 1",
    )[0]
    before = _fingerprint(untouched_copy)
    code, out, err = _omni(untouched_copy, "forget", "--email", shared.upper())
    assert code == 4, out + err
    assert f"shared by {len(customers)} customers" in err
    # Naming the customer who asked picks one of them (dry run: nothing changes).
    code, out, err = _omni(
        untouched_copy, "forget", "--email", shared, "--customer-id", customers[0], "--dry-run"
    )
    assert code == 0, err
    assert f"Would erase customer {customers[0]}" in out
    assert _fingerprint(untouched_copy) == before

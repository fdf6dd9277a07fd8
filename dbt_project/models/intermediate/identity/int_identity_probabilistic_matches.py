"""Pairs of named records (CRM contacts, shop customers) that are the same person by a
Fellegi-Sunter score although no exact identifier joins them: the same name behind an
inbox that a household shares, an email with a misspelt domain or two swapped letters, a
duplicate contact in the same postcode.

Splink 4 on DuckDB does the blocking, comparing and scoring; this model only declares the
comparisons. The m and u probabilities are fixed here, never trained at run time, so that a
run is deterministic and a pair scores the same in a small world and a large one:
m = share of true matches at a level, u = share of unrelated pairs at it, read off the
sandbox's mess rates and a Spanish population (a given name is shared by about one pair in
fifty, a double surname by one in two thousand, an email or a mobile number by almost none).

A Python model because Splink is a Python library; it reads the candidates dbt built and
runs in its own in-memory DuckDB, so dbt's connection and transaction stay untouched.
"""

import duckdb
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

# About one true pair among a million random pairs of named records: a retailer with a
# million contacts and accounts. Fixed, so a pair's probability does not depend on how big
# the world is.
PRIOR_MATCH_PROBABILITY = 1e-6


def _level(level, m: float, u: float):
    return level.configure(m_probability=m, u_probability=u)


def _comparisons() -> list:
    first, last = "first_name_key", "last_name_key"
    return [
        cl.CustomComparison(
            output_column_name="first_name",
            comparison_levels=[
                cll.NullLevel(first),
                _level(cll.ExactMatchLevel(first), 0.93, 0.02),
                # Keyboard slips ("Lius", "Isable") the nickname fold cannot undo: one
                # substitution or swap. Not Jaro-Winkler, which finds Rosa close to Rosario,
                # nor a deletion, which turns Juan into Juana.
                _level(
                    cll.CustomLevel(
                        f"length({first}_l) = length({first}_r)"
                        f" and damerau_levenshtein({first}_l, {first}_r) <= 1"
                    ),
                    0.05,
                    0.002,
                ),
                _level(cll.ElseLevel(), 0.02, 0.97),
            ],
        ),
        cl.CustomComparison(
            output_column_name="last_name",
            comparison_levels=[
                cll.NullLevel(last),
                _level(cll.ExactMatchLevel(last), 0.95, 0.0005),
                _level(cll.JaroWinklerLevel(last, 0.92), 0.04, 0.001),
                _level(cll.ElseLevel(), 0.01, 0.9985),
            ],
        ),
        cl.CustomComparison(
            output_column_name="email",
            comparison_levels=[
                cll.NullLevel("email"),
                # Exact only when the inbox is shared: the exact graph joins the others.
                _level(cll.ExactMatchLevel("email"), 0.75, 0.00001),
                # The same mailbox name at a misspelt domain (hotmal.com, gmial.com): a
                # domain one or two edits away. Namesakes at two real providers
                # (francisco_vazquez@gmail.com, @icloud.com) are further apart.
                _level(
                    cll.And(
                        cll.ExactMatchLevel("email_local_part"),
                        cll.CustomLevel("damerau_levenshtein(email_domain_l, email_domain_r) <= 2"),
                    ),
                    0.06,
                    0.00001,
                ),
                # Two letters swapped in the mailbox name, same domain: the same letters
                # one edit apart. An edit alone would join namesakes' andres_moreno@ and
                # andresmoreno@; the same letters alone adriancruz55126@ and ...25561@.
                _level(
                    cll.And(
                        cll.ExactMatchLevel("email_letters"),
                        cll.DamerauLevenshteinLevel("email", 1),
                    ),
                    0.05,
                    0.00001,
                ),
                _level(cll.ElseLevel(), 0.14, 0.99998),
            ],
        ),
        cl.CustomComparison(
            output_column_name="phone",
            comparison_levels=[
                cll.NullLevel("phone"),
                # Not as rare as an email: households share a landline or a mobile.
                _level(cll.ExactMatchLevel("phone"), 0.8, 0.0001),
                # Two different phones: one person mostly gives one mobile everywhere.
                _level(cll.ElseLevel(), 0.05, 0.99999),
            ],
        ),
        cl.CustomComparison(
            output_column_name="zip_code",
            comparison_levels=[
                cll.NullLevel("zip_code"),
                _level(cll.ExactMatchLevel("zip_code"), 0.9, 0.005),
                _level(cll.ElseLevel(), 0.1, 0.995),
            ],
        ),
    ]


def settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_key",
        probability_two_random_records_match=PRIOR_MATCH_PROBABILITY,
        comparisons=_comparisons(),
        # Pairs are only scored within a block: the same mailbox name, the same full name,
        # or the same surname in the same postcode. Everything else is never compared.
        blocking_rules_to_generate_predictions=[
            block_on("email_local_part"),
            block_on("first_name_key", "last_name_key"),
            block_on("last_name_key", "zip_code"),
        ],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=False,
    )


def score(candidates, threshold: float, threads: int | None = None):
    """Scored pairs at or above ``threshold`` with the Bayes factor of every comparison."""
    con = duckdb.connect()
    if threads:
        con.execute(f"set threads = {int(threads)}")
    db_api = DuckDBAPI(connection=con)
    linker = Linker(candidates, settings(), db_api=db_api)
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    pairs = predictions.as_duckdbpyrelation().project(
        "record_key_l, record_key_r, match_weight, match_probability, "
        "bf_first_name, bf_last_name, bf_email, bf_phone, bf_zip_code"
    )
    return pairs.df()


def model(dbt, session):
    dbt.config(materialized="table")
    threshold = float(dbt.config.get("match_threshold"))
    candidates = dbt.ref("int_identity_match_candidates").df()
    return score(candidates, threshold)

"""A domain's proof state is stored as a code and its values, never as a sentence: proof_words() words
every code when it is read, through gettext, with every value it was given; and migration 0021 reads
each sentence the code used to store back into the code and values that word it the same way."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from portal.models import Domain
from portal.models.validators import unicode_name
from portal.orchestration import proof
from portal.orchestration.proof import ProofCode, proof_words

NAME = "shop.xn--bcher-kva.example"  # shop.bücher.example
# One example of the values each code is stored with.
SAMPLES: dict[ProofCode, dict[str, Any]] = {
    ProofCode.WAITING: {},
    ProofCode.RESERVED: {"tld": "test"},
    ProofCode.WITH_PARENT: {"name": "xn--bcher-kva.example"},
    ProofCode.RECORD_FOUND: {},
    ProofCode.NXDOMAIN: {},
    ProofCode.NO_TXT: {},
    ProofCode.WRONG_VALUE: {"values": ["hostdeck-proof-0123", "v=spf1 -all"]},
    ProofCode.TIMEOUT: {},
    ProofCode.DNS_ERROR: {},
    ProofCode.BY_STAFF: {},
    ProofCode.BY_RESELLER: {},
    ProofCode.BY_OPERATOR: {},
    ProofCode.DEMO: {},
    ProofCode.SERVED_BEFORE: {},
    ProofCode.LOST: {},
    ProofCode.LOST_ABOVE: {"other": "xn--bcher-kva.example"},
    ProofCode.LOST_BELOW: {},
    ProofCode.LEGACY: {"text": "Words from an older Hostdeck."},
}


def stored(code: str, args: dict[str, Any]) -> Domain:
    return Domain(account_id=1, name=NAME, proof_code=code, proof_args=args)


def shown(value: Any) -> list[str]:
    """How a stored value reads in the words: names in Unicode, each item of a list."""
    return [unicode_name(str(v)) for v in value] if isinstance(value, list) else [unicode_name(str(value))]


def test_every_code_has_an_example():
    assert set(SAMPLES) == set(ProofCode)


@pytest.mark.parametrize("code", list(ProofCode))
def test_every_code_has_words_that_use_every_value(code):
    words = proof_words(stored(code, SAMPLES[code]))
    assert words.strip()
    for key, value in SAMPLES[code].items():
        for part in shown(value):
            assert part in words, f"{code}: {key}={value!r} is not in {words!r}"
        if isinstance(value, str) and "xn--" in value:
            assert value not in words, "a name is read in Unicode"


@pytest.mark.parametrize("code", [c for c in ProofCode if c != ProofCode.LEGACY])
def test_the_words_come_from_gettext_when_read(code, monkeypatch):
    """Nothing is worded before it is read: every code's words are one gettext call (the reader's catalog)."""

    def marked(string: str, **variables: Any) -> str:
        return "«" + (string % variables if variables else string) + "»"

    monkeypatch.setattr(proof, "gettext", marked)
    words = proof_words(stored(code, SAMPLES[code]))
    assert words.startswith("«") and words.endswith("»") and words.count("«") == 1


def test_nothing_stored_reads_as_nothing():
    assert proof_words(Domain(account_id=1, name=NAME)) == ""
    assert proof_words(stored("some-code-from-later", {})) == ""
    assert proof_words(stored(ProofCode.WRONG_VALUE, {})) != "", "missing values do not break the page"


def _migration() -> Any:
    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0021_proof_words.py"
    spec = importlib.util.spec_from_file_location("proof_words_migration", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("code", [c for c in ProofCode if c != ProofCode.LEGACY])
def test_the_migration_reads_each_english_sentence_back_into_its_code(code):
    """The English words are the sentences the code used to store: the migration turns each back into its
    code and values (what the resolver said, where the words are the same, comes from its answer), and
    going down writes the same sentence again."""
    migration = _migration()
    args = SAMPLES[code]
    english = proof_words(stored(code, args))  # no request: the msgids themselves
    detail = {ProofCode.NXDOMAIN: "_hostdeck-challenge.x: NXDOMAIN", ProofCode.TIMEOUT: "x: timed out"}.get(code, "")
    assert migration.read(english, NAME, detail) == (code.value, args)
    assert migration.write(code.value, args, NAME) == english


def test_the_migration_keeps_what_it_cannot_read():
    migration = _migration()
    assert migration.read("", NAME, "") == ("", {})
    for text in ("Something an operator typed.", "Verified: _hostdeck-challenge.other.example holds the token."):
        assert migration.read(text, NAME, "") == ("legacy", {"text": text})
        assert migration.write("legacy", {"text": text}, NAME) == text
    # Verified with a name in Unicode, as it was stored: kept in A-labels.
    assert migration.read("Verified with bücher.example.", NAME, "") == (
        "with_parent",
        {"name": "xn--bcher-kva.example"},
    )
    # An older claim named a domain below it: that name stays unsaid now.
    below = "Another account has proved a.shop.bücher.example, which overlaps shop.bücher.example. This claim"
    assert migration.read(f"{below} can no longer be verified; you may delete it.", NAME, "") == ("lost_below", {})

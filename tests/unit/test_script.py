"""The script builder: any string reaches bash as one literal word through q(), secrets are redacted
from the script and its output, and a script with a syntax error anywhere runs nothing."""

import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.orchestration.script import REDACTED, Script, UnsafeValue, q

NASTY = ["", "'", '"', "$(id)", "`id`", "a b", "a\nb", "\\", "$HOME", "*", "-rf", "héllo ✓", "'\"'\"'", "!!", ";ls"]


def bash_echo(value: str) -> str:
    script = Script()
    script.add(f"printf '%s' {q(value)}")
    return subprocess.run(["bash", "-s"], input=script.text.encode(), capture_output=True, check=True).stdout.decode()


@pytest.mark.parametrize("value", NASTY)
def test_nasty_values_arrive_literally(value):
    assert bash_echo(value) == value


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))))
def test_any_text_arrives_literally(value):
    assert bash_echo(value) == value


def test_nul_is_refused():
    with pytest.raises(UnsafeValue):
        q("a\x00b")


def test_secrets_are_redacted_from_script_and_output():
    script = Script()
    secret = "{SHA512-CRYPT}$6$salt$hash'with quote"
    script.add(f"printf '%s\\n' {script.secret(secret)} > /dev/null")
    assert q(secret) in script.text
    assert secret not in script.redacted()
    assert REDACTED in script.redacted()
    assert script.redact(f"error near {secret}!") == "error near [redacted]!"


def test_a_syntax_error_anywhere_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    script = Script()
    script.add(f"touch {q(marker)}")
    script.add("if then fi")
    result = subprocess.run(["bash", "-c", 'eval "$(cat)"'], input=script.text.encode(), capture_output=True)
    assert result.returncode == 2 and b"syntax error" in result.stderr
    assert not marker.exists()

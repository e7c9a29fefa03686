"""The docs match the code: README's Settings table names every setting config/ has and no other,
the code reads no setting config/ lacks, deploy/hostdeck.env names only real settings, and the docs'
Dovecot quota backend is the one the tests run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from config import ProductionConfig, load_config

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
SAMPLE = ROOT / "deploy" / "hostdeck.env"
# Not settings: the names production requires, and what the app derives from settings itself.
NOT_SETTINGS = {"REQUIRED"}
DERIVED = {"SQLALCHEMY_DATABASE_URI", "BABEL_DEFAULT_LOCALE"}  # from DATABASE_URL; from the user's language
# flask-smorest's own keys, which portal/api/spec.py fixes: not the operator's to set.
FIXED = {"API_TITLE", "API_VERSION", "OPENAPI_VERSION", "OPENAPI_URL_PREFIX"}
# Read by the commands and the services, not by config/.
SAMPLE_EXTRAS = {"FLASK_APP", "GUNICORN_CMD_ARGS"}


def settings() -> set[str]:
    """The classes' names, and what load_config reads from the environment itself (HOSTDECK_ENV)."""
    source = (ROOT / "config" / "__init__.py").read_text()
    itself = set(re.findall(r"env\.get\(\"([A-Z][A-Z0-9_]*)\"", source))
    return ({name for name in dir(ProductionConfig) if name.isupper()} | itself) - NOT_SETTINGS


def documented(markdown: str) -> set[str]:
    """The backticked names in the first column of the table under "## Settings"."""
    section = markdown.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for cell in rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", cell)}


def sample_lines() -> dict[str, tuple[str, bool]]:
    """NAME -> (value, set) for every `NAME=value` and `#NAME=value` line of the sample settings file."""
    found = {}
    for line in SAMPLE.read_text().splitlines():
        match = re.fullmatch(r"(#?)([A-Z][A-Z0-9_]*)=(.*)", line)
        if match:
            found[match[2]] = (match[3], not match[1])
    return found


def test_every_setting_has_a_row_and_every_row_a_setting():
    rows = documented(README)
    assert sorted(settings() - rows) == [], "settings without a row in README's Settings table"
    assert sorted(rows - settings()) == [], "rows in README's Settings table for no setting in config/"


def test_the_table_parser_reads_rows_naming_several_settings():
    table = "\n## Settings\n\n| setting | default |\n| --- | --- |\n| `A_B`, `C` | `D_E` |\n| `F` | `1` |\n\n## Next\n| `G` |"
    assert documented(table) == {"A_B", "C", "F"}


def test_the_code_reads_no_setting_config_lacks():
    reads = set()
    for path in (ROOT / "portal").rglob("*.py"):
        reads |= set(re.findall(r"config(?:\[|\.get\()[\"']([A-Z][A-Z0-9_]*)[\"']", path.read_text()))
    assert sorted(reads - settings() - DERIVED - FIXED) == []


def test_the_sample_settings_file_names_only_settings():
    names = set(sample_lines())
    assert sorted(names - settings() - SAMPLE_EXTRAS) == []
    assert {"HOSTDECK_ENV", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "SSH_KEY_PATH", "SMTP_HOST"} <= names


def test_the_sample_reads_the_same_in_systemd_and_sh():
    """No quoting or expansion that one of them would read differently: plain, or in single quotes."""
    for name, (value, _) in sample_lines().items():
        assert re.fullmatch(r"[^\s'\"$\\`]*|'[^'$\\`]*'", value), f"{name}={value}"


def test_the_sample_refuses_to_start_until_a_secret_is_filled_in():
    values = {name: value for name, (value, active) in sample_lines().items() if active}
    assert values["HOSTDECK_ENV"] == "production" and values["FLASK_APP"] == "portal:create_app"
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_config(values)
    filled = load_config(values | {"SECRET_KEY": "s" * 48})
    assert filled["SESSION_COOKIE_SECURE"] is True and filled["PROXY_HOPS"] == 1
    # Every value the sample sets, and every default it shows, is one the setting takes.
    load_config({name: value for name, (value, _) in sample_lines().items()} | {"SECRET_KEY": "s" * 48})


def test_settings_without_a_scalar_default_come_from_the_environment_with_their_types():
    env = {"WTF_CSRF_TIME_LIMIT": "3600", "COMPRESS_MIMETYPES": "text/html, text/css"}
    settings = load_config(env)
    assert settings["WTF_CSRF_TIME_LIMIT"] == 3600
    assert settings["COMPRESS_MIMETYPES"] == ("text/html", "text/css")
    assert load_config({"WTF_CSRF_TIME_LIMIT": ""})["WTF_CSRF_TIME_LIMIT"] is None


def test_the_docs_name_the_quota_backend_the_tests_run():
    """The backend in docs/mail-server.md's dovecot.conf (an indented line, not a mention in the text)."""
    docs = re.findall(r"(?m)^\s+quota = (\w+):", (ROOT / "docs" / "mail-server.md").read_text())
    testbed = re.findall(r"quota = (\w+):User quota", (ROOT / "tests" / "testbed" / "dovecot.py").read_text())
    assert docs and set(docs) == set(testbed)


def test_the_files_the_readme_names_exist():
    named = set(re.findall(r"\b((?:deploy|docs)/[\w@./-]+\.(?:env|py|service|md))\b", README))
    assert {"deploy/hostdeck.env", "deploy/gunicorn.conf.py", "deploy/systemd/hostdeck-web.service"} <= named
    assert sorted(path for path in named if not (ROOT / path).exists()) == []

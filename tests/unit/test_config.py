"""Settings come from the environment with their types; production refuses to start without its
secrets and sends cookies over HTTPS only."""

import pytest

from config import load_config


def test_environment_overrides_defaults_with_types():
    settings = load_config({"REDIS_URL": "redis://x:1/0", "JOB_TIMEOUT": "12", "SESSION_COOKIE_SECURE": "true"})
    assert settings["REDIS_URL"] == "redis://x:1/0"
    assert settings["JOB_TIMEOUT"] == 12
    assert settings["SESSION_COOKIE_SECURE"] is True


def test_default_database_is_sqlite_in_instance():
    assert load_config({})["DATABASE_URL"].endswith("instance/hostdeck.sqlite3")


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL"])
def test_production_refuses_to_start_without_secrets(missing):
    env = {"HOSTDECK_ENV": "production", "SECRET_KEY": "s" * 32, "DATABASE_URL": "postgresql://db/x"}
    del env[missing]
    with pytest.raises(RuntimeError, match=missing):
        load_config(env)


def test_production_cookies_are_secure():
    settings = load_config({"HOSTDECK_ENV": "production", "SECRET_KEY": "s" * 32, "DATABASE_URL": "postgresql://x"})
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_HTTPONLY"] is True
    assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"

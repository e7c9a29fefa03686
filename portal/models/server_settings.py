"""Placeholder: the "settings" helper's branch holds the real module (the declared list of server
settings); it replaces this file at merge. Only the one function the server services call is here."""


def settings_problems(settings: dict) -> list[str]:
    """What is wrong with a server's settings, one plain sentence each (none here: replaced at merge)."""
    return []

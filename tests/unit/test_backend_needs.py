"""What `flask servers check` looks for: every backend says what its scripts need, in words and in bash
that names only declared settings."""

import re
import string

from portal.models.server_settings import BY_NAME
from portal.orchestration.backends import BACKENDS
from portal.orchestration.backends.needs import NEEDS


def test_every_backend_declares_its_needs():
    assert set(NEEDS) == set(BACKENDS)
    assert all(NEEDS.values())


def test_needs_name_only_declared_settings():
    named = set()
    for needs in NEEDS.values():
        for need in needs:
            named |= {field for _, field, _, _ in string.Formatter().parse(need.test) if field}
            named |= set(re.findall(r"%\((\w+)\)s", need.what._args[0]))
            named |= {need.when} - {""}
    assert named and named <= set(BY_NAME), named - set(BY_NAME)

"""The Dovecot backend's script, run for real by bash on a local passwd-file."""

import subprocess
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from portal.models import Server
from portal.orchestration.backends.dovecot import DovecotBackend
from portal.orchestration.script import Script, UnsafeValue


def server(tmp_path) -> Server:
    return Server(
        name="t",
        transport="local",
        settings={
            "dovecot_passwd_file": str(tmp_path / "etc" / "users"),
            "mail_root": str(tmp_path / "vmail"),
            "mail_uid": 0,
            "mail_gid": 0,
            "dovecot_passwd_group": "",
        },
    )


def mailbox(local: str, quota: int = 100):
    return SimpleNamespace(
        local_part=local, domain=SimpleNamespace(name="acme.test"), quota_mb=quota, address=f"{local}@acme.test"
    )


def run(script: Script) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-s"], input=script.text.encode(), capture_output=True)


def save_script(srv, local: str, verifier: str | None = "{SHA512-CRYPT}$6$x$y") -> Script:
    backend, script = DovecotBackend(), Script()
    backend.prepare(script, srv)
    backend.save(script, srv, mailbox(local), verifier)
    backend.commit(script, srv)
    return script


def test_concurrent_scripts_lose_no_lines(tmp_path):
    """flock + temp file + rename: 40 scripts at once, 40 lines after."""
    srv = server(tmp_path)
    names = [f"user{i}" for i in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda n: run(save_script(srv, n)), names))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results if r.returncode]
    lines = (tmp_path / "etc" / "users").read_text().splitlines()
    assert sorted(line.split(":")[0] for line in lines) == sorted(f"{n}@acme.test" for n in names)


def test_rerunning_a_script_changes_nothing(tmp_path):
    srv = server(tmp_path)
    script = save_script(srv, "alice")
    assert run(script).returncode == 0
    first = (tmp_path / "etc" / "users").read_text()
    assert run(script).returncode == 0
    assert (tmp_path / "etc" / "users").read_text() == first
    assert first.count("alice@acme.test") == 1


def test_new_file_is_not_world_readable(tmp_path):
    srv = server(tmp_path)
    run(save_script(srv, "alice"))
    assert (tmp_path / "etc" / "users").stat().st_mode & 0o777 == 0o640


def test_delete_removes_line_and_home_only(tmp_path):
    srv = server(tmp_path)
    run(save_script(srv, "alice"))
    run(save_script(srv, "bob"))
    backend, script = DovecotBackend(), Script()
    backend.prepare(script, srv)
    backend.delete(script, srv, backend.payload(mailbox("alice"), srv))
    backend.commit(script, srv)
    assert run(script).returncode == 0
    assert (tmp_path / "etc" / "users").read_text().startswith("bob@acme.test:")
    assert not (tmp_path / "vmail" / "acme.test" / "alice").exists()
    assert (tmp_path / "vmail" / "acme.test" / "bob").is_dir()


def test_delete_refuses_a_home_outside_the_mail_root(tmp_path):
    srv = server(tmp_path)
    for home in ("/etc", str(tmp_path / "vmail" / ".." / "etc")):
        with pytest.raises(UnsafeValue):
            DovecotBackend().delete(Script(), srv, {"user": "x@acme.test", "home": home})


def test_passwd_fields_refuse_colons_and_newlines(tmp_path):
    with pytest.raises(UnsafeValue):
        save_script(server(tmp_path), "al:ice")
    with pytest.raises(UnsafeValue):
        save_script(server(tmp_path), "alice", verifier="{SHA512-CRYPT}x\nroot::0:0")

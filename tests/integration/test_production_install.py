"""The production install as README's "Production" section lays it out, for real: the checkout installed
(editable) into a virtualenv of its own, deploy/hostdeck.env as the settings, the commands run from a
directory outside the repository, and the systemd units' ExecStart lines run as systemd would run them,
under the kernel's equivalent of their MemoryDenyWriteExecute=. systemd-analyze checks the units."""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import re
import secrets
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import scratch_database
from tests.testbed.plugin import need
from tests.testbed.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = ("hostdeck-web.service", "hostdeck-worker@.service")
COMMANDS = ("accounts", "db", "domains", "orchestration", "plans", "servers", "users", "worker")
ADMIN_PASSWORD = "Install-check-Juniper-64"

LIBC = ctypes.CDLL(None, use_errno=True)
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1  # Linux 6.3+: no memory both writable and executable


def deny_write_execute() -> None:
    """In the child before exec: what MemoryDenyWriteExecute=yes enforces, kept across execve."""
    if LIBC.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_MDWE)")


def parse_unit(text: str) -> dict[str, list[str]]:
    """A unit's "Section.Key" -> its values, in order (enough for these files: no line continuations)."""
    found: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.setdefault(f"{section}.{key}", []).append(value)
    return found


def analyze_problems(folder: Path, *names: str) -> str:
    """What systemd-analyze verify says about the units; empty when they are right. A bad value or an
    unknown key is only a warning (rc 0) there: any output counts."""
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *names], cwd=folder, capture_output=True, text=True, timeout=60
    )
    said = (result.stdout + result.stderr).strip()
    return said or ("" if result.returncode == 0 else f"rc {result.returncode}")


@pytest.fixture(scope="module")
def install(tmp_path_factory):
    """/opt/hostdeck/venv in small: a virtualenv with the checkout installed editable (pip install -e),
    seeing the test environment's packages for the requirements (nothing is downloaded)."""
    need(importlib.util.find_spec("wheel") is not None, "wheel (requirements-dev.txt), to build the editable install")
    venv = tmp_path_factory.mktemp("opt") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=60)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "requirements.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "install", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-e", ROOT],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return venv


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path_factory.mktemp('installdb') / 'hostdeck.sqlite3'}"
        return
    with scratch_database(base, "hostdeck_install") as url:
        yield url


@pytest.fixture(scope="module")
def settings(tmp_path_factory, database, redis_server):
    """/etc/hostdeck/hostdeck.env: the sample as shipped, with what an operator fills in after it
    (a later line wins, for systemd and sh alike)."""
    path = tmp_path_factory.mktemp("etc") / "hostdeck.env"
    filled = {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": database,
        "REDIS_URL": redis_server.url,
        "RQ_QUEUE": "hostdeck-install-test",
    }
    lines = [f"{key}={value}" for key, value in filled.items()]
    path.write_text((DEPLOY / "hostdeck.env").read_text() + "\n# filled in\n" + "\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory):
    """A working directory outside the repository, and a HOME of its own."""
    return tmp_path_factory.mktemp("elsewhere")


def run(command, settings, cwd, **kwargs):
    """A command with the settings file read as an operator's shell reads it (set -a; . FILE)."""
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd), "LANG": "C.UTF-8"} | kwargs.pop("env", {})
    shell = ["sh", "-c", 'set -a; . "$0"; set +a; exec "$@"', str(settings), *map(str, command)]
    if kwargs.pop("popen", False):
        return subprocess.Popen(shell, env=env, cwd=cwd, **kwargs)
    return subprocess.run(shell, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, **kwargs)


def listed_commands(help_text: str) -> set[str]:
    commands = help_text.partition("Commands:")[2]
    return {line.split()[0] for line in commands.splitlines() if line.strip()}


@pytest.fixture(scope="module")
def upgraded(install, settings, elsewhere):
    result = run([install / "bin" / "hostdeck", "db", "upgrade"], settings, elsewhere)
    assert result.returncode == 0, result.stdout + result.stderr
    return install


@pytest.fixture(scope="module")
def units(tmp_path_factory, install, settings):
    """The committed units, with /opt/hostdeck and /etc/hostdeck pointing at this test's install."""
    folder = tmp_path_factory.mktemp("units")
    for name in UNITS:
        text = (DEPLOY / "systemd" / name).read_text()
        text = text.replace("/opt/hostdeck/venv", str(install)).replace("/opt/hostdeck/app", str(ROOT))
        (folder / name).write_text(text.replace("/etc/hostdeck/hostdeck.env", str(settings)))
    return folder


def service_command(units: Path, name: str) -> tuple[list[str], Path, dict[str, str]]:
    """ExecStart's words, WorkingDirectory and Environment= of a rendered unit."""
    unit = parse_unit((units / name).read_text())
    (command,) = unit["Service.ExecStart"]
    environment = dict(pair.split("=", 1) for pair in unit.get("Service.Environment", []))
    return command.split(), Path(unit["Service.WorkingDirectory"][0]), environment


def test_the_commands_answer_from_any_directory(install, settings, elsewhere):
    """Outside the repository, `flask` found no app ("No such command 'servers'"): now the settings file
    names it (FLASK_APP) and the installed `hostdeck` command needs nothing."""
    assert not (elsewhere / "wsgi.py").exists() and ROOT not in elsewhere.parents
    for command in ([install / "bin" / "hostdeck"], [install / "bin" / "python", "-m", "flask"]):
        result = run([*command, "--help"], settings, elsewhere)
        assert result.returncode == 0, result.stderr
        assert set(COMMANDS) <= listed_commands(result.stdout), result.stdout

    assert run([install / "bin" / "hostdeck", "db", "upgrade"], settings, elsewhere).returncode == 0
    admin = run(
        [install / "bin" / "python", "-m", "flask", "users", "create-admin", "ops@example.net"],
        settings,
        elsewhere,
        input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n",
    )
    assert admin.returncode == 0, admin.stdout + admin.stderr
    listed = run([install / "bin" / "hostdeck", "servers", "list"], settings, elsewhere)
    assert listed.returncode == 0, listed.stdout + listed.stderr


def test_without_the_settings_file_flask_finds_no_portal(install, elsewhere, tmp_path):
    """What an operator saw before: the same shell without hostdeck.env's FLASK_APP."""
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = run([install / "bin" / "python", "-m", "flask", "--help"], empty, elsewhere)
    assert "servers" not in listed_commands(result.stdout)


def test_units_pass_systemd_analyze(units):
    need("systemd-analyze", "systemd-analyze (systemd)")
    assert analyze_problems(units, *UNITS) == ""
    # The hardening stays: systemd's own exposure score (0 best, 10 worst) at most 2.0 for each.
    for name in UNITS:
        score = subprocess.run(
            ["systemd-analyze", "security", "--offline=yes", "--threshold=20", "--no-pager", name],
            cwd=units,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert score.returncode == 0, score.stdout[-2000:] + score.stderr


@pytest.mark.parametrize(
    ("change", "into"),
    [
        ("Restart=always", "Restart=sometimes"),  # a bad value: only a warning
        ("NoNewPrivileges=yes", "NoNewPrivilege=yes"),  # a misspelt key: only a warning
        ("ProtectSystem=strict", "ProtectSystem=strictest"),
        ("SystemCallFilter=@system-service", "SystemCallFilter=@system-services"),
        ("bin/python -m gunicorn", "bin/pythonx -m gunicorn"),  # a missing binary: rc 1
    ],
)
def test_the_check_catches_a_broken_unit(units, tmp_path, change, into):
    need("systemd-analyze", "systemd-analyze (systemd)")
    text = (units / "hostdeck-web.service").read_text()
    assert change in text
    (tmp_path / "hostdeck-web.service").write_text(text.replace(change, into))
    assert analyze_problems(tmp_path, "hostdeck-web.service") != ""


def test_the_committed_units_are_for_opt_hostdeck():
    web, worker = (parse_unit((DEPLOY / "systemd" / name).read_text()) for name in UNITS)
    assert web["Service.ExecStart"] == [
        "/opt/hostdeck/venv/bin/python -m gunicorn -c /opt/hostdeck/app/deploy/gunicorn.conf.py"
    ]
    assert worker["Service.ExecStart"] == ["/opt/hostdeck/venv/bin/hostdeck worker"]
    for unit in (web, worker):
        assert unit["Service.User"] == ["hostdeck"] and unit["Service.Restart"] == ["always"]
        assert unit["Service.EnvironmentFile"] == ["/etc/hostdeck/hostdeck.env"]
        assert unit["Service.WorkingDirectory"] == ["/opt/hostdeck/app"]
        # One metrics folder for all: declared by both, kept when one of them stops.
        assert unit["Service.RuntimeDirectory"] == ["hostdeck/metrics"]
        assert unit["Service.RuntimeDirectoryPreserve"] == ["yes"]
        assert unit["Service.Environment"] == ["PROMETHEUS_MULTIPROC_DIR=/run/hostdeck/metrics"]
        for key, value in {
            "NoNewPrivileges": "yes",
            "ProtectSystem": "strict",
            "ProtectHome": "yes",
            "PrivateTmp": "yes",
            "CapabilityBoundingSet": "",
            "MemoryDenyWriteExecute": "yes",
        }.items():
            assert unit[f"Service.{key}"] == [value], key
    assert "%i" in worker["Unit.Description"][0]


def test_memory_deny_write_execute_is_enforced_in_these_tests(install):
    """The kernel refuses writable-and-executable memory in the children these tests start."""
    probe = "import mmap; mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)"
    free = subprocess.run([install / "bin" / "python", "-c", probe], capture_output=True, timeout=60)
    assert free.returncode == 0
    try:
        denied = subprocess.run(
            [install / "bin" / "python", "-c", probe], capture_output=True, text=True, preexec_fn=deny_write_execute
        )
    except subprocess.SubprocessError as exc:  # the kernel has no PR_SET_MDWE (before Linux 6.3)
        need(False, f"PR_SET_MDWE (Linux 6.3+): {exc}")
    assert denied.returncode != 0 and "PermissionError" in denied.stderr


def test_the_web_unit_serves_and_logs_each_request(upgraded, settings, units, tmp_path):
    command, cwd, environment = service_command(units, "hostdeck-web.service")
    port = free_port()
    environment["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)  # the unit's /run/hostdeck/metrics
    environment["GUNICORN_CMD_ARGS"] = f"--bind=127.0.0.1:{port} --workers=2"
    web = run(
        command,
        settings,
        cwd,
        env=environment,
        popen=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=deny_write_execute,
    )
    try:
        status = None
        for _ in range(150):
            # Refused until gunicorn listens; then the request waits for a worker to boot.
            with contextlib.suppress(ConnectionRefusedError, urllib.error.URLError):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=60) as response:
                    status, body = response.status, response.read().decode()
                break
            assert web.poll() is None, web.communicate()
            time.sleep(0.2)
        assert status == 200 and "password" in body.lower()
    finally:
        web.send_signal(signal.SIGTERM)
        out, err = web.communicate(timeout=60)
    assert web.returncode == 0, err
    access = [line for line in out.splitlines() if '"GET /login HTTP/1.1" 200' in line]
    # One line a request, with its time and its request id.
    assert len(access) == 1 and re.search(r" \d+ms [A-Za-z0-9]\S*$", access[0]), out
    assert "Booting worker" in err


def test_the_worker_unit_starts_a_worker(upgraded, settings, units):
    command, cwd, environment = service_command(units, "hostdeck-worker@.service")
    result = run([*command, "--burst"], settings, cwd, env=environment, preexec_fn=deny_write_execute)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hostdeck-install-test" in result.stdout + result.stderr  # it listened on the settings' queue

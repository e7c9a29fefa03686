"""pytest plugin: session-wide real services on 127.0.0.1: two sshd (the workers' and the SFTP
users'), Dovecot, Postfix, Redis, nginx, PHP-FPM, PostgreSQL, the machine's MariaDB, and Pebble
(the ACME test CA) with the BIND its names resolve in.

Enable with `pytest_plugins = ["tests.testbed.plugin"]` in tests/conftest.py.
Each service starts on first use and stops at session end, also when tests
fail (yield fixtures) and, as a safety net, at interpreter exit (atexit).
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TypeVar

import pytest

from .bind import NAMED, Bind
from .dovecot import DOVEADM, DOVECOT, Dovecot
from .mariadb import MariaDb
from .nginx import NGINX, Nginx
from .opendkim import GENKEY, OPENDKIM, OpenDkim
from .pebble import PEBBLE, Pebble
from .phpfpm import PHP_FPM, PhpFpm
from .postfix import POSTFIX, POSTMAP, POSTQUEUE, Postfix
from .postgres import PgCluster, pg_bin
from .redis_server import RedisServer
from .sftp import SFTP_GROUP, SftpSshd
from .sshd import SSHD, Sshd


class _Service(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


def need(binary_or_condition: str | bool | int | None, what: str) -> None:
    """Skip (or fail under CI=true) when a binary or condition is missing.

    A string is a binary name or absolute path; anything else is truthiness.
    In CI a missing prerequisite is a broken machine, not a reason to skip.
    """
    if isinstance(binary_or_condition, str):
        ok = shutil.which(binary_or_condition) is not None
    else:
        ok = bool(binary_or_condition)
    if ok:
        return
    message = f"testbed: needs {what}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def need_root(what: str) -> None:
    need(os.geteuid() == 0, f"root for {what}")


S = TypeVar("S", bound=_Service)


@contextmanager
def running(service: S) -> Iterator[S]:
    """Start; stop on exit, or at interpreter exit if we never get there."""
    atexit.register(service.stop)
    try:
        service.start()
        yield service
    finally:
        service.stop()  # idempotent
        atexit.unregister(service.stop)


@contextmanager
def shared_root(request: pytest.FixtureRequest, name: str) -> Iterator[Path]:
    """A folder outside pytest's 0700 basetemp, so service users (dovecot, postfix,
    www-data) can reach it; kept when a test failed, for its logs."""
    root = Path(tempfile.mkdtemp(prefix=f"hostdeck-{name}-"))
    try:
        yield root
    finally:
        if request.session.testsfailed == 0:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    need(SSHD, "openssh-server (/usr/sbin/sshd)")
    need("ssh-keygen", "ssh-keygen (openssh-client)")
    need_root("sshd (/run/sshd, login as root)")
    server = Sshd(tmp_path_factory.mktemp("sshd"))
    with running(server):
        yield server


@pytest.fixture(scope="session")
def sftpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpSshd]:
    """The sshd hosting users log in to: passwords allowed, SFTP-only users chrooted."""
    need(SSHD, "openssh-server (/usr/sbin/sshd)")
    need_root("system users (useradd) and a chrooting sshd")
    subprocess.run(["sh", "-c", f"getent group {SFTP_GROUP} >/dev/null || groupadd --system {SFTP_GROUP}"], check=True)
    with running(SftpSshd(tmp_path_factory.mktemp("sftpd"))) as server:
        yield server


@pytest.fixture(scope="session")
def dovecot(request: pytest.FixtureRequest) -> Iterator[Dovecot]:
    need(Path(DOVECOT).exists(), "dovecot-core (dovecot)")
    need(Path(DOVEADM).exists(), "dovecot-core (doveadm)")
    need(Path("/usr/lib/dovecot/imap").exists(), "dovecot-imapd")
    need_root("dovecot (vmail user, chown)")
    # The dovecot and vmail users must reach the passwd-file and the mail homes,
    # and socket paths must stay short.
    with shared_root(request, "dovecot") as root:
        server = Dovecot(root)
        try:
            with running(server):
                yield server
        finally:
            server.cleanup()


@pytest.fixture(scope="session")
def postfix(dovecot: Dovecot, request: pytest.FixtureRequest) -> Iterator[Postfix]:
    """Postfix delivering to the session's Dovecot over LMTP.

    Dovecot's submission_host then points at it (vacation replies); sieve
    itself needs dovecot-sieve: check dovecot.sieve in tests that use it.
    """
    for binary in (POSTFIX, POSTMAP, POSTQUEUE):
        need(Path(binary).exists(), f"postfix ({binary})")
    need(dovecot.lmtp, "dovecot-lmtpd (Postfix delivers over LMTP)")
    need_root("postfix (own queue and data directories, chown)")
    # The postfix user reads it. The portal keeps addresses and mailboxes in two
    # alias maps (see the Postfix backend).
    with shared_root(request, "postfix") as root:
        server = Postfix(root, dovecot.lmtp_port, alias_maps=("aliases", "mailboxes"))
        with running(server):
            dovecot.set_submission_host(f"{server.host}:{server.smtp_port}")
            yield server


@pytest.fixture(scope="session")
def opendkim(request: pytest.FixtureRequest) -> Iterator[OpenDkim]:
    """OpenDKIM as a milter, its keys and tables in a folder the portal's opendkim backend writes."""
    need(Path(OPENDKIM).exists(), "opendkim (/usr/sbin/opendkim)")
    need(Path(GENKEY).exists(), "opendkim-tools (opendkim-genkey)")
    need("openssl", "openssl (the script prints the public key with it)")
    need_root("opendkim (UserID opendkim, keys owned by it)")
    with shared_root(request, "opendkim") as root, running(OpenDkim(root)) as server:
        yield server


@pytest.fixture(scope="session")
def signing_postfix(dovecot: Dovecot, opendkim: OpenDkim, request: pytest.FixtureRequest) -> Iterator[Postfix]:
    """A second Postfix, like `postfix` but passing every message through OpenDKIM (the other stays as
    it was: a message there needs no milter)."""
    for binary in (POSTFIX, POSTMAP, POSTQUEUE):
        need(Path(binary).exists(), f"postfix ({binary})")
    need(dovecot.lmtp, "dovecot-lmtpd (Postfix delivers over LMTP)")
    need_root("postfix (own queue and data directories, chown)")
    with shared_root(request, "postfix-dkim") as root:
        server = Postfix(root, dovecot.lmtp_port, alias_maps=("aliases", "mailboxes"), milter=opendkim.milter)
        with running(server):
            yield server


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    need("redis-server", "redis-server")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    with running(server):
        yield server


@pytest.fixture(scope="session")
def phpfpm(request: pytest.FixtureRequest) -> Iterator[PhpFpm]:
    """PHP-FPM with an empty pools_dir; the app writes pools and reloads."""
    need(Path(PHP_FPM).exists(), "php8.2-fpm (php-fpm8.2)")
    need_root("php-fpm (pools run as the apps' system users)")
    # nginx (www-data) must reach the sockets.
    with shared_root(request, "phpfpm") as root, running(PhpFpm(root)) as server:
        yield server


@pytest.fixture(scope="session")
def nginx(request: pytest.FixtureRequest) -> Iterator[Nginx]:
    """nginx with an empty sites_dir; the app writes sites, tests, reloads."""
    need(Path(NGINX).exists(), "nginx (/usr/sbin/nginx)")
    need_root("nginx (user www-data;)")
    # Its workers (www-data) traverse it.
    with shared_root(request, "nginx") as root, running(Nginx(root)) as server:
        yield server


# The zones the ACME tests' names live in (acme_dns): Pebble resolves them there.
ACME_ZONES = ("certs.test",)


@pytest.fixture(scope="session")
def acme_dns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bind]:
    """The customers' DNS host for the ACME tests: set_a() points their names at the web server."""
    need(Path(NAMED).exists(), "bind9 (named)")
    need("tsig-keygen", "bind9 (tsig-keygen)")
    with running(Bind(tmp_path_factory.mktemp("acme-dns"), zones=ACME_ZONES)) as server:
        yield server


@pytest.fixture(scope="session")
def pebble(request: pytest.FixtureRequest, nginx: Nginx, acme_dns: Bind) -> Iterator[Pebble]:
    """Pebble, validating http-01 on the test nginx's port, names resolved through acme_dns."""
    need(Path(PEBBLE).exists(), "pebble (/usr/bin/pebble)")
    need("openssl", "openssl")
    with shared_root(request, "pebble") as root, running(Pebble(root, nginx.port, acme_dns.resolver)) as server:
        yield server


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDb]:
    """The machine's MariaDB, as the tests find it; what they made is dropped at the end."""
    server = MariaDb()
    need(server.reachable(), "MariaDB on 127.0.0.1:3306 (root, no password)")
    need("mariadb", "mariadb-client (the backend runs the `mariadb` client)")
    server.ensure_ed25519()
    server.forget()
    yield server
    server.forget()


@pytest.fixture(scope="session")
def postgres(request: pytest.FixtureRequest) -> Iterator[PgCluster]:
    need(pg_bin("initdb"), "postgresql (initdb)")
    need("psql", "postgresql-client (psql)")
    need_root("postgres (runs as the postgres user)")
    with shared_root(request, "postgres") as root, running(PgCluster(root)) as server:
        yield server

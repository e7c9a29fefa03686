"""Self-check of the testbed: `python -m tests.testbed.selfcheck` from the repo root.

Starts sshd, Dovecot and Redis, provisions a mailbox over SSH the way the
application will (bash -s, passwd-file rewrite), checks IMAP logins, host
key pinning and Redis, stops everything and checks nothing is left running.
"""

from __future__ import annotations

import base64
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import paramiko
from passlib.hash import sha512_crypt

from .dovecot import Dovecot
from .proc import alive, descendants
from .redis_server import RedisServer
from .sshd import Sshd, other_host_key_line

PASSWORD = "correct horse 42"


def ssh_client(sshd: Sshd, pinned_line: str) -> paramiko.SSHClient:
    """Connect with the client key, trusting only the pinned host key."""
    keytype, blob = pinned_line.split()[:2]
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    key = paramiko.PKey.from_type_string(keytype, base64.b64decode(blob))
    client.get_host_keys().add(f"[{sshd.host}]:{sshd.port}", keytype, key)
    client.connect(
        sshd.host,
        sshd.port,
        username=sshd.user,
        key_filename=str(sshd.client_key_path),
        look_for_keys=False,
        allow_agent=False,
        timeout=10,
    )
    return client


def run_script(client: paramiko.SSHClient, script: str) -> tuple[int, str, str]:
    """`bash -s` with the script on stdin, like the application does."""
    stdin, stdout, stderr = client.exec_command("bash -s", timeout=30)
    stdin.write(script)
    stdin.channel.shutdown_write()
    code = stdout.channel.recv_exit_status()
    return code, stdout.read().decode(), stderr.read().decode()


def passwd_line(dovecot: Dovecot, user: str, scheme_hash: str) -> str:
    local, domain = user.split("@")
    home = dovecot.mail_root / domain / local
    return f"{user}:{scheme_hash}:5000:5000::{home}::userdb_quota_rule=*:storage=100M"


def write_passwd_script(path: Path, lines: list[str]) -> str:
    """Temp file + rename, 0640 root:dovecot (what the auth process can read)."""
    body = "".join(line + "\n" for line in lines)
    tmp = f"{path}.tmp.$$"
    return (
        "set -euo pipefail\n"
        f"printf %s {shlex.quote(body)} > {tmp}\n"
        f"chown root:dovecot {tmp}\nchmod 0640 {tmp}\n"
        f"mv -f {tmp} {shlex.quote(str(path))}\n"
        "echo written\n"
    )


def check(condition: object, what: str) -> None:
    if not condition:
        raise SystemExit(f"FAIL: {what}")
    print(f"  ok: {what}")


def main() -> int:
    roots = [Path(tempfile.mkdtemp(prefix=f"testbed-{n}-")) for n in ("sshd", "dovecot", "redis")]
    sshd, dovecot, redis = Sshd(roots[0]), Dovecot(roots[1]), RedisServer(roots[2])
    pids: list[int] = []

    def track() -> None:
        """Remember every process of ours, to prove they are all gone later."""
        for service in (sshd, dovecot, redis):
            if service._proc is not None:
                pids.extend([service._proc.pid, *descendants(service._proc.pid)])

    try:
        for service in (sshd, dovecot, redis):
            service.start()
        print(f"sshd :{sshd.port}  imap :{dovecot.imap_port}  lmtp :{dovecot.lmtp_port}  {redis.url}")

        client = ssh_client(sshd, sshd.host_key_line)
        sha = "{SHA512-CRYPT}" + sha512_crypt.using(rounds=5000).hash(PASSWORD)
        argon = subprocess.run(
            [*shlex.split("doveadm pw -s ARGON2ID -p"), PASSWORD], capture_output=True, text=True, check=True
        ).stdout.strip()
        lines = [passwd_line(dovecot, "alice@example.com", sha), passwd_line(dovecot, "bob@example.com", argon)]
        code, out, err = run_script(client, write_passwd_script(dovecot.passwd_file, lines))
        client.close()
        check(code == 0 and out.strip() == "written", f"bash -s over ssh wrote passwd-file {err}")
        check("Accepted publickey" in sshd.log_text(), "sshd log shows the key login")

        check(dovecot.wait_login("alice@example.com", PASSWORD), "IMAP login, SHA512-CRYPT")
        check(not dovecot.imap_login("alice@example.com", "wrong"), "IMAP wrong password refused")
        check(dovecot.wait_login("bob@example.com", PASSWORD), "IMAP login, ARGON2ID")
        check(dovecot.auth_test("alice@example.com", PASSWORD), "doveadm auth test good")
        check(not dovecot.auth_test("alice@example.com", "wrong"), "doveadm auth test bad")
        quota = dovecot.doveadm("quota", "get", "-u", "alice@example.com").stdout
        check("102400" in quota, "userdb_quota_rule gives a 100M quota")

        try:
            ssh_client(sshd, other_host_key_line()).close()
            check(False, "mismatching pinned host key refused")
        except paramiko.BadHostKeyException:
            check(True, "mismatching pinned host key raises BadHostKeyException")

        cli = ["redis-cli", "-h", redis.host, "-p", str(redis.port)]
        subprocess.run([*cli, "HSET", "session:x", "token", "s3cret-token"], check=True, capture_output=True)
        check(b"s3cret-token" in redis.all_values(), "redis all_values shows values")
        track()
        redis.stop()
        redis.start()
        pong = subprocess.run([*cli, "PING"], capture_output=True, text=True).stdout
        check(pong.strip() == "PONG", "redis restarts on the same port")
        track()
    finally:
        for service in (redis, dovecot, sshd):
            service.stop()
        dovecot.cleanup()

    # Zombies do not count: orphans belong to PID 1, which reaps them later.
    leftovers = [p for p in set(pids) if alive(p)]
    ps = subprocess.run(["ps", "-eo", "pid,stat,args"], capture_output=True, text=True).stdout
    mine = [line for line in ps.splitlines() if any(str(r) in line for r in roots)]
    if leftovers or mine:
        print(f"  still running: {leftovers} {mine}")
    check(not leftovers and not mine, "no processes left running")
    for root in roots:
        shutil.rmtree(root, ignore_errors=True)
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())

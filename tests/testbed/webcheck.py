"""Web self-check: `python -m tests.testbed.webcheck` from the repo root (as root).

Starts nginx and PHP-FPM, writes a pool and a site by hand the way the
application will, and proves: PHP runs as the site's user with the pool's
memory_limit, static files are served, unknown hosts get 404, a broken site
fails `nginx -t` while the old config keeps serving, and a deleted site is
gone after a reload. Then stops everything and checks nothing is left.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .nginx import Nginx
from .phpfpm import PhpFpm
from .proc import alive, descendants

USER = "hdtest_web"
HOST = "www.example.com"

POOL = """\
[{user}]
user = {user}
group = {user}
listen = {sock}
listen.owner = www-data
listen.group = www-data
pm = ondemand
pm.max_children = 2
php_admin_value[memory_limit] = 96M
"""

SITE = """\
server {{
    listen {listen};
    server_name www.example.com example.com;
    root {docroot};
    index index.php index.html;
    location ~ \\.php$ {{
        include fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_pass unix:{sock};
    }}
}}
"""


def check(condition: object, what: str) -> None:
    if not condition:
        raise SystemExit(f"FAIL: {what}")
    print(f"  ok: {what}")


def make_user() -> pwd.struct_passwd:
    """A fresh system user; its home must be traversable by www-data."""
    drop_user()  # left over from an interrupted run
    subprocess.run(["useradd", "-m", "-s", "/usr/sbin/nologin", USER], check=True)
    user = pwd.getpwnam(USER)
    os.chmod(user.pw_dir, 0o711)  # useradd -m makes it 0700: nginx got 403
    return user


def drop_user() -> None:
    try:
        pwd.getpwnam(USER)
    except KeyError:
        return
    subprocess.run(["userdel", "-r", USER], check=True, stderr=subprocess.DEVNULL)


def write_owned(path: Path, text: str, user: pwd.struct_passwd) -> None:
    path.write_text(text)
    os.chown(path, user.pw_uid, user.pw_gid)


def make_docroot(user: pwd.struct_passwd) -> Path:
    docroot = Path(user.pw_dir) / "webapps" / "site"
    docroot.mkdir(parents=True)
    for d in (docroot.parent, docroot):
        os.chown(d, user.pw_uid, user.pw_gid)
        d.chmod(0o755)
    write_owned(
        docroot / "index.php",
        "<?php echo ini_get('memory_limit'), ' ', get_current_user(), ' ', posix_getpwuid(posix_geteuid())['name'];\n",
        user,
    )
    write_owned(docroot / "hello.txt", "hello static\n", user)
    return docroot


def prove(nginx: Nginx, phpfpm: PhpFpm, user: pwd.struct_passwd) -> None:
    check(nginx.get(HOST)[0] == 404, "before any site: 404 for www.example.com")

    sock = phpfpm.root / "php-hdtest.sock"
    (phpfpm.pools_dir / f"{USER}.conf").write_text(POOL.format(user=USER, sock=sock))
    ok, out = phpfpm.test_config()
    check(ok, "php-fpm -t accepts the new pool")
    phpfpm.reload()
    check(sock.is_socket() and phpfpm.running, f"php-fpm reloaded, same master, {sock.name} exists")
    st = sock.stat()
    check(
        (pwd.getpwuid(st.st_uid).pw_name, oct(st.st_mode & 0o777)) == ("www-data", "0o660"),
        "pool socket is www-data 0660",
    )

    docroot = make_docroot(user)
    site = nginx.sites_dir / "example.com.conf"
    site.write_text(SITE.format(listen=nginx.listen, docroot=docroot, sock=sock))
    ok, out = nginx.test_config()
    check(ok, "nginx -t accepts the site")
    nginx.reload()

    status, body = nginx.get(HOST, "/index.php")
    check(
        status == 200 and body.split()[0] == "96M",
        f"GET /index.php (Host {HOST}) -> {status} {body!r}: memory_limit 96M",
    )
    check(body.split()[-1] == USER, f"PHP runs as {USER}")
    check(nginx.get("example.com", "/") == (200, body), "GET / on example.com runs index.php")
    check(nginx.get(HOST, "/hello.txt") == (200, "hello static\n"), "GET /hello.txt is served")
    check(nginx.get("unknown.test", "/hello.txt")[0] == 404, "unknown host -> 404")

    broken = nginx.sites_dir / "broken.conf"
    broken.write_text(f"server {{ listen {nginx.listen}; server_name broken.test; no_such_directive on; }}\n")
    ok, out = nginx.test_config()
    check(not ok and "no_such_directive" in out, f"nginx -t refuses the broken site: {out.strip().splitlines()[0]}")
    check(nginx.get(HOST, "/hello.txt")[0] == 200, "not reloaded: the old config still serves")
    broken.unlink()

    site.unlink()
    nginx.reload()
    check(nginx.get(HOST, "/hello.txt")[0] == 404, "site deleted + reload -> 404")
    check(nginx.get(HOST, "/index.php")[0] == 404, "and no PHP either")


def main() -> int:
    if os.geteuid() != 0:
        raise SystemExit("webcheck: run as root (useradd, user www-data, pool users)")
    roots = [Path(tempfile.mkdtemp(prefix=f"webcheck-{n}-")) for n in ("nginx", "phpfpm")]
    nginx, phpfpm = Nginx(roots[0]), PhpFpm(roots[1])
    started: list[Nginx | PhpFpm] = []
    pids: list[int] = []
    try:
        user = make_user()
        for service in (phpfpm, nginx):
            service.start()
            started.append(service)
        print(f"nginx {nginx.listen}  php-fpm pid {phpfpm.pid}")
        prove(nginx, phpfpm, user)
        for service in started:  # remember their processes, to prove they are gone
            if service._proc is not None:
                pids.extend([service._proc.pid, *descendants(service._proc.pid)])
    except BaseException:
        for service in started:
            print(f"--- {service.log_path}\n{service.log_text()[-3000:]}", file=sys.stderr)
        raise
    finally:
        for service in reversed(started):
            service.stop()
        drop_user()

    leftovers = [p for p in set(pids) if alive(p)]
    ps = subprocess.run(["ps", "-eo", "pid,stat,args"], capture_output=True, text=True).stdout
    mine = [line for line in ps.splitlines() if any(str(r) in line for r in roots) or USER in line]
    check(not leftovers and not mine, f"no processes left running {leftovers} {mine}")
    check(not list(roots[1].glob("*.sock")), "php-fpm removed its sockets")
    for root in roots:
        shutil.rmtree(root, ignore_errors=True)
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())

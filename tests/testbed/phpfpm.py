"""A throwaway PHP-FPM master whose pools the application writes.

Found on PHP-FPM 8.2 (Debian 12) here:
- FPM refuses to start without any pool, so a tiny built-in pool
  (hostdeck-testbed, www-data) lives in root, outside pools_dir. An empty
  pools_dir only logs a warning ("Nothing matches the include pattern").
- Reload is SIGUSR2 to the master: it re-execs itself in place (same pid,
  same argv, so binary and config must be absolute paths), re-reads every
  pool, creates the new sockets and unlinks those of removed pools.
- Trap: if the new config is broken, the re-exec fails and the whole master
  EXITS ("FPM initialization failed"), taking every site down and leaving
  stale sockets. So always `php-fpm8.2 -t -y CONF` before the signal, as
  reload() does (and the portal's PHP-FPM backend).
- The signal is asynchronous; the master logs "ready to handle connections"
  once the new pools listen. settle() waits for one more such line.
- nginx (www-data) connects to the pool sockets: they need
  listen.owner/group = www-data (mode 0660) and a root folder www-data can
  traverse (mkdtemp makes 0700, we chmod 0755).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

from .proc import alive, spawn, stop_tree
from .service import Service

# Absolute: USR2 re-execs argv[0] (see above). /usr/sbin may miss from PATH.
PHP_FPM = shutil.which("php-fpm8.2") or "/usr/sbin/php-fpm8.2"
READY = "ready to handle connections"

CONFIG = """\
[global]
pid = {pid}
error_log = {error_log}
daemonize = no
{builtin}include = {pools_dir}/*.conf
"""

# FPM needs at least one pool; ondemand forks nothing until a request.
BUILTIN_POOL = """\
[hostdeck-testbed]
user = www-data
group = www-data
listen = {sock}
listen.owner = www-data
listen.group = www-data
pm = ondemand
pm.max_children = 2
"""


class PhpFpm(Service):
    """php-fpm8.2 (daemonize = no) as our child, files under root."""

    binary: str = PHP_FPM

    def __init__(self, root: Path, pools_dir: Path | None = None, stock_pool: bool = False) -> None:
        self.root = Path(root)
        self.conf_path = self.root / "php-fpm.conf"
        self.pools_dir = pools_dir or self.root / "pools"  # the application writes <app>.conf here
        # stock_pool: as Debian ships it, the one pool (www.conf) is in pools_dir, where an operator may
        # delete it; otherwise it lives outside, where nothing the application does can reach it.
        self.builtin_pool = self.pools_dir / "www.conf" if stock_pool else self.root / "testbed-pool.conf"
        self.builtin_socket = self.root / "testbed.sock"
        self.pid_path = self.root / "php-fpm.pid"
        self.log_path = self.root / "php-fpm.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def _write_config(self) -> None:
        self.pools_dir.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # nginx workers (www-data) reach the sockets here
        self.builtin_pool.write_text(BUILTIN_POOL.format(sock=self.builtin_socket))
        self.conf_path.write_text(
            CONFIG.format(
                pid=self.pid_path,
                error_log=self.log_path,
                builtin="" if self.builtin_pool.parent == self.pools_dir else f"include = {self.builtin_pool}\n",
                pools_dir=self.pools_dir,
            )
        )

    def start(self, timeout: float = 10) -> None:
        if self.running:
            return
        self._write_config()
        mark = self.reload_mark()
        self._proc = spawn(  # config parse errors go to stderr: the log
            [self.binary, "-y", str(self.conf_path)],
            self.log_path,
        )
        try:
            self.settle(mark, timeout)
        except Exception as err:
            self.stop()
            raise RuntimeError(f"php-fpm did not start:\n{self.log_text()}") from err

    def stop(self, timeout: float = 10) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        stop_tree(proc, timeout)  # SIGTERM; FPM unlinks its sockets and pid file

    def test_config(self) -> tuple[bool, str]:
        """php-fpm8.2 -t -y CONF: (ok, its output; the reason when not ok)."""
        r = subprocess.run([self.binary, "-t", "-y", str(self.conf_path)], capture_output=True, text=True, timeout=30)
        return r.returncode == 0, r.stderr + r.stdout

    def reload_mark(self) -> int:
        """Take before a reload, then pass to settle()."""
        return self.log_text().count(READY)

    def reload(self, timeout: float = 10) -> None:
        """Test the config (a broken one would kill the master), USR2, settle()."""
        ok, out = self.test_config()
        if not ok:
            raise RuntimeError(f"php-fpm config is broken, not reloading:\n{out}")
        mark = self.reload_mark()
        self._signal(signal.SIGUSR2)
        self.settle(mark, timeout)

    def settle(self, mark: int, timeout: float = 10) -> None:
        """Wait until the master is ready again after a (re)start or reload."""
        deadline = time.monotonic() + timeout
        while self.reload_mark() <= mark:
            if self._proc is None or not alive(self._proc.pid):
                raise RuntimeError(f"php-fpm exited:\n{self.log_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"php-fpm not ready:\n{self.log_text()[-3000:]}")
            time.sleep(0.05)

    def _signal(self, sig: int) -> None:
        if self._proc is None:
            raise RuntimeError("php-fpm is not running")
        self._proc.send_signal(sig)

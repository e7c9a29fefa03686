"""A throwaway nginx on 127.0.0.1 whose sites the application writes.

Found on nginx 1.22 (Debian 12) here:
- `user www-data;` is needed: as root without it the workers run as nobody
  and get 502 on the PHP-FPM sockets (owned www-data, 0660).
- Relative includes resolve against the folder of `-c CONF`, not /etc/nginx:
  a site's `include fastcgi_params;` would look for <root>/fastcgi_params.
  So the stock snippets are symlinked into root.
- The master opens the logs as root, the workers (www-data) create nothing,
  but they must traverse root and its temp folders: root is made 0755.
- `nginx -c CONF -s reload` parses the whole config first (to find the pid
  file): a broken config makes it exit 1 without signalling, and the running
  master keeps serving the old config.
- The signal is asynchronous: `-s reload` returns before the new workers
  run. settle() waits until the workers seen before are all gone and a new
  one exists (old workers finish their requests first).
"""

from __future__ import annotations

import http.client
import shutil
import subprocess
import time
from pathlib import Path

from .ports import HOST, free_port, port_open, wait_for_port_closed
from .proc import alive, children, spawn, stop_tree
from .service import Service

# /usr/sbin may be missing from PATH in a bare CI environment.
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
STOCK = Path("/etc/nginx")
# Snippets a site may include by relative name (see the module docstring).
SNIPPETS = ("fastcgi_params", "fastcgi.conf", "mime.types", "proxy_params", "scgi_params", "uwsgi_params", "snippets")
TEMPS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")

CONFIG = """\
user www-data;
worker_processes 1;
pid {pid};
error_log {error_log} notice;
# Single-request tests: never wait long for old workers on reload/stop.
worker_shutdown_timeout 5s;
events {{}}
http {{
    include {mime_types};
    default_type application/octet-stream;
    access_log {access_log};
{temps}
    # Unknown hosts answer 404 rather than fall through to the first site.
    server {{
        listen {listen} default_server;
        return 404;
    }}
    include {sites_dir}/*.conf;
}}
"""


class Nginx(Service):
    """nginx master in the foreground (daemon off) as our child, files under root."""

    host: str = HOST

    def __init__(self, root: Path, snippets: bool = True) -> None:
        self.root = Path(root)
        # False: an operator's config folder, with none of /etc/nginx's snippets beside it.
        self.snippets = snippets
        self.conf_path = self.root / "nginx.conf"
        self.sites_dir = self.root / "sites"  # the application writes <site>.conf here
        self.pid_path = self.root / "nginx.pid"
        self.log_path = self.root / "error.log"
        self.access_log = self.root / "access.log"
        self.temp_dir = self.root / "temp"
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def listen(self) -> str:
        """What the application's server blocks put after `listen`."""
        return f"{self.host}:{self.port}"

    def _write_config(self) -> None:
        for d in (self.root, self.sites_dir, self.temp_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # mkdtemp gives 0700; workers must traverse it
        for name in SNIPPETS if self.snippets else ():
            link = self.root / name
            if not link.exists() and (STOCK / name).exists():
                link.symlink_to(STOCK / name)
        temps = "\n".join(f"    {t}_temp_path {self.temp_dir / t};" for t in TEMPS)
        self.conf_path.write_text(
            CONFIG.format(
                pid=self.pid_path,
                error_log=self.log_path,
                access_log=self.access_log,
                mime_types=STOCK / "mime.types",
                temps=temps,
                listen=self.listen,
                sites_dir=self.sites_dir,
            )
        )

    def start(self, timeout: float = 10) -> None:
        if self.running:
            return
        if not self.port:  # keep the port across stop()/start()
            self.port = free_port()
        self._write_config()
        # daemon off on the command line, not in the file: the app's
        # `nginx -t -c CONF` then sees an ordinary config. (Early errors go to stderr: the log.)
        self._proc = spawn(
            [NGINX, "-c", str(self.conf_path), "-g", "daemon off;"],
            self.log_path,
        )
        deadline = time.monotonic() + timeout
        while not (port_open(self.port) and self.worker_pids()):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nginx did not start:\n{self.log_text()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 10) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        stop_tree(proc, timeout)  # SIGTERM: fast shutdown of master and workers
        wait_for_port_closed(self.port)

    # -- what the application does ----------------------------------------
    def nginx(self, *args: str) -> subprocess.CompletedProcess[str]:
        """nginx -c CONF ARGS..., as the application runs it."""
        return subprocess.run([NGINX, "-c", str(self.conf_path), *args], capture_output=True, text=True, timeout=30)

    def test_config(self) -> tuple[bool, str]:
        """nginx -t: (ok, its output; the reason when not ok)."""
        r = self.nginx("-t")
        return r.returncode == 0, r.stderr + r.stdout

    def worker_pids(self) -> set[int]:
        """The master's live children (only workers: no cache manager here)."""
        if self._proc is None:
            return set()
        return {p for p in children(self._proc.pid) if alive(p)}

    def reload(self, timeout: float = 10) -> None:
        """nginx -s reload, then settle(); RuntimeError if refused."""
        before = self.worker_pids()
        r = self.nginx("-s", "reload")
        if r.returncode != 0:
            raise RuntimeError(f"nginx -s reload failed: {r.stderr}")
        self.settle(before, timeout)

    def settle(self, before: set[int], timeout: float = 10) -> None:
        """Wait until a reload took effect: no worker from before, a new one.

        Take `before = worker_pids()` before the application reloads. A config
        that broke between `-s reload` and the master's re-read leaves the old
        workers running: that ends in TimeoutError with the error log.
        """
        deadline = time.monotonic() + timeout
        while True:
            now = self.worker_pids()
            if now and not now & before:
                return
            if self._proc is None or self._proc.poll() is not None:
                raise RuntimeError(f"nginx died on reload:\n{self.log_text()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"nginx did not reload:\n{self.log_text()[-3000:]}")
            time.sleep(0.05)

    def get(self, host: str, path: str = "/") -> tuple[int, str]:
        """HTTP GET 127.0.0.1:<port><path> with Host: host -> (status, body)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request("GET", path, headers={"Host": host, "Connection": "close"})
            resp = conn.getresponse()
            return resp.status, resp.read().decode(errors="replace")
        finally:
            conn.close()

"""PHP-FPM: one pool per PHP web app, running as the app's system user, on its own socket.

Every pool is checked with `php-fpm -t` before the master is signalled: a bad pool
would make the reload kill every site's PHP.
"""

from __future__ import annotations

import posixpath
from typing import Any

from portal.models import Server, WebApp
from portal.orchestration.backends.base import Backend
from portal.orchestration.backends.staged import STAGE, checked, remove_file, write_file
from portal.orchestration.script import Script, UnsafeValue, q

DISABLED = "exec,passthru,shell_exec,system,proc_open,popen,pcntl_exec,dl"
POOL = """\
[{pool}]
user = {user}
group = {user}
listen = {socket}
listen.owner = www-data
listen.group = www-data
listen.mode = 0660
pm = ondemand
pm.max_children = 5
pm.process_idle_timeout = 30s
chdir = /
php_admin_value[disable_functions] = {disabled}
php_admin_value[open_basedir] = {home}/:/tmp/
{options}
"""


def _word(value: str) -> str:
    if not value or not all(c.isascii() and (c.isalnum() or c in "._-/:+") for c in value):
        raise UnsafeValue(f"{value!r} cannot go into a PHP-FPM pool")
    return value


def pool_name(app: WebApp) -> str:
    return f"{_word(app.system_user.name)}__{_word(app.name)}"


def socket_path(server: Server, pool: str) -> str:
    return posixpath.join(server.setting("phpfpm_socket_dir", "/run/php"), f"hostdeck-{pool}.sock")


def app_dir(server: Server, app_or_payload: WebApp | dict[str, Any]) -> str:
    user = app_or_payload.system_user.name if isinstance(app_or_payload, WebApp) else app_or_payload["user"]
    name = app_or_payload.name if isinstance(app_or_payload, WebApp) else app_or_payload["name"]
    return posixpath.join(server.setting("web_home_root", "/home"), _word(user), "webapps", _word(name))


class PhpFpmBackend(Backend[WebApp]):
    name = "phpfpm"
    handles = ("WebApp",)

    def payload(self, app: WebApp, server: Server) -> dict[str, Any]:
        return {"user": app.system_user.name, "name": app.name, "pool": pool_name(app)}

    def _pool_file(self, server: Server, pool: str) -> str:
        return posixpath.join(server.setting("phpfpm_pools_dir", "/etc/php/8.2/fpm/pool.d"), f"hostdeck-{pool}.conf")

    def prepare(self, script: Script, server: Server) -> None:
        script.add(STAGE)

    def save(self, script: Script, server: Server, app: WebApp, secret: str | None, ref: int = 0) -> None:
        user, folder = q(_word(app.system_user.name)), q(app_dir(server, app))
        script.add(f"install -d -m 0755 -o {user} -g {user} {folder}")
        pool = pool_name(app)
        if app.kind != "php":
            script.add(remove_file(self._pool_file(server, pool)))
            return
        options = "\n".join(f"php_admin_value[{_word(k)}] = {_word(str(v))}" for k, v in sorted(app.options.items()))
        home = posixpath.dirname(posixpath.dirname(app_dir(server, app)))
        text = POOL.format(
            pool=pool,
            user=_word(app.system_user.name),
            socket=socket_path(server, pool),
            disabled=DISABLED,
            home=home,
            options=options,
        )
        script.add(write_file(self._pool_file(server, pool), text))

    def delete(self, script: Script, server: Server, payload: dict[str, Any], ref: int = 0) -> None:
        script.add(remove_file(self._pool_file(server, _word(payload["pool"]))))
        script.add(f"rm -rf -- {q(app_dir(server, payload))}")

    def commit(self, script: Script, server: Server) -> None:
        binary = q(server.setting("phpfpm_binary", "/usr/sbin/php-fpm8.2"))
        config = q(server.setting("phpfpm_config", "/etc/php/8.2/fpm/php-fpm.conf"))
        pid_file = q(server.setting("phpfpm_pid_file", "/run/php/php8.2-fpm.pid"))
        script.add(checked(f"{binary} -t -y {config}", f'kill -USR2 "$(cat {pid_file})"', "PHP-FPM"))

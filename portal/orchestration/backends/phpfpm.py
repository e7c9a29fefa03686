"""PHP-FPM: one pool per PHP web app, running as the app's system user, on its own socket.

Every pool is checked with `php-fpm -t` before the master is signalled: a bad pool
would make the reload kill every site's PHP.

Each app is walled in: open_basedir is its own folder and its own PHP folders, never the shared
/tmp. Those (temporary files, uploads, sessions) live in ~/php/<app>/, outside the document
root, each 0700 and the app user's; ~/php and ~/php/<app> are root's, so the user cannot swap a
folder for a symlink and have root chown what it points at. The app folder in ~/webapps, which the
user owns, is made by the user itself for the same reason.
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
{options}
php_admin_value[disable_functions] = {disabled}
php_admin_value[open_basedir] = {folder}/:{php}/
php_admin_value[sys_temp_dir] = {php}/tmp
php_admin_value[upload_tmp_dir] = {php}/uploads
php_admin_value[session.save_path] = {php}/sessions
; Debian's cron sweeps only its own session folder: PHP sweeps this one.
php_admin_value[session.gc_probability] = 1
env[TMPDIR] = {php}/tmp
"""
# The app's own settings (services/webapps.py: clean_options); they come before the walls above,
# and no other name may appear, so none can move a wall.
OPTIONS = (
    "memory_limit",
    "upload_max_filesize",
    "post_max_size",
    "max_execution_time",
    "display_errors",
    "date.timezone",
)
PHP_FOLDERS = ("tmp", "uploads", "sessions")
# The user's own folder, made as the user: a symlink put there is removed, never followed by root.
APP_FOLDER = """\
if [ -L {folder} ]; then runuser -u {user} -- rm -f -- {folder}; fi
runuser -u {user} -- mkdir -p -m 0755 -- {folder}"""
FOLDERS = """\
install -d -m 0755 -o root -g root {php_root} {php}
install -d -m 0700 -o {user} -g {user} {php_folders}"""


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


def home_dir(server: Server, app_or_payload: WebApp | dict[str, Any]) -> str:
    return posixpath.dirname(posixpath.dirname(app_dir(server, app_or_payload)))


def php_dir(server: Server, app_or_payload: WebApp | dict[str, Any]) -> str:
    """~/php/<app>: the app's temporary, upload and session folders, outside its document root."""
    return posixpath.join(home_dir(server, app_or_payload), "php", posixpath.basename(app_dir(server, app_or_payload)))


def _options(options: dict[str, Any]) -> str:
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise UnsafeValue(f"{unknown!r} are not PHP settings an app may choose")
    return "\n".join(f"php_admin_value[{k}] = {_word(str(v))}" for k, v in sorted(options.items()))


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
        user, folder, php = _word(app.system_user.name), app_dir(server, app), php_dir(server, app)
        script.add(APP_FOLDER.format(user=q(user), folder=q(folder)))
        if app.kind != "php":
            script.add(remove_file(self._pool_file(server, pool_name(app))))
            return
        script.add(
            FOLDERS.format(
                user=q(user),
                php_root=q(posixpath.dirname(php)),
                php=q(php),
                php_folders=" ".join(q(posixpath.join(php, name)) for name in PHP_FOLDERS),
            )
        )
        pool = pool_name(app)
        text = POOL.format(
            pool=pool,
            user=user,
            socket=socket_path(server, pool),
            options=_options(app.options),
            disabled=DISABLED,
            folder=folder,
            php=php,
        )
        script.add(write_file(self._pool_file(server, pool), text))

    def delete(self, script: Script, server: Server, payload: dict[str, Any], ref: int = 0) -> None:
        script.add(remove_file(self._pool_file(server, _word(payload["pool"]))))
        script.add(f"rm -rf -- {q(app_dir(server, payload))} {q(php_dir(server, payload))}")

    def commit(self, script: Script, server: Server) -> None:
        binary = q(server.setting("phpfpm_binary", "/usr/sbin/php-fpm8.2"))
        config = q(server.setting("phpfpm_config", "/etc/php/8.2/fpm/php-fpm.conf"))
        pid_file = q(server.setting("phpfpm_pid_file", "/run/php/php8.2-fpm.pid"))
        script.add(checked(f"{binary} -t -y {config}", f'kill -USR2 "$(cat {pid_file})"', "PHP-FPM"))

"""What each backend's scripts use on a server: the files, commands and services `flask servers check`
(orchestration/checks.py) looks for. One table, by backend name, so the backends' own modules stay as
they are; paths and names come from the server's settings (models/server_settings.py).

`what` says it in words, with %(setting)s filled from the settings; `test` is bash that exits 0 when it
holds, with {setting} filled q()-quoted (`hc_have CMD...`: each command is there). With `when`, it
counts only when that setting is not empty. A backend may add needs of its own (sql.py: a query).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel.speaklater import LazyString

from portal.words import lazy_gettext


@dataclass(frozen=True)
class Need:
    what: LazyString
    test: str
    when: str = ""


@dataclass(frozen=True)
class Prerequisite:
    """A need on one server: the words and the bash, values filled in."""

    what: str
    test: str


NEEDS: dict[str, tuple[Need, ...]] = {
    "dovecot": (
        Need(lazy_gettext("the passwd-file %(dovecot_passwd_file)s exists"), "test -f {dovecot_passwd_file}"),
        Need(lazy_gettext("the mail folder %(mail_root)s exists"), "test -d {mail_root}"),
        Need(
            lazy_gettext("the group %(dovecot_passwd_group)s exists"),
            "getent group {dovecot_passwd_group}",
            when="dovecot_passwd_group",
        ),
        Need(lazy_gettext("flock, awk, mktemp and install are installed"), "hc_have flock awk mktemp install"),
    ),
    # Without postmap (the demo), the maps are only written: there is no Postfix to look for.
    "postfix": (
        Need(lazy_gettext("the maps folder %(postfix_maps_dir)s exists"), "test -d {postfix_maps_dir}"),
        Need(lazy_gettext("%(postfix_postmap)s is installed"), "hc_have {postfix_postmap}", when="postfix_postmap"),
        Need(
            lazy_gettext("Postfix runs"),
            'hc_dir={postfix_config_dir}; postfix ${{hc_dir:+-c "$hc_dir"}} status',
            when="postfix_postmap",
        ),
        Need(  # grep reads it all (no -q): postconf never gets SIGPIPE
            lazy_gettext("main.cf uses the maps in %(postfix_maps_dir)s"),
            'hc_dir={postfix_config_dir}; postconf ${{hc_dir:+-c "$hc_dir"}} -h virtual_alias_maps'
            " | grep -F -e {postfix_maps_dir} >/dev/null",
            when="postfix_postmap",
        ),
    ),
    "opendkim": (
        Need(
            lazy_gettext("opendkim-genkey, openssl, base64 and flock are installed"),
            "hc_have opendkim-genkey openssl base64 flock",
        ),
        Need(lazy_gettext("the user %(opendkim_user)s exists"), "id -u {opendkim_user}"),
        Need(lazy_gettext("the keys folder %(opendkim_keys_dir)s exists"), "test -d {opendkim_keys_dir}"),
        Need(
            lazy_gettext("OpenDKIM runs, with the pid in %(opendkim_pid_file)s"),
            'kill -0 "$(cat {opendkim_pid_file})"',
            when="opendkim_pid_file",
        ),
    ),
    "unix": (
        Need(
            lazy_gettext("the home folder %(web_home_root)s exists, is root's and only root may write to it"),
            'test -d {web_home_root} && [ "$(stat -c %u {web_home_root})" = 0 ]'
            " && [ $(( 8#$(stat -c %a {web_home_root}) & 8#022 )) = 0 ]",
        ),
        Need(
            lazy_gettext("useradd, usermod, userdel, groupadd, gpasswd and chpasswd are installed"),
            "hc_have useradd usermod userdel groupadd gpasswd chpasswd",
        ),
    ),
    "phpfpm": (
        Need(lazy_gettext("%(phpfpm_binary)s is installed"), "test -x {phpfpm_binary}"),
        Need(lazy_gettext("the config %(phpfpm_config)s exists"), "test -f {phpfpm_config}"),
        Need(lazy_gettext("the pools folder %(phpfpm_pools_dir)s exists"), "test -d {phpfpm_pools_dir}"),
        Need(lazy_gettext("the socket folder %(phpfpm_socket_dir)s exists"), "test -d {phpfpm_socket_dir}"),
        Need(lazy_gettext("php-fpm -t accepts the config"), "{phpfpm_binary} -t -y {phpfpm_config}"),
        Need(
            lazy_gettext("PHP-FPM runs, with the pid in %(phpfpm_pid_file)s"),
            'kill -0 "$(cat {phpfpm_pid_file})"',
        ),
    ),
    "nginx": (
        Need(lazy_gettext("nginx is installed"), "hc_have nginx"),
        Need(lazy_gettext("the main config %(nginx_config)s exists"), "test -f {nginx_config}"),
        Need(lazy_gettext("the sites folder %(nginx_sites_dir)s exists"), "test -d {nginx_sites_dir}"),
        Need(lazy_gettext("nginx -t accepts the main config"), "nginx -t -c {nginx_config}"),
        Need(  # grep reads it all (no -q): nginx never gets SIGPIPE
            lazy_gettext("the main config includes %(nginx_sites_dir)s"),
            "nginx -T -c {nginx_config} 2>/dev/null | grep -F -e {nginx_sites_dir} >/dev/null",
        ),
    ),
    "bind": (
        Need(lazy_gettext("the zones folder %(bind_zones_dir)s exists"), "test -d {bind_zones_dir}"),
        Need(
            lazy_gettext("named-checkzone, named-checkconf and %(bind_rndc)s are installed"),
            "hc_have named-checkzone named-checkconf {bind_rndc}",
            when="bind_rndc",
        ),
        Need(
            lazy_gettext("%(bind_named_conf)s includes %(bind_zones_conf)s"),
            'grep -rF -e {bind_zones_conf} "$(dirname {bind_named_conf})" >/dev/null',
            when="bind_rndc",
        ),
        Need(lazy_gettext("rndc reaches BIND"), "{bind_rndc} status >/dev/null", when="bind_rndc"),
    ),
    "mariadb": (
        Need(lazy_gettext("the client %(mariadb_client)s is installed"), "hc_have {mariadb_client}"),
        Need(
            lazy_gettext("the option file %(mariadb_defaults_file)s can be read"),
            "test -r {mariadb_defaults_file}",
            when="mariadb_defaults_file",
        ),
    ),
    "postgresql": (
        Need(lazy_gettext("psql is installed"), "hc_have psql"),
        Need(
            lazy_gettext("the user %(postgresql_run_as)s exists"),
            "id -u {postgresql_run_as} && hc_have runuser",
            when="postgresql_run_as",
        ),
    ),
}

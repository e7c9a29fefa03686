#!/usr/bin/env bash
# Debian packages the tests run for real. Installed only as root and only when missing.
set -euo pipefail
need=()
command -v /usr/sbin/sshd >/dev/null || need+=(openssh-server)
command -v dovecot >/dev/null || need+=(dovecot-core)
[ -e /usr/lib/dovecot/imap ] || need+=(dovecot-imapd)
[ -e /usr/lib/dovecot/lmtp ] || need+=(dovecot-lmtpd)
[ -e /usr/lib/dovecot/modules/lib90_sieve_plugin.so ] || need+=(dovecot-sieve)
command -v /usr/sbin/postfix >/dev/null || need+=(postfix)
command -v redis-server >/dev/null || need+=(redis-server)
command -v /usr/sbin/nginx >/dev/null || need+=(nginx)
command -v /usr/sbin/php-fpm8.2 >/dev/null || need+=(php8.2-fpm)
command -v chromium >/dev/null || need+=(chromium)
command -v npm >/dev/null || need+=(npm)  # axe-core for the browser tests (make test runs npm ci)
command -v mariadb >/dev/null || need+=(mariadb-client)
command -v /usr/sbin/named >/dev/null || need+=(bind9 bind9-utils)  # the TXT proof of a domain
command -v pebble >/dev/null || need+=(pebble)  # the ACME test CA (test_acme*.py)
command -v /usr/sbin/opendkim >/dev/null || need+=(opendkim)  # DKIM signing (tests/testbed/opendkim.py)
command -v /usr/sbin/opendkim-genkey >/dev/null || need+=(opendkim-tools)
command -v wrk >/dev/null || need+=(wrk)  # make bench
command -v psql >/dev/null || need+=(postgresql-client)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v systemd-analyze >/dev/null || need+=(systemd)  # checks deploy/systemd/ (test_production_install.py)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing for the tests: ${need[*]} (run as root to install them)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Services must not start on their default ports: the tests start their own.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d.hostdeck
if [ ! -e /usr/sbin/policy-rc.d ]; then cp /usr/sbin/policy-rc.d.hostdeck /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; trap 'rm -f /usr/sbin/policy-rc.d' EXIT; fi
rm -f /usr/sbin/policy-rc.d.hostdeck
# No system mail setup: the tests run their own Postfix (tests/testbed/postfix.py).
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Nor a system Postfix on port 25, should one have started anyway.
if /usr/sbin/postfix status >/dev/null 2>&1; then /usr/sbin/postfix stop >/dev/null 2>&1 || true; fi
# Nor a system nginx on port 80 or PHP-FPM on its default socket (tests/testbed/nginx.py, phpfpm.py).
for pidfile in /run/nginx.pid /run/php/php8.2-fpm.pid; do
  if [ -s "$pidfile" ]; then kill -QUIT "$(cat "$pidfile")" 2>/dev/null || true; fi
done

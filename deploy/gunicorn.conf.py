"""gunicorn for the portal: gunicorn -c /opt/hostdeck/app/deploy/gunicorn.conf.py (hostdeck-web.service).

This file comes with each release, so change bind or workers in /etc/hostdeck/hostdeck.env instead:
GUNICORN_CMD_ARGS='--bind=127.0.0.1:8001 --workers=8' wins over what is set here.
"""

import os

# prometheus_client's multiprocess mode: a gunicorn worker that ended leaves the live gauges.
from portal.orchestration.metrics import child_exit  # noqa: F401 (a hook gunicorn looks up by name)

wsgi_app = "portal:create_app()"
# Only the TLS proxy on this host talks to gunicorn.
bind = ["127.0.0.1:8000"]
# Requests wait on the database, not the CPU: 2 per core and 1, at most 8 (each holds its own DB pool).
workers = min(2 * (os.cpu_count() or 1) + 1, 8)
# A request slower than this is killed, its worker replaced; on stop, this long to finish.
timeout = 30
graceful_timeout = 30
# Every request a line on stdout (the journal: journalctl -u hostdeck-web), with its time in ms;
# gunicorn's own messages and errors on stderr. The last field is the request id the portal's logs carry.
accesslog = "-"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms %({x-request-id}o)s'
errorlog = "-"
loglevel = "info"
# X-Forwarded-Proto and -For are believed from the proxy on this host only.
forwarded_allow_ips = "127.0.0.1,::1"

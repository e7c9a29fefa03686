"""gunicorn for the portal: gunicorn -c /opt/hostdeck/app/deploy/gunicorn.conf.py (hostdeck-web.service).

This file comes with each release, so change bind or workers in /etc/hostdeck/hostdeck.env instead:
GUNICORN_CMD_ARGS='--bind=127.0.0.1:8001 --workers=8' wins over what is set here.
"""

import importlib
import importlib.util
import os

wsgi_app = "portal:create_app()"
# Only the TLS proxy on this host talks to gunicorn.
bind = ["127.0.0.1:8000"]
# Requests wait on the database, not the CPU: 2 per core and 1, at most 8 (each holds its own DB pool).
workers = min(2 * (os.cpu_count() or 1) + 1, 8)
# A request slower than this is killed, its worker replaced; on stop, this long to finish.
timeout = 30
graceful_timeout = 30
# Every request a line on stdout (the journal: journalctl -u hostdeck-web), with its time in ms;
# gunicorn's own messages and errors on stderr.
accesslog = "-"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
errorlog = "-"
loglevel = "info"
# X-Forwarded-Proto and -For are believed from the proxy on this host only.
forwarded_allow_ips = "127.0.0.1,::1"


def child_exit(server, worker):
    """prometheus_client's multiprocess mode: a worker that is gone stops counting in the live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") and importlib.util.find_spec("prometheus_client"):
        importlib.import_module("prometheus_client.multiprocess").mark_process_dead(worker.pid)

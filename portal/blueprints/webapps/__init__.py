"""Web apps: files served static or through PHP-FPM."""

from portal.blueprints.webapps.views import bp

__all__ = ["bp"]

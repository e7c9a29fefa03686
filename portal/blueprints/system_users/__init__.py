"""System users: the unix accounts that own files, reached over SFTP."""

from portal.blueprints.system_users.views import bp

__all__ = ["bp"]

"""A second sshd where hosting users log in with passwords, SFTP-only users chrooted to their homes."""

from __future__ import annotations

from .sshd import Sshd

SFTP_GROUP = "hostdeck-sftp"


class SftpSshd(Sshd):
    def _write_config(self) -> None:
        self.config_path.write_text(
            self._listening()
            + (
                # The users' own keys, as the portal writes them.
                "AuthorizedKeysFile .ssh/authorized_keys\n"
                "PasswordAuthentication yes\n"
                "KbdInteractiveAuthentication no\n"
                "PubkeyAuthentication yes\n"
                "PermitRootLogin no\n"
                "LogLevel VERBOSE\n"
                "MaxStartups 100\n"
                "Subsystem sftp internal-sftp\n"
                f"Match Group {SFTP_GROUP}\n"
                "  ChrootDirectory %h\n"
                "  ForceCommand internal-sftp\n"
                "  AllowTcpForwarding no\n"
                "  X11Forwarding no\n"
            )
        )

"""Real services on loopback (sshd, Dovecot, Postfix, Redis) for Hostdeck's tests.

Nothing here is mocked: each class starts the real daemon on 127.0.0.1 with
its files in a temporary folder and stops it again.
"""

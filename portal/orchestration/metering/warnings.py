"""Warnings after a round: an account that crossed 80% or 100% of a quota or limit is told once."""

from __future__ import annotations


def after_round(server_id: int) -> None:
    """Filled in by the warnings work (issue 19, point 5)."""

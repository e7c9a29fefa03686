"""Every route declares who may use it; the tenancy test fails for a route that does not.

- public:   anyone (the login page)
- user:     any logged-in user
- customer: a logged-in user, on objects loaded only through `scoped()` (foreign ids are 404)
- reseller: a reseller's owner, on its own sub-accounts only (anyone else: 404)
- staff:    staff and admins; everyone else gets the same 404 as a missing page
"""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

RULES = ("public", "user", "customer", "reseller", "staff")


def access(rule: str):
    if rule not in RULES:
        raise ValueError(f"unknown access rule {rule!r}")

    def mark(view):
        view.access_rule = rule
        return view

    return mark


def public(view):
    return access("public")(view)


def user(view):
    return access("user")(login_required(view))


def customer(view):
    return access("customer")(login_required(view))


def staff_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_staff:
            abort(404)
        return view(*args, **kwargs)

    return access("staff")(wrapped)

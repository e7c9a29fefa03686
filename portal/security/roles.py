"""Every route declares who may use it; the tenancy test fails for a route that does not.

- public:   anyone (the login page)
- user:     any logged-in user
- customer: a logged-in user, on objects loaded only through `scoped()` (foreign ids are 404)
- reseller: a reseller's owner, on its own sub-accounts only (anyone else: 404)
- staff:    staff and admins; everyone else gets the same 404 as a missing page
- admin:    admins only (they run the servers); other staff get 403, everyone else the staff rule's 404
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort
from flask_login import current_user, login_required

from portal.models import Role

RULES = ("public", "user", "customer", "reseller", "staff", "admin")
View = TypeVar("View", bound=Callable[..., Any])


def access(rule: str) -> Callable[[View], View]:
    if rule not in RULES:
        raise ValueError(f"unknown access rule {rule!r}")

    def mark(view: View) -> View:
        setattr(view, "access_rule", rule)  # noqa: B010 (a function's own attribute, read by the tenancy test)
        return view

    return mark


def public(view: View) -> View:
    return access("public")(view)


def user(view: View) -> View:
    return access("user")(_logged_in(view))


def customer(view: View) -> View:
    return access("customer")(_logged_in(view))


def staff_required(view: View) -> View:
    @wraps(view)
    def staff_only(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_staff:
            abort(404)
        return view(*args, **kwargs)

    # wraps() gives the view's name and signature back; its type says less than that.
    return access("staff")(_logged_in(cast(View, staff_only)))


def admin_required(view: View) -> View:
    @wraps(view)
    def admins_only(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_staff:
            abort(404)
        if not is_admin():
            abort(403)
        return view(*args, **kwargs)

    return access("admin")(_logged_in(cast(View, admins_only)))


def is_admin() -> bool:
    """The logged-in user is an admin (while impersonating, the customer is the logged-in user)."""
    return bool(current_user.is_authenticated and current_user.role == Role.ADMIN)


def _logged_in(view: View) -> View:
    """Flask-Login's login_required, which publishes no types."""
    guarded: View = login_required(view)
    return guarded

"""Plans in the staff console: the list (with how many accounts are on each), a plan's page, creating and
editing plans (admins only: services/plans.py says why), and applying a plan to an account found by
search. The rules, the refusals below usage and the audit trail are services/plans.py's, shared with the
operator's `flask plans` commands."""

from flask import abort, redirect, render_template, request, url_for
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from portal.blueprints.common import fail_form, refusals, saved
from portal.blueprints.forms import Form, WholeNumberField, add_limit_fields
from portal.blueprints.staff.accounts import search_accounts
from portal.blueprints.staff.blueprint import bp
from portal.extensions import db
from portal.models import Plan
from portal.models.kinds import ALL_LIMITS
from portal.security.roles import staff_required
from portal.security.scoping import console, current_actor
from portal.services import ServiceError
from portal.services.plans import (
    accounts_on,
    accounts_per_plan,
    apply_plan,
    console_account,
    limits_of,
    may_change_plans,
    plans,
    save_plan,
)
from portal.words import gettext, lazy_gettext, ngettext

ON_PLAN_SHOWN = 100


class PlanForm(Form):
    """The name first, then one field per limit of the kinds registry, then the button."""

    name = StringField(lazy_gettext("Name"), validators=[DataRequired(), Length(max=100)])


add_limit_fields(PlanForm, lazy_gettext("Empty: no limit."))
PlanForm.submit = SubmitField(lazy_gettext("Save plan"))  # made last, so shown last


class NewPlanForm(PlanForm):
    submit = SubmitField(lazy_gettext("Create plan"))


class ApplyPlanForm(Form):
    account_id = WholeNumberField(validators=[DataRequired()])


def _values(form: PlanForm) -> dict[str, int | None]:
    return {kind: getattr(form, kind).data for kind in ALL_LIMITS}


def _plan(plan_id: int) -> Plan:
    return db.first_or_404(console(Plan, current_actor()).where(Plan.id == plan_id))


def _admins_only() -> None:
    if not may_change_plans(current_actor()):
        abort(403)


@bp.route("/plans", endpoint="plans")
@staff_required
def plans_list():
    return render_template(
        "staff/plans.html",
        plans=plans(),
        counts=accounts_per_plan(),
        limits=ALL_LIMITS,
        may_change=may_change_plans(current_actor()),
    )


@bp.route("/plans/new", methods=["GET", "POST"])
@staff_required
def plan_new():
    _admins_only()
    form = NewPlanForm()
    if form.validate_on_submit():
        with refusals(form):
            plan, _ = save_plan(current_actor(), None, name=form.name.data, values=_values(form))
            return saved(gettext("Plan %(name)s created.", name=plan.name), url_for(".plan", plan_id=plan.id))
    return render_template("staff/plans_new.html", form=form)


def _plan_page(plan: Plan, form: PlanForm | None = None):
    text = request.args.get("q", "").strip()[:200]
    on_plan = db.session.scalars(accounts_on(plan).limit(ON_PLAN_SHOWN)).all()
    return render_template(
        "staff/plans_show.html",
        plan=plan,
        form=form or PlanForm(data={"name": plan.name, **limits_of(plan)}),
        limits=ALL_LIMITS,
        may_change=may_change_plans(current_actor()),
        on_plan=on_plan,
        total=accounts_per_plan().get(plan.id, 0),
        q=text,
        found=search_accounts(text) if text else [],
    )


@bp.route("/plans/<int:plan_id>")
@staff_required
def plan(plan_id: int):
    return _plan_page(_plan(plan_id))


@bp.route("/plans/<int:plan_id>/edit", methods=["POST"])
@staff_required
def plan_edit(plan_id: int):
    _admins_only()
    plan = _plan(plan_id)
    form = PlanForm()
    if form.validate_on_submit():
        with refusals(form):
            _, moved = save_plan(current_actor(), plan, name=form.name.data, values=_values(form))
            message = (
                ngettext(
                    "Plan %(name)s saved; the %(num)d account on it follows.",
                    "Plan %(name)s saved; the %(num)d accounts on it follow.",
                    moved,
                    name=plan.name,
                )
                if moved
                else gettext("Plan %(name)s saved.", name=plan.name)
            )
            return saved(message, url_for(".plan", plan_id=plan.id))
    return _plan_page(plan, form)


@bp.route("/plans/<int:plan_id>/apply", methods=["POST"])
@staff_required
def plan_apply(plan_id: int):
    """Staff apply a plan to an account; then its page shows the new limits (or why not)."""
    actor, plan = current_actor(), _plan(plan_id)
    form = ApplyPlanForm()
    if not form.validate_on_submit():
        return redirect(url_for(".plan", plan_id=plan.id))
    account = console_account(actor, form.account_id.data)
    names = {"account": account.name, "plan": plan.name}
    target = url_for(".account", account_id=account.id)
    try:
        apply_plan(actor, plan, account)
    except ServiceError as error:
        fail_form(form, error)  # rolled back; the refusal, with the figures, on top of the account's page
        return redirect(target)
    return saved(gettext("%(account)s now has the limits of plan %(plan)s.", **names), target)

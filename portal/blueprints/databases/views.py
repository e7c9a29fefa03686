from flask import Blueprint, redirect, render_template, url_for
from sqlalchemy.orm import joinedload, selectinload

from portal.blueprints.common import confirm_delete, listing, paginated, refusals, saved, status_response
from portal.blueprints.databases.forms import (
    DatabaseForm,
    DatabasePasswordForm,
    DatabaseUserForm,
    GrantsForm,
    SizesForm,
)
from portal.blueprints.kept import kept
from portal.blueprints.offers import not_served
from portal.extensions import db
from portal.models import Database, DatabaseUser, Status
from portal.models.naming import named
from portal.orchestration.operations import is_served, password_lost
from portal.security.roles import customer
from portal.security.scoping import current_actor, get_scoped_or_404, scoped
from portal.services.databases import (
    change_password,
    create_database,
    create_user,
    delete_database,
    delete_user,
    refresh_sizes,
    set_grants,
    users_going_with,
)
from portal.services.usage import object_usage
from portal.words import gettext, lazy_gettext

bp = Blueprint("databases", __name__, url_prefix="/databases")


def _databases(engine=None) -> list[Database]:
    query = scoped(Database, current_actor()).where(Database.status != Status.DELETING).order_by(Database.name)
    if engine is not None:
        query = query.where(Database.engine == engine)
    return list(db.session.scalars(query))


def _choices(databases: list[Database], with_engine: bool = False) -> list[tuple[int, str]]:
    return [(d.id, f"{d.name} ({d.engine.label})" if with_engine else d.name) for d in databases]


def _index(form: DatabaseForm | None = None, status: int = 200):
    actor = current_actor()
    filters = listing(actor)  # one filter for both lists: databases and their users share names
    databases = paginated(
        filters.narrow(scoped(Database, actor), Database, Database.name)
        .order_by(Database.engine, Database.name)
        .options(joinedload(Database.users)),  # in the page's query: the "no server" check needs one more
        total=None if filters.filtered else actor.total("databases"),
    )
    users = paginated(
        filters.narrow(scoped(DatabaseUser, actor), DatabaseUser, DatabaseUser.name)
        .order_by(DatabaseUser.engine, DatabaseUser.name)
        .options(selectinload(DatabaseUser.databases)),
        arg="users_page",
    )
    return render_template(
        "databases/index.html",
        databases=databases.items,
        users=users.items,
        pages=databases,
        user_pages=users,
        listing=filters,
        form=form or DatabaseForm(),
        unserved=not_served(actor, "Database", lazy_gettext("databases")),
        prefix=actor.account.assigned_prefix() if actor.account else "",
    ), status


@bp.route("/")
@customer
@kept
def index():
    return _index()


@bp.route("/new", methods=["POST"])
@customer
def create():
    form = DatabaseForm()
    if is_served("Database") and form.validate_on_submit():  # else the page says no server offers them
        with refusals(form):
            database = create_database(current_actor(), engine=form.engine.data, name=form.name.data)
            return saved(gettext("%(name)s is being created.", name=named(database)), url_for(".index"))
    return _index(form, status=400)


@bp.route("/sizes", methods=["POST"])
@customer
def sizes():
    form = SizesForm()
    if form.validate_on_submit():
        with refusals(form):
            count = refresh_sizes(current_actor())
            return saved(f"The sizes of {count} database(s) are being read again.", url_for(".index"), "info")
    return redirect(url_for(".index"))


@bp.route("/<int:database_id>")
@customer
def show(database_id: int):
    actor = current_actor()
    database = get_scoped_or_404(Database, database_id, actor)
    return render_template("databases/show.html", database=database, usage=object_usage(actor, Database, database.id))


@bp.route("/<int:database_id>/delete", methods=["GET", "POST"])
@customer
def delete(database_id: int):
    def extra(database):
        going, staying = users_going_with(database)
        return {"going": going, "staying": staying}

    return confirm_delete(
        Database,
        database_id,
        delete_database,
        template="databases/delete.html",
        name="database",
        done=lazy_gettext("%(name)s is being deleted, with all its data."),
        extra=extra,
    )


@bp.route("/status")
@customer
def status():
    return status_response(Database)


@bp.route("/users/new", methods=["GET", "POST"])
@customer
def create_user_page():
    unserved = not_served(current_actor(), "DatabaseUser", lazy_gettext("databases"))
    if unserved:
        return render_template("databases/new_user.html", form=None, unserved=unserved)
    form = DatabaseUserForm()
    form.databases.choices = _choices(_databases(), with_engine=True)
    form.databases.pre_validate = lambda form: None  # the service answers a foreign id with 404
    if form.validate_on_submit():
        with refusals(form):
            user = create_user(
                current_actor(),
                engine=form.engine.data,
                name=form.name.data,
                password=form.password.data,
                database_ids=form.databases.data or [],
            )
            return saved(gettext("%(name)s is being created.", name=named(user)), url_for(".user", db_user_id=user.id))
    actor = current_actor()
    return render_template(
        "databases/new_user.html", form=form, prefix=actor.account.assigned_prefix() if actor.account else ""
    ), 400 if form.is_submitted() else 200


def _user_page(
    user: DatabaseUser,
    grants: GrantsForm | None = None,
    password: DatabasePasswordForm | None = None,
    status: int = 200,
):
    if grants is None:
        grants = GrantsForm(data={"databases": [d.id for d in user.databases]})
    grants.databases.choices = _choices(_databases(user.engine))
    return render_template(
        "databases/user.html",
        user=user,
        grants=grants,
        form=password or DatabasePasswordForm(),
        password_lost=password_lost(user),
    ), status


@bp.route("/users/<int:db_user_id>")
@customer
def user(db_user_id: int):
    return _user_page(get_scoped_or_404(DatabaseUser, db_user_id, current_actor()))


@bp.route("/users/<int:db_user_id>/grants", methods=["POST"])
@customer
def grants(db_user_id: int):
    actor = current_actor()
    found = get_scoped_or_404(DatabaseUser, db_user_id, actor)
    form = GrantsForm()
    form.databases.pre_validate = lambda form: None  # the service answers a foreign id with 404
    if form.validate_on_submit():
        with refusals(form):
            set_grants(actor, found.id, form.databases.data or [])
            return saved(
                gettext("The access of %(name)s is being updated.", name=named(found)),
                url_for(".user", db_user_id=found.id),
            )
    return _user_page(found, grants=form, status=400)


@bp.route("/users/<int:db_user_id>/password", methods=["POST"])
@customer
def password(db_user_id: int):
    actor = current_actor()
    found = get_scoped_or_404(DatabaseUser, db_user_id, actor)
    form = DatabasePasswordForm()
    if form.validate_on_submit():
        with refusals(form):
            change_password(actor, found.id, form.password.data)
            return saved(
                gettext("The new password for %(name)s is being applied.", name=named(found)),
                url_for(".user", db_user_id=found.id),
            )
    return _user_page(found, password=form, status=400)


@bp.route("/users/<int:db_user_id>/delete", methods=["GET", "POST"])
@customer
def delete_user_page(db_user_id: int):
    return confirm_delete(
        DatabaseUser,
        db_user_id,
        delete_user,
        template="databases/delete_user.html",
        name="user",
        done=lazy_gettext("%(name)s is being deleted."),
    )


@bp.route("/users/status")
@customer
def user_status():
    return status_response(DatabaseUser)

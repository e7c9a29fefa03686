from wtforms import RadioField, SelectChoice, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from portal.blueprints.forms import Checkboxes, Form, PasswordFields, id_choice
from portal.models import Engine
from portal.words import lazy_gettext

ENGINES = [SelectChoice(e.value, e.label) for e in Engine]
NAME_HELP = lazy_gettext("Lowercase letters, digits and _; your account prefix is added in front.")


class DatabaseForm(Form):
    name = StringField(lazy_gettext("Name"), validators=[DataRequired(), Length(max=80)], description=NAME_HELP)
    engine = RadioField(lazy_gettext("Engine"), choices=ENGINES, default=Engine.MARIADB.value)
    submit = SubmitField(lazy_gettext("Create database"))


class DatabaseUserForm(PasswordFields, Form):
    field_order = ("name", "engine", "password", "confirm")

    name = StringField(lazy_gettext("Name"), validators=[DataRequired(), Length(max=80)], description=NAME_HELP)
    engine = RadioField(lazy_gettext("Engine"), choices=ENGINES, default=Engine.MARIADB.value)
    databases = Checkboxes(
        lazy_gettext("May use"), coerce=id_choice, description=lazy_gettext("Databases of the same engine.")
    )
    submit = SubmitField(lazy_gettext("Create user"))


class GrantsForm(Form):
    databases = Checkboxes(lazy_gettext("May use"), coerce=id_choice)
    submit = SubmitField(lazy_gettext("Save access"))


class DatabasePasswordForm(PasswordFields, Form):
    submit = SubmitField(lazy_gettext("Change password"))


class SizesForm(Form):
    submit = SubmitField(lazy_gettext("Refresh sizes"))

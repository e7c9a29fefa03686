from wtforms import RadioField, SelectChoice, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from portal.blueprints.forms import Checkboxes, Form, PasswordFields, id_choice
from portal.models import Engine

ENGINES = [SelectChoice(e.value, e.label) for e in Engine]
NAME_HELP = "Lowercase letters, digits and _; your account prefix is added in front."


class DatabaseForm(Form):
    engine = RadioField("Engine", choices=ENGINES, default=Engine.MARIADB.value)
    name = StringField("Name", validators=[DataRequired(), Length(max=80)], description=NAME_HELP)
    submit = SubmitField("Create database")


class DatabaseUserForm(PasswordFields, Form):
    engine = RadioField("Engine", choices=ENGINES, default=Engine.MARIADB.value)
    name = StringField("Name", validators=[DataRequired(), Length(max=80)], description=NAME_HELP)
    databases = Checkboxes("May use", coerce=id_choice, description="Databases of the same engine.")
    submit = SubmitField("Create user")


class GrantsForm(Form):
    databases = Checkboxes("May use", coerce=id_choice)
    submit = SubmitField("Save access")


class DatabasePasswordForm(PasswordFields, Form):
    submit = SubmitField("Change password")


class SizesForm(Form):
    submit = SubmitField("Refresh sizes")

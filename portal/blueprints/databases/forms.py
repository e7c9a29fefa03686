from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from portal.blueprints.forms import Checkboxes, PasswordFields
from portal.models import Engine

ENGINES = [SelectChoice(e.value, e.label) for e in Engine]
NAME_HELP = "Lowercase letters, digits and _; your account prefix is added in front."


class DatabaseForm(FlaskForm):
    engine = RadioField("Engine", choices=ENGINES, default=Engine.MARIADB.value)
    name = StringField("Name", validators=[DataRequired(), Length(max=80)], description=NAME_HELP)
    submit = SubmitField("Create database")


class DatabaseUserForm(PasswordFields, FlaskForm):
    engine = RadioField("Engine", choices=ENGINES, default=Engine.MARIADB.value)
    name = StringField("Name", validators=[DataRequired(), Length(max=80)], description=NAME_HELP)
    databases = Checkboxes("May use", coerce=int, description="Databases of the same engine.")
    submit = SubmitField("Create user")


class GrantsForm(FlaskForm):
    databases = Checkboxes("May use", coerce=int)
    submit = SubmitField("Save access")


class DatabasePasswordForm(PasswordFields, FlaskForm):
    submit = SubmitField("Change password")


class SizesForm(FlaskForm):
    submit = SubmitField("Refresh sizes")

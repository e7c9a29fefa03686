"""Form pieces that several pages share."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length
from wtforms.widgets import CheckboxInput, ListWidget

PASSWORD_RULES = [DataRequired(), Length(min=10, max=128, message="Use 10 to 128 characters.")]


class PasswordFields:
    password = PasswordField("Password", validators=PASSWORD_RULES)
    confirm = PasswordField(
        "Repeat the password", validators=[DataRequired(), EqualTo("password", message="The passwords differ.")]
    )


class Checkboxes(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class EnrolForm(FlaskForm):
    code = StringField(
        "Code from the app",
        validators=[DataRequired(), Length(max=10)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField("Turn on two-factor login")

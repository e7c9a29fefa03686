from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from portal.blueprints.forms import PasswordFields


class PasswordChangeForm(PasswordFields, FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField("Change my password")


class EmailChangeForm(FlaskForm):
    email = EmailField("New login e-mail", validators=[DataRequired(), Length(max=254)])
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField("Change my e-mail")


class TimezoneForm(FlaskForm):
    timezone = SelectField("Show times in", choices=sorted(available_timezones()))
    submit = SubmitField("Save")


class CodeConfirmForm(FlaskForm):
    code = StringField(
        "Authenticator or recovery code",
        validators=[DataRequired(), Length(max=40)],
        render_kw={"autocomplete": "one-time-code"},
    )
    submit = SubmitField("Confirm")

from zoneinfo import available_timezones

from flask_babel import lazy_gettext
from wtforms import EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from portal.blueprints.forms import Form, PasswordFields


class PasswordChangeForm(PasswordFields, Form):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField("Change my password")


class EmailChangeForm(Form):
    email = EmailField("New login e-mail", validators=[DataRequired(), Length(max=254)])
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField("Change my e-mail")


class TimezoneForm(Form):
    timezone = SelectField("Show times in", choices=sorted(available_timezones()))
    submit = SubmitField("Save")


class LanguageForm(Form):
    # "" follows the browser; the choices are set per request (their words are in each language).
    locale = SelectField(lazy_gettext("Language"), choices=[])
    submit = SubmitField(lazy_gettext("Save"))


class CodeConfirmForm(Form):
    code = StringField(
        "Authenticator or recovery code",
        validators=[DataRequired(), Length(max=40)],
        render_kw={"autocomplete": "one-time-code"},
    )
    submit = SubmitField("Confirm")

from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Regexp

from portal.blueprints.forms import Form, PasswordFields
from portal.words import lazy_gettext


class LoginForm(Form):
    email = EmailField(lazy_gettext("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(lazy_gettext("Password"), validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField(lazy_gettext("Log in"))


class LogoutForm(Form):
    submit = SubmitField(lazy_gettext("Log out"))


class CodeForm(Form):
    code = StringField(
        lazy_gettext("Code"),
        validators=[DataRequired(), Length(max=40)],
        render_kw={"autocomplete": "one-time-code", "autofocus": True},
        description=lazy_gettext("The 6 digits your authenticator app shows, or one of your recovery codes."),
    )
    submit = SubmitField(lazy_gettext("Continue"))


class ForgotForm(Form):
    email = EmailField(
        lazy_gettext("E-mail"),
        validators=[
            DataRequired(),
            Length(max=254),
            Regexp(r"^[^@\s]+@[^@\s]+$", message=lazy_gettext("Type an e-mail address.")),
        ],
        render_kw={"autocomplete": "email", "autofocus": True},
    )
    submit = SubmitField(lazy_gettext("Send me a link"))


class ResetForm(PasswordFields, Form):
    submit = SubmitField(lazy_gettext("Set my new password"))

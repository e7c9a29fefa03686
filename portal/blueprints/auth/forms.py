from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from portal.blueprints.forms import Form


class LoginForm(Form):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField("Log in")


class LogoutForm(Form):
    submit = SubmitField("Log out")


class CodeForm(Form):
    code = StringField(
        "Code",
        validators=[DataRequired(), Length(max=40)],
        render_kw={"autocomplete": "one-time-code", "autofocus": True},
        description="The 6 digits your authenticator app shows, or one of your recovery codes.",
    )
    submit = SubmitField("Continue")

from wtforms import RadioField, SelectChoice, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.blueprints.forms import Form, PasswordFields
from portal.words import lazy_gettext

SHELL_CHOICES = [
    SelectChoice("sftp", lazy_gettext("SFTP only, inside its home")),
    SelectChoice("bash", lazy_gettext("Login shell (SSH)")),
]
KEYS_HELP = lazy_gettext(
    "Optional. OpenSSH public keys, one per line, with authorized_keys options in front if you want them "
    '(restrict, from="...", command="...", permitopen="host:port"...).'
)


class SystemUserForm(PasswordFields, Form):
    field_order = ("name", "password", "confirm")

    name = StringField(
        lazy_gettext("Name"),
        validators=[DataRequired(), Length(max=16)],
        description=lazy_gettext("Letters and digits; your account prefix is added in front."),
    )
    shell = RadioField(lazy_gettext("Access"), choices=SHELL_CHOICES, default="sftp")
    ssh_keys = TextAreaField(
        lazy_gettext("SSH keys"), validators=[Length(max=20000)], description=KEYS_HELP, render_kw={"rows": 3}
    )
    submit = SubmitField(lazy_gettext("Create user"))


class UserPasswordForm(PasswordFields, Form):
    submit = SubmitField(lazy_gettext("Change password"))


class UserSettingsForm(Form):
    shell = RadioField(lazy_gettext("Access"), choices=SHELL_CHOICES)
    ssh_keys = TextAreaField(
        lazy_gettext("SSH keys"), validators=[Length(max=20000)], description=KEYS_HELP, render_kw={"rows": 3}
    )
    submit = SubmitField(lazy_gettext("Save"))

from wtforms import RadioField, SelectChoice, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.blueprints.forms import Form, PasswordFields

SHELL_CHOICES = [SelectChoice("sftp", "SFTP only, inside its home"), SelectChoice("bash", "Login shell (SSH)")]
KEYS_HELP = (
    "Optional. OpenSSH public keys, one per line, with authorized_keys options in front if you want them "
    '(restrict, from="...", command="...", permitopen="host:port"...).'
)


class SystemUserForm(PasswordFields, Form):
    name = StringField(
        "Name",
        validators=[DataRequired(), Length(max=16)],
        description="Letters and digits; your account prefix is added in front.",
    )
    shell = RadioField("Access", choices=SHELL_CHOICES, default="sftp")
    ssh_keys = TextAreaField("SSH keys", validators=[Length(max=20000)], description=KEYS_HELP, render_kw={"rows": 3})
    submit = SubmitField("Create user")


class UserPasswordForm(PasswordFields, Form):
    submit = SubmitField("Change password")


class UserSettingsForm(Form):
    shell = RadioField("Access", choices=SHELL_CHOICES)
    ssh_keys = TextAreaField("SSH keys", validators=[Length(max=20000)], description=KEYS_HELP, render_kw={"rows": 3})
    submit = SubmitField("Save")

from wtforms import EmailField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from portal.blueprints.forms import Form, PasswordFields, WholeNumberField, add_limit_fields
from portal.words import lazy_gettext


class SubAccountForm(Form):
    name = StringField(lazy_gettext("Account name"), validators=[DataRequired(), Length(max=100)])
    owner_email = EmailField(lazy_gettext("Owner's e-mail"), validators=[DataRequired(), Length(max=254)])
    emergency_email = EmailField(
        lazy_gettext("Emergency contact e-mail"),
        validators=[DataRequired(), Length(max=254)],
        description=lazy_gettext(
            "Where warnings go, on a domain this portal does not host. It gets a link to confirm; the owner may change it."
        ),
    )
    submit = SubmitField(lazy_gettext("Create account"))


class LimitsForm(Form):
    submit = SubmitField(lazy_gettext("Save limits"))


add_limit_fields(LimitsForm, lazy_gettext("Leave empty for no limit of its own."))


class SwitchForm(Form):
    account_id = WholeNumberField(validators=[Optional()])


class SetPasswordForm(PasswordFields, Form):
    submit = SubmitField(lazy_gettext("Set my password"))

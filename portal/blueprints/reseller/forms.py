from wtforms import EmailField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.blueprints.forms import Form, PasswordFields, WholeNumberField
from portal.i18n import lazy_gettext
from portal.models import LIMITS


class SubAccountForm(Form):
    name = StringField(lazy_gettext("Account name"), validators=[DataRequired(), Length(max=100)])
    owner_email = EmailField(lazy_gettext("Owner's e-mail"), validators=[DataRequired(), Length(max=254)])
    submit = SubmitField(lazy_gettext("Create account"))


class LimitsForm(Form):
    submit = SubmitField(lazy_gettext("Save limits"))


for _kind, _words in LIMITS.items():
    setattr(
        LimitsForm,
        _kind,
        WholeNumberField(
            lazy_gettext("Most %(things)s", things=_words),
            validators=[Optional(), NumberRange(min=0)],
            description=lazy_gettext("Leave empty for no limit of its own."),
        ),
    )


class SwitchForm(Form):
    account_id = WholeNumberField(validators=[Optional()])


class SetPasswordForm(PasswordFields, Form):
    submit = SubmitField(lazy_gettext("Set my password"))

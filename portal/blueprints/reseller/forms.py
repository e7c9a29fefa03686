from wtforms import EmailField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.blueprints.forms import Form, PasswordFields, WholeNumberField
from portal.models import LIMITS


class SubAccountForm(Form):
    name = StringField("Account name", validators=[DataRequired(), Length(max=100)])
    owner_email = EmailField("Owner's e-mail", validators=[DataRequired(), Length(max=254)])
    submit = SubmitField("Create account")


class LimitsForm(Form):
    submit = SubmitField("Save limits")


for _kind, _words in LIMITS.items():
    setattr(
        LimitsForm,
        _kind,
        WholeNumberField(
            f"Most {_words}", validators=[Optional(), NumberRange(min=0)], description="Empty: no limit of its own."
        ),
    )


class SwitchForm(Form):
    account_id = WholeNumberField(validators=[Optional()])


class SetPasswordForm(PasswordFields, Form):
    submit = SubmitField("Set my password")

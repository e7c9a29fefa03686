from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.blueprints.forms import PasswordFields
from portal.models import LIMITS


class SubAccountForm(FlaskForm):
    name = StringField("Account name", validators=[DataRequired(), Length(max=100)])
    owner_email = EmailField("Owner's e-mail", validators=[DataRequired(), Length(max=254)])
    submit = SubmitField("Create account")


class LimitsForm(FlaskForm):
    submit = SubmitField("Save limits")


for _kind, _words in LIMITS.items():
    setattr(
        LimitsForm,
        _kind,
        IntegerField(
            f"Most {_words}", validators=[Optional(), NumberRange(min=0)], description="Empty: no limit of its own."
        ),
    )


class SwitchForm(FlaskForm):
    account_id = IntegerField(validators=[Optional()])


class SetPasswordForm(PasswordFields, FlaskForm):
    submit = SubmitField("Set my password")

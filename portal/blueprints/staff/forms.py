from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, SubmitField
from wtforms.validators import Optional

from portal.models import LogState


class LogFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    server = SelectField("Server", coerce=str, validators=[Optional()])
    state = SelectField("State", choices=[SelectChoice("", "Any state")] + [SelectChoice(s.value) for s in LogState],
                        validators=[Optional()])
    account = IntegerField("Account id", validators=[Optional()])


class ActionForm(FlaskForm):
    submit = SubmitField("Go")

from wtforms import BooleanField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional

from portal.blueprints.forms import Form, WholeNumberField
from portal.models import LogState


class LogFilterForm(Form):
    class Meta:
        csrf = False  # a GET filter changes nothing

    server = SelectField("Server", coerce=str, validators=[Optional()])
    state = SelectField(
        "State",
        choices=[SelectChoice("", "Any state")] + [SelectChoice(s.value) for s in LogState],
        validators=[Optional()],
    )
    account = WholeNumberField("Account id", validators=[Optional()])


class ActionForm(Form):
    submit = SubmitField("Go")


class EventFilterForm(Form):
    class Meta:
        csrf = False  # a GET filter changes nothing

    account = WholeNumberField("Account id", validators=[Optional()])
    who = StringField("Who (e-mail)", validators=[Optional(), Length(max=254)])
    action = StringField(
        "Action starts with", validators=[Optional(), Length(max=40)], description="e.g. mailbox, impersonation.start"
    )
    impersonated = BooleanField("Only steps taken while impersonating")


class VerifyDomainForm(Form):
    reason = StringField("Reason", validators=[Length(max=1000)])
    submit = SubmitField("Mark as verified")

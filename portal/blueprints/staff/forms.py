from wtforms import BooleanField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional

from portal.blueprints.forms import Form, WholeNumberField
from portal.models import LogState
from portal.words import lazy_gettext

# A backend log's state in words (_macros/log_state.html shows the same words on its badge).
STATE_WORDS = {
    LogState.RECEIVED: lazy_gettext("Received"),
    LogState.STARTED: lazy_gettext("Started"),
    LogState.SUCCESS: lazy_gettext("Success"),
    LogState.WARNING: lazy_gettext("Warning"),
    LogState.FAILURE: lazy_gettext("Failure"),
    LogState.ERROR: lazy_gettext("Error"),
    LogState.TIMEOUT: lazy_gettext("Timeout"),
}


class LogFilterForm(Form):
    class Meta:
        csrf = False  # a GET filter changes nothing

    server = SelectField(lazy_gettext("Server"), coerce=str, validators=[Optional()])
    state = SelectField(
        lazy_gettext("State"),
        choices=[SelectChoice("", lazy_gettext("Any state"))]
        + [SelectChoice(s.value, STATE_WORDS[s]) for s in LogState],
        validators=[Optional()],
    )
    account = WholeNumberField(lazy_gettext("Account ID"), validators=[Optional()])


class ActionForm(Form):
    submit = SubmitField(lazy_gettext("Go"))


class EventFilterForm(Form):
    class Meta:
        csrf = False  # a GET filter changes nothing

    account = WholeNumberField(lazy_gettext("Account ID"), validators=[Optional()])
    who = StringField(lazy_gettext("Who (e-mail)"), validators=[Optional(), Length(max=254)])
    action = StringField(
        lazy_gettext("Action starts with"),
        validators=[Optional(), Length(max=40)],
        description=lazy_gettext("For example: mailbox, impersonation.start"),
    )
    impersonated = BooleanField(lazy_gettext("Only steps taken while impersonating"))


class VerifyDomainForm(Form):
    reason = StringField(lazy_gettext("Reason"), validators=[Length(max=1000)])
    submit = SubmitField(lazy_gettext("Mark as verified"))

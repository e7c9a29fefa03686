from wtforms import StringField, SubmitField, ValidationError
from wtforms.validators import DataRequired, Length, Optional

from portal.blueprints.forms import Form


def _printable(form, field):
    if field.data and not field.data.isprintable():
        raise ValidationError("Use plain text: no line breaks or control characters.")


class ImpersonateForm(Form):
    reason = StringField(
        "Reason",
        validators=[DataRequired("Say why: a ticket id or a few words."), Length(max=200), _printable],
        description="Shown to the customer in their activity log.",
    )
    code = StringField(
        "Authenticator code",
        validators=[Optional(), Length(max=40)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField("Impersonate")


class StopForm(Form):
    submit = SubmitField("Stop impersonating")

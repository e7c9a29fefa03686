from wtforms import StringField, SubmitField, ValidationError
from wtforms.validators import DataRequired, Length, Optional

from portal.blueprints.forms import Form
from portal.words import lazy_gettext


def _printable(form, field):
    if field.data and not field.data.isprintable():
        raise ValidationError(lazy_gettext("Use plain text: no line breaks or control characters."))


class ImpersonateForm(Form):
    reason = StringField(
        lazy_gettext("Reason"),
        validators=[DataRequired(lazy_gettext("Say why: a ticket id or a few words.")), Length(max=200), _printable],
        description=lazy_gettext("Shown to the customer in their activity log."),
    )
    code = StringField(
        lazy_gettext("Authenticator code"),
        validators=[Optional(), Length(max=40)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField(lazy_gettext("Impersonate"))


class StopForm(Form):
    submit = SubmitField(lazy_gettext("Stop impersonating"))

from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from portal.blueprints.forms import Form
from portal.words import lazy_gettext


class DomainForm(Form):
    name = StringField(
        lazy_gettext("Domain name"),
        validators=[DataRequired(), Length(max=1000)],
        description=lazy_gettext("For example example.org or bücher.example"),
    )
    submit = SubmitField(lazy_gettext("Add domain"))


class CheckForm(Form):
    submit = SubmitField(lazy_gettext("Check now"))


class VerifyForm(Form):
    reason = StringField(
        lazy_gettext("Reason"),
        validators=[Length(max=1000)],
        description=lazy_gettext(
            "Why you vouch for this domain (a contract, a ticket id). It goes into the audit trail."
        ),
    )
    submit = SubmitField(lazy_gettext("Mark as verified"))


class RotateForm(Form):
    submit = SubmitField(lazy_gettext("Rotate the DKIM key"))

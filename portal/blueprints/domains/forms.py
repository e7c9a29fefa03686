from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from portal.blueprints.forms import Form


class DomainForm(Form):
    name = StringField(
        "Domain name",
        validators=[DataRequired(), Length(max=1000)],
        description="For example example.org or bücher.example",
    )
    submit = SubmitField("Add domain")


class CheckForm(Form):
    submit = SubmitField("Check now")


class VerifyForm(Form):
    reason = StringField(
        "Reason",
        validators=[Length(max=1000)],
        description="Why you vouch for this domain (a contract, a ticket id). It goes into the audit trail.",
    )
    submit = SubmitField("Mark as verified")

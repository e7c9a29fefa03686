from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length


class DomainForm(FlaskForm):
    name = StringField(
        "Domain name",
        validators=[DataRequired(), Length(max=1000)],
        description="For example example.org or bücher.example",
    )
    submit = SubmitField("Add domain")


class CheckForm(FlaskForm):
    submit = SubmitField("Check now")


class VerifyForm(FlaskForm):
    reason = StringField(
        "Reason",
        validators=[Length(max=1000)],
        description="Why you vouch for this domain (a contract, a ticket id). It goes into the audit trail.",
    )
    submit = SubmitField("Mark as verified")

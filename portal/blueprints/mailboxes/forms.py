from flask_babel import lazy_gettext
from wtforms import (
    BooleanField,
    DateField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from portal.blueprints.forms import Form, PasswordFields, WholeNumberField, id_choice
from portal.models.validators import local_part_problem
from portal.services.mailboxes import QUOTA_MAX_MB, QUOTA_MIN_MB


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def _valid_local_part(form, field):
    problem = local_part_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


class MailboxForm(PasswordFields, Form):
    local_part = StringField(
        "Name",
        filters=[_lower],
        validators=[DataRequired(), _valid_local_part],
        description="The part before the @, e.g. alice.",
    )
    domain_id = SelectField("Domain", coerce=id_choice, validators=[DataRequired()])
    with_address = BooleanField("Also create the address of the same name, so mail to it arrives here", default=True)
    quota_mb = WholeNumberField(
        "Quota (MB)",
        default=1024,
        validators=[
            InputRequired(),
            NumberRange(QUOTA_MIN_MB, QUOTA_MAX_MB, message=f"Choose {QUOTA_MIN_MB} to {QUOTA_MAX_MB} MB."),
        ],
    )
    submit = SubmitField("Create mailbox")


class QuotaForm(Form):
    quota_mb = WholeNumberField(
        lazy_gettext("Quota (MB)"),
        validators=[
            InputRequired(),
            NumberRange(
                QUOTA_MIN_MB,
                QUOTA_MAX_MB,
                message=lazy_gettext("Choose %(low)d to %(high)d MB.", low=QUOTA_MIN_MB, high=QUOTA_MAX_MB),
            ),
        ],
    )
    submit = SubmitField(lazy_gettext("Change quota"))


class MailboxPasswordForm(PasswordFields, Form):
    submit = SubmitField("Change password")


class AutoreplyForm(Form):
    enabled = BooleanField("Send an automatic reply")
    subject = StringField("Subject", validators=[Length(max=200)], default="Out of office")
    message = TextAreaField("Message", validators=[Length(max=5000)], render_kw={"rows": 5})
    start = DateField("From (optional)", validators=[Optional()])
    end = DateField("Until (optional)", validators=[Optional()])
    submit = SubmitField("Save the automatic reply")

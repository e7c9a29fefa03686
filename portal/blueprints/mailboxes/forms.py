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
from portal.words import lazy_gettext


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def _valid_local_part(form, field):
    problem = local_part_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


class MailboxForm(PasswordFields, Form):
    field_order = ("local_part", "domain_id", "password", "confirm")

    local_part = StringField(
        lazy_gettext("Name"),
        filters=[_lower],
        validators=[DataRequired(), _valid_local_part],
        description=lazy_gettext("The part before the @, for example alice."),
    )
    domain_id = SelectField(lazy_gettext("Domain"), coerce=id_choice, validators=[DataRequired()])
    with_address = BooleanField(
        lazy_gettext("Also create the address of the same name, so mail to it arrives here"), default=True
    )
    quota_mb = WholeNumberField(
        lazy_gettext("Quota (MB)"),
        default=1024,
        validators=[
            InputRequired(),
            NumberRange(
                QUOTA_MIN_MB,
                QUOTA_MAX_MB,
                message=lazy_gettext("Choose %(low)d to %(high)d MB.", low=QUOTA_MIN_MB, high=QUOTA_MAX_MB),
            ),
        ],
        description=lazy_gettext("How much mail it may hold."),
    )
    submit = SubmitField(lazy_gettext("Create mailbox"))


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
    submit = SubmitField(lazy_gettext("Change password"))


class AutoreplyForm(Form):
    enabled = BooleanField(lazy_gettext("Send an automatic reply"))
    subject = StringField(lazy_gettext("Subject"), validators=[Length(max=200)], default="Out of office")
    message = TextAreaField(lazy_gettext("Message"), validators=[Length(max=5000)], render_kw={"rows": 5})
    start = DateField(lazy_gettext("From (optional)"), validators=[Optional()])
    end = DateField(lazy_gettext("Until (optional)"), validators=[Optional()])
    submit = SubmitField(lazy_gettext("Save the automatic reply"))

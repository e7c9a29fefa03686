from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.blueprints.forms import Checkboxes, Form, id_choice
from portal.services.addresses import MAX_FORWARDS


class DestinationFields:
    mailbox_ids = Checkboxes("Deliver to these mailboxes", coerce=id_choice, validators=[Optional()])
    forwards = TextAreaField(
        "Forward to (one address per line)",
        validators=[Length(max=MAX_FORWARDS * 260)],
        render_kw={"rows": 3},
        description=f"At most {MAX_FORWARDS} addresses.",
    )

    def forward_list(self) -> list[str]:
        return (self.forwards.data or "").splitlines()


class AddressForm(DestinationFields, Form):
    local_part = StringField(
        "Name",
        filters=[lambda v: v.lower() if isinstance(v, str) else v],
        validators=[Length(max=64)],
        description="The part before the @, e.g. info.",
    )
    catch_all = BooleanField("Catch-all: every name on the domain that is not otherwise taken")
    domain_id = SelectField("Domain", coerce=id_choice, validators=[DataRequired()])
    submit = SubmitField("Create address")


class EditAddressForm(DestinationFields, Form):
    submit = SubmitField("Save")

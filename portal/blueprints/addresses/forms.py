from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.blueprints.forms import Checkboxes, Form, id_choice
from portal.services.addresses import MAX_FORWARDS
from portal.words import lazy_gettext


class DestinationFields:
    mailbox_ids = Checkboxes(lazy_gettext("Deliver to these mailboxes"), coerce=id_choice, validators=[Optional()])
    forwards = TextAreaField(
        lazy_gettext("Forward to (one address per line)"),
        validators=[Length(max=MAX_FORWARDS * 260)],
        render_kw={"rows": 3},
        description=lazy_gettext("At most %(count)d addresses, anywhere on the internet.", count=MAX_FORWARDS),
    )

    def forward_list(self) -> list[str]:
        return (self.forwards.data or "").splitlines()


class AddressForm(DestinationFields, Form):
    field_order = ("local_part", "domain_id", "catch_all")

    local_part = StringField(
        lazy_gettext("Name"),
        filters=[lambda v: v.lower() if isinstance(v, str) else v],
        validators=[Length(max=64)],
        description=lazy_gettext("The part before the @, for example info."),
    )
    domain_id = SelectField(lazy_gettext("Domain"), coerce=id_choice, validators=[DataRequired()])
    catch_all = BooleanField(lazy_gettext("Catch-all: every name on the domain that is not otherwise taken"))
    submit = SubmitField(lazy_gettext("Create address"))


class EditAddressForm(DestinationFields, Form):
    submit = SubmitField(lazy_gettext("Save"))

from wtforms import HiddenField, SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from portal.blueprints.forms import Form, WholeNumberField
from portal.models.dns import RECORD_TYPES
from portal.services.dns_values import TTL_MAX, TTL_MIN
from portal.words import lazy_gettext


class RecordForm(Form):
    name = StringField(
        lazy_gettext("Name"),
        validators=[Length(max=1000)],
    )  # its description names the zone: set by the view
    rtype = SelectField(
        lazy_gettext("Type"), choices=[SelectChoice(t, t) for t in RECORD_TYPES], validators=[DataRequired()]
    )
    ttl = WholeNumberField(
        lazy_gettext("TTL (seconds)"),
        default=3600,
        validators=[Optional()],
        description=lazy_gettext("How long resolvers keep the answer: %(low)d to %(high)d.", low=TTL_MIN, high=TTL_MAX),
    )
    value = TextAreaField(
        lazy_gettext("Value"),
        validators=[Length(max=5000)],
        render_kw={"rows": 2},
        description=lazy_gettext(
            "A: 192.0.2.10. AAAA: 2001:db8::10. CNAME, NS: a host name. MX: 10 mx.example.net. "
            "SRV: 10 5 5060 sip.example.net. CAA: 0 issue letsencrypt.org. TXT: the text as it is, without "
            "quotes (long text is split for you). A host name with a dot is a full name; one word, such as "
            "www, is a name in this zone; @ is the zone itself."
        ),
    )
    submit = SubmitField(lazy_gettext("Add record"))


class EditRecordForm(RecordForm):
    submit = SubmitField(lazy_gettext("Save"))


class DnssecForm(Form):
    dnssec = HiddenField(validators=[AnyOf(["on", "off"])])


class DmarcForm(Form):
    address = StringField(
        lazy_gettext("DMARC reports to"),
        validators=[Length(max=254)],
        description=lazy_gettext(
            "Mail servers send daily reports of the mail they got in your name here. Empty: no reports."
        ),
    )
    submit = SubmitField(lazy_gettext("Save address"))

from wtforms import BooleanField, RadioField, SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.blueprints.forms import Checkboxes, Form, id_choice
from portal.words import lazy_gettext


class SecretText(TextAreaField):
    """A secret pasted as text (a private key): it reaches the service, but a page shown again after an
    error never writes it back, like a password field."""

    def _value(self) -> str:
        return ""


class WebsiteForm(Form):
    name = StringField(
        lazy_gettext("Name"),
        validators=[DataRequired(), Length(max=64)],
        description=lazy_gettext("For you to tell your websites apart; visitors never see it."),
    )
    domain_ids = Checkboxes(lazy_gettext("Domains"), coerce=id_choice)
    with_www = BooleanField(lazy_gettext("Also answer on www. in front of each domain"), default=True)
    wildcard = BooleanField(
        lazy_gettext("Also answer on every subdomain (*.) of each domain"),
        description=lazy_gettext("Its automatic certificate needs the domain's DNS to be hosted here."),
    )
    root_app = SelectField(lazy_gettext("Web app on /"), coerce=id_choice)
    more_mounts = TextAreaField(
        lazy_gettext("More apps (optional)"),
        render_kw={"rows": 2},
        validators=[Length(max=2000)],
        description=lazy_gettext("One per line: a path and an app name, for example /blog myblog"),
    )
    tls_mode = RadioField(
        lazy_gettext("HTTPS"),
        choices=[
            SelectChoice("auto", lazy_gettext("Automatic certificate (free, renewed by Hostdeck)")),
            SelectChoice("uploaded", lazy_gettext("My own certificate")),
            SelectChoice("none", lazy_gettext("No HTTPS")),
        ],
        default="auto",
        description=lazy_gettext("An automatic certificate is ordered once the domains point at this server."),
    )
    certificate = TextAreaField(
        lazy_gettext("Certificate (PEM, with its chain)"), validators=[Length(max=65536)], render_kw={"rows": 3}
    )
    key = SecretText(
        lazy_gettext("Private key (PEM, no passphrase)"),
        validators=[Length(max=65536)],
        render_kw={"rows": 3},
        description=lazy_gettext(
            "Sent once to the server; Hostdeck keeps no copy. Leave empty to keep the current one."
        ),
    )
    redirect_https = BooleanField(lazy_gettext("Send visitors from HTTP to HTTPS"))
    hsts = BooleanField(
        lazy_gettext("Tell browsers to use only HTTPS (HSTS)"),
        description=lazy_gettext("Browsers remember it for a year: turn it on once HTTPS works."),
    )
    submit = SubmitField(lazy_gettext("Create website"))

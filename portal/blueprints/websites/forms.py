from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.blueprints.forms import Checkboxes, Form, id_choice


class WebsiteForm(Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=64)])
    domain_ids = Checkboxes("Domains", coerce=id_choice)
    with_www = BooleanField("Also answer on www.<domain>", default=True)
    root_app = SelectField("Web app on /", coerce=id_choice)
    more_mounts = TextAreaField(
        "More apps (optional)",
        render_kw={"rows": 2},
        validators=[Length(max=2000)],
        description="One per line: a path and an app name, e.g. /blog myblog",
    )
    https = BooleanField("Also serve HTTPS, with my certificate")
    certificate = TextAreaField(
        "Certificate (PEM, with its chain)", validators=[Length(max=65536)], render_kw={"rows": 3}
    )
    key = TextAreaField(
        "Private key (PEM, no passphrase)",
        validators=[Length(max=65536)],
        render_kw={"rows": 3},
        description="Sent once to the server; Hostdeck keeps no copy. Leave empty to keep the current one.",
    )
    submit = SubmitField("Create website")

from zoneinfo import available_timezones

from wtforms import (
    DateField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length

from portal.blueprints.forms import Checkboxes, Form, PasswordFields, id_choice
from portal.words import lazy_gettext


class PasswordChangeForm(PasswordFields, Form):
    current = PasswordField(lazy_gettext("Current password"), validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField(lazy_gettext("Change my password"))


class EmailChangeForm(Form):
    email = EmailField(lazy_gettext("New login e-mail"), validators=[DataRequired(), Length(max=254)])
    current = PasswordField(lazy_gettext("Current password"), validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField(lazy_gettext("Change my e-mail"))


class EmergencyContactForm(Form):
    emergency_email = EmailField(
        lazy_gettext("Emergency contact e-mail"),
        validators=[DataRequired(), Length(max=254)],
        description=lazy_gettext("On a domain this portal does not host, so it still reads mail when ours is down."),
    )
    submit = SubmitField(lazy_gettext("Save and send a confirmation link"))


class ResendContactForm(Form):
    submit = SubmitField(lazy_gettext("Send the link again"))


class ConfirmContactForm(Form):
    submit = SubmitField(lazy_gettext("Confirm this address"))


class TimezoneForm(Form):
    timezone = SelectField(lazy_gettext("Show times in"), choices=sorted(available_timezones()))
    submit = SubmitField(lazy_gettext("Save"))


class LanguageForm(Form):
    # "" follows the browser; the choices are set per request (their words are in each language).
    locale = SelectField(lazy_gettext("Language"), choices=[])
    submit = SubmitField(lazy_gettext("Save"))


class CodeConfirmForm(Form):
    code = StringField(
        lazy_gettext("Authenticator or recovery code"),
        validators=[DataRequired(), Length(max=40)],
        render_kw={"autocomplete": "one-time-code"},
    )
    submit = SubmitField(lazy_gettext("Confirm"))


class TokenForm(Form):
    name = StringField(lazy_gettext("Name"), validators=[DataRequired(), Length(max=100)])
    expires_at = DateField(
        lazy_gettext("Expires on"),
        validators=[DataRequired()],
        description=lazy_gettext("At most a year from today."),
    )
    # The choices are set per request: the scopes and sub-accounts this login may give a token.
    scopes = Checkboxes(lazy_gettext("Scopes"), choices=[])
    account_ids = SelectMultipleField(
        lazy_gettext("Kept to these sub-accounts (optional)"),
        choices=[],
        coerce=id_choice,
        description=lazy_gettext("None chosen: all of your sub-accounts."),
    )
    networks = TextAreaField(
        lazy_gettext("Networks (optional)"),
        validators=[Length(max=2000)],
        description=lazy_gettext("One IP address or network per line, for example 203.0.113.0/24. Empty: anywhere."),
        render_kw={"rows": 3},
    )
    submit = SubmitField(lazy_gettext("Make the token"))


class RevokeTokenForm(Form):
    submit = SubmitField(lazy_gettext("Revoke"))

from wtforms import BooleanField, RadioField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from portal.blueprints.forms import Form, id_choice
from portal.services.webapps import PHP_DEFAULTS
from portal.words import lazy_gettext


def _setting(name: str):
    """A PHP setting's label: its own name, as php.ini spells it, and what it is when left as it comes."""
    return lazy_gettext("%(setting)s (default %(value)s)", setting=name, value=PHP_DEFAULTS[name])


class PhpOptions:
    # Shown under "Advanced": most apps run with the defaults.
    advanced = (
        "memory_limit",
        "upload_max_filesize",
        "post_max_size",
        "max_execution_time",
        "display_errors",
        "date_timezone",
    )

    memory_limit = StringField(
        _setting("memory_limit"),
        default=PHP_DEFAULTS["memory_limit"],
        validators=[Length(max=10)],
        description=lazy_gettext("The most memory one request may use, like 128M or 1G."),
    )
    upload_max_filesize = StringField(
        _setting("upload_max_filesize"),
        default=PHP_DEFAULTS["upload_max_filesize"],
        validators=[Length(max=10)],
        description=lazy_gettext("The largest file one upload may bring."),
    )
    post_max_size = StringField(
        _setting("post_max_size"),
        default=PHP_DEFAULTS["post_max_size"],
        validators=[Length(max=10)],
        description=lazy_gettext("The largest form a request may send. Raised to the upload size if lower."),
    )
    max_execution_time = StringField(
        _setting("max_execution_time"),
        default=PHP_DEFAULTS["max_execution_time"],
        validators=[Length(max=5)],
        description=lazy_gettext("In seconds, 1 to 3600."),
    )
    display_errors = BooleanField(
        _setting("display_errors"),
        description=lazy_gettext("Show PHP errors on the pages: for testing, not for visitors."),
    )
    date_timezone = StringField(
        _setting("date.timezone"),
        default=PHP_DEFAULTS["date.timezone"],
        validators=[Length(max=64)],
        description=lazy_gettext("A timezone such as Europe/Berlin."),
    )

    def option_values(self) -> dict:
        return {
            "memory_limit": self.memory_limit.data,
            "upload_max_filesize": self.upload_max_filesize.data,
            "post_max_size": self.post_max_size.data,
            "max_execution_time": self.max_execution_time.data,
            "display_errors": self.display_errors.data,
            "date_timezone": self.date_timezone.data,
        }


class WebAppForm(PhpOptions, Form):
    field_order = ("name", "system_user_id", "kind", "php_version")

    name = StringField(
        lazy_gettext("Name"),
        validators=[DataRequired(), Length(max=32)],
        description=lazy_gettext("Its files go in the home of the system user, in the folder webapps/ and this name."),
    )
    system_user_id = SelectField(
        lazy_gettext("System user"),
        coerce=id_choice,
        validators=[DataRequired()],
        description=lazy_gettext("The user that owns its files and runs it."),
    )
    kind = RadioField(
        lazy_gettext("Type"),
        choices=[SelectChoice("static", lazy_gettext("Static files")), SelectChoice("php", lazy_gettext("PHP"))],
        default="php",
    )
    php_version = SelectField(lazy_gettext("PHP version"))
    submit = SubmitField(lazy_gettext("Create web app"))


class WebAppOptionsForm(PhpOptions, Form):
    submit = SubmitField(lazy_gettext("Save PHP settings"))

from wtforms import BooleanField, RadioField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from portal.blueprints.forms import Form, id_choice


class PhpOptions:
    memory_limit = StringField("memory_limit", default="128M", validators=[Length(max=10)])
    upload_max_filesize = StringField("upload_max_filesize", default="8M", validators=[Length(max=10)])
    post_max_size = StringField(
        "post_max_size", default="8M", validators=[Length(max=10)], description="Raised to the upload size if lower."
    )
    max_execution_time = StringField("max_execution_time (seconds)", default="30", validators=[Length(max=5)])
    display_errors = BooleanField("display_errors")
    date_timezone = StringField("date.timezone", default="UTC", validators=[Length(max=64)])

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
    name = StringField(
        "Name",
        validators=[DataRequired(), Length(max=32)],
        description="Its files go to ~/webapps/<name> of the system user.",
    )
    system_user_id = SelectField("System user", coerce=id_choice, validators=[DataRequired()])
    kind = RadioField(
        "Type", choices=[SelectChoice("static", "Static files"), SelectChoice("php", "PHP")], default="php"
    )
    php_version = SelectField("PHP version")
    submit = SubmitField("Create web app")


class WebAppOptionsForm(PhpOptions, Form):
    submit = SubmitField("Save PHP settings")

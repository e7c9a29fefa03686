from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length


class DomainForm(FlaskForm):
    name = StringField(
        "Domain name",
        validators=[DataRequired(), Length(max=1000)],
        description="For example example.org or bücher.example",
    )
    submit = SubmitField("Add domain")

"""Form pieces that several pages share."""

from __future__ import annotations

import inspect
import json
from typing import Any

from flask import request
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget, PasswordInput

from portal.models.kinds import ALL_LIMITS
from portal.models.validators import control_problem, normalise_lines
from portal.words import gettext, lazy_gettext

# PostgreSQL's integer, the type of every id and number column: a larger value would fail in the database.
INT_MAX = 2**31 - 1
NOT_A_FILE = lazy_gettext("Type text here; a file cannot go in this field.")
# What a form reads when it is given no formdata: Flask-WTF's own marker for "the request".
READ_THE_REQUEST = inspect.signature(FlaskForm.__init__).parameters["formdata"].default


def whole_number(text: object, highest: int = INT_MAX) -> int | None:
    """A number typed by hand, 0 to highest in ASCII digits; None for anything else (a sign, Unicode
    digits, 5,000 digits)."""
    if isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= len(str(highest)):
        number = int(text)
        return number if number <= highest else None
    return None


def id_choice(value: Any) -> int:
    """coerce= for a choice of ids: an id from the page, or a ValueError that the field shows as an
    invalid choice (never a number the database cannot hold)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT_MAX:
        return value
    number = whole_number(value)
    if number is None:
        raise ValueError(gettext("Not a valid choice."))
    return number


def at_most(validator: Any) -> Any:
    """A Length validator without its own message, given one that names the limit in words."""
    if type(validator) is not Length or validator.message is not None or validator.max == -1:
        return validator
    if validator.min > 0:
        return Length(validator.min, validator.max, lazy_gettext("Use %(min)d to %(max)d characters."))
    return Length(max=validator.max, message=lazy_gettext("At most %(max)d characters."))


class Form(FlaskForm):
    """Every form of the portal. It reads the posted fields and nothing else: a file where it expects
    text is an error at that field, and a JSON body is no form (Flask-WTF would hand both to the fields)."""

    class Meta(FlaskForm.Meta):
        def bind_field(self, form: Any, unbound_field: Any, options: Any) -> Any:
            """A length limit is said, never done silently: no maxlength for the browser to cut a paste
            with, and the error names the limit (at_most())."""
            field = super().bind_field(form, unbound_field, options)
            field.validators = [at_most(v) for v in field.validators]
            if "maxlength" in vars(field.flags):
                delattr(field.flags, "maxlength")
            return field

        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            if formdata is not READ_THE_REQUEST:
                return formdata
            return request.form if form.is_submitted() else None

    # The fields people fill in first, in that order, when the declared order is not theirs (a mixin's
    # fields, PasswordFields', are declared before the form's own); the others follow as declared.
    field_order: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in reversed(self.field_order):
            if name in self._fields:
                self._fields.move_to_end(name, last=False)

    def validate(self, extra_validators: Any = None) -> bool:
        for field in self:
            if isinstance(field, TextAreaField) and isinstance(field.data, str):
                field.data = normalise_lines(field.data)
        valid = super().validate(extra_validators)
        for name in request.files:
            if name in self._fields:
                self._fields[name].errors = [str(NOT_A_FILE)]
                valid = False
        return self._plain_text() and valid

    def _plain_text(self) -> bool:
        """No text that reaches a server carries control, invisible or separator characters (Cc, Cf,
        Zl, Zp); a text area keeps its line breaks. Checked after the field's own validators, which
        (Optional) may clear its errors."""
        plain = True
        for field in self:
            multiline = isinstance(field, TextAreaField)
            values = field.data if isinstance(field.data, list) else [field.data]
            problems = [control_problem(v, multiline=multiline) for v in values if isinstance(v, str)]
            problem = next((p for p in problems if p), None)
            if problem:
                if problem not in field.errors:  # a field's own validator may have said it already
                    field.errors = [*field.errors, problem]
                plain = False
        return plain


class WholeNumberField(IntegerField):
    """A count or an id typed in a form: 0 or more, in ASCII digits, no larger than the database holds
    (INT_MAX). Anything else is an error at the field, in words."""

    data: Any  # an int, or None when empty or refused; typed like the other WTForms fields

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = valuelist[0].strip() if isinstance(valuelist[0], str) else ""
        self.data = whole_number(text)
        if self.data is not None:
            return
        if not (text.isascii() and text.isdigit()):
            raise ValueError(gettext("Type a whole number, in digits."))
        # Too large: a range validator with a maximum says so in the field's own words.
        if not any(isinstance(v, NumberRange) and v.max is not None for v in self.validators):
            raise ValueError(gettext("Type a number no larger than %(max)d.", max=INT_MAX))


def add_limit_fields(form_class: type[Form], description: object) -> None:
    """One "Most <things>" field per limit of the kinds registry, made now: a form shows them after the
    fields made before this call and before those made after it. Empty is no limit."""
    for kind, words in ALL_LIMITS.items():
        field = WholeNumberField(
            lazy_gettext("Most %(things)s", things=words),
            validators=[Optional(), NumberRange(min=0)],
            description=description,
        )
        setattr(form_class, kind, field)


PASSWORD_RULES = [DataRequired(), Length(min=10, max=128, message=lazy_gettext("Use 10 to 128 characters."))]


def password_labels() -> dict[str, object]:
    """The words of static/js/password.js (its meter and buttons), in the page's language."""
    return {
        "show": gettext("Show"),
        "hide": gettext("Hide"),
        "generate": gettext("Generate"),
        "strength": gettext("Password strength"),
        "levels": [gettext("Too short"), gettext("Weak"), gettext("Fair"), gettext("Good"), gettext("Strong")],
        "generated": gettext("A new password is filled in twice. Keep it somewhere safe before you save."),
    }


class NewPasswordInput(PasswordInput):
    """The input of a new password (data-password="new"), or of its repetition ("confirm"):
    static/js/password.js gives the first a strength meter, Generate and Show/Hide. The server's
    check (security/strength.py) decides; the meter is a hint."""

    def __init__(self, role: str = "new") -> None:
        super().__init__()
        self.role = role

    def __call__(self, field: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("autocomplete", "new-password")
        kwargs.setdefault("data-password", self.role)
        if self.role == "new":
            kwargs.setdefault("data-password-labels", json.dumps(password_labels()))
        return super().__call__(field, **kwargs)


class PasswordFields:
    password = PasswordField(lazy_gettext("Password"), validators=PASSWORD_RULES, widget=NewPasswordInput())
    confirm = PasswordField(
        lazy_gettext("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=lazy_gettext("The passwords differ."))],
        widget=NewPasswordInput("confirm"),
    )


class Checkboxes(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class EnrolForm(Form):
    code = StringField(
        lazy_gettext("Code from the app"),
        validators=[DataRequired(), Length(max=10)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField(lazy_gettext("Turn on two-factor login"))

"""Django form error messages in the page's language (English msgids, Korean in locale/ko), for the forms of the
server-rendered pages (``bots.forms``, ``predictions.forms``, ``etl.views``): pass one of these
dicts as a field's ``error_messages``."""

from django.utils.translation import gettext_lazy as _

MESSAGES = {
    "required": _("This field is required."),
    "invalid": _("Enter a valid value."),
    "invalid_choice": _("Choose one of the listed values."),
    "min_value": _("Must be at least %(limit_value)s."),
    "max_value": _("Must be at most %(limit_value)s."),
    "max_digits": _("Too many digits (at most %(max)s)."),
    "max_decimal_places": _("At most %(max)s decimal places."),
    "max_whole_digits": _("Too many digits before the point."),
    "max_length": _("At most %(limit_value)d characters."),
}
NUMBER = {**MESSAGES, "invalid": _("Enter a number.")}
WHOLE = {**MESSAGES, "invalid": _("Enter a whole number.")}
DATE = {**MESSAGES, "invalid": _("Enter a date as YYYY-MM-DD.")}
DATETIME_KST = {
    **MESSAGES,
    "invalid": _("Enter a time as YYYY-MM-DD HH:MM (KST)."),
}

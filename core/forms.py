"""Django form error messages in the pages' "Korean · English" style, for the forms of the
server-rendered pages (``bots.forms``, ``predictions.forms``, ``etl.views``): pass one of these
dicts as a field's ``error_messages``."""

MESSAGES = {
    "required": "필수 항목입니다 · This field is required.",
    "invalid": "올바른 값을 입력하세요 · Enter a valid value.",
    "invalid_choice": "목록에서 고르세요 · Choose one of the listed values.",
    "min_value": "%(limit_value)s 이상이어야 합니다 · Must be at least %(limit_value)s.",
    "max_value": "%(limit_value)s 이하여야 합니다 · Must be at most %(limit_value)s.",
    "max_digits": "자릿수가 너무 많습니다 · Too many digits (at most %(max)s).",
    "max_decimal_places": "소수 자릿수가 너무 많습니다 · At most %(max)s decimal places.",
    "max_whole_digits": "정수 자릿수가 너무 많습니다 · Too many digits before the point.",
    "max_length": "너무 깁니다 · At most %(limit_value)d characters.",
}
NUMBER = {**MESSAGES, "invalid": "숫자를 입력하세요 · Enter a number."}
WHOLE = {**MESSAGES, "invalid": "정수를 입력하세요 · Enter a whole number."}
DATE = {**MESSAGES, "invalid": "날짜를 YYYY-MM-DD로 입력하세요 · Enter a date as YYYY-MM-DD."}
DATETIME_KST = {
    **MESSAGES,
    "invalid": "시각을 YYYY-MM-DD HH:MM(KST)으로 입력하세요 · Enter a time as YYYY-MM-DD HH:MM (KST).",
}

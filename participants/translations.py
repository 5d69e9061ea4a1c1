"""Names that are data and have a translation per language: a visit definition's name, a
site's sender name. Stored as ``{"de": "...", "es": "..."}`` beside the default name; pure
rules on plain values (the admin's field, the models and the reminders use them).

The keys are the languages participants read (``PARTICIPANT_LANGUAGES``); a language with no
entry falls back to the default name.
"""

from django.core.exceptions import ValidationError

from .validators import validate_single_line

# The languages a participant may read reminders in (compiled translations ship for each).
PARTICIPANT_LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("fr", "Français"),
]
DEFAULT_LANGUAGE = "en"
LANGUAGE_CODES = frozenset(code for code, _ in PARTICIPANT_LANGUAGES)
MAX_LENGTH = 200


def translated(default: str, translations: dict | None, language: str) -> str:
    """``default`` in ``language``: its translation when there is one, else ``default``.
    A regional code ("es-mx") is read as its language ("es")."""
    base = (language or "").split("-")[0].lower()
    return (translations or {}).get(base) or default


def validate_translations(value) -> None:
    """A mapping of known language codes to non-empty single-line names."""
    if not isinstance(value, dict):
        raise ValidationError("Translations are a mapping of language codes to names.")
    for language, name in value.items():
        if language not in LANGUAGE_CODES:
            known = ", ".join(sorted(LANGUAGE_CODES))
            raise ValidationError(f"“{language}” is not a language of reminders ({known}).")
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"The {language} name is empty.")
        if len(name) > MAX_LENGTH:
            raise ValidationError(f"The {language} name is over {MAX_LENGTH} characters.")
        validate_single_line(name)

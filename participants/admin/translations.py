"""A name's translations edited as lines of text, one per language ("es: Infusión 4"), for the
JSON fields of names that are data (a visit definition's name, a site's sender name)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from participants.translations import validate_translations


class TranslationsField(forms.CharField):
    """``{"es": "Infusión 4", "fr": "Perfusion 4"}`` shown and typed as ``es: Infusión 4``
    lines; cleaned back to the mapping, checked by ``validate_translations``."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 28})

    def __init__(self, **kwargs):
        for unused in ("encoder", "decoder", "max_length"):
            kwargs.pop(unused, None)
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text", _("One line per language, e.g. “es: Infusión 4”. Blank: the name above.")
        )
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, dict):
            return "\n".join(f"{language}: {name}" for language, name in value.items())
        return value

    def to_python(self, value):
        translations = {}
        for line in (value or "").splitlines():
            if not line.strip():
                continue
            language, colon, name = line.partition(":")
            if not colon:
                raise ValidationError(
                    _("“%(line)s” is not “language: name”.") % {"line": line.strip()}
                )
            translations[language.strip().lower()] = name.strip()
        return translations

    def validate(self, value):
        validate_translations(value)

    def has_changed(self, initial, data):
        return self.to_python(self.prepare_value(initial or {})) != self.to_python(data)


def translations_formfield(db_field, **kwargs):
    """The form field of a ``*_translations`` JSON field, as ``formfield_for_dbfield`` gives it."""
    kwargs.setdefault("label", capfirst(db_field.verbose_name))
    if db_field.help_text:
        kwargs.setdefault("help_text", db_field.help_text)
    return TranslationsField(**kwargs)

"""Refusals shown to staff: a service's ``ValidationError`` or a form's errors, as admin
messages (:func:`report_errors`) or on a form (:func:`errors_onto_form`).

One format for the messages:

- a service's sentences as they are: they say what is refused ("A correction needs a
  reason.");
- a form's errors as ``"<about> <field label>: <error>"``, the label lower-cased after
  ``about``: "Channel: Select a valid choice. …" (the contact log's form), "LEUK answer: …"
  (a visit row's form), "Unscheduled visit date: Enter a valid date." An error of the whole
  form has no label: "LEUK: …", or the error alone.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError


def error_sentences(error: ValidationError) -> list[str]:
    """A service's sentences, field by field, without the fields' names."""
    if hasattr(error, "error_dict"):
        return [sentence for sentences in error.message_dict.values() for sentence in sentences]
    return list(error.messages)


def form_error_sentences(form: forms.BaseForm, *, about: str = "") -> list[str]:
    """A form's errors, each named by ``about`` and its field's label (see the module)."""
    sentences = []
    for name, errors in form.errors.items():
        label = form[name].label if name in form.fields else ""
        head = f"{about} {label.lower()}" if about and label else about or label
        sentences += [f"{head}: {error}" if head else error for error in errors]
    return sentences


def report_errors(request, errors: ValidationError | forms.BaseForm, *, about: str = "") -> None:
    """Each of a service's refusal (a ``ValidationError``) or a form's errors as an admin error
    message: the service's sentences as they are, the form's named by ``about`` and their
    field's label."""
    if isinstance(errors, forms.BaseForm):
        sentences = form_error_sentences(errors, about=about)
    else:
        sentences = error_sentences(errors)
    for sentence in sentences:
        messages.error(request, sentence)


def errors_onto_form(form: forms.BaseForm, error: ValidationError, *, fields=None) -> None:
    """A service's refusal on ``form``: each field's sentences on that field when the form has
    it (and it is one of ``fields``, when given), the rest above the form."""
    shown = form.fields if fields is None else [name for name in fields if name in form.fields]
    if not hasattr(error, "error_dict"):
        for sentence in error.messages:
            form.add_error(None, sentence)
        return
    for field, sentences in error.message_dict.items():
        for sentence in sentences:
            form.add_error(field if field in shown else None, sentence)

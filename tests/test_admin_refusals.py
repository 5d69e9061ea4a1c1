"""The one format of refusals shown to staff (participants.admin.refusals): a service's
sentences as they are, a form's errors named by what they are about and their field's label."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from participants.admin.refusals import error_sentences, errors_onto_form, form_error_sentences


class RowForm(forms.Form):
    on = forms.DateField(label="Date")
    channel = forms.ChoiceField(choices=[("phone", "Phone")])  # no label: "Channel"
    happened = forms.BooleanField(label="", required=False)

    def clean(self):
        raise ValidationError("Not today.")


def test_a_form_error_is_named_by_its_label_and_what_it_is_about():
    form = RowForm({"on": "soon", "channel": "pigeon", "happened": "x"})
    assert not form.is_valid()
    assert form_error_sentences(form) == [
        "Date: Enter a valid date.",
        "Channel: Select a valid choice. pigeon is not one of the available choices.",
        "Not today.",
    ]
    assert form_error_sentences(form, about="LEUK") == [
        "LEUK date: Enter a valid date.",
        "LEUK channel: Select a valid choice. pigeon is not one of the available choices.",
        "LEUK: Not today.",
    ]


def test_a_services_sentences_are_shown_as_they_are():
    assert error_sentences(ValidationError({"reason": "A correction needs a reason."})) == [
        "A correction needs a reason."
    ]
    assert error_sentences(ValidationError(["One.", "Two."])) == ["One.", "Two."]


def test_a_services_refusal_goes_on_the_forms_fields_or_above_it():
    form = RowForm({"on": "2026-01-05", "channel": "phone"})
    form.is_valid()
    errors_onto_form(
        form, ValidationError({"on": "Closed.", "channel": "Busy.", "other": "Later."})
    )
    assert form.errors["on"] == ["Closed."]
    assert form.errors["channel"] == ["Busy."]
    assert form.errors[NON_FIELD_ERRORS] == ["Not today.", "Later."]

    only_days = RowForm({"on": "2026-01-05", "channel": "phone"})
    only_days.is_valid()
    errors_onto_form(only_days, ValidationError({"channel": "Busy."}), fields=("on",))
    assert "channel" not in only_days.errors
    assert only_days.errors[NON_FIELD_ERRORS] == ["Not today.", "Busy."]
    errors_onto_form(only_days, ValidationError("No room."))
    assert only_days.errors[NON_FIELD_ERRORS][-1] == "No room."

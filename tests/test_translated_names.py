"""Visit names and the sender name are data with a translation per language: a reminder in
Spanish says "Infusión 4", not "Infusion 4", and comes from the site's Spanish sender name.

The end-to-end cases reuse test_reminder_languages' set-up: the 7-day reminder of SLE-001's
Leukapheresis (LEUK) on Monday 9 February 2026, sent by the dispatcher to a real SMTP server.
"""

import datetime
from email.utils import parseaddr

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from participants.models import Participant, Site
from participants.translations import translated, validate_translations
from scheduling.mail.emails import reminder_email
from scheduling.models import Audience, Reminder, ReminderRule, Visit, VisitDefinition
from tests.forms import form_data
from tests.smtp_server import smtp_server_fixture  # noqa: F401
from tests.test_emails import TRIAL_WORDS
from tests.test_reminder_languages import (  # the fixtures: autouse no_digest, reminder_received
    bodies,
    event_of,
    no_digest,  # noqa: F401
    reminder_received,  # noqa: F401
    subject,
)

UTC = datetime.UTC


def test_sle001_visit_names_are_seeded_in_german_spanish_and_french(protocol):
    # Checks the migration's data: each SLE-001 visit definition has a name per language.
    names = {d.code: d.name_translations for d in VisitDefinition.objects.filter(protocol=protocol)}
    assert names["INF4"] == {"de": "Infusion 4", "es": "Infusión 4", "fr": "Perfusion 4"}
    assert names["LEUK"] == {"de": "Leukapherese", "es": "Leucaféresis", "fr": "Leucaphérèse"}
    assert names["FU6"]["de"] == "Nachbeobachtung Monat 6"
    assert all(set(translations) == {"de", "es", "fr"} for translations in names.values())


def test_a_spanish_reminder_names_the_visit_in_spanish_in_text_html_and_calendar(
    make_participant, site_ocn, time_machine
):
    # Checks what the reminder of Infusion 4 says to a Spanish reader. Built, not sent: the
    # treatment phase's reminder rows are made once the participant is in it, so the row is
    # made here as the schedule would.
    time_machine.move_to(datetime.datetime(2026, 1, 5, 12, tzinfo=UTC), tick=False)
    participant = make_participant(site=site_ocn)
    Participant.objects.filter(pk=participant.pk).update(language="es")
    visit = Visit.objects.get(participant=participant, code="INF4")
    rule = ReminderRule.objects.filter(audience=Audience.PARTICIPANT).first()
    reminder = Reminder.objects.create(
        visit=visit,
        rule=rule,
        planned_date=visit.appointment_day,
        due_at=datetime.datetime(2026, 1, 5, 12, tzinfo=UTC),
    )
    reminder = Reminder.objects.select_related("visit__participant__site", "visit__definition").get(
        pk=reminder.pk
    )
    message = reminder_email(reminder, now=datetime.datetime(2026, 1, 5, 12, tzinfo=UTC))
    text = message.body
    [(html, _)] = message.alternatives
    assert "Infusión 4" in text
    assert "Infusión 4" in html
    assert "Infusion 4" not in text + html
    calendar = message.attachments[0].get_payload(decode=True).decode()
    assert "Infusión 4" in calendar
    assert "Infusi" not in message.subject


def test_a_reminder_in_a_language_without_a_translation_keeps_the_default_name(
    make_participant, site_ocn, time_machine
):
    # Checks the fallback: a definition with no French name, read in French.
    time_machine.move_to(datetime.datetime(2026, 1, 5, 12, tzinfo=UTC), tick=False)
    VisitDefinition.objects.filter(code="INF4").update(name_translations={"de": "Infusion 4"})
    participant = make_participant(site=site_ocn)
    visit = Visit.objects.select_related("definition").get(participant=participant, code="INF4")
    assert visit.name_in("fr") == "Infusion 4"
    assert visit.name_in("es-mx") == "Infusion 4"
    unscheduled = Visit(participant=participant, definition=None, name="Unplanned safety check")
    assert unscheduled.name_in("es") == "Unplanned safety check"


def test_a_spanish_reminder_comes_from_the_sites_spanish_sender_name(
    reminder_received,  # noqa: F811
    site_ocn,
    settings,
):
    # Checks the From of a sent reminder: the site's sender name in the reader's language,
    # at DEFAULT_FROM_EMAIL's address (the mailbox stays the one a person reads).
    settings.DEFAULT_FROM_EMAIL = "Study visits <visits@trialsite.example>"
    site_ocn.sender_name = "Oceanside study visits"
    site_ocn.sender_name_translations = {"es": "Visitas del estudio, Oceanside"}
    site_ocn.save()
    message = reminder_received(site_ocn, language="es")
    name, address = parseaddr(str(message["From"]))
    assert (name, address) == ("Visitas del estudio, Oceanside", "visits@trialsite.example")
    text, html = bodies(message)
    assert "Leucaféresis" in text
    assert "Leucaféresis" in html
    assert "Leucaféresis" in str(event_of(message)["DESCRIPTION"])
    for word in TRIAL_WORDS + ["Leuka", "Leuca"]:
        assert word.lower() not in subject(message).lower()


def test_a_reminder_in_another_language_comes_from_the_sites_own_sender_name(
    reminder_received,  # noqa: F811
    site_ber,
    settings,
):
    # Checks the fallback: a French reader of a site with no French sender name.
    settings.DEFAULT_FROM_EMAIL = "Study visits <visits@trialsite.example>"
    site_ber.sender_name = "Studientermine Berlin-Mitte"
    site_ber.sender_name_translations = {"es": "Visitas del estudio, Berlín"}
    site_ber.save()
    message = reminder_received(site_ber, language="fr")
    assert parseaddr(str(message["From"]))[0] == "Studientermine Berlin-Mitte"


def test_a_site_with_no_sender_name_for_the_reader_sends_from_default_from_email(
    reminder_received,  # noqa: F811
    site_ocn,
    settings,
):
    # Checks the last fallback: no default sender name and none in the reader's language
    # (only a French one) give DEFAULT_FROM_EMAIL as configured.
    settings.DEFAULT_FROM_EMAIL = "Study visits <visits@trialsite.example>"
    Site.objects.filter(pk=site_ocn.pk).update(
        sender_name="", sender_name_translations={"fr": "Visites, Oceanside"}
    )
    site_ocn.refresh_from_db()
    message = reminder_received(site_ocn, language="es")
    assert parseaddr(str(message["From"])) == ("Study visits", "visits@trialsite.example")


def test_translations_are_checked_as_names_per_known_language():
    # Checks the model's rule: known languages, non-empty single-line names of 200 at most.
    validate_translations({"de": "Leukapherese", "es": "Leucaféresis"})
    for bad in [{"xx": "Name"}, {"de": ""}, {"de": "two\nlines"}, ["de"], {"fr": "x" * 201}]:
        with pytest.raises(ValidationError):
            validate_translations(bad)
    assert translated("Infusion 4", {"es": "Infusión 4"}, "es") == "Infusión 4"
    assert translated("Infusion 4", {"es": "Infusión 4"}, "de") == "Infusion 4"


def test_a_site_manager_writes_the_sender_name_per_language_on_the_site_page(
    admin_client, site_ocn
):
    # Checks the admin's "language: name" lines, saved as the mapping reminders read.
    url = reverse("admin:participants_site_change", args=[site_ocn.pk])
    data = form_data(admin_client.get(url))
    data.update(
        {
            "sender_name": "Oceanside study visits",
            "sender_name_translations": (
                "es: Visitas del estudio, Oceanside\nfr: Visites, Oceanside"
            ),
            "change_reason": "Sender names for Spanish and French readers",
        }
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    site_ocn.refresh_from_db()
    assert site_ocn.sender_name_translations == {
        "es": "Visitas del estudio, Oceanside",
        "fr": "Visites, Oceanside",
    }
    assert site_ocn.sender_name_in("es") == "Visitas del estudio, Oceanside"
    page = admin_client.get(url).content.decode()
    assert "es: Visitas del estudio, Oceanside" in page


def test_a_translation_line_that_is_not_language_and_name_is_refused(admin_client, site_ocn):
    # Checks the site page's refusals: a line without "language:", an unknown language.
    url = reverse("admin:participants_site_change", args=[site_ocn.pk])
    data = form_data(admin_client.get(url))
    data.update(
        {"sender_name_translations": "Visitas del estudio", "change_reason": "Spanish sender"}
    )
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "is not “language: name”" in response.content.decode()
    data["sender_name_translations"] = "xx: Nom"
    response = admin_client.post(url, data)
    assert "is not a language of reminders" in response.content.decode()
    site_ocn.refresh_from_db()
    assert site_ocn.sender_name_translations == {}


def test_visit_names_per_language_are_edited_on_a_draft_versions_page(
    admin_client, admin_user, protocol
):
    # Checks a draft's plan rows: INF4's names, as lines, saved on its definition.
    from scheduling.timeline import versions

    draft = versions.new_draft(protocol, by=admin_user)
    url = reverse("admin:scheduling_protocolversion_change", args=[draft.pk])
    data = form_data(admin_client.get(url))
    [prefix] = [
        key.removesuffix("-code")
        for key, value in data.items()
        if key.endswith("-code") and value == "INF4"
    ]
    assert data[f"{prefix}-name_translations"] == "de: Infusion 4\nes: Infusión 4\nfr: Perfusion 4"
    data[f"{prefix}-name_translations"] = "es: Infusión n.º 4\nfr: Perfusion 4"
    data["change_reason"] = "Spanish name of the fourth infusion"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    definition = VisitDefinition.objects.get(version=draft, code="INF4")
    assert definition.name_translations == {"es": "Infusión n.º 4", "fr": "Perfusion 4"}

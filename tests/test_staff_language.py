"""The staff workspace in the user's language: their own setting first, else the browser's
Accept-Language, else English; the participants' reply pages keep the participant's.

coordinator-ber is the demo's Berlin coordinator (tests/browser.py's ``staff``).
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from participants.models import StaffProfile
from participants.staff_language import SESSION_KEY, set_staff_language
from scheduling.models import LinkAction
from scheduling.replies.answers import link_path
from tests.browser import PASSWORD, staff  # noqa: F401 (fixture)
from tests.test_reminder_links import enrol, leuk_reminder, no_digest  # noqa: F401 (fixtures)

DASHBOARD = "/admin/"


@pytest.fixture
def coordinator_ber(staff):  # noqa: F811
    return staff["coordinator-ber"]


@pytest.fixture
def berlin_participant(make_participant, site_ber):
    return make_participant(
        site=site_ber, subject_id="SLE-001-102-001", consent_date=site_ber.today()
    )


def signed_in(client, user):
    client.force_login(user)
    return client


def test_a_german_browser_sees_the_dashboard_in_german(client, coordinator_ber):
    # Checks the browser's choice (Accept-Language) on the dashboard, ours and Django's words.
    page = signed_in(client, coordinator_ber).get(DASHBOARD, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    html = page.content.decode()
    assert page["Content-Language"] == "de"
    assert '<html lang="de"' in html
    for german in [
        "Diese Woche fällige Visiten",
        "Teilnehmer nach Status",
        "Zu erledigen",
        "Arbeitsbereich des Zentrums",
        "Abmelden",  # Django's admin: "Log out"
    ]:
        assert german in html, german
    for english in ["Visits due this week", "Participants by status", "Needs attention"]:
        assert english not in html


def test_a_german_browser_sees_the_participant_page_in_german(
    client, coordinator_ber, berlin_participant
):
    # Checks the participant page's sections, table heads and status label in German.
    url = reverse("admin:participants_participant_change", args=[berlin_participant.pk])
    page = signed_in(client, coordinator_ber).get(url, HTTP_ACCEPT_LANGUAGE="de")
    html = page.content.decode()
    assert page.status_code == 200
    for german in [
        "Zeitverlauf",
        "Studienverlauf",
        "Kontaktprotokoll",
        "Eignung",
        "Erinnerungen",
        "Studientag",
        "Zeitfenster",
        "Screening",
    ]:
        assert german in html, german
    assert "Contact log" not in html
    assert "Eligibility</h2>" not in html


def test_no_language_asked_for_is_english(client, coordinator_ber):
    # Checks the last resort: no setting and no Accept-Language give English.
    html = signed_in(client, coordinator_ber).get(DASHBOARD).content.decode()
    assert "Visits due this week" in html
    assert "Diese Woche fällige Visiten" not in html


def test_the_users_own_setting_wins_over_the_browser(client, coordinator_ber):
    # Checks the order: a French setting and a German browser give a French workspace.
    set_staff_language(coordinator_ber, "fr")
    page = signed_in(client, coordinator_ber).get(DASHBOARD, HTTP_ACCEPT_LANGUAGE="de")
    html = page.content.decode()
    assert page["Content-Language"] == "fr"
    assert "Visites de la semaine" in html
    assert "Diese Woche fällige Visiten" not in html


def test_staff_set_their_language_on_the_language_page_and_keep_it(client, coordinator_ber):
    # Checks the Language page: the choice is stored, used at once, taken up by the next
    # sign-in, and blank goes back to the browser's language.
    signed_in(client, coordinator_ber)
    page = client.get(reverse("staff_language"), HTTP_ACCEPT_LANGUAGE="de")
    assert "Sprache des Arbeitsbereichs" in page.content.decode()
    saved = client.post(reverse("staff_language"), {"language": "es"}, follow=True)
    assert "Se ha guardado el idioma de su espacio de trabajo." in saved.content.decode()
    assert StaffProfile.objects.get(user=coordinator_ber).language == "es"
    assert client.session[SESSION_KEY] == "es"
    # The next session (a sign-in with the password) starts in Spanish.
    client.logout()
    client.post(
        reverse("admin:login") + "?next=/admin/",
        {"username": "coordinator-ber", "password": PASSWORD},
        HTTP_ACCEPT_LANGUAGE="de",
    )
    assert "Visitas de esta semana" in client.get(DASHBOARD).content.decode()
    # Back to the browser's language.
    client.post(reverse("staff_language"), {"language": ""})
    assert StaffProfile.objects.get(user=coordinator_ber).language == ""
    html = client.get(DASHBOARD, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Diese Woche fällige Visiten" in html


def test_the_language_setting_costs_a_page_no_query(client, coordinator_ber):
    # Checks that the setting is read from the session (put there at sign-in): a French page
    # makes the same queries as an English one.
    url = reverse("staff_language")
    signed_in(client, coordinator_ber).get(url)
    with CaptureQueriesContext(connection) as english:
        client.get(url)
    set_staff_language(coordinator_ber, "fr")
    signed_in(client, coordinator_ber).get(url)
    with CaptureQueriesContext(connection) as french:
        assert "Langue de l&#x27;espace de travail" in client.get(url).content.decode()
    assert len(french.captured_queries) == len(english.captured_queries)


def test_an_unknown_language_is_refused(client, coordinator_ber):
    # Checks that only the shipped languages can be stored, by the page or the service.
    signed_in(client, coordinator_ber)
    page = client.post(reverse("staff_language"), {"language": "xx"})
    assert page.status_code == 200  # the form again, with its error
    assert not StaffProfile.objects.filter(user=coordinator_ber, language="xx").exists()
    with pytest.raises(ValueError):
        set_staff_language(coordinator_ber, "xx")


def test_reply_pages_keep_the_participants_language_whatever_the_browser_or_staff_session(
    client,
    coordinator_ber,
    enrol,  # noqa: F811
):
    # A coordinator who set French opens a Spanish-reading participant's link in a German
    # browser: the page is Spanish, as the participant reads it.
    set_staff_language(coordinator_ber, "fr")
    signed_in(client, coordinator_ber)
    reminder = leuk_reminder(enrol(language="es"))
    page = client.get(link_path(reminder, LinkAction.CONFIRM), HTTP_ACCEPT_LANGUAGE="de")
    html = page.content.decode()
    assert page["Content-Language"] == "es"
    assert '<html lang="es">' in html
    assert "lunes, 9 de febrero de 2026" in html
    assert "Langue" not in html

"""The public pages behind a reminder's three links (/r/<signed token>/<action>/), driven with
Django's test client as a participant's browser or mail client would.

SLE-001's Leukapheresis (LEUK) is 35 days after consent: a participant who consents on Monday
5 January 2026 has it on Monday 9 February 2026, booked at 09:30; its 7-day reminder carries
the links used here. Oceanside is on America/Los_Angeles (PST, UTC-8, in February), so a link
is valid until 2026-02-10 08:00 UTC.
"""

import datetime
import re
from html import unescape

import pytest
from django.core import signing
from django.test import Client

from participants.models import Participant
from scheduling.mail.dispatch import dispatch_due
from scheduling.models import (
    Audience,
    Confirmation,
    LinkAction,
    OutboxStatus,
    Reminder,
    ReminderLinkUse,
    ReminderRule,
    Visit,
)
from scheduling.replies.answers import link_path, link_token, link_url
from scheduling.timeline.appointments import book_appointment
from tests.smtp_server import smtp_server_fixture  # noqa: F401

UTC = datetime.UTC
CONSENT = datetime.date(2026, 1, 5)
VISIT_DAY = datetime.date(2026, 2, 9)  # a Monday
NOW = datetime.datetime(2026, 2, 2, 18, tzinfo=UTC)  # 10:00 in Oceanside, a week before
END_OF_VISIT_DAY = datetime.datetime(2026, 2, 10, 8, tzinfo=UTC)  # midnight in Oceanside
ACTIONS = [LinkAction.CONFIRM, LinkAction.RESCHEDULE, LinkAction.STOP]
NOTHING_OF_THE_PARTICIPANT = ["SLE", "lupus", "Descartes", "Leukapheresis"]


@pytest.fixture(autouse=True)
def no_digest(protocol):
    ReminderRule.objects.filter(audience=Audience.COORDINATOR_DIGEST).update(active=False)


@pytest.fixture
def enrol(make_participant, site_ocn, time_machine):
    """A participant whose LEUK visit is booked on 9 February 2026 at 09:30; the clock is then
    left at NOW, a week before."""

    def enrol(site=None, language="", subject_id=None):
        time_machine.move_to(datetime.datetime(2026, 1, 5, 20, tzinfo=UTC), tick=False)
        participant = make_participant(
            consent_date=CONSENT, site=site or site_ocn, subject_id=subject_id
        )
        Participant.objects.filter(pk=participant.pk).update(
            language=language, email=f"{participant.subject_id.lower()}@example.org"
        )
        visit = Visit.objects.get(participant=participant, code="LEUK")
        book_appointment(visit, on=VISIT_DAY, at=datetime.time(9, 30))
        time_machine.move_to(NOW, tick=False)
        participant.refresh_from_db()
        return participant

    return enrol


def leuk_reminder(participant) -> Reminder:
    return Reminder.objects.get(
        visit__participant=participant,
        visit__code="LEUK",
        rule__lead_days=7,
        planned_date=VISIT_DAY,
    )


def state() -> dict:
    """Everything a link could change, to compare before and after."""
    return {
        "visits": list(
            Visit.objects.order_by("pk").values_list(
                "pk", "confirmation", "confirmation_at", "confirmation_via", "reschedule_message"
            )
        ),
        "participants": list(
            Participant.objects.order_by("pk").values_list("pk", "reminders_enabled")
        ),
        "reminders": list(Reminder.objects.order_by("pk").values_list("pk", "status")),
        "link uses": list(ReminderLinkUse.objects.order_by("pk").values_list("pk", flat=True)),
        "visit history": Visit.history.count(),
        "participant history": Participant.history.count(),
    }


def state_of(participant) -> dict:
    return {
        "visits": list(
            participant.visits.order_by("pk").values_list(
                "pk", "confirmation", "confirmation_at", "confirmation_via", "reschedule_message"
            )
        ),
        "reminders on": Participant.objects.get(pk=participant.pk).reminders_enabled,
        "reminders": list(
            Reminder.objects.filter(visit__participant=participant)
            .order_by("pk")
            .values_list("pk", "status")
        ),
        "link uses": ReminderLinkUse.objects.filter(
            reminder__visit__participant=participant
        ).count(),
        "visit history": Visit.history.filter(participant_id=participant.pk).count(),
        "participant history": Participant.history.filter(id=participant.pk).count(),
    }


def page(response) -> str:
    return unescape(response.content.decode())


def one_character_changed(token: str, at: int) -> str:
    replacement = "A" if token[at] != "A" else "B"
    return token[:at] + replacement + token[at + 1 :]


# What a link shows, and that opening it changes nothing


@pytest.mark.parametrize("action", ACTIONS)
def test_opening_a_link_changes_nothing(client, enrol, action):
    reminder = leuk_reminder(enrol())
    before = state()
    response = client.get(link_path(reminder, action))
    assert response.status_code == 200
    assert '<form method="post">' in page(response)
    assert state() == before


@pytest.mark.parametrize("action", ACTIONS)
def test_a_link_page_shows_the_site_and_the_appointment_and_nothing_of_the_participant(
    client, enrol, action
):
    participant = enrol()
    response = client.get(link_path(leuk_reminder(participant), action))
    text = page(response)
    assert "Oceanside" in text
    assert "Monday 9 February 2026, 09:30" in text
    for word in [participant.subject_id, participant.email, *NOTHING_OF_THE_PARTICIPANT]:
        assert word not in text


# What a POST does


def test_confirming_confirms_that_visit_and_nothing_else(client, enrol):
    participant, other = enrol(), enrol()
    reminder = leuk_reminder(participant)
    other_before = state_of(other)
    other_visits_before = list(
        participant.visits.exclude(code="LEUK")
        .order_by("pk")
        .values_list("pk", "confirmation", "confirmation_at")
    )

    response = client.post(link_path(reminder, LinkAction.CONFIRM))

    assert response.status_code == 200
    assert "Thank you: your visit is confirmed." in page(response)
    visit = Visit.objects.get(pk=reminder.visit_id)
    assert (visit.confirmation, visit.confirmation_at, visit.confirmation_via) == (
        Confirmation.CONFIRMED,
        NOW,
        "reminder link",
    )
    reason = visit.history.first().history_change_reason
    assert reason == f"Confirmed (reminder link, reminder {reminder.pk})"
    [use] = ReminderLinkUse.objects.all()
    assert (use.reminder, use.action, use.used_at, use.one_click) == (
        reminder,
        LinkAction.CONFIRM,
        NOW,
        False,
    )
    assert other_visits_before == list(
        participant.visits.exclude(code="LEUK")
        .order_by("pk")
        .values_list("pk", "confirmation", "confirmation_at")
    )
    assert Participant.objects.get(pk=participant.pk).reminders_enabled
    assert state_of(other) == other_before


def test_asking_for_another_date_keeps_the_message_for_the_study_team(client, enrol):
    participant = enrol()
    reminder = leuk_reminder(participant)
    message = "Mornings are hard for me; could we find an afternoon?"

    response = client.post(link_path(reminder, LinkAction.RESCHEDULE), {"message": message})

    assert response.status_code == 200
    assert "the study team will contact you to find another date" in page(response)
    visit = Visit.objects.get(pk=reminder.visit_id)
    assert (visit.confirmation, visit.reschedule_message, visit.confirmation_via) == (
        Confirmation.RESCHEDULE_REQUESTED,
        message,
        "reminder link",
    )
    assert visit.history.first().history_change_reason == (
        f"Reschedule requested (reminder link, reminder {reminder.pk})"
    )
    assert participant.visits.exclude(pk=visit.pk).filter(
        confirmation=Confirmation.UNCONFIRMED
    ).count() == (participant.visits.count() - 1)


@pytest.mark.parametrize(
    "message",
    ["x" * 1001, "Please call me\x07 after five"],
    ids=["too long", "control character"],
)
def test_a_message_that_cannot_be_kept_changes_nothing_and_says_why(client, enrol, message):
    reminder = leuk_reminder(enrol())
    before = state()
    response = client.post(link_path(reminder, LinkAction.RESCHEDULE), {"message": message})
    assert response.status_code == 400
    assert 'class="error"' in page(response)
    assert state() == before


def test_stopping_turns_the_participants_reminders_off_and_cancels_pending_ones(client, enrol):
    participant, other = enrol(), enrol()
    reminder = leuk_reminder(participant)
    pending = set(
        Reminder.objects.filter(
            visit__participant=participant, status=OutboxStatus.PENDING
        ).values_list("pk", flat=True)
    )
    assert reminder.pk in pending and len(pending) > 1
    other_before = state_of(other)

    response = client.post(link_path(reminder, LinkAction.STOP))

    assert response.status_code == 200
    assert "Your visit reminders are turned off." in page(response)
    participant.refresh_from_db()
    assert participant.reminders_enabled is False
    assert set(Reminder.objects.filter(pk__in=pending).values_list("status", flat=True)) == {
        OutboxStatus.CANCELLED
    }
    assert participant.history.first().history_change_reason == (
        f"Stopped by the participant (reminder link, reminder {reminder.pk})"
    )
    assert set(participant.visits.values_list("confirmation", flat=True)) == {
        Confirmation.UNCONFIRMED
    }
    assert state_of(other) == other_before


# Links that change nothing, and say so


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: one_character_changed(token, 3),  # in the payload (the reminder's id)
        lambda token: one_character_changed(token, token.index(":") + 2),  # in the timestamp
        lambda token: one_character_changed(token, len(token) - 10),  # in the signature
        lambda token: one_character_changed(token, len(token) - 1),  # its last character
        # The reminder's own id with a made-up signature, or signed by the site's key but
        # for another purpose (Django's default salt).
        lambda token: token.split(":")[0] + ":1vmoqm:" + "x" * 43,
        lambda token: signing.dumps(signing.loads(token, salt="trialsite.reminder-link")),
        lambda token: "nothing",
    ],
    ids=["payload", "timestamp", "signature", "last", "made up", "other salt", "garbage"],
)
def test_a_tampered_or_made_up_link_changes_nothing_and_says_so(client, enrol, method, tamper):
    reminder = leuk_reminder(enrol())
    before = state()
    for action in ACTIONS:
        token = tamper(link_token(reminder, action))
        assert token != link_token(reminder, action)
        response = getattr(client, method)(f"/r/{token}/{action}/")
        assert response.status_code == 404
        assert "Nothing was changed." in page(response)
        assert "This link is not valid. Please use the link in your email." in page(response)
        assert "Oceanside" not in page(response)
    assert state() == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_link_with_another_action_changes_nothing_and_says_so(client, enrol, method):
    reminder = leuk_reminder(enrol())
    before = state()
    response = getattr(client, method)(f"/r/{link_token(reminder, LinkAction.CONFIRM)}/delete/")
    assert response.status_code == 404
    assert "This link is not valid." in page(response)
    assert state() == before


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("signed_for", ACTIONS)
def test_a_token_acts_only_under_the_action_it_was_signed_for(client, enrol, method, signed_for):
    """Security issue 21 item 2: a token taken from one link (a log line, a forwarded email)
    does nothing under another action: the token of an "I'll be there" link cannot stop the
    participant's reminders. The first version's tokens, signed for no action, act on none."""
    participant = enrol()
    reminder = leuk_reminder(participant)
    before = state()
    legacy = signing.dumps({"r": reminder.pk}, salt="trialsite.reminder-link")
    for action in ACTIONS:
        tokens = [legacy] + ([] if action == signed_for else [link_token(reminder, signed_for)])
        for token in tokens:
            response = getattr(client, method)(f"/r/{token}/{action}/")
            assert response.status_code == 404, (signed_for, action)
            assert "This link is not valid." in page(response)
    one = Client(enforce_csrf_checks=True).post(
        f"/r/{link_token(reminder, LinkAction.CONFIRM)}/stop/",
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert one.status_code == 404
    assert state() == before
    assert Participant.objects.get(pk=participant.pk).reminders_enabled


@pytest.mark.parametrize("action", ACTIONS)
def test_a_link_acts_until_midnight_ending_the_appointment_day_at_the_site(
    client, enrol, time_machine, action
):
    reminder = leuk_reminder(enrol())
    # 23:59:59 on Monday 9 February in Oceanside: 07:59:59 UTC on the 10th, a UTC day later.
    time_machine.move_to(END_OF_VISIT_DAY - datetime.timedelta(seconds=1), tick=False)
    assert client.get(link_path(reminder, action)).status_code == 200
    response = client.post(link_path(reminder, action))
    assert response.status_code == 200
    assert ReminderLinkUse.objects.filter(reminder=reminder, action=action).exists()


def test_the_stop_link_still_unsubscribes_after_the_visit_day_until_its_sixtieth_day_ends(
    client, enrol, time_machine
):
    reminder = leuk_reminder(enrol())
    # 23:59:59 on 10 April in Oceanside, daylight-saving time by then: 06:59:59 UTC on the 11th.
    time_machine.move_to(datetime.datetime(2026, 4, 11, 6, 59, 59, tzinfo=UTC), tick=False)
    response = client.post(link_path(reminder, LinkAction.STOP), {"List-Unsubscribe": "One-Click"})
    assert (response.status_code, response.content) == (200, b"OK")
    reminder.visit.participant.refresh_from_db()
    assert not reminder.visit.participant.reminders_enabled


def test_a_one_click_body_on_a_confirm_link_changes_nothing(client, enrol):
    reminder = leuk_reminder(enrol())
    before = state()
    response = client.post(
        link_path(reminder, LinkAction.CONFIRM), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 400
    assert state() == before


@pytest.mark.parametrize("action", ACTIONS)
def test_an_expired_link_changes_nothing_and_says_so(client, enrol, time_machine, action):
    reminder = leuk_reminder(enrol())
    # 00:00 on 10 February in Oceanside; for the stop link, 00:00 on 11 April (PDT by then).
    stop_end = datetime.datetime(2026, 4, 11, 7, tzinfo=UTC)
    time_machine.move_to(stop_end if action == LinkAction.STOP else END_OF_VISIT_DAY, tick=False)
    before = state()
    for method in ("get", "post"):
        response = getattr(client, method)(link_path(reminder, action))
        assert response.status_code == 410
        assert "Nothing was changed." in page(response)
        assert "This link has expired." in page(response)
    assert state() == before


@pytest.mark.parametrize(
    ("action", "said"),
    [
        (LinkAction.CONFIRM, "This link has already been used."),
        (LinkAction.RESCHEDULE, "This link has already been used."),
        (LinkAction.STOP, "Your reminders are already turned off."),
    ],
)
def test_a_replayed_link_changes_nothing_and_says_so(client, enrol, time_machine, action, said):
    reminder = leuk_reminder(enrol())
    assert client.post(link_path(reminder, action), {"message": "first"}).status_code == 200
    after_first = state()
    time_machine.move_to(NOW + datetime.timedelta(hours=1), tick=False)
    response = client.post(link_path(reminder, action), {"message": "second"})
    assert response.status_code == 409
    assert "Nothing was changed." in page(response)
    assert said in page(response)
    assert state() == after_first


@pytest.mark.parametrize("action", [LinkAction.CONFIRM, LinkAction.RESCHEDULE])
def test_a_link_for_an_appointment_that_has_moved_since_changes_nothing_and_says_so(
    client, enrol, action
):
    participant = enrol()
    reminder = leuk_reminder(participant)
    book_appointment(reminder.visit, on=VISIT_DAY + datetime.timedelta(days=2))
    before = state()
    for method in ("get", "post"):
        response = getattr(client, method)(link_path(reminder, action))
        assert response.status_code == 410
        assert "This visit has moved to another date." in page(response)
    assert state() == before
    visit = Visit.objects.get(pk=reminder.visit_id)
    assert visit.confirmation == Confirmation.UNCONFIRMED


def test_the_stop_link_of_a_moved_appointment_still_stops_reminders(client, enrol):
    participant = enrol()
    reminder = leuk_reminder(participant)
    book_appointment(reminder.visit, on=VISIT_DAY + datetime.timedelta(days=2))
    assert client.post(link_path(reminder, LinkAction.STOP)).status_code == 200
    assert Participant.objects.get(pk=participant.pk).reminders_enabled is False


# One participant's links never reach another's


@pytest.mark.parametrize("action", ACTIONS)
def test_a_link_from_one_participants_reminder_only_touches_that_reminder(
    client, enrol, site_ber, action
):
    alice = enrol()
    bob = enrol(site=site_ber)
    alice_reminder, bob_reminder = leuk_reminder(alice), leuk_reminder(bob)
    bob_before = state_of(bob)
    # Alice's token under each action, with Bob's ids put in the form for good measure.
    response = client.post(
        link_path(alice_reminder, action),
        {"message": "hello", "reminder": bob_reminder.pk, "visit": bob_reminder.visit_id},
    )
    assert response.status_code == 200
    assert "Oceanside" in page(response) and "Berlin" not in page(response)
    assert state_of(bob) == bob_before
    [use] = ReminderLinkUse.objects.all()
    assert (use.reminder_id, use.action) == (alice_reminder.pk, action)


def test_each_participants_links_carry_their_own_token(enrol, site_ber):
    alice, bob = enrol(), enrol(site=site_ber)
    alice_tokens = {link_path(leuk_reminder(alice), a).split("/")[2] for a in ACTIONS}
    bob_tokens = {link_path(leuk_reminder(bob), a).split("/")[2] for a in ACTIONS}
    assert len(alice_tokens) == len(bob_tokens) == len(ACTIONS)  # one per action
    assert not alice_tokens & bob_tokens


# One-click unsubscribe (RFC 8058), as a mail provider sends it


def one_click(path: str, content_type: str):
    client = Client(enforce_csrf_checks=True)  # no CSRF token, no cookies
    if content_type == "multipart":
        return client.post(path, {"List-Unsubscribe": "One-Click"})
    return client.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )


@pytest.mark.parametrize("content_type", ["urlencoded", "multipart"])
def test_a_one_click_unsubscribe_post_turns_reminders_off(enrol, content_type):
    participant = enrol()
    reminder = leuk_reminder(participant)
    response = one_click(link_path(reminder, LinkAction.STOP), content_type)
    assert response.status_code == 200
    assert not response.cookies
    participant.refresh_from_db()
    assert participant.reminders_enabled is False
    [use] = ReminderLinkUse.objects.all()
    assert (use.reminder, use.action, use.one_click) == (reminder, LinkAction.STOP, True)
    assert participant.history.first().history_change_reason == (
        f"Stopped by the participant (reminder link, reminder {reminder.pk}, one-click unsubscribe)"
    )


def test_a_repeated_one_click_unsubscribe_still_answers_200(enrol):
    reminder = leuk_reminder(enrol())
    assert one_click(link_path(reminder, LinkAction.STOP), "urlencoded").status_code == 200
    before = state()
    assert one_click(link_path(reminder, LinkAction.STOP), "urlencoded").status_code == 200
    assert state() == before


def test_a_one_click_unsubscribe_that_changes_nothing_is_not_answered_as_a_success(
    enrol, time_machine
):
    """Security issue 21 item 6: an expired stop link, or one used before since when staff
    turned reminders back on, changes nothing; the mail client must not report success (RFC
    8058 asks for a successful POST only when the unsubscribe happened), and the answer says
    how to stop reminders otherwise."""
    from participants.lifecycle import set_reminders

    participant = enrol()
    reminder = leuk_reminder(participant)
    path = link_path(reminder, LinkAction.STOP)
    assert one_click(path, "urlencoded").status_code == 200
    set_reminders(participant, True, reason="Asked on the phone to have them again")
    before = state()
    used_again = one_click(path, "urlencoded")
    assert used_again.status_code == 409
    assert "This link has already been used." in used_again.text
    assert "To stop your reminders, please call the study team on" in used_again.text
    # The participant opening the same link in a browser reads the same, on the page.
    page_again = Client().post(path)
    assert page_again.status_code == 409
    assert "To stop your reminders, please call the study team on" in page(page_again)
    assert state() == before

    other = leuk_reminder(enrol())
    before = state()
    stop_end = datetime.datetime(2026, 4, 11, 7, tzinfo=UTC)
    time_machine.move_to(stop_end, tick=False)
    expired = one_click(link_path(other, LinkAction.STOP), "urlencoded")
    assert expired.status_code == 410
    assert "This link has expired." in expired.text
    assert "To stop your reminders" in expired.text
    assert state() == before


def test_a_refused_one_click_unsubscribe_speaks_the_participants_language(enrol):
    from participants.lifecycle import set_reminders

    participant = enrol(language="de")
    reminder = leuk_reminder(participant)
    path = link_path(reminder, LinkAction.STOP)
    assert one_click(path, "urlencoded").status_code == 200
    set_reminders(participant, True, reason="Asked on the phone to have them again")
    response = one_click(path, "urlencoded")
    assert response.status_code == 409
    assert "Um Ihre Erinnerungen abzubestellen" in response.text


def test_the_delivered_list_unsubscribe_header_is_the_stop_link_and_a_mailto_and_works(
    enrol, smtp_server, time_machine
):
    participant = enrol()
    reminder = leuk_reminder(participant)
    time_machine.move_to(reminder.due_at, tick=False)
    assert dispatch_due().sent == 1
    [message] = smtp_server.messages
    raw = dict(message.raw_items())
    assert "=?" not in raw["List-Unsubscribe"]  # not RFC 2047-encoded: clients read it as is
    unfolded = re.sub(r"\r?\n[ \t]", " ", raw["List-Unsubscribe"]).strip()
    targets = re.findall(r"<([^>]*)>", unfolded)
    assert targets == [
        link_url(reminder, LinkAction.STOP),
        "mailto:visits@localhost?subject=stop%20reminders",
    ]
    assert re.match(r"https?://", targets[0])
    assert unfolded == f"<{targets[0]}>, <{targets[1]}>"
    assert raw["List-Unsubscribe-Post"].strip() == "List-Unsubscribe=One-Click"

    path = re.sub(r"^https?://[^/]+", "", targets[0])
    assert one_click(path, "urlencoded").status_code == 200
    assert Participant.objects.get(pk=participant.pk).reminders_enabled is False


# Language


def test_the_pages_are_in_the_participants_language(client, enrol):
    reminder = leuk_reminder(enrol(language="de"))
    path = link_path(reminder, LinkAction.CONFIRM)
    asked = page(client.get(path, HTTP_ACCEPT_LANGUAGE="fr"))
    assert '<html lang="de">' in asked
    assert "Kommen Sie zu Ihrem Termin?" in asked
    assert "Montag, 9. Februar 2026, 09:30" in asked
    assert "Ja, ich komme" in asked
    done = page(client.post(path))
    assert "Vielen Dank: Ihr Termin ist bestätigt." in done
    refused = client.post(path)
    assert refused.status_code == 409
    assert "Es wurde nichts geändert." in page(refused)
    assert "Dieser Link wurde bereits verwendet." in page(refused)


@pytest.mark.parametrize(
    ("accept_language", "lang", "said"),
    [
        ("es-ES,es;q=0.9,en;q=0.5", "es", "Este enlace no es válido."),
        ("fr-CH, fr;q=0.9", "fr", "Ce lien n'est pas valide."),
        ("de", "de", "Dieser Link ist ungültig."),
    ],
)
def test_an_invalid_link_page_speaks_the_browsers_language(client, db, accept_language, lang, said):
    response = client.get("/r/nothing/confirm/", HTTP_ACCEPT_LANGUAGE=accept_language)
    assert response.status_code == 404
    assert said in page(response)
    assert f'<html lang="{lang}">' in page(response)


# Headers of every link page


@pytest.mark.parametrize(
    "answer",
    [
        lambda client, reminder: client.get(link_path(reminder, LinkAction.CONFIRM)),
        lambda client, reminder: client.post(link_path(reminder, LinkAction.CONFIRM)),
        lambda client, reminder: client.post(
            link_path(reminder, LinkAction.RESCHEDULE), {"message": "x" * 1001}
        ),
        lambda client, reminder: client.get("/r/nothing/confirm/"),
        lambda client, reminder: [
            client.post(link_path(reminder, LinkAction.STOP)),
            client.post(link_path(reminder, LinkAction.STOP)),
        ][-1],
    ],
    ids=["ask", "done", "invalid message", "invalid link", "used link"],
)
def test_link_pages_are_not_cached_and_send_no_referrer(client, enrol, answer):
    response = answer(client, leuk_reminder(enrol()))
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"

"""Appointments in the staff workspace (issue 11): the clinic calendar on the site page
(site managers), closures (coordinators), the day picker of a visit, and appointments and
their flags on the participant page and the visit list."""

import datetime
import re
from html import unescape

import pytest
import time_machine
from django.urls import reverse

from participants.models import Resource, Site, SiteCapacity, SiteClosure
from participants.sites import add_closure
from scheduling.models import AppointmentFlag, Visit, VisitDefinition
from scheduling.timeline.appointments import book_appointment
from tests.forms import form_data

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
# 2026-01-20 at noon UTC: the morning of 20 January in Oceanside.
NOW = datetime.datetime(2026, 1, 20, 20, 0, tzinfo=UTC)
# A Monday. Screening visit 01-05, leukapheresis planned 02-09 (window 02-02 to 02-16, which
# holds Presidents' Day), treatment from 03-02: INF1 on 03-02 (no window), INF2 on 03-09
# (window Sat 03-07 to Wed 03-11).
CONSENT = datetime.date(2026, 1, 5)
D = datetime.date


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def resources(protocol):
    """SLE-001's leukapheresis uses an apheresis slot, its infusions an infusion chair."""
    apheresis, _ = Resource.objects.get_or_create(
        name="apheresis", defaults={"plural": "apheresis slots"}
    )
    chair, _ = Resource.objects.get_or_create(
        name="infusion chair", defaults={"plural": "infusion chairs"}
    )
    definitions = VisitDefinition.objects.filter(protocol=protocol)
    definitions.filter(code="LEUK").update(resource=apheresis)
    definitions.filter(code__startswith="INF").update(resource=chair)
    return apheresis, chair


@pytest.fixture
def clinic(site_ocn, resources):
    """OCN as the issue has it: open Monday to Friday, California's public holidays, one
    apheresis slot and two infusion chairs a day."""
    apheresis, chair = resources
    Site.objects.filter(pk=site_ocn.pk).update(
        open_days="12345", holiday_country="US", holiday_subdivision="CA"
    )
    site_ocn.refresh_from_db()
    SiteCapacity.objects.create(site=site_ocn, resource=apheresis, per_day=1)
    SiteCapacity.objects.create(site=site_ocn, resource=chair, per_day=2)
    return site_ocn


def as_user(client, staff, username):
    client.force_login(staff[username])
    return client


def visit_of(participant, code) -> Visit:
    return participant.visits.get(code=code)


def picker_url(visit) -> str:
    return reverse("admin:participant_visit_appointment", args=[visit.participant_id, visit.pk])


def site_url(site) -> str:
    return reverse("admin:participants_site_change", args=[site.pk])


def page_url(participant) -> str:
    return reverse("admin:participants_participant_change", args=[participant.pk])


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def day_row(html: str, day: datetime.date) -> str:
    """The picker's row of ``day`` as text."""
    match = re.search(rf'<tr [^>]*data-date="{day.isoformat()}".*?</tr>', html, re.S)
    assert match, f"no row for {day}"
    return text_of(match.group(0))


def visit_row(html: str, code: str) -> str:
    match = re.search(rf'<tr class="visit-row[^"]*" data-visit="{code}">.*?</tr>', html, re.S)
    assert match, f"no row for {code}"
    return text_of(match.group(0))


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# The site page: the clinic calendar, kept by site managers.


def test_a_site_manager_sets_open_days_holidays_and_capacity_and_appointments_move(
    clock, client, staff, site_ocn, resources, make_participant
):
    _, chair = resources
    # Consent 01-12: leukapheresis planned on Mon 02-16 (Presidents' Day), INF1 on Mon 03-09.
    participant = make_participant(consent_date=D(2026, 1, 12))
    assert visit_of(participant, "LEUK").appointment_date == D(2026, 2, 16)  # open every day
    manager = as_user(client, staff, "manager-ocn")
    page = manager.get(site_url(site_ocn))
    assert page.status_code == 200
    assert 'name="open_days" value="7"' in page.text  # a checkbox per weekday
    data = form_data(page)
    data.update(
        {
            "open_days": ["2", "3", "4", "5", "6"],  # Tuesday to Saturday
            "holiday_country": "us",
            "holiday_subdivision": "ca",
            "capacities-TOTAL_FORMS": "1",
            "capacities-0-resource": str(chair.pk),
            "capacities-0-per_day": "2",
            "change_reason": "Clinic calendar for 2026",
        }
    )
    response = manager.post(site_url(site_ocn), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    site_ocn.refresh_from_db()
    assert (site_ocn.open_days, site_ocn.holidays_label) == ("23456", "US-CA")
    assert SiteCapacity.objects.get(site=site_ocn, resource=chair).per_day == 2
    leukapheresis = visit_of(participant, "LEUK")
    assert leukapheresis.appointment_date == D(2026, 2, 17)
    assert leukapheresis.appointment_note == "moved off a holiday: Presidents' Day"
    first_infusion = visit_of(participant, "INF1")  # no window, on a Monday: nowhere to go
    assert first_infusion.appointment_date == D(2026, 3, 9)
    assert first_infusion.appointment_flag == AppointmentFlag.NO_OPEN_DAY
    assert site_ocn.history.latest().history_change_reason == "Clinic calendar for 2026"
    capacity = SiteCapacity.objects.get(site=site_ocn, resource=chair)
    assert capacity.history.latest().history_change_reason == "Clinic calendar for 2026"
    assert capacity.history.latest().history_user == staff["manager-ocn"]

    page = manager.get(site_url(site_ocn))
    assert "2026-02-16 <small>Mon</small> Presidents&#x27; Day" in page.text
    assert "2027-01-01 <small>Fri</small> New Year&#x27;s Day" in page.text  # and next year's


def test_a_capacity_change_alone_places_the_appointments_again(
    clock, client, staff, clinic, resources, make_participant
):
    _, chair = resources
    first, second = make_participant(), make_participant()
    book_appointment(visit_of(first, "INF2"), on=D(2026, 3, 9))
    book_appointment(visit_of(second, "INF2"), on=D(2026, 3, 9))
    manager = as_user(client, staff, "manager-ocn")
    data = form_data(manager.get(site_url(clinic)))
    capacity = SiteCapacity.objects.get(site=clinic, resource=chair)
    index = next(
        key.split("-")[1]
        for key, value in data.items()
        if re.fullmatch(r"capacities-\d+-id", key) and value == str(capacity.pk)
    )
    data[f"capacities-{index}-per_day"] = "1"
    response = manager.post(site_url(clinic), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert SiteCapacity.objects.get(pk=capacity.pk).per_day == 1
    # Capacity counts bookings; both stay booked, and the picker shows the day over full.
    third = make_participant()
    picker = manager.get(picker_url(visit_of(third, "INF2")))
    assert "2 of 1 infusion chair full" in day_row(picker.text, D(2026, 3, 9))


def test_the_site_page_names_the_public_holidays_of_this_year_and_next(
    clock, admin_client, site_ber
):
    site_ber.holiday_country, site_ber.holiday_subdivision = "DE", "BE"
    site_ber.save()
    page = admin_client.get(site_url(site_ber))
    holidays = text_of(page.text)
    assert "2026-04-03 Fri Good Friday" in holidays
    assert "2027-03-26 Fri Good Friday" in holidays
    assert "2028-" not in holidays


def test_an_unknown_holiday_calendar_is_refused_on_its_field(clock, admin_client, site_ocn):
    data = form_data(admin_client.get(site_url(site_ocn)))
    data.update({"holiday_country": "US", "holiday_subdivision": "XX", "change_reason": "typo"})
    response = admin_client.post(site_url(site_ocn), data)
    assert response.status_code == 200
    assert "“XX” is not a subdivision of US" in str(
        response.context["adminform"].form.errors["holiday_subdivision"]
    )
    data.update({"holiday_subdivision": "", "open_days": []})
    response = admin_client.post(site_url(site_ocn), data)
    assert "Tick at least one day the clinic is open." in str(
        response.context["adminform"].form.errors["open_days"]
    )


def test_a_coordinator_reads_the_site_but_cannot_change_it(
    clock, client, staff, clinic, make_participant
):
    coordinator = as_user(client, staff, "coordinator-ocn")
    page = coordinator.get(site_url(clinic))
    assert page.status_code == 200
    assert 'name="_save"' not in page.text
    assert "Mon-Fri" in text_of(page.text) and "US-CA" in text_of(page.text)
    assert "Capacity per day" in page.text and "infusion chair" in page.text
    assert 'name="capacities-0-per_day"' not in page.text  # read only
    assert "Add a closure" in page.text
    data = {"open_days": ["1"], "code": clinic.code, "change_reason": "coordinator"}
    assert coordinator.post(site_url(clinic), data).status_code == 403
    clinic.refresh_from_db()
    assert clinic.open_days == "12345"


def test_a_site_manager_sees_only_their_own_sites(clock, client, staff, site_ber):
    manager = as_user(client, staff, "manager-ocn")
    assert manager.get(site_url(site_ber)).status_code == 404


# Closures: coordinators of the site add, change and delete them.


def closure_form(site, start, end, reason, **extra) -> dict:
    return {
        "site": str(site.pk),
        "start": start.isoformat(),
        "end": end.isoformat() if end else "",
        "reason": reason,
        **extra,
    }


def test_a_coordinator_adds_a_closure_and_proposals_move_off_it_and_bookings_are_to_rebook(
    clock, client, staff, clinic, make_participant
):
    proposed, booked = make_participant(), make_participant()
    book_appointment(visit_of(booked, "INF2"), on=D(2026, 3, 10))
    coordinator = as_user(client, staff, "coordinator-ocn")
    response = coordinator.post(
        reverse("admin:participants_siteclosure_add"),
        closure_form(clinic, D(2026, 3, 9), D(2026, 3, 10), "inspection"),
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    closure = SiteClosure.objects.get(site=clinic)
    assert closure.history.latest().history_change_reason == "Closure added (admin)"
    assert closure.history.latest().history_user == staff["coordinator-ocn"]
    moved = visit_of(proposed, "INF2")
    assert (moved.appointment_date, moved.appointment_note) == (
        D(2026, 3, 11),
        "moved off a closure: inspection",
    )
    kept = visit_of(booked, "INF2")
    assert (kept.appointment_date, kept.booked_date) == (D(2026, 3, 10), D(2026, 3, 10))
    assert kept.appointment_flag == AppointmentFlag.REBOOK
    assert kept.appointment_note == "rebook: closed: inspection"
    site_page = coordinator.get(site_url(clinic))
    assert "2026-03-09 to 2026-03-10: inspection" in text_of(site_page.text)
    participant_page = coordinator.get(page_url(booked))
    assert "rebook: closed: inspection" in visit_row(participant_page.text, "INF2")


def test_a_closure_changed_or_deleted_in_the_admin_moves_the_proposals_back(
    clock, client, staff, clinic, make_participant
):
    participant = make_participant()
    closure = add_closure(clinic, start=D(2026, 3, 9), end=D(2026, 3, 10), reason="inspection")
    coordinator = as_user(client, staff, "coordinator-ocn")
    url = reverse("admin:participants_siteclosure_change", args=[closure.pk])
    unexplained = coordinator.post(url, closure_form(clinic, D(2026, 3, 9), None, "inspection"))
    assert unexplained.status_code == 200  # a change needs its reason
    response = coordinator.post(
        url,
        closure_form(
            clinic, D(2026, 3, 9), None, "inspection", change_reason="Inspector comes one day"
        ),
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    closure.refresh_from_db()
    assert (closure.start, closure.end) == (D(2026, 3, 9), D(2026, 3, 9))
    assert closure.history.latest().history_change_reason == (
        "Closure changed (admin): Inspector comes one day"
    )
    assert visit_of(participant, "INF2").appointment_date == D(2026, 3, 10)
    delete = reverse("admin:participants_siteclosure_delete", args=[closure.pk])
    assert coordinator.post(delete, {"post": "yes"}).status_code == 302
    assert not SiteClosure.objects.exists()
    assert visit_of(participant, "INF2").appointment_date == D(2026, 3, 9)


def test_a_closure_too_far_ahead_is_refused_with_a_sentence(clock, client, staff, clinic):
    coordinator = as_user(client, staff, "coordinator-ocn")
    response = coordinator.post(
        reverse("admin:participants_siteclosure_add"),
        closure_form(clinic, D(2026, 3, 9), D(2036, 3, 9), "renovation"),
    )
    assert response.status_code == 200
    assert "more than 5 years ahead" in str(response.context["adminform"].form.errors["end"])
    assert not SiteClosure.objects.exists()


def test_closures_are_listed_and_opened_only_at_the_users_sites(
    clock, client, staff, clinic, site_ber
):
    ours = add_closure(clinic, start=D(2026, 3, 9), reason="inspection")
    theirs = add_closure(site_ber, start=D(2026, 3, 9), reason="Betriebsausflug")
    coordinator = as_user(client, staff, "coordinator-ocn")
    listing = coordinator.get(reverse("admin:participants_siteclosure_changelist"))
    assert "inspection" in listing.text and "Betriebsausflug" not in listing.text
    change = reverse("admin:participants_siteclosure_change", args=[theirs.pk])
    assert coordinator.get(change).status_code == 404
    add = coordinator.post(
        reverse("admin:participants_siteclosure_add"),
        closure_form(site_ber, D(2026, 3, 12), None, "not ours"),
    )
    assert add.status_code == 200  # BER is not a choice for an OCN coordinator
    assert SiteClosure.objects.count() == 2
    assert ours.pk


def test_a_monitor_can_write_nothing(clock, client, staff, clinic, resources, make_participant):
    participant = make_participant()
    closure = add_closure(clinic, start=D(2026, 3, 9), reason="inspection")
    monitor = as_user(client, staff, "monitor")
    visit = visit_of(participant, "INF2")
    assert monitor.get(site_url(clinic)).status_code == 200
    picker = monitor.get(picker_url(visit))
    assert picker.status_code == 200
    assert "booking-form" not in picker.text and "clear-booking" not in picker.text
    assert "closed: inspection" in day_row(picker.text, D(2026, 3, 9))
    attempts = {
        "site": monitor.post(site_url(clinic), {"open_days": ["1"], "change_reason": "x"}),
        "closure add": monitor.post(
            reverse("admin:participants_siteclosure_add"),
            closure_form(clinic, D(2026, 3, 12), None, "monitor"),
        ),
        "closure change": monitor.post(
            reverse("admin:participants_siteclosure_change", args=[closure.pk]),
            closure_form(clinic, D(2026, 3, 12), None, "moved", change_reason="x"),
        ),
        "closure delete": monitor.post(
            reverse("admin:participants_siteclosure_delete", args=[closure.pk]), {"post": "yes"}
        ),
        "resource add": monitor.post(
            reverse("admin:participants_resource_add"), {"name": "bed", "plural": ""}
        ),
        "book": monitor.post(picker_url(visit), {"on": "2026-03-11"}),
        "clear": monitor.post(picker_url(visit), {"clear": "1"}),
    }
    assert {name: r.status_code for name, r in attempts.items()} == dict.fromkeys(attempts, 403)
    closure.refresh_from_db()
    assert (closure.start, closure.reason) == (D(2026, 3, 9), "inspection")
    visit.refresh_from_db()
    assert visit.booked_date is None
    assert not Resource.objects.filter(name="bed").exists()
    participant_page = monitor.get(page_url(participant))
    assert "Book…" not in participant_page.text and "Days…" in participant_page.text


def test_a_superuser_adds_a_resource_and_no_site_role_can(clock, client, staff, admin_user):
    # Resources are the plan's, shared by every site (issue 21's decision): a site manager
    # sets their site's capacity, not the resources.
    add = reverse("admin:participants_resource_add")
    for username in ("coordinator-ocn", "manager-ocn"):
        user = as_user(client, staff, username)
        assert user.post(add, {"name": "bed", "plural": "beds"}).status_code == 403
    client.force_login(admin_user)
    assert client.post(add, {"name": "bed", "plural": "beds"}).status_code == 302
    assert Resource.objects.get(name="bed").count_label(2) == "beds"


# The day picker.


@pytest.fixture
def full_monday(clinic, make_participant):
    """A participant whose INF2 window (Sat 03-07 to Wed 03-11) has Monday 03-09 full (two
    others booked there), Tuesday 03-10 closed for an inspection, Wednesday open."""
    participant = make_participant(subject_id="SLE-001-101-100")
    for _ in range(2):
        book_appointment(visit_of(make_participant(), "INF2"), on=D(2026, 3, 9))
    add_closure(clinic, start=D(2026, 3, 10), reason="inspection")
    return participant


def test_the_day_picker_lists_the_window_with_closed_reasons_and_loads(
    clock, client, staff, full_monday
):
    coordinator = as_user(client, staff, "coordinator-ocn")
    visit = visit_of(full_monday, "INF2")
    page = coordinator.get(picker_url(visit))
    assert page.status_code == 200
    rows = {
        day: day_row(page.text, day)
        for day in (D(2026, 3, 7) + datetime.timedelta(n) for n in range(5))
    }
    assert rows[D(2026, 3, 7)] == "Sat 2026-03-07 Day 6 closed: Saturday 0 of 2 infusion chairs"
    assert rows[D(2026, 3, 8)].startswith("Sun 2026-03-08 Day 7 closed: Sunday")
    assert rows[D(2026, 3, 9)] == (
        "Mon 2026-03-09 Day 8 open 2 of 2 infusion chairs full planned proposed appointment"
    )
    assert rows[D(2026, 3, 10)].startswith("Tue 2026-03-10 Day 9 closed: inspection")
    assert rows[D(2026, 3, 11)] == ("Wed 2026-03-11 Day 10 open 0 of 2 infusion chairs suggested")
    suggested = re.search(r'id="suggested-days">(.*?)</p>', page.text, re.S).group(1)
    assert text_of(suggested) == "Nearest days with room: Wed 2026-03-11 ."
    assert 'value="2026-03-09" id="day-2026-03-09" checked' in page.text
    leukapheresis = coordinator.get(picker_url(visit_of(full_monday, "LEUK")))
    assert "holiday: Presidents' Day" in day_row(leukapheresis.text, D(2026, 2, 16))
    assert "0 of 1 apheresis" in day_row(leukapheresis.text, D(2026, 2, 13))


def test_booking_a_full_day_is_refused_with_the_sentence_and_an_override_books_it(
    clock, client, staff, full_monday
):
    coordinator = as_user(client, staff, "coordinator-ocn")
    visit = visit_of(full_monday, "INF2")
    refused = coordinator.post(picker_url(visit), {"on": "2026-03-09", "at": "10:30"})
    assert refused.status_code == 200
    assert (
        "2026-03-09 is full at OCN: 2 of 2 infusion chairs booked. Nearest days with room: "
        "2026-03-11. Give an override reason to book anyway." in text_of(refused.text)
    )
    assert 'value="2026-03-09" id="day-2026-03-09" checked' in refused.text  # kept
    visit.refresh_from_db()
    assert visit.booked_date is None

    booked = coordinator.post(
        picker_url(visit),
        {"on": "2026-03-09", "at": "10:30", "override_reason": "Third chair borrowed"},
    )
    assert booked.status_code == 302
    assert booked.url == page_url(full_monday) + "#visits"
    visit.refresh_from_db()
    assert (visit.booked_date, visit.booked_time) == (D(2026, 3, 9), datetime.time(10, 30))
    assert visit.booking_override == "Third chair borrowed"
    page = coordinator.get(booked.url)
    assert (
        "INF2 booked on Mon 2026-03-09 at 10:30. Override: Third chair borrowed."
        in (messages_of(page)[0])
    )
    assert "Mon 2026-03-09 10:30 PDT booked" in visit_row(page.text, "INF2")


def test_a_closed_day_and_a_day_outside_the_window_need_an_override(
    clock, client, staff, full_monday
):
    coordinator = as_user(client, staff, "coordinator-ocn")
    visit = visit_of(full_monday, "INF2")
    closed = coordinator.post(picker_url(visit), {"on": "2026-03-10"})
    assert "2026-03-10: OCN is closed (inspection)" in text_of(closed.text)
    outside = coordinator.post(picker_url(visit), {"on": "another", "another_day": "2026-03-12"})
    assert "2026-03-12 is outside the window of INF2" in text_of(outside.text)
    week_date = coordinator.post(picker_url(visit), {"on": "another", "another_day": "2026-W11-4"})
    assert "“2026-W11-4” is not a date (YYYY-MM-DD)." in text_of(week_date.text)
    deviation = coordinator.post(
        picker_url(visit),
        {"on": "another", "another_day": "2026-03-12", "override_reason": "Travels until 11th"},
    )
    assert deviation.status_code == 302
    page = coordinator.get(page_url(full_monday))
    assert "planned deviation: outside window" in visit_row(page.text, "INF2")


def test_clearing_a_booking_returns_the_visit_to_its_proposal(clock, client, staff, full_monday):
    coordinator = as_user(client, staff, "coordinator-ocn")
    visit = visit_of(full_monday, "INF2")
    booked = coordinator.post(picker_url(visit), {"on": "2026-03-11", "at": ""})
    assert booked.status_code == 302
    visit.refresh_from_db()
    assert (visit.appointment_date, visit.appointment_source) == (D(2026, 3, 11), "booked")
    picker = coordinator.get(picker_url(visit))
    assert "booked appointment" in day_row(picker.text, D(2026, 3, 11))
    cleared = coordinator.post(picker_url(visit), {"clear": "1"})
    assert cleared.status_code == 302
    visit.refresh_from_db()
    assert (visit.appointment_date, visit.appointment_source) == (D(2026, 3, 9), "proposed")
    page = coordinator.get(cleared.url)
    assert "INF2: booking cleared; proposed for Mon 2026-03-09." in messages_of(page)
    assert "Mon 2026-03-09 proposed" in visit_row(page.text, "INF2")


def test_another_sites_visit_is_a_404(clock, client, staff, clinic, site_ber, make_participant):
    ours = make_participant(site=clinic)
    theirs = make_participant(site=site_ber)
    coordinator = as_user(client, staff, "coordinator-ocn")
    their_visit = visit_of(theirs, "INF2")
    assert coordinator.get(picker_url(their_visit)).status_code == 404
    assert coordinator.post(picker_url(their_visit), {"on": "2026-03-09"}).status_code == 404
    mixed = reverse("admin:participant_visit_appointment", args=[ours.pk, their_visit.pk])
    assert coordinator.get(mixed).status_code == 404
    their_visit.refresh_from_db()
    assert their_visit.booked_date is None


def test_a_done_visit_has_nothing_to_book(clock, client, staff, clinic, make_participant):
    from scheduling.timeline.visits import record_visit

    participant = make_participant()
    record_visit(participant, "SCR", on=CONSENT)
    coordinator = as_user(client, staff, "coordinator-ocn")
    visit = visit_of(participant, "SCR")
    page = coordinator.get(picker_url(visit))
    assert "SCR was done on 2026-01-05." in text_of(page.text)
    assert "booking-form" not in page.text
    refused = coordinator.post(picker_url(visit), {"on": "2026-01-06"})
    assert refused.status_code == 200
    assert re.search(r'id="booking-errors"><li>SCR was done on 2026-01-05.</li>', refused.text)
    visit.refresh_from_db()
    assert visit.booked_date is None


@pytest.mark.parametrize("code", ["INF1", "LEUK"])  # a window of one day, and of fifteen
def test_the_day_picker_takes_the_same_queries_whatever_its_window(
    clock, client, staff, full_monday, django_assert_max_num_queries, code
):
    coordinator = as_user(client, staff, "coordinator-ocn")
    visit = visit_of(full_monday, code)
    coordinator.get(picker_url(visit))  # warm caches (content types) shared by both
    # 10: one judges what the session owes for two-factor sign-in (security issue 21).
    with django_assert_max_num_queries(10):
        page = coordinator.get(picker_url(visit))
    assert page.status_code == 200


def test_a_booking_post_takes_a_bounded_number_of_queries(
    clock, client, staff, full_monday, django_assert_max_num_queries
):
    coordinator = as_user(client, staff, "coordinator-ocn")
    visit = visit_of(full_monday, "INF2")
    coordinator.get(picker_url(visit))
    with django_assert_max_num_queries(30):
        response = coordinator.post(picker_url(visit), {"on": "2026-03-11"})
    assert response.status_code == 302


# The participant page and the visit list.


def test_the_participant_page_shows_each_appointment_and_its_flags(
    clock, client, staff, clinic, make_participant
):
    participant = make_participant()
    add_closure(clinic, start=D(2026, 3, 2), reason="staff training")  # INF1 has no window
    coordinator = as_user(client, staff, "coordinator-ocn")
    page = coordinator.get(page_url(participant))
    assert "Mon 2026-02-09 proposed" in visit_row(page.text, "LEUK")
    first_infusion = visit_row(page.text, "INF1")
    assert "Mon 2026-03-02 proposed no open day in window" in first_infusion
    assert 'class="appointment-flag flag-no_open_day"' in page.text
    assert page.text.count("Book…") == len(Visit.objects.filter(participant=participant).open())


def test_the_visit_list_shows_appointments_and_filters_by_flag(
    clock, client, staff, clinic, make_participant
):
    proposed, booked = make_participant(), make_participant()
    book_appointment(visit_of(booked, "INF2"), on=D(2026, 3, 10))
    add_closure(clinic, start=D(2026, 3, 10), reason="inspection")
    coordinator = as_user(client, staff, "coordinator-ocn")
    url = reverse("admin:scheduling_visit_changelist")
    listing = coordinator.get(url, {"code": "INF2"})
    assert listing.status_code == 200
    assert "rebook: closed: inspection" in listing.text
    flagged = coordinator.get(url, {"appointment_flag__exact": "rebook"})
    assert flagged.status_code == 200
    assert flagged.context["cl"].result_count == 1
    assert flagged.context["cl"].result_list[0].participant == booked
    assert proposed


def test_a_draft_versions_page_offers_the_resource_of_each_visit_definition(
    admin_client, admin_user, protocol, resources
):
    from scheduling.timeline import versions

    draft = versions.new_draft(protocol, by=admin_user)
    page = admin_client.get(reverse("admin:scheduling_protocolversion_change", args=[draft.pk]))
    assert page.status_code == 200
    assert 'name="visit_definitions-0-resource"' in page.text
    assert ">infusion chair</option>" in page.text


def test_the_calendar_week_says_why_each_day_is_closed_once(clock, clinic, client, staff):
    """The week list reads "Closed: <why>": a closure's reason, a holiday with its name, a
    weekday by its name; never "Closed: closed: …" (issue 23's wording, from the one
    ClosedDay value of issue 22)."""
    add_closure(clinic, start=D(2026, 2, 18), reason="sponsor inspection")
    coordinator = as_user(client, staff, "coordinator-ocn")
    response = coordinator.get(
        reverse("admin:scheduling_visit_calendar") + "?site=OCN&week=2026-02-16"
    )
    week = text_of(response.text)
    assert "Closed: sponsor inspection" in week
    assert "Closed: holiday: Presidents' Day" in week  # Monday 16 February
    assert "Closed: Saturday" in week and "Closed: Sunday" in week
    assert "closed: closed" not in week.lower()


def test_the_calendar_leaves_off_the_visits_cancelled_by_a_withdrawal(
    clock, clinic, client, staff, make_participant
):
    """Issue 23's friction: the month listed struck-through cancelled visits of a participant
    who had left. A cancelled visit never comes due; the calendar shows what will happen."""
    from participants.lifecycle import record_transition
    from participants.models import Status

    staying = make_participant(consent_date=CONSENT, site=clinic)
    leaving = make_participant(consent_date=CONSENT, site=clinic)
    record_transition(leaving, Status.WITHDRAWN, on=D(2026, 1, 20), reason="Moved away")
    assert visit_of(leaving, "LEUK").cancelled
    coordinator = as_user(client, staff, "coordinator-ocn")
    response = coordinator.get(
        reverse("admin:scheduling_visit_calendar") + "?site=OCN&month=2026-02&week=2026-02-09"
    )
    page = text_of(response.text)
    assert staying.subject_id in page
    assert leaving.subject_id not in page


def test_a_new_participant_starts_with_the_only_protocol_and_the_user_s_only_site(
    clock, clinic, client, staff, protocol
):
    coordinator = as_user(client, staff, "coordinator-ocn")
    form = coordinator.get(reverse("admin:participants_participant_add")).context["adminform"].form
    assert form.initial["protocol"] == protocol.pk
    assert form.initial["site"] == clinic.pk

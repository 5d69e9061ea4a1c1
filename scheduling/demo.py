"""Demo data for `make demo`: the SLE-001 protocol (loaded by migrate), two sites with their
clinic calendars, about twenty participants spread over every phase and every way of leaving
the trial, a few more that show the clinic calendar at work, and the staff users.

Dates are relative to each site's today, so the demo always looks current. Everything goes
through the same services as the admin and the command line, and loading twice adds nothing.
"""

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from participants import eligibility, roles
from participants.contact_log import record_contact_attempt
from participants.lifecycle import confirm_eligibility, create_participant, record_transition
from participants.models import (
    ContactAttempt,
    EligibilityCriterion,
    Participant,
    Protocol,
    Resource,
    Site,
    SiteCapacity,
    SiteClosure,
    Status,
    YesNo,
)
from participants.sites import add_closure
from scheduling.models import (
    LinkAction,
    OutboxStatus,
    ProtocolVersion,
    Reminder,
    Visit,
    VisitDefinition,
)
from scheduling.replies.answers import answer_by_link, link_token
from scheduling.rules import clinic_calendar, engine
from scheduling.timeline import versions
from scheduling.timeline.appointments import book_appointment
from scheduling.timeline.following import first_versions
from scheduling.timeline.plans import version_plan
from scheduling.timeline.site_calendars import clinic_calendar as site_clinic_calendar
from scheduling.timeline.visits import record_visit

SITES = [
    {
        "code": "OCN",
        "name": "Oceanside Clinical Research",
        "timezone": "America/Los_Angeles",
        "coordinator_email": "coordinator.ocn@example.org",
        "address": "100 Mission Avenue, Oceanside, CA 92054",
        "phone": "+1 760 555 0142",
        "open_days": "12345",
        "holiday_country": "US",
        "holiday_subdivision": "CA",
        "language": "en",
        "sender_name": "Study visits, Oceanside",
        "sender_name_translations": {
            "es": "Visitas del estudio, Oceanside",
            "de": "Studientermine, Oceanside",
            "fr": "Visites de l'étude, Oceanside",
        },
    },
    {
        "code": "BER",
        "name": "Studienzentrum Berlin-Mitte",
        "timezone": "Europe/Berlin",
        "coordinator_email": "koordination.ber@example.org",
        "address": "Invalidenstraße 1, 10115 Berlin",
        "phone": "+49 30 5550 1420",
        "open_days": "12345",
        "holiday_country": "DE",
        "holiday_subdivision": "BE",
        "language": "de",
        "sender_name": "Studientermine Berlin-Mitte",
        "sender_name_translations": {
            "en": "Study visits, Berlin-Mitte",
            "es": "Visitas del estudio, Berlín-Mitte",
            "fr": "Visites de l'étude, Berlin-Mitte",
        },
    },
]
# Per site: resource name → how many a day.
CAPACITIES = {"OCN": {"apheresis": 1, "infusion chair": 2}}
THANKSGIVING_CLOSURE = "closed the day after Thanksgiving"
INSPECTION = "sponsor inspection"


@dataclass(frozen=True)
class Story:
    """One demo participant: consent so many days ago, then transitions (status, days ago)."""

    consent_days_ago: int
    steps: tuple[tuple[str, int], ...] = ()
    reason: str = ""
    skip_visits: tuple[str, ...] = ()  # left undone: missed once their window passes
    late_visits: tuple[str, ...] = ()  # done 4 days after their planned date (a deviation)
    exclusion_present: int | None = None  # the exclusion criterion (order) found present
    # Attempts to reach them (days ago, channel, outcome, note), in the contact log.
    contacts: tuple[tuple[int, str, str, str], ...] = ()


STORIES = [
    Story(5),
    Story(20, skip_visits=("SCR",)),
    Story(40, (("enrolled", 12),)),
    Story(52, (("enrolled", 20),)),
    Story(75, (("enrolled", 40), ("treatment", 16))),
    Story(95, (("enrolled", 60), ("treatment", 38)), late_visits=("INF3",)),
    Story(150, (("enrolled", 110), ("treatment", 95), ("follow_up", 40))),
    Story(330, (("enrolled", 290), ("treatment", 275), ("follow_up", 220)), skip_visits=("FU3",)),
    Story(520, (("enrolled", 480), ("treatment", 465), ("follow_up", 410), ("completed", 40))),
    Story(
        30,
        (("screen_failed", 18),),
        reason="Exclusion criterion met: major chronic illness not well managed",
        exclusion_present=3,
    ),
    Story(
        60,
        (("enrolled", 30), ("screen_failed", 25)),
        reason="Leukapheresis could not be performed",
    ),
    Story(
        90,
        (("enrolled", 55), ("treatment", 40), ("withdrawn", 20)),
        reason="Participant's decision: moved away from the area",
    ),
    Story(
        300,
        (("enrolled", 260), ("treatment", 245), ("follow_up", 190), ("lost_to_follow_up", 30)),
        reason="No contact after three phone calls and a letter",
        contacts=(
            (58, "phone", "no_answer", "No answer; no voicemail set up"),
            (51, "phone", "left_message", "Asked to call the clinic back"),
            (44, "phone", "no_answer", "Also tried the alternate number on file"),
            (37, "letter", "no_answer", "Letter to the address on file; no reply by day 30"),
        ),
    ),
]
# Site OCN gets every story, site BER the first seven: twenty participants in all.
SITE_STORIES = {"OCN": STORIES, "BER": STORIES[:7]}
SITE_NUMBERS = {"OCN": 101, "BER": 102}
# Participants who read their reminders in a language other than their site's.
LANGUAGES = {("OCN", 3): "es", ("OCN", 5): "es", ("BER", 4): "fr"}


def ensure_sites() -> dict[str, Site]:
    sites = {}
    for values in SITES:
        # Created once and never saved again: a re-run adds no history row, and a change
        # staff made to a demo site stays.
        site, _ = Site.objects.get_or_create(code=values["code"], defaults=values)
        sites[site.code] = site
    for code, capacities in CAPACITIES.items():
        for name, per_day in capacities.items():
            resource = Resource.objects.filter(name=name).first()
            if resource is not None:
                SiteCapacity.objects.get_or_create(
                    site=sites[code], resource=resource, defaults={"per_day": per_day}
                )
    return sites


def _day_after_thanksgiving(year: int) -> datetime.date:
    november_first = datetime.date(year, 11, 1)
    first_thursday = november_first + datetime.timedelta(days=(3 - november_first.weekday()) % 7)
    return first_thursday + datetime.timedelta(weeks=3, days=1)


def _ensure_thanksgiving_closures(site: Site) -> None:
    """OCN closes the Friday after Thanksgiving, this year's and next year's."""
    today = site.today()
    for year in (today.year, today.year + 1):
        day = _day_after_thanksgiving(year)
        exists = SiteClosure.objects.filter(site=site, start=day, reason=THANKSGIVING_CLOSURE)
        if day >= today and not exists.exists():
            add_closure(site, start=day, reason=THANKSGIVING_CLOSURE, via="demo data")


def _answer_eligibility(participant: Participant, story: Story, by) -> None:
    """The checklist as the coordinator filled it in during screening: every criterion answered
    with the answer that qualifies (an exclusion worded "I do not have …" is true of them),
    except the exclusion the story's screen failure found."""
    answers = {}
    for criterion in EligibilityCriterion.objects.filter(protocol_id=participant.protocol_id):
        qualifies = not (
            criterion.kind == EligibilityCriterion.Kind.EXCLUSION
            and criterion.order == story.exclusion_present
        )
        opposite = YesNo.NO if criterion.qualifying_answer == YesNo.YES else YesNo.YES
        answers[criterion.pk] = criterion.qualifying_answer if qualifies else opposite
    eligibility.answer_criteria(participant, answers, by=by)


def _play(
    story: Story,
    protocol: Protocol,
    site: Site,
    subject_id: str,
    staff: dict,
    language: str = "",
) -> Participant:
    today = site.today()

    def ago(days: int) -> datetime.date:
        return today - datetime.timedelta(days=days)

    participant = create_participant(
        protocol=protocol,
        site=site,
        subject_id=subject_id,
        email=f"participant.{subject_id.lower()}@example.org",
        consent_date=ago(story.consent_days_ago),
        language=language,
        via="demo data",
    )
    coordinator = staff.get((roles.COORDINATOR, site.code))
    investigator = staff.get((roles.INVESTIGATOR, site.code))
    if story.steps and (story.steps[0][0] == Status.ENROLLED or story.exclusion_present):
        _answer_eligibility(participant, story, coordinator)
    for target, days_ago in story.steps:
        if target == Status.ENROLLED:
            # Every site has its investigator: enrolment is theirs alone.
            confirm_eligibility(participant, on=ago(days_ago), by=investigator, via="demo data")
            continue
        record_transition(
            participant,
            target,
            on=ago(days_ago),
            reason=story.reason if target in {s.value for s in _EXITS} else "",
            by=coordinator,
            via="demo data",
        )
    for days_ago, channel, outcome, note in story.contacts:
        record_contact_attempt(
            participant,
            channel=channel,
            outcome=outcome,
            note=note,
            at=engine.local_instant(ago(days_ago), datetime.time(10, 30), site.zone),
            by=coordinator,
        )
    participant.refresh_from_db()
    done_before = participant.left_on or today
    for visit in Visit.objects.filter(participant=participant).order_by("planned_date"):
        if visit.cancelled or visit.code in story.skip_visits or visit.planned_date >= done_before:
            continue
        # Done on the day the clinic expected them (late ones: four days after).
        on = visit.appointment_day + datetime.timedelta(
            days=4 if visit.code in story.late_visits else 0
        )
        if on < today:
            record_visit(participant, visit.code, on=on, by=coordinator, via="demo data")
    return participant


_EXITS = (Status.SCREEN_FAILED, Status.WITHDRAWN, Status.LOST_TO_FOLLOW_UP)


def _planned_visits(protocol: Protocol, consent: datetime.date) -> list[engine.PlannedVisit]:
    phases, definitions = version_plan(first_versions([protocol.pk])[protocol.pk])
    return engine.plan_visits(
        [p.as_plan() for p in phases], [d.as_plan() for d in definitions], consent
    )


def _consent_for(protocol: Protocol, site: Site, wanted) -> datetime.date | None:
    """The latest consent date of the last 50 days (still in screening) whose plan has a visit
    ahead for which ``wanted(visit, calendar)`` holds."""
    today = site.today()
    calendar = site_clinic_calendar(site)
    for days_ago in range(0, 50):
        consent = today - datetime.timedelta(days=days_ago)
        plan = _planned_visits(protocol, consent)
        if any(v.planned > today and wanted(v, calendar) for v in plan):
            return consent
    return None


def _on_a_holiday(visit: engine.PlannedVisit, calendar) -> bool:
    closed = calendar.closed_on(visit.planned)
    proposal = clinic_calendar.propose_day(
        visit.planned, visit.window_start, visit.window_end, calendar
    )
    return (
        closed is not None and closed.kind == clinic_calendar.HOLIDAY and not proposal.no_open_day
    )


def _no_open_day(visit: engine.PlannedVisit, calendar) -> bool:
    return clinic_calendar.propose_day(
        visit.planned, visit.window_start, visit.window_end, calendar
    ).no_open_day


def _next_open_visit(participant: Participant, code_prefix: str, today) -> Visit | None:
    return (
        Visit.objects.filter(
            participant=participant,
            code__startswith=code_prefix,
            actual_date__isnull=True,
            cancelled=False,
            appointment_date__gt=today,
            appointment_flag="",
        )
        .order_by("appointment_date")
        .first()
    )


def _calendar_showcase(protocol: Protocol, site: Site, staff: dict, first_number: int) -> int:
    """Participants of ``site`` that show the clinic calendar at work: a visit moved off a
    public holiday, one whose window has no open day, a booked visit (at a time), a day whose
    apheresis slot is fully booked, and a booking to rebook after a closure. Returns how
    many were created (none when they exist already)."""
    coordinator = staff.get((roles.COORDINATOR, site.code))
    today = site.today()
    created = 0

    def participant(number: int, consent: datetime.date | None) -> Participant | None:
        nonlocal created
        subject_id = f"SLE-001-{SITE_NUMBERS[site.code]}-{number:03d}"
        if (
            consent is None
            or Participant.objects.filter(protocol=protocol, subject_id=subject_id).exists()
        ):
            return None
        created += 1
        return create_participant(
            protocol=protocol,
            site=site,
            subject_id=subject_id,
            email=f"participant.{subject_id.lower()}@example.org",
            consent_date=consent,
            via="demo data",
        )

    participant(first_number, _consent_for(protocol, site, _on_a_holiday))
    participant(first_number + 1, _consent_for(protocol, site, _no_open_day))
    # Consent two weeks ago: the leukapheresis three weeks ahead, booked; it fills the day's
    # only apheresis slot, and its infusion is booked at a time.
    booked = participant(first_number + 2, today - datetime.timedelta(days=14))
    if booked is not None:
        leukapheresis = _next_open_visit(booked, "LEUK", today)
        if leukapheresis is not None:
            book_appointment(
                leukapheresis, on=leukapheresis.appointment_date, by=coordinator, via="demo data"
            )
        infusion = _next_open_visit(booked, "INF", today)
        if infusion is not None:
            book_appointment(
                infusion,
                on=infusion.appointment_date,
                at=datetime.time(9, 30),
                by=coordinator,
                via="demo data",
            )
    # A booking made before the sponsor announced an inspection on that very day.
    rebook = participant(first_number + 3, today - datetime.timedelta(days=10))
    if rebook is not None:
        visit = _next_open_visit(rebook, "LEUK", today)
        if visit is not None:
            visit = book_appointment(
                visit, on=visit.appointment_date, by=coordinator, via="demo data"
            )
            add_closure(site, start=visit.booked_date, reason=INSPECTION, via="demo data")
    return created


@transaction.atomic
def load_demo_data(password: str) -> dict[str, int]:
    """Create what is missing of the demo; never duplicates. Returns what was created."""
    protocol = Protocol.objects.get(code="SLE-001")
    sites = ensure_sites()
    staff_names = roles.ensure_demo_staff(password)
    # The demo's coordinator and investigator of each site record what their roles record.
    staff = {
        (role, code): get_user_model().objects.get(username=username)
        for username, (role, codes) in roles.DEMO_STAFF.items()
        for code in codes
        if role != roles.MONITOR
    }
    _ensure_thanksgiving_closures(sites["OCN"])
    stories_created = 0
    for code, stories in SITE_STORIES.items():
        for index, story in enumerate(stories, start=1):
            subject_id = f"SLE-001-{SITE_NUMBERS[code]}-{index:03d}"
            if Participant.objects.filter(protocol=protocol, subject_id=subject_id).exists():
                continue
            _play(
                story,
                protocol,
                sites[code],
                subject_id,
                staff,
                language=LANGUAGES.get((code, index), ""),
            )
            stories_created += 1
    User = get_user_model()
    admin, new_admin = User.objects.get_or_create(
        username="admin", defaults={"is_staff": True, "is_superuser": True}
    )
    if new_admin:
        admin.set_password(password)
        admin.save()
    _amendment_showcase(protocol, sites["OCN"], admin)
    calendar_created = _calendar_showcase(
        protocol, sites["OCN"], staff, first_number=len(SITE_STORIES["OCN"]) + 1
    )
    replies_created = _replies_showcase(
        protocol, sites["BER"], staff, first_number=len(SITE_STORIES["BER"]) + 1
    )
    return {
        "participants": stories_created + calendar_created + replies_created,
        "stories": stories_created,  # every phase and way of leaving, at OCN and BER
        "calendar": calendar_created,  # OCN: the clinic calendar at work
        "replies": replies_created,  # BER: participants answering their reminders
        "in_all": Participant.objects.filter(protocol=protocol).count(),
        "users": int(new_admin),
        "staff": len(staff_names),
    }


# Version 2.0 of SLE-001 in the demo: a follow-up visit at Month 2 and wider infusion windows.
AMENDMENT = "2.0"


@transaction.atomic
def _amendment_showcase(protocol: Protocol, site: Site, admin) -> None:
    """SLE-001 2.0 (FU2 at follow-up Month 2, infusion windows ±3 days, re-consent needed),
    released and active at OCN for two weeks: the first OCN participant on treatment or in
    follow-up re-consented to it, the others still wait for their re-consent, and OCN's
    participants consented since start on it (docs/amendments.md). Once only."""
    if ProtocolVersion.objects.filter(protocol=protocol, number=AMENDMENT).exists():
        return
    today = site.today()
    draft = versions.new_draft(
        protocol, by=admin, number=AMENDMENT, note="Amendment 1: a follow-up visit at Month 2."
    )
    draft.approved_on = today - datetime.timedelta(days=21)
    draft.needs_reconsent = True
    draft.save()
    VisitDefinition.objects.create(
        protocol=protocol,
        version=draft,
        phase=draft.phases.get(code="follow_up"),
        order=draft.visit_definitions.get(code="FU1").order,
        code="FU2",
        name="Follow-up Month 2",
        name_translations={
            "de": "Nachsorge Monat 2",
            "es": "Seguimiento mes 2",
            "fr": "Suivi mois 2",
        },
        offset=2,
        unit="months",
        window_before=14,
        window_after=14,
    )
    draft.visit_definitions.filter(code__in=["INF2", "INF3", "INF4", "INF5", "INF6"]).update(
        window_before=3, window_after=3
    )
    released = versions.release(draft, by=admin)
    activated_on = today - datetime.timedelta(days=14)
    versions.activate_version(
        released, site, on=activated_on, by=admin, reason="OCN's ethics committee approved it."
    )
    first = (
        Participant.objects.active()
        .filter(
            site=site,
            protocol=protocol,
            status__in=[Status.TREATMENT, Status.FOLLOW_UP],
            consent_date__lt=activated_on,
        )
        .order_by("subject_id")
        .first()
    )
    if first is not None:
        versions.record_reconsent(
            first,
            released,
            on=max(activated_on, first.consent_date),
            by=admin,
            reason="Signed the amended consent form at the visit.",
        )


def _no_show_consent(protocol: Protocol, site: Site) -> datetime.date | None:
    """A consent date whose leukapheresis appointment was in the last days while its window
    is still open (a no-show, once nobody records it)."""
    today = site.today()
    calendar = site_clinic_calendar(site)
    for days_ago in range(36, 44):
        consent = today - datetime.timedelta(days=days_ago)
        for visit in _planned_visits(protocol, consent):
            if visit.code != "LEUK":
                continue
            day = clinic_calendar.propose_day(
                visit.planned, visit.window_start, visit.window_end, calendar
            ).day
            if day < today <= visit.window_end:
                return consent
    return None


def _replies_showcase(protocol: Protocol, site: Site, staff: dict, first_number: int) -> int:
    """Participants of ``site`` who answered their reminders: one confirmed their next visit
    through the link, one asked for another date with a message, and one did not come to their
    leukapheresis (a no-show) and has not been reached in three attempts. Returns how many
    were created."""
    coordinator = staff.get((roles.COORDINATOR, site.code))
    today = site.today()
    created = 0
    answers = [
        (first_number, LinkAction.CONFIRM, "", today - datetime.timedelta(days=12)),
        (
            first_number + 1,
            LinkAction.RESCHEDULE,
            "Ich bin in dieser Woche verreist. Ginge es am Donnerstag danach?",
            today - datetime.timedelta(days=15),
        ),
    ]
    for number, action, message, consent in answers:
        subject_id = f"SLE-001-{SITE_NUMBERS[site.code]}-{number:03d}"
        if Participant.objects.filter(protocol=protocol, subject_id=subject_id).exists():
            continue
        participant = create_participant(
            protocol=protocol,
            site=site,
            subject_id=subject_id,
            email=f"participant.{subject_id.lower()}@example.org",
            consent_date=consent,
            via="demo data",
        )
        created += 1
        reminder = (
            Reminder.objects.filter(
                visit__participant=participant,
                status=OutboxStatus.PENDING,
                planned_date__gt=today,
            )
            .order_by("planned_date", "-rule__lead_days")
            .first()
        )
        if reminder is not None:
            answer_by_link(link_token(reminder, action), action, message=message)
    subject_id = f"SLE-001-{SITE_NUMBERS[site.code]}-{first_number + 2:03d}"
    consent = _no_show_consent(protocol, site)
    if (
        consent is not None
        and not Participant.objects.filter(protocol=protocol, subject_id=subject_id).exists()
    ):
        participant = create_participant(
            protocol=protocol,
            site=site,
            subject_id=subject_id,
            email=f"participant.{subject_id.lower()}@example.org",
            consent_date=consent,
            via="demo data",
        )
        created += 1
        screening = Visit.objects.filter(participant=participant, code="SCR").first()
        if screening is not None and screening.appointment_day < today:
            record_visit(
                participant, "SCR", on=screening.appointment_day, by=coordinator, via="demo data"
            )
        now = timezone.now()
        for hours_ago, channel, outcome, note in [
            (50, ContactAttempt.Channel.PHONE, ContactAttempt.Outcome.NO_ANSWER, ""),
            (26, ContactAttempt.Channel.PHONE, ContactAttempt.Outcome.LEFT_MESSAGE, "Mailbox"),
            (3, ContactAttempt.Channel.EMAIL, ContactAttempt.Outcome.NO_ANSWER, ""),
        ]:
            record_contact_attempt(
                participant,
                channel=channel,
                outcome=outcome,
                note=note,
                at=now - datetime.timedelta(hours=hours_ago),
                by=coordinator,
            )
    return created

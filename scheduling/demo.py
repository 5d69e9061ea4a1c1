"""Demo data for `make demo`: the SLE-001 protocol (loaded by migrate), two sites, about twenty
participants spread over every phase and every way of leaving the trial, and the staff users.

Dates are relative to each site's today, so the demo always looks current. Everything goes
through the same services as the admin and the command line, and loading twice adds nothing.
"""

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from participants import eligibility, roles
from participants.models import EligibilityCriterion, Participant, Protocol, Site, Status
from participants.services import create_participant, record_transition

from .models import Visit
from .services import record_visit

SITES = [
    {
        "code": "OCN",
        "name": "Oceanside Clinical Research",
        "timezone": "America/Los_Angeles",
        "coordinator_email": "coordinator.ocn@example.org",
        "address": "100 Mission Avenue, Oceanside, CA 92054",
        "phone": "+1 760 555 0142",
    },
    {
        "code": "BER",
        "name": "Studienzentrum Berlin-Mitte",
        "timezone": "Europe/Berlin",
        "coordinator_email": "koordination.ber@example.org",
        "address": "Invalidenstraße 1, 10115 Berlin",
        "phone": "+49 30 5550 1420",
    },
]


@dataclass(frozen=True)
class Story:
    """One demo participant: consent so many days ago, then transitions (status, days ago)."""

    consent_days_ago: int
    steps: tuple[tuple[str, int], ...] = ()
    reason: str = ""
    skip_visits: tuple[str, ...] = ()  # left undone: missed once their window passes
    late_visits: tuple[str, ...] = ()  # done 4 days after their planned date (a deviation)
    exclusion_present: int | None = None  # the exclusion criterion (order) found present


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
    ),
]
# Site OCN gets every story, site BER the first seven: twenty participants in all.
SITE_STORIES = {"OCN": STORIES, "BER": STORIES[:7]}


def ensure_sites() -> dict[str, Site]:
    sites = {}
    for values in SITES:
        site, _ = Site.objects.update_or_create(code=values["code"], defaults=values)
        sites[site.code] = site
    return sites


def _answer_eligibility(participant: Participant, story: Story, by) -> None:
    """The checklist as the coordinator filled it in during screening: every inclusion met and
    no exclusion present, except the one the story's screen failure found."""
    answers = {}
    for criterion in EligibilityCriterion.objects.filter(protocol_id=participant.protocol_id):
        present = criterion.kind == EligibilityCriterion.Kind.INCLUSION or (
            criterion.order == story.exclusion_present
        )
        answers[criterion.pk] = "yes" if present else "no"
    eligibility.answer_criteria(participant, answers, by=by)


def _play(
    story: Story, protocol: Protocol, site: Site, subject_id: str, staff: dict
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
        via="demo data",
    )
    coordinator = staff.get((roles.COORDINATOR, site.code))
    investigator = staff.get((roles.INVESTIGATOR, site.code))
    if story.steps and (story.steps[0][0] == Status.ENROLLED or story.exclusion_present):
        _answer_eligibility(participant, story, coordinator)
    for target, days_ago in story.steps:
        if target == Status.ENROLLED and investigator is not None:
            eligibility.confirm_eligibility(
                participant, on=ago(days_ago), by=investigator, via="demo data"
            )
            continue
        record_transition(
            participant,
            target,
            on=ago(days_ago),
            reason=story.reason if target in {s.value for s in _EXITS} else "",
            by=coordinator,
            via="demo data",
        )
    participant.refresh_from_db()
    done_before = participant.left_on or today
    for visit in Visit.objects.filter(participant=participant).order_by("planned_date"):
        if visit.cancelled or visit.code in story.skip_visits or visit.planned_date >= done_before:
            continue
        on = visit.planned_date + datetime.timedelta(
            days=4 if visit.code in story.late_visits else 0
        )
        if on < today:
            record_visit(participant, visit.code, on=on, by=coordinator, via="demo data")
    return participant


_EXITS = (Status.SCREEN_FAILED, Status.WITHDRAWN, Status.LOST_TO_FOLLOW_UP)


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
    created = 0
    for site_number, (code, stories) in enumerate(SITE_STORIES.items(), start=101):
        for index, story in enumerate(stories, start=1):
            subject_id = f"SLE-001-{site_number}-{index:03d}"
            if Participant.objects.filter(protocol=protocol, subject_id=subject_id).exists():
                continue
            _play(story, protocol, sites[code], subject_id, staff)
            created += 1
    User = get_user_model()
    admin, new_admin = User.objects.get_or_create(
        username="admin", defaults={"is_staff": True, "is_superuser": True}
    )
    if new_admin:
        admin.set_password(password)
        admin.save()
    return {"participants": created, "users": int(new_admin), "staff": len(staff_names)}

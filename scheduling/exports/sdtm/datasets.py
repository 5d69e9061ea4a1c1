"""The SDTM datasets' rows read from the timeline (reads only): the trial design (TA, TE,
TV, TS) of the protocol's latest released version, and each participant's demographics (DM,
in ``demographics``), elements (SE) and visits (SV) in the version they followed. Rows are
dicts keyed by the variables of ``variables.DATASETS``. See docs/sdtm.md."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from participants import trial_phases
from participants.models import LEFT_STATUSES, Participant, Protocol, Status
from participants.selectors import effective_dates_by_status_of
from scheduling.exports.sdtm import demographics, mapping
from scheduling.models import ProtocolVersion, Visit, VisitStatus, version_key
from scheduling.timeline.plans import Followed, SchedulePlan

ARMCD, ARM = mapping.ARMCD, mapping.ARM
# Consent on this day gives VISITDY when a plan counts in months (docs/sdtm.md).
REFERENCE_CONSENT = datetime.date(2001, 1, 1)
# TSVCDREF of a term of CDISC Controlled Terminology (codelist DICTNAM).
CDISC_CT = "CDISC CT"


@dataclass(frozen=True)
class Design:
    """A protocol's plans read once: each released version's, the latest one, and the
    VISITNUM of every visit code over all of them."""

    protocol: Protocol
    plans: dict[int, SchedulePlan]
    latest: SchedulePlan
    visitnums: dict[str, int]

    @classmethod
    def read(cls, protocol: Protocol) -> Design:
        versions = sorted(
            ProtocolVersion.objects.filter(protocol=protocol, released_at__isnull=False),
            key=lambda v: version_key(v.number),
        )
        plans = {v.pk: plan for v in versions if (plan := SchedulePlan.read(v.pk)) is not None}
        if not plans:
            raise ValueError(f"{protocol.code} has no released version with a plan")
        latest = plans[max(plans, key=lambda pk: version_key(plans[pk].version.number))]
        keys = []
        for rank, plan in enumerate(sorted(plans.values(), key=_newest_first)):
            order = {p.code: p.order for p in plan.phases}
            for d in plan.definitions:
                keys.append(((order[d.phase.code], d.order, rank), d.code))
        return cls(protocol, plans, latest, mapping.visit_numbers(keys))

    @property
    def study_id(self) -> str:
        return self.protocol.code

    def epochs(self, plan: SchedulePlan) -> dict[str, str]:
        return {p.code: mapping.epoch(p.code, p.name) for p in plan.phases}

    def elements(self, plan: SchedulePlan) -> dict[str, str]:
        epochs = self.epochs(plan)
        return dict(zip(epochs, mapping.element_codes(list(epochs.values())), strict=True))


def _newest_first(plan: SchedulePlan):
    return tuple(-part for part in version_key(plan.version.number))


def _common(design: Design, domain: str) -> dict:
    return {"STUDYID": design.study_id, "DOMAIN": domain}


def trial_arms(design: Design) -> list[dict]:
    plan = design.latest
    epochs, codes = design.epochs(plan), design.elements(plan)
    rows = []
    for order, phase in enumerate(plan.phases, start=1):
        rows.append(
            _common(design, "TA")
            | {
                "ARMCD": ARMCD,
                "ARM": ARM,
                "TAETORD": order,
                "ETCD": codes[phase.code],
                "ELEMENT": phase.name,
                "TABRANCH": "",
                # One arm, no branch: each element leads to the next (docs/sdtm.md).
                "TATRANS": "",
                "EPOCH": epochs[phase.code],
            }
        )
    return rows


def trial_elements(design: Design) -> list[dict]:
    plan = design.latest
    codes = design.elements(plan)
    rows = []
    for index, phase in enumerate(plan.phases):
        if index == 0:
            start = "Informed consent"
        elif phase.started_by:
            start = f"Transition to {phase.started_by.replace('_', ' ')}"
        else:
            start = f"End of {plan.phases[index - 1].name}"
        rows.append(
            _common(design, "TE")
            | {
                "ETCD": codes[phase.code],
                "ELEMENT": phase.name,
                "TESTRL": start,
                "TEENRL": f"{phase.length} {phase.unit} after the start of {phase.name}",
                "TEDUR": mapping.iso_duration(phase.length, phase.unit),
            }
        )
    return rows


def trial_visits(design: Design) -> list[dict]:
    plan = design.latest
    rows = []
    for d in plan.definitions:
        rows.append(
            _common(design, "TV")
            | {
                "VISITNUM": design.visitnums[d.code],
                "VISIT": d.name.upper()[:200],
                "VISITDY": mapping.planned_study_day(
                    plan.phase_plans, d.as_plan(), plan.day_one_code, REFERENCE_CONSENT
                ),
                "ARMCD": ARMCD,
                "ARM": ARM,
                "TVSTRL": mapping.visit_start_rule(d.phase.name, d.offset, d.unit, d.window_before),
                "TVENRL": mapping.visit_end_rule(d.window_after),
            }
        )
    return sorted(rows, key=lambda row: row["VISITNUM"])


def trial_summary(design: Design) -> list[dict]:
    plan = design.latest
    length = _planned_length_days(plan)
    protocol = design.protocol
    phase = trial_phases.trial_phase(protocol.trial_phase)
    values = [
        ("TITLE", "Trial Title", protocol.title, ""),
        # A term of CDISC CT with its code; unknown (blank): null, flavor UNK (docs/sdtm.md).
        ("TPHASE", "Trial Phase Classification", phase.value if phase else "", _unknown(phase)),
        ("LENGTH", "Trial Length", f"P{length}D", ""),
        ("PLANSUB", "Planned Number of Subjects", "", "UNK"),
        ("SPONSOR", "Clinical Study Sponsor", protocol.sponsor, _unknown(protocol.sponsor)),
        ("REGID", "Registry Identifier", protocol.registry_id, _unknown(protocol.registry_id)),
        ("PROTVERS", "Protocol Version", plan.version.number, ""),
    ]
    # The codes of the values taken from a terminology (TSVALCD and TSVCDREF).
    coded = {"TPHASE": (phase.nci_code, CDISC_CT)} if phase else {}
    return [
        _common(design, "TS")
        | {"TSSEQ": 1, "TSPARMCD": code, "TSPARM": name, "TSVAL": value, "TSVALNF": flavor}
        | dict(zip(("TSVALCD", "TSVCDREF"), coded.get(code, ("", "")), strict=True))
        for code, name, value, flavor in values
    ]


def _unknown(value) -> str:
    return "" if value else "UNK"


def _planned_length_days(plan: SchedulePlan) -> int:
    starts = mapping.engine.phase_starts(plan.phase_plans, REFERENCE_CONSENT, {})
    return (starts[-1].end - REFERENCE_CONSENT).days


@dataclass(frozen=True)
class Subjects:
    """The subject datasets of a protocol: one DM record per participant who follows a
    released version, their SE elements and SV visits."""

    dm: list[dict]
    se: list[dict]
    sv: list[dict]


def subject_datasets(design: Design, today_of=None) -> Subjects:
    """DM, SE and SV of every participant of the protocol who follows a released version, by
    subject id. ``today_of(participant)`` is their site's today (default: the site's clock).
    Raises ``demographics.DatasetError`` when a site has no country or two subjects share a
    USUBJID."""
    today_of = today_of or (lambda participant: participant.site.today())
    participants = list(
        Participant.objects.filter(protocol=design.protocol)
        .select_related("site")
        .order_by("subject_id")
    )
    followed = Followed.of_all(p.pk for p in participants)
    by_status = effective_dates_by_status_of(p.pk for p in participants)
    visits: dict[int, list[Visit]] = {}
    for visit in Visit.objects.filter(participant__in=participants).order_by(
        "participant_id", "planned_date", "id"
    ):
        visits.setdefault(visit.participant_id, []).append(visit)
    calls = demographics.calls_that_reached(participants)
    subjects, owners = Subjects([], [], []), {}
    for participant in participants:
        follows = followed.get(participant.pk)
        if follows is None or follows.version_id not in design.plans:
            continue
        plan = design.plans[follows.version_id]
        today = today_of(participant)
        statuses = by_status[participant.pk]
        reached = plan.reached(participant.consent_date, plan.starts(statuses))
        subject = mapping.usubjid(design.study_id, participant.subject_id)
        demographics.claim_usubjid(owners, subject, participant.subject_id)
        entered = _entered(plan, participant, reached, today)
        # RFSTDTC: the start of the Day 1 element the participant entered (docs/sdtm.md "DM").
        day_one = next((start for _, p, start in entered if p.code == plan.day_one_code), None)
        theirs = visits.get(participant.pk, [])
        subjects.se.extend(_elements(design, plan, participant, entered, subject))
        subjects.sv.extend(
            _visits(design, theirs, today, day_one, subject, {p.code for _, p, _ in entered})
        )
        done = [v.actual_date for v in theirs if v.actual_date and v.actual_date <= today]
        reached_by_call = [day for day in calls.get(participant.pk, []) if day <= today]
        subjects.dm.append(
            demographics.record(
                design.study_id,
                participant,
                subject=subject,
                day_one=day_one,
                assigned=Status.ENROLLED in statuses,
                contacts=done + reached_by_call,
            )
        )
    return subjects


def _left_on(participant) -> datetime.date | None:
    return participant.left_on if participant.status in LEFT_STATUSES else None


def _entered(plan, participant, reached, today) -> list[tuple]:
    """The elements the participant entered, in order: (place in the plan, phase, start),
    each reached by their site's today and not after they left."""
    left = _left_on(participant)
    return [
        (order, phase, reached[phase.code])
        for order, phase in enumerate(plan.phases, start=1)
        if reached.get(phase.code) is not None
        and reached[phase.code] <= today
        and (left is None or reached[phase.code] <= left)
    ]


def _elements(design, plan, participant, entered, subject) -> list[dict]:
    epochs, codes = design.epochs(plan), design.elements(plan)
    left = _left_on(participant)
    rows = []
    for index, (order, phase, start) in enumerate(entered):
        end = entered[index + 1][2] if index + 1 < len(entered) else left
        rows.append(
            _common(design, "SE")
            | {
                "USUBJID": subject,
                "SESEQ": index + 1,
                "ETCD": codes[phase.code],
                "ELEMENT": phase.name,
                "TAETORD": order,
                "EPOCH": epochs[phase.code],
                "SESTDTC": start.isoformat(),
                "SEENDTC": end.isoformat() if end else "",
            }
        )
    return rows


def _visits(design, visits, today, day_one, subject, entered_phases) -> list[dict]:
    """Visits done, and visits missed in a phase the participant entered (a visit of a phase
    never reached is not missed in SDTM's sense: its element never began; docs/sdtm.md)."""
    rows, previous, pending = [], None, []
    shown = [
        (v, status)
        for v in visits
        if (status := v.status_on(today)) == VisitStatus.COMPLETED
        or (status == VisitStatus.MISSED and v.phase in entered_phases)
    ]
    shown.sort(key=lambda pair: (pair[0].actual_date or pair[0].planned_date, pair[0].pk))
    for visit, _ in shown:
        if visit.is_unscheduled:
            pending.append((visit, previous))
        else:
            previous = design.visitnums.get(visit.code)
    numbers = iter(mapping.unscheduled_numbers([base for _, base in pending]))
    unscheduled = {visit.pk: next(numbers) for visit, _ in pending}
    for visit, _ in shown:
        plan = design.plans.get(visit.version_id) or design.latest
        epochs = design.epochs(plan)
        if visit.is_unscheduled:
            number = unscheduled[visit.pk]
            name = mapping.unscheduled_name(number)
        else:
            number, name = design.visitnums[visit.code], visit.name.upper()[:200]
        row = mapping.subject_visit(
            visitnum=number,
            visit=name,
            epoch_term=epochs.get(visit.phase) or mapping.epoch(visit.phase, visit.phase),
            planned=not visit.is_unscheduled,
            actual=visit.actual_date,
            missed_reason=visit.closed_reason or "Window ended with no visit",
            day_one=day_one,
        )
        rows.append(
            _common(design, "SV")
            | {
                "USUBJID": subject,
                "VISITNUM": row.visitnum,
                "VISIT": row.visit,
                "SVPRESP": row.presp,
                "SVOCCUR": row.occur,
                "SVREASOC": row.reason,
                "EPOCH": row.epoch,
                "SVSTDTC": row.start,
                "SVENDTC": row.end,
                "SVSTDY": row.study_day,
                "SVENDY": row.study_day,
            }
        )
    return rows

"""Pure SDTM mappings on plain values (no ORM, no clock): a phase's CDISC epoch and element
code, ISO 8601 durations, visit numbers (unscheduled ones with decimals), the rules TE and TV
state, one subject visit's SV values, and a subject's identifiers, arm and dates in DM. See
docs/sdtm.md."""

from __future__ import annotations

import contextlib
import datetime
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import holidays
import pycountry

from scheduling.rules import engine

# The one arm (the app has no randomisation), in TA, TV and DM.
ARMCD = "ARM1"
ARM = "Single arm"
# DM's ARMNRS, why the arm variables are null (codelist ARMNULRS; SDTMIG 3.4 DM).
SCREEN_FAILURE = "SCREEN FAILURE"
NOT_ASSIGNED = "NOT ASSIGNED"
ASSIGNED_NOT_TREATED = "ASSIGNED, NOT TREATED"
# DM's SEX (codelist C66731 SEX): the app records no sex, so every subject is U (Unknown).
SEX_UNKNOWN = "U"

# CDISC controlled terminology for EPOCH (codelist C99079, extensible), by the words a
# phase's code or name starts with. A phase matching none keeps its name in upper case
# (docs/sdtm.md "Epochs").
EPOCH_TERMS = (
    ("screen", "SCREENING"),
    ("run-in", "RUN-IN"),
    ("run_in", "RUN-IN"),
    ("wash", "WASHOUT"),
    ("treat", "TREATMENT"),
    ("follow", "FOLLOW-UP"),
    ("baseline", "BASELINE"),
)
ELEMENT_CODES = {
    "SCREENING": "SCRN",
    "RUN-IN": "RUNIN",
    "WASHOUT": "WASH",
    "TREATMENT": "TRT",
    "FOLLOW-UP": "FU",
    "BASELINE": "BASE",
}
DURATION_LETTERS = {engine.DAYS: "D", engine.WEEKS: "W", engine.MONTHS: "M"}


def epoch(code: str, name: str) -> str:
    """The EPOCH term of a phase: the controlled term its code or name starts with, else its
    name in upper case (at most 40 characters)."""
    for text in (code, name):
        lowered = text.strip().lower().replace(" ", "-")
        for start, term in EPOCH_TERMS:
            if lowered.startswith(start):
                return term
    return name.strip().upper()[:40]


def element_codes(epochs: Sequence[str]) -> list[str]:
    """One ETCD (at most 8 characters, unique) per phase, from its epoch."""
    codes: list[str] = []
    for term in epochs:
        base = ELEMENT_CODES.get(term) or re.sub(r"[^A-Z0-9]", "", term)[:8] or "EL"
        code, number = base, 1
        while code in codes:
            number += 1
            code = f"{base[: 8 - len(str(number))]}{number}"
        codes.append(code)
    return codes


def iso_duration(amount: int, unit: str) -> str:
    """An ISO 8601 duration: 8 weeks is ``P8W``, 12 months ``P12M``."""
    return f"P{amount}{DURATION_LETTERS[unit]}"


def usubjid(study_id: str, subject_id: str) -> str:
    """The subject id when it already names the study, else the study id, a dash, and it."""
    return subject_id if subject_id.startswith(f"{study_id}-") else f"{study_id}-{subject_id}"


def visit_numbers(keys: Iterable[tuple]) -> dict[str, int]:
    """VISITNUM per visit code, stable across versions: ``keys`` are (sort key, code); codes
    are numbered 1, 2, … in sort-key order, each once."""
    ordered: dict[str, None] = {}
    for _, code in sorted(keys):
        ordered.setdefault(code, None)
    return {code: number for number, code in enumerate(ordered, start=1)}


def unscheduled_numbers(previous: Sequence[int | None]) -> list[Decimal]:
    """VISITNUMs of a participant's unscheduled visits in date order, each given the VISITNUM
    of the planned visit before it (0 when none): 3.01, 3.02, … after visit 3."""
    numbers: list[Decimal] = []
    counts: dict[int, int] = {}
    for base in previous:
        base = base or 0
        counts[base] = counts.get(base, 0) + 1
        numbers.append(Decimal(base) + Decimal(counts[base]) / 100)
    return numbers


def unscheduled_name(number: Decimal) -> str:
    return f"UNSCHEDULED {number:.2f}"


def visit_start_rule(element: str, offset: int, unit: str, before: int) -> str:
    """TVSTRL: when the visit's window opens."""
    return (
        f"Start of {element} element + {offset} {unit}, "
        f"window opens {before} days before the planned day"
    )


def visit_end_rule(after: int) -> str:
    """TVENRL: when the visit's window closes."""
    return f"Window closes {after} days after the planned day"


def planned_study_day(
    phases: Sequence[engine.PhasePlan],
    visit: engine.VisitPlan,
    day_one_code: str,
    reference: datetime.date,
) -> int:
    """VISITDY: the visit's planned study day when every phase starts as planned, consent on
    ``reference`` (month offsets make it depend on the calendar; docs/sdtm.md)."""
    starts = {s.code: s.start for s in engine.phase_starts(phases, reference, {})}
    planned = engine.plan_visit(visit, starts[visit.phase]).planned
    return engine.study_day(planned, starts[day_one_code])


@dataclass(frozen=True)
class SubjectVisit:
    """One SV row's own values (the study and subject are added by the caller)."""

    visitnum: Decimal | int
    visit: str
    presp: str
    occur: str
    reason: str
    epoch: str
    start: str
    end: str
    study_day: int | None


def subject_visit(
    *,
    visitnum: Decimal | int,
    visit: str,
    epoch_term: str,
    planned: bool,
    actual: datetime.date | None,
    missed_reason: str,
    day_one: datetime.date | None,
) -> SubjectVisit:
    """A done or missed visit as SV states it (SDTMIG 3.4 SV assumptions): a planned visit
    has SVPRESP ``Y`` and SVOCCUR ``Y`` when done, ``N`` with SVREASOC when missed (no
    dates); an unscheduled one has both null. SVSTDY counts from RFSTDTC with no Day 0."""
    if actual is None:
        return SubjectVisit(visitnum, visit, "Y", "N", missed_reason, epoch_term, "", "", None)
    day = engine.study_day(actual, day_one) if day_one else None
    iso = actual.isoformat()
    flag = "Y" if planned else ""
    return SubjectVisit(visitnum, visit, flag, flag, "", epoch_term, iso, iso, day)


def subject_id_in_study(study_id: str, subject_id: str) -> str:
    """SUBJID: the subject id without the study's code and its dash before it
    (``SLE-001-101-004`` → ``101-004``), so that USUBJID is STUDYID-SUBJID (:func:`usubjid`);
    a subject id that does not start with the code, or is nothing more, is kept whole."""
    prefix = f"{study_id}-"
    return subject_id.removeprefix(prefix) or subject_id


@dataclass(frozen=True)
class Arms:
    """DM's arm variables of one subject (null: "")."""

    armcd: str
    arm: str
    actarmcd: str
    actarm: str
    armnrs: str


def arms(*, treated: bool, screen_failure: bool, assigned: bool) -> Arms:
    """DM's arms for the one arm (SDTMIG 3.4 DM assumption 4). Treated (their Day 1 phase
    started: RFSTDTC): ARM1 planned and actual, no ARMNRS. Else a screen failure: every arm
    variable null, ARMNRS SCREEN FAILURE; enrolled (assigned to the arm) but never treated:
    the planned arm, the actual one null, ASSIGNED, NOT TREATED; anyone else (in screening, or
    left before enrolment): NOT ASSIGNED."""
    if treated:
        return Arms(ARMCD, ARM, ARMCD, ARM, "")
    if screen_failure:
        return Arms("", "", "", "", SCREEN_FAILURE)
    if assigned:
        return Arms(ARMCD, ARM, "", "", ASSIGNED_NOT_TREATED)
    return Arms("", "", "", "", NOT_ASSIGNED)


def end_of_participation(
    consent: datetime.date, left: datetime.date | None, contacts: Iterable[datetime.date]
) -> datetime.date:
    """RFPENDTC: the day the participant left; while they are in the trial, their last known
    contact: the latest of their consent and the days in ``contacts`` (visits done, calls
    that reached them)."""
    return left if left is not None else max([consent, *contacts])


@functools.lru_cache(maxsize=64)
def country_alpha3(country: str) -> str:
    """DM's COUNTRY (ISO 3166-1 alpha-3) of a site's country as the ``holidays`` package names
    it: alpha-2 (``US`` → ``USA``), alpha-3, or one of that package's other names (``UK`` is
    GB: ``GBR``). "" when it names no ISO 3166-1 country (Kosovo's ``XK``) or none at all."""
    code = country.strip().upper()
    if not code:
        return ""
    # Not a calendar of the package: read as an ISO code, if it is one.
    with contextlib.suppress(NotImplementedError):
        code = holidays.country_holidays(code).country
    found = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    found = found or pycountry.countries.get(alpha_3=code)
    return found.alpha_3 if found else ""

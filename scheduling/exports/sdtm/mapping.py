"""Pure SDTM mappings on plain values (no ORM, no clock): a phase's CDISC epoch and element
code, ISO 8601 durations, visit numbers (unscheduled ones with decimals), the rules TE and TV
state, and one subject visit's SV values. See docs/sdtm.md."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from scheduling.rules import engine

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

"""Imports from files: sites and participants from ``(line, values)`` rows (a CSV file's, read
by ``csv_input``; the command line imports a file chunk by chunk with ``file_imports``).

Every row is checked and one bad row saves nothing: an import raises :class:`ImportRejected`
listing every problem of every row by line. A field holding a control character is refused;
a value repeated in the file (a site code, a subject id) is named with its first line. Sites
obey their model's checks and participants the rules of creation
(:func:`lifecycle.create_participant`); a site whose time zone or clinic calendar changes has
its participants' schedules follow (:func:`sites.site_calendar_changed`).
"""

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from . import clinic
from .dates import date_problem, parse_iso_date
from .history import stamp
from .lifecycle import enter_screening, new_participant
from .models import Participant, Protocol, Site
from .sites import site_calendar_changed
from .validators import control_character_problem


class RowError(NamedTuple):
    line: int
    field: str
    message: str


class ImportRejected(Exception):
    """An import refused as a whole; ``errors`` lists every problem found, by line."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__(f"{len(errors)} error(s); nothing was saved.")


def _printable_rows(
    rows: Iterable[tuple[int, Mapping[str, str]]], errors: list[RowError]
) -> list[tuple[int, dict[str, str]]]:
    """The rows whose every field is printable text, stripped; an error for every field that
    holds a control character (a NUL byte, a tab, a line break…): those rows go no further."""
    kept = []
    for line, values in rows:
        problems = [
            RowError(line, field, f"{problem}; a field holds one line of printable text.")
            for field, value in values.items()
            if (problem := control_character_problem(value or ""))
        ]
        if problems:
            errors.extend(problems)
        else:
            kept.append((line, {k: (v or "").strip() for k, v in values.items()}))
    return kept


def _row_errors(line: int, error: ValidationError) -> list[RowError]:
    if hasattr(error, "error_dict"):
        return [
            RowError(line, "row" if field == "__all__" else field, message)
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return [RowError(line, "row", message) for message in error.messages]


SITE_FIELDS = (
    "code",
    "name",
    "timezone",
    "coordinator_email",
    "address",
    "phone",
    "open_days",
    "holiday_country",
    "holiday_subdivision",
    "language",
)


# What a change of these means for the schedule (see site_time_zone_changed and
# site_calendar_changed): either one rebuilds every active participant's schedule.
SITE_SCHEDULE_FIELDS = ("timezone", "open_days", "holiday_country", "holiday_subdivision")


def _site_calendar_columns(values: dict[str, str], line: int, errors: list) -> bool:
    """Turn the CSV's ``open_days`` and ``holidays`` columns into the site's fields, in
    place; False (and an error) when one cannot be read."""
    ok = True
    if "open_days" in values:
        try:
            values["open_days"] = clinic.parse_open_days(values["open_days"])
        except ValueError as error:
            errors.append(RowError(line, "open_days", str(error)))
            ok = False
    if "holidays" in values:
        try:
            country, subdivision = clinic.parse_holiday_calendar(values.pop("holidays"))
        except ValueError as error:
            errors.append(RowError(line, "holidays", str(error)))
            ok = False
        else:
            values["holiday_country"], values["holiday_subdivision"] = country, subdivision
    return ok


@transaction.atomic
def import_sites(
    rows: Iterable[tuple[int, Mapping[str, str]]],
    *,
    by=None,
    via: str = "admin",
    seen: dict[str, int] | None = None,
) -> dict[str, int]:
    """Create or update sites by code from ``(line, values)`` rows; a value left out (or a
    column absent) keeps what is stored (a new site: open Mon-Fri, no holiday calendar).
    ``open_days`` is written ``Mon-Fri``, ``Mon,Tue,Thu``…; ``holidays`` is a calendar of
    the holidays package, ``US-CA``, ``DE-BE``, ``FR``, or empty for none. A field holding a
    control character (a NUL byte, a tab, a line break) is refused. All or nothing: raises
    ImportRejected listing every error.
    Returns how many were created, updated and unchanged. ``seen`` (code → first line) carries
    the codes of earlier parts of the same file, for a file imported part by part."""
    checked, counts, errors = _checked_sites(rows, seen=seen)
    if errors:
        raise ImportRejected(errors)
    for site, calendar_changed in checked:
        stamp(site, by=by, reason=f"Imported ({via})")
        site.save()
        if calendar_changed:
            site_calendar_changed(site, by=by, reason=f"{site.code}'s calendar imported ({via})")
    return counts


def site_import_problems(
    rows: Iterable[tuple[int, Mapping[str, str]]],
    *,
    seen: dict[str, int] | None = None,
) -> list[RowError]:
    """Every problem :func:`import_sites` would find in ``rows``, by line, found without
    writing anything: its own first pass."""
    return _checked_sites(rows, seen=seen)[2]


def _checked_sites(
    rows: Iterable[tuple[int, Mapping[str, str]]],
    *,
    seen: dict[str, int] | None = None,
) -> tuple[list[tuple[Site, bool]], dict[str, int], list[RowError]]:
    """The first pass of :func:`import_sites`: the sites of ``rows`` to save (created or
    changed, checked, each with whether its schedule fields changed), how many are created,
    updated and unchanged, and every problem of every row by line. It reads (the sites named,
    once for all rows) and writes nothing."""
    errors: list[RowError] = []
    rows = _printable_rows(rows, errors)
    stored = Site.objects.in_bulk([values.get("code", "") for _, values in rows], field_name="code")
    checked: list[tuple[Site, bool]] = []
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    first_line: dict[str, int] = {} if seen is None else seen
    for line, values in rows:
        code = values.get("code", "")
        if code in first_line:
            errors.append(
                RowError(
                    line,
                    "code",
                    f"{code} appears twice in the file (first on line {first_line[code]}).",
                )
            )
            continue
        first_line[code] = line
        if not _site_calendar_columns(values, line, errors):
            continue
        site = stored.get(code) or Site(code=code)
        before = {field: getattr(site, field) for field in SITE_FIELDS}
        for field in SITE_FIELDS:
            if field in values and field != "code":
                setattr(site, field, values[field])
        try:
            site.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            errors.extend(_row_errors(line, error))
            continue
        if site.pk is None:
            counts["created"] += 1
        elif before == {field: getattr(site, field) for field in SITE_FIELDS}:
            counts["unchanged"] += 1
            continue
        else:
            counts["updated"] += 1
        calendar_changed = site.pk is not None and any(
            before[field] != getattr(site, field) for field in SITE_SCHEDULE_FIELDS
        )
        checked.append((site, calendar_changed))
    return checked, counts, sorted(errors, key=lambda error: error.line)


@transaction.atomic
def import_participants(
    protocol: Protocol,
    rows: Iterable[tuple[int, Mapping[str, str]]],
    *,
    by=None,
    via: str = "admin",
    now=None,
    seen: dict[str, int] | None = None,
) -> list[Participant]:
    """Create one participant per ``(line, values)`` row (subject_id, site_code, email,
    consent_date, and optionally language: en, de, es or fr), each with its full schedule, by
    the rules of :func:`create_participant`. A field holding a control character is refused.
    All or nothing: raises ImportRejected listing every error of every row, before anything
    is written. Every row is checked first; then all are saved together (a fixed number of
    queries, and their schedules built in one go), so the time grows with the rows alone.
    ``seen`` (subject id → first line) carries the ids of earlier parts of the same file."""
    checked, errors = _checked_participants(protocol, rows, now=now, seen=seen)
    if errors:
        raise ImportRejected(errors)
    return enter_screening(checked, by=by, via=via)


def participant_import_problems(
    protocol: Protocol,
    rows: Iterable[tuple[int, Mapping[str, str]]],
    *,
    now=None,
    seen: dict[str, int] | None = None,
) -> list[RowError]:
    """Every problem :func:`import_participants` would find in ``rows``, by line, found without
    writing anything: its own first pass."""
    return _checked_participants(protocol, rows, now=now, seen=seen)[1]


def _checked_participants(
    protocol: Protocol,
    rows: Iterable[tuple[int, Mapping[str, str]]],
    *,
    now=None,
    seen: dict[str, int] | None = None,
) -> tuple[list[Participant], list[RowError]]:
    """The first pass of :func:`import_participants`: the participants of ``rows`` checked and
    ready to save, and every problem of every row by line (a date a spreadsheet rewrote named
    as such). It reads (the sites named, the subject ids already in the trial: once for all
    rows) and writes nothing."""
    errors: list[RowError] = []
    rows = _printable_rows(rows, errors)
    sites = Site.objects.in_bulk(
        [values.get("site_code", "") for _, values in rows], field_name="code"
    )
    taken = set(
        Participant.objects.filter(
            protocol=protocol, subject_id__in=[values.get("subject_id", "") for _, values in rows]
        ).values_list("subject_id", flat=True)
    )
    checked: list[Participant] = []
    first_line: dict[str, int] = {} if seen is None else seen
    for line, values in rows:
        row_errors: list[RowError] = []
        subject_id = values.get("subject_id", "")
        if subject_id in first_line:
            row_errors.append(
                RowError(
                    line,
                    "subject_id",
                    f"{subject_id} appears twice in the file (first "
                    f"on line {first_line[subject_id]}).",
                )
            )
        elif subject_id:
            first_line[subject_id] = line
        site = sites.get(values.get("site_code", ""))
        if site is None:
            row_errors.append(
                RowError(line, "site_code", f"“{values.get('site_code', '')}” is not a site code.")
            )
        try:
            validate_email(values.get("email", ""))
        except ValidationError:
            row_errors.append(
                RowError(line, "email", f"“{values.get('email', '')}” is not an email address.")
            )
        try:
            consent_date = parse_iso_date(values.get("consent_date", ""))
        except ValueError:
            problem = date_problem(values.get("consent_date", ""))
            row_errors.append(RowError(line, "consent_date", problem))
            consent_date = None
        if not row_errors:
            try:
                checked.append(
                    new_participant(
                        protocol=protocol,
                        site=site,
                        subject_id=subject_id,
                        email=values["email"],
                        consent_date=consent_date,
                        language=values.get("language", "").lower(),
                        now=now,
                        taken=taken,
                    )
                )
            except ValidationError as error:
                row_errors.extend(_row_errors(line, error))
        errors.extend(row_errors)
    return checked, sorted(errors, key=lambda error: error.line)

"""The format of a protocol version's file (docs/protocol-file.md) and its checks: every
problem of a file found at once, each as ``PATH: message`` where PATH is the JSON path of the
value at fault (``visits[3].window.before``, list indexes from 0), the models' own rules
(``full_clean``) included. Reads only; ``version_files`` writes what passes.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

from participants.dates import parse_iso_date
from participants.models import Protocol, Resource
from participants.validators import control_character_problem, validate_printable_text
from scheduling.models import (
    PHASE_START_STATUSES,
    Audience,
    Phase,
    ProtocolVersion,
    ReminderRule,
    Unit,
    VisitDefinition,
)
from scheduling.timeline.versions import number_problems

FORMAT = "trialsite.protocol-version"
FORMAT_VERSION = 1
KEYS = (
    "format",
    "format_version",
    "protocol",
    "version",
    "approved_on",
    "needs_reconsent",
    "note",
    "phases",
    "visits",
    "reminders",
)
PHASE_KEYS = ("code", "name", "length", "unit", "starts_study_day_1", "started_by")
VISIT_KEYS = ("code", "name", "name_translations", "phase", "offset", "unit", "window", "resource")
WINDOW_KEYS = ("before", "after")
REMINDER_KEYS = ("lead_days", "local_time", "active")
UNITS = tuple(Unit.values)
STARTED_BY = tuple(status.value for status in PHASE_START_STATUSES)
_HH_MM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


@dataclass
class CheckedFile:
    """What a file without problems holds, as the models' fields."""

    protocol: Protocol
    version: dict
    phases: list[dict]
    visits: list[tuple[dict, str]]  # a visit definition's fields, and its phase's code
    reminders: list[dict]


def check_file(data) -> CheckedFile:
    """``data`` checked whole; ValidationError with every problem (one message each). The
    protocol's row stays locked until the transaction ends, so two imports do not race."""
    problems = _Problems()
    top = _object(data, "", KEYS, problems)
    protocol, fields = _check_top(top, problems)
    phases = _check_phases(top, problems)
    visits = _check_visits(top, {row["code"] for row in phases if "code" in row}, problems)
    reminders = _check_reminders(top, problems)
    if problems:
        raise ValidationError(list(problems))
    return CheckedFile(protocol, fields, phases, visits, reminders)


class _Problems(list):
    def add(self, path: str, message: str) -> None:
        self.append(f"{path or 'file'}: {message}")


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value) -> str:
    """What a JSON value is, as a message says it: ``true``, ``2.5``, ``text``, ``a list``."""
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)[:20]
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else "an object"


def _object(value, path: str, keys: tuple[str, ...], problems: _Problems) -> dict | None:
    """``value`` when it is an object with exactly ``keys``; each key missing, unknown or
    repeated is a problem, and the keys it has are still read."""
    if not isinstance(value, dict):
        problems.add(path, f"must be an object {{…}}, not {_kind(value)}")
        return None
    for key in getattr(value, "duplicates", ()):
        problems.add(path, f"the key “{key}” appears twice")
    for key in value:
        if key not in keys:
            problems.add(path, f"unknown key “{key}” (the keys are {', '.join(keys)})")
    for key in keys:
        if key not in value:
            problems.add(_at(path, key), "missing")
    return value


def _list(value, path: str, problems: _Problems) -> list:
    if not isinstance(value, list):
        problems.add(path, f"must be a list […], not {_kind(value)}")
        return []
    return value


def _text(value, path: str, problems: _Problems, *, lookup: bool = False) -> str | None:
    """Text that PostgreSQL can store (no lone surrogate) and, ``lookup``, look up (no
    control character)."""
    if not isinstance(value, str):
        problems.add(path, f"must be text, not {_kind(value)}")
        return None
    if any(0xD800 <= ord(char) <= 0xDFFF for char in value):
        problems.add(path, "holds a lone surrogate (\\ud800–\\udfff), which is not text")
        return None
    if lookup and (problem := control_character_problem(value)):
        problems.add(path, f"{problem}")
        return None
    return value


def _whole(value, path: str, problems: _Problems, of: str = "") -> int | None:
    if type(value) is not int:  # not True or False, not 3.0
        problems.add(path, f"must be a whole number{of}, not {_kind(value)}")
        return None
    if value < 0:
        problems.add(path, f"must be a whole number{of}, 0 or more")
        return None
    return value


def _boolean(value, path: str, problems: _Problems) -> bool | None:
    if not isinstance(value, bool):
        problems.add(path, f"must be true or false, not {_kind(value)}")
        return None
    return value


def _choice(value, path: str, problems: _Problems, choices: tuple[str, ...]) -> str | None:
    if not isinstance(value, str) or value not in choices:
        shown = [choice or "“” (none)" for choice in choices]
        problems.add(path, f"must be one of {', '.join(shown)}")
        return None
    return value


_lookup = partial(_text, lookup=True)
_days = partial(_whole, of=" of days")
_unit = partial(_choice, choices=UNITS)
_started_by = partial(_choice, choices=("", *STARTED_BY))


def _window(value, path: str, problems: _Problems) -> dict | None:
    return _object(value, path, WINDOW_KEYS, problems)


def _read(data: dict | None, key: str, path: str, problems: _Problems, check: Callable):
    """``check`` of ``data[key]`` when it is there (a missing key is reported already)."""
    if data is None or key not in data:
        return None
    return check(data[key], _at(path, key), problems)


def _full_clean(instance: models.Model, path: str, fields: dict, problems, paths=None) -> None:
    """The model's own rules (lengths, slugs, ranges, validators) on the ``fields`` that
    passed the file's checks, each problem at its path in the file."""
    paths = paths or {}
    for name, value in fields.items():
        setattr(instance, name, value)
    exclude = [field.name for field in instance._meta.fields if field.name not in fields]
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            where = path if name == NON_FIELD_ERRORS else _at(path, paths.get(name, name))
            for message in messages:
                problems.add(where, message)


def _present(**values) -> dict:
    return {name: value for name, value in values.items() if value is not None}


def _check_top(data: dict | None, problems: _Problems) -> tuple[Protocol | None, dict]:
    """The file's format, its protocol (locked until the import ends) and the version's own
    fields."""
    if data is not None and "format" in data and data["format"] != FORMAT:
        problems.add("format", f"must be “{FORMAT}”")
    given = data.get("format_version", FORMAT_VERSION) if data is not None else FORMAT_VERSION
    if type(given) is not int or given != FORMAT_VERSION:
        problems.add("format_version", f"must be {FORMAT_VERSION}")
    code = _read(data, "protocol", "", problems, _lookup)
    protocol = None
    if code is not None:
        protocol = Protocol.objects.select_for_update().filter(code=code).first()
        if protocol is None:
            problems.add("protocol", f"no protocol {code}")
    number = _read(data, "version", "", problems, _text)
    approved = _read(data, "approved_on", "", problems, _date)
    fields = _present(
        number=number,
        approved_on=approved,
        needs_reconsent=_read(data, "needs_reconsent", "", problems, _boolean),
        note=_read(data, "note", "", problems, _text),
    )
    if data is not None and data.get("approved_on", "") is None:
        fields["approved_on"] = None
    if isinstance(fields.get("note"), str):
        try:
            validate_printable_text(fields["note"])
        except ValidationError as error:
            problems.add("note", error.messages[0])
            del fields["note"]
    before = len(problems)
    _full_clean(ProtocolVersion(), "", fields, problems, {"number": "version"})
    if protocol is not None and number is not None and len(problems) == before:
        for problem in number_problems(protocol, number):
            problems.add("version", problem)
    return protocol, fields


def _date(value, path: str, problems: _Problems):
    if value is None:
        return None
    if isinstance(value, str) and not any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        try:
            return parse_iso_date(value)
        except ValueError as error:
            problems.add(path, f"{str(error).rstrip('.')}, or null")
            return None
    problems.add(path, f"must be a date “YYYY-MM-DD” or null, not {_kind(value)}")
    return None


def _check_phases(data: dict | None, problems: _Problems) -> list[dict]:
    rows = []
    codes: dict[str, str] = {}
    day_one = None
    starts: dict[str, str] = {}
    phases = _read(data, "phases", "", problems, _list) or []
    if data is not None and isinstance(data.get("phases"), list) and not phases:
        problems.add("phases", "a plan has at least one phase")
    for index, value in enumerate(phases):
        path = f"phases[{index}]"
        phase = _object(value, path, PHASE_KEYS, problems)
        code = _read(phase, "code", path, problems, _text)
        fields = _present(
            code=code,
            name=_read(phase, "name", path, problems, _text),
            length=_read(phase, "length", path, problems, _whole),
            unit=_read(phase, "unit", path, problems, _unit),
            is_day_one=_read(phase, "starts_study_day_1", path, problems, _boolean),
            started_by=_read(
                phase,
                "started_by",
                path,
                problems,
                _started_by,
            ),
            order=index + 1,
        )
        if code is not None:
            if code in codes:
                problems.add(_at(path, "code"), f"{code} appears twice (also {codes[code]})")
            codes.setdefault(code, path)
        if fields.get("is_day_one"):
            if day_one is not None:
                problems.add(
                    _at(path, "starts_study_day_1"),
                    f"{day_one} starts study day 1 already; at most one phase does",
                )
            day_one = day_one or path
        if started_by := fields.get("started_by"):
            if started_by in starts:
                problems.add(
                    _at(path, "started_by"),
                    f"{started_by} starts {starts[started_by]} already; a transition starts "
                    "at most one phase",
                )
            starts.setdefault(started_by, path)
        _full_clean(Phase(), path, fields, problems, {"is_day_one": "starts_study_day_1"})
        rows.append(fields)
    return rows


def _check_visits(data: dict | None, phase_codes: set[str], problems: _Problems):
    """The visit definitions' fields, each with its phase's code and resource's name."""
    rows = []
    codes: dict[str, str] = {}
    resources: dict[str, list[str]] = {}
    visits = _read(data, "visits", "", problems, _list) or []
    if data is not None and isinstance(data.get("visits"), list) and not visits:
        problems.add("visits", "a plan has at least one visit")
    for index, value in enumerate(visits):
        path = f"visits[{index}]"
        visit = _object(value, path, VISIT_KEYS, problems)
        code = _read(visit, "code", path, problems, _text)
        phase = _read(visit, "phase", path, problems, _text)
        window = _read(visit, "window", path, problems, _window)
        translations = _read(visit, "name_translations", path, problems, _translations)
        fields = _present(
            code=code,
            name=_read(visit, "name", path, problems, _text),
            name_translations=translations,
            offset=_read(visit, "offset", path, problems, _whole),
            unit=_read(visit, "unit", path, problems, _unit),
            window_before=_read(
                window,
                "before",
                _at(path, "window"),
                problems,
                _days,
            ),
            window_after=_read(
                window,
                "after",
                _at(path, "window"),
                problems,
                _days,
            ),
            order=index + 1,
        )
        if code is not None:
            if code in codes:
                problems.add(_at(path, "code"), f"{code} appears twice (also {codes[code]})")
            codes.setdefault(code, path)
        if phase is not None and phase not in phase_codes:
            problems.add(_at(path, "phase"), f"no phase “{phase}” in this file")
        resource = None
        if visit is not None and visit.get("resource") is not None:
            resource = _read(visit, "resource", path, problems, _lookup)
            if resource is not None:
                resources.setdefault(resource, []).append(_at(path, "resource"))
        _full_clean(
            VisitDefinition(),
            path,
            fields,
            problems,
            {"window_before": "window.before", "window_after": "window.after"},
        )
        rows.append((fields, phase, resource))
    found = dict(Resource.objects.filter(name__in=list(resources)).values_list("name", "pk"))
    for name, paths in resources.items():
        if name not in found:
            for where in paths:
                problems.add(where, f"no resource “{name}”")
    return [
        ({**fields, "resource_id": found.get(resource)}, phase) for fields, phase, resource in rows
    ]


def _translations(value, path: str, problems: _Problems):
    if not isinstance(value, dict):
        problems.add(path, f"must be an object {{…}}, not {_kind(value)}")
        return None
    for key in getattr(value, "duplicates", ()):
        problems.add(path, f"the key “{key}” appears twice")
    texts = [_text(name, _at(path, str(language)), problems) for language, name in value.items()]
    return dict(value) if None not in texts and _text_keys(value, path, problems) else None


def _text_keys(value: dict, path: str, problems: _Problems) -> bool:
    if any(0xD800 <= ord(char) <= 0xDFFF for key in value for char in key):
        problems.add(path, "a key holds a lone surrogate (\\ud800–\\udfff), which is not text")
        return False
    return True


def _check_reminders(data: dict | None, problems: _Problems) -> list[dict]:
    rows, seen = [], {}
    for index, value in enumerate(_read(data, "reminders", "", problems, _list) or []):
        path = f"reminders[{index}]"
        reminder = _object(value, path, REMINDER_KEYS, problems)
        fields = _present(
            lead_days=_read(reminder, "lead_days", path, problems, _days),
            local_time=_read(reminder, "local_time", path, problems, _local_time),
            active=_read(reminder, "active", path, problems, _boolean),
        )
        if len(fields) == len(REMINDER_KEYS):
            same = (fields["lead_days"], fields["local_time"])
            if same in seen:
                problems.add(path, f"the same reminder as {seen[same]}")
            seen.setdefault(same, path)
        _full_clean(
            ReminderRule(audience=Audience.PARTICIPANT),
            path,
            {"audience": Audience.PARTICIPANT, **fields},
            problems,
        )
        rows.append(fields)
    return rows


def _local_time(value, path: str, problems: _Problems):
    match = _HH_MM.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        problems.add(path, "must be a local time “HH:MM”, 00:00 to 23:59")
        return None
    return datetime.time(int(match[1]), int(match[2]))

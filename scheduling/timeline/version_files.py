"""A protocol version as a file: one version's plan (its phases, visit definitions and
participant reminder rules) written as JSON (``export_version``) and read back as a new draft
of its protocol (``import_version``), all or nothing. The format is docs/protocol-file.md;
its checks, which name every problem of a file by its JSON path, are ``version_file_checks``.
"""

from __future__ import annotations

import json

from django.db import transaction
from django.utils import translation

from participants.history import stamp
from scheduling.models import Audience, Phase, ProtocolVersion, ReminderRule, VisitDefinition
from scheduling.timeline.version_file_checks import FORMAT, FORMAT_VERSION, check_file

IMPORTED = "Imported from a protocol file"

# ---------------------------------------------------------------------------------------
# Writing


def export_version(version: ProtocolVersion) -> dict:
    """``version``'s plan as the file holds it: phases in order, visit definitions in plan
    order, participant reminder rules by lead days (most first) then time."""
    phases = Phase.objects.filter(version=version).order_by("order", "id")
    definitions = (
        VisitDefinition.objects.filter(version=version)
        .select_related("phase", "resource")
        .order_by("order", "id")
    )
    rules = ReminderRule.objects.filter(version=version, audience=Audience.PARTICIPANT).order_by(
        "-lead_days", "local_time", "id"
    )
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "protocol": version.protocol.code,
        "version": version.number,
        "approved_on": version.approved_on.isoformat() if version.approved_on else None,
        "needs_reconsent": version.needs_reconsent,
        "note": version.note,
        "phases": [
            {
                "code": phase.code,
                "name": phase.name,
                "length": phase.length,
                "unit": phase.unit,
                "starts_study_day_1": phase.is_day_one,
                "started_by": phase.started_by,
            }
            for phase in phases
        ],
        "visits": [
            {
                "code": definition.code,
                "name": definition.name,
                "name_translations": dict(sorted((definition.name_translations or {}).items())),
                "phase": definition.phase.code,
                "offset": definition.offset,
                "unit": definition.unit,
                "window": {"before": definition.window_before, "after": definition.window_after},
                "resource": definition.resource.name if definition.resource else None,
            }
            for definition in definitions
        ],
        "reminders": [
            {
                "lead_days": rule.lead_days,
                "local_time": f"{rule.local_time:%H:%M}",
                "active": rule.active,
            }
            for rule in rules
        ],
    }


def summary(data: dict) -> str:
    """``3 phases, 15 visits, 2 reminders``: what a file's plan holds."""
    return (
        f"{len(data['phases'])} phases, {len(data['visits'])} visits, "
        f"{len(data['reminders'])} reminders"
    )


def dumps(data: dict) -> str:
    """The file's text: UTF-8 characters as they are, indented by 2, keys in the format's order."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------
# Reading


class FileSyntaxError(ValueError):
    """The text is not JSON: where (line, column, from 1) and why."""

    def __init__(self, line: int, column: int, message: str):
        self.line, self.column, self.message = line, column, message
        super().__init__(f"line {line}, column {column}: {message}")


class _Object(dict):
    """A JSON object that remembers the keys it held more than once (JSON keeps the last)."""

    duplicates: tuple[str, ...] = ()


def _object_pairs(pairs):
    found = _Object(pairs)
    keys = [key for key, _ in pairs]
    found.duplicates = tuple(dict.fromkeys(key for key in keys if keys.count(key) > 1))
    return found


def _no_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def loads(text: str):
    """The JSON in ``text``; FileSyntaxError where it is not JSON (NaN and Infinity are not)."""
    try:
        return json.loads(
            text.removeprefix("\ufeff"),
            object_pairs_hook=_object_pairs,
            parse_constant=_no_constant,
        )
    except json.JSONDecodeError as error:
        raise FileSyntaxError(error.lineno, error.colno, error.msg) from None
    except ValueError as error:  # NaN, Infinity; a number of over 4,300 digits
        raise FileSyntaxError(1, 1, str(error)) from None
    except RecursionError:
        raise FileSyntaxError(1, 1, "nested too deeply") from None


@transaction.atomic
def import_version(data, *, by) -> ProtocolVersion:
    """A new draft version of the protocol ``data`` names, its plan as ``data`` holds it
    (docs/protocol-file.md): every problem of the file refused at once, by its JSON path
    (ValidationError, one message a problem), nothing saved unless there is none. The
    problems are written in English, like the file's own keys, whatever the language active
    (the model's checks say theirs in it)."""
    with translation.override("en"):
        plan = check_file(data)
    protocol = plan.protocol
    version = stamp(ProtocolVersion(protocol=protocol, **plan.version), by=by, reason=IMPORTED)
    version.save()
    saved = {}
    for row in plan.phases:
        phase = stamp(Phase(protocol=protocol, version=version, **row), by=by, reason=IMPORTED)
        phase.save()
        saved[phase.code] = phase
    for row, phase_code in plan.visits:
        definition = VisitDefinition(
            protocol=protocol, version=version, phase=saved[phase_code], **row
        )
        stamp(definition, by=by, reason=IMPORTED).save()
    for row in plan.reminders:
        rule = ReminderRule(
            protocol=protocol, version=version, audience=Audience.PARTICIPANT, **row
        )
        stamp(rule, by=by, reason=IMPORTED).save()
    return version

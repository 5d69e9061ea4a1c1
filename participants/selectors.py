"""Reads about participants' lifecycles: they write nothing.

A participant's lifecycle as it now stands, each status change as last corrected (corrections
are new records, never edits: :func:`effective_transitions`), the date each status began, for
one participant or many in one query, and what a transition would close, asked of the schedule
through ``transition_closes`` before it is recorded (:func:`visits_closed_by`).
"""

import datetime
from collections.abc import Iterable

from .models import Participant, Transition
from .signals import transition_closes


def _lifecycle(records: Iterable[Transition]) -> list[Transition]:
    """One participant's records (in recorded order) as its lifecycle now stands."""
    latest: dict[int, Transition] = {}  # original record id → its latest correction
    original_of: dict[int, int] = {}
    for record in records:
        if record.corrects_id is None:
            original_of[record.id] = record.id
        else:
            original_of[record.id] = original_of[record.corrects_id]
        latest[original_of[record.id]] = record
    return list(latest.values())


def effective_transitions(participant: Participant) -> list[Transition]:
    """The participant's lifecycle as it now stands, in order: one record per status change,
    each the latest correction of it (corrections are new records, never edits)."""
    return _lifecycle(participant.transitions.order_by("recorded_at", "id"))


def effective_dates_by_status(participant: Participant) -> dict[str, datetime.date]:
    """When the participant entered each status: the effective date of the transition into it
    (as corrected, where a correction was recorded). The schedule reads phase starts from it."""
    return {
        record.to_status: record.effective_date for record in effective_transitions(participant)
    }


def effective_dates_by_status_of(
    participant_ids: Iterable[int],
) -> dict[int, dict[str, datetime.date]]:
    """:func:`effective_dates_by_status` of many participants, in one query."""
    records: dict[int, list[Transition]] = {pk: [] for pk in participant_ids}
    for record in Transition.objects.filter(participant_id__in=list(records)).order_by(
        "participant_id", "recorded_at", "id"
    ):
        records[record.participant_id].append(record)
    return {
        pk: {record.to_status: record.effective_date for record in _lifecycle(lifecycle)}
        for pk, lifecycle in records.items()
    }


def visits_closed_by(
    participant: Participant, target: str, on: datetime.date
) -> list[tuple[str, bool]]:
    """``(sentence, needs_reason)`` for each visit not done that moving ``participant`` to
    ``target`` on ``on`` would close or cancel (the schedule answers, through
    ``transition_closes``): what the admin and the command show. A visit closed because a
    phase ends, or cancelled because the participant leaves before it, needs a reason."""
    closing: list[tuple[str, bool]] = []
    for _, answer in transition_closes.send(
        sender=Participant, participant=participant, target=target, on=on
    ):
        closing += answer or []
    return closing


def following_subject_id(latest: str, taken: Iterable[str]) -> str:
    """The subject id after ``latest`` (its trailing number plus one, as wide as it was),
    skipping any in ``taken``; "" when ``latest`` ends in no number. ``SLE-001-101-009`` →
    ``SLE-001-101-010``."""
    stem = latest.rstrip("0123456789")
    digits = latest[len(stem) :]
    if not digits:
        return ""
    taken = set(taken)
    number = int(digits)
    while True:
        number += 1
        candidate = f"{stem}{number:0{len(digits)}d}"
        if candidate not in taken:
            return candidate


def suggested_subject_id(protocol_id: int, site_id: int) -> str:
    """A subject id to suggest for the site's next participant in the protocol: the one after
    the highest number of the site's latest participant's series; "" for a site with none yet
    (its numbering is the sponsor's to give). Two queries, on the protocol's unique ids."""
    latest = (
        Participant.objects.filter(protocol_id=protocol_id, site_id=site_id)
        .order_by("-created_at", "-id")
        .values_list("subject_id", flat=True)
        .first()
    )
    if not latest:
        return ""
    stem = latest.rstrip("0123456789")
    series = Participant.objects.filter(
        protocol_id=protocol_id, subject_id__startswith=stem
    ).values_list("subject_id", flat=True)
    numbered = [s for s in series if s[len(stem) :].isdigit()]
    highest = max(numbered, key=lambda s: (int(s[len(stem) :]), len(s)))
    return following_subject_id(highest, numbered)

"""Which version of the plan each participant follows: their first take-ups, made when their
schedule is first built (the version in force at their site on their consent day, then any
newer one the site activated since that needs no re-consent), and the version followed read
with the plan it had before (``schedule.TakeUp``). Writes only the take-ups of a participant
who has none yet."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import F

from participants.models import Participant
from scheduling.models import ProtocolVersion, VersionActivation, VersionTakeUp, version_key
from scheduling.rules import schedule, versions
from scheduling.timeline.plans import Followed, SchedulePlan


def site_activations(site_ids: Iterable[int], protocol_ids: Iterable[int]):
    """The activations at ``site_ids`` of the versions of ``protocol_ids`` (one query), by
    (site id, protocol id)."""
    rows = VersionActivation.objects.filter(
        site_id__in=list(site_ids), version__protocol_id__in=list(protocol_ids)
    ).select_related("version")
    found: dict[tuple[int, int], list[versions.Activation]] = {}
    for row in rows:
        found.setdefault((row.site_id, row.version.protocol_id), []).append(
            versions.Activation(
                row.activated_on,
                row.version_id,
                version_key(row.version.number),
                row.version.needs_reconsent,
            )
        )
    return found


def first_versions(protocol_ids: Iterable[int]) -> dict[int, int]:
    """The version every site of each protocol starts with: its first released one, else its
    first one (a protocol still being drafted)."""
    first: dict[int, int] = {}
    rows = ProtocolVersion.objects.filter(protocol_id__in=list(protocol_ids)).order_by(
        F("released_at").asc(nulls_last=True), "id"
    )
    for protocol_id, version_id in rows.values_list("protocol_id", "id"):
        first.setdefault(protocol_id, version_id)
    return first


def start_following(participants: list[Participant], *, by=None) -> dict[int, Followed]:
    """Record the first take-ups of ``participants`` that have none (in bulk, four queries)
    and return the version each follows."""
    followed = Followed.of_all(p.pk for p in participants)
    new = [p for p in participants if p.pk not in followed]
    if not new:
        return followed
    activations = site_activations({p.site_id for p in new}, {p.protocol_id for p in new})
    first = first_versions({p.protocol_id for p in new})
    rows = []
    for participant in new:
        steps = versions.start_steps(
            participant.consent_date,
            activations.get((participant.site_id, participant.protocol_id), []),
            first.get(participant.protocol_id),
        )
        for step in steps:
            rows.append(
                VersionTakeUp(
                    participant_id=participant.pk,
                    version_id=step.version,
                    previous_id=step.previous,
                    since=step.since,
                    kind=step.kind,
                    recorded_by=by,
                    reason="Consented on this version"
                    if step.kind == versions.START
                    else "Activated at the site without re-consent",
                )
            )
        if steps:
            last = steps[-1]
            followed[participant.pk] = Followed(last.version, last.since, last.previous)
    VersionTakeUp.objects.bulk_create(rows)
    return followed


def plan_and_take_up(
    followed: Followed | None, plans: dict[int, SchedulePlan | None] | None = None
) -> tuple[SchedulePlan | None, schedule.TakeUp | None]:
    """The plan of the version followed and, when the participant moved to it from another,
    the move (``schedule.TakeUp``). ``plans``: plans already read, by version id (filled)."""
    if followed is None:
        return None, None
    plans = {} if plans is None else plans
    for version_id in (followed.version_id, followed.previous_id):
        if version_id is not None and version_id not in plans:
            plans[version_id] = SchedulePlan.read(version_id)
    plan = plans[followed.version_id]
    previous = plans.get(followed.previous_id) if followed.previous_id else None
    take_up = schedule.TakeUp(followed.since, previous.rule) if previous else None
    return plan, take_up

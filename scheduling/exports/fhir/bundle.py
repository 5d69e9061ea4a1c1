"""The FHIR export read and written (docs/fhir.md): one protocol's study, the plans of its
versions, its sites, participants and visits as a Bundle of type collection, validated with
``fhir.resources.R4B`` before it is written, and written whole or not at all. Reads only."""

import datetime
import json
import os
import tempfile
from pathlib import Path

from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from participants.models import Participant
from scheduling.models import ProtocolVersion, Visit, VisitStatus
from scheduling.timeline.plans import Followed, version_plan

from . import resources, statuses

MEDIA_TYPE = "application/fhir+json; fhirVersion=4.3"


def export_bundle(protocol, now: datetime.datetime | None = None) -> dict:
    """The Bundle of ``protocol`` as of ``now``: each visit's status at its site's today."""
    now = now or timezone.now()
    participants = list(
        Participant.objects.filter(protocol=protocol)
        .select_related("site", "protocol")
        .order_by("subject_id", "id")
    )
    visits = list(
        Visit.objects.filter(participant__protocol=protocol)
        .select_related("participant__site", "participant__protocol", "site", "version")
        .order_by("participant__subject_id", "planned_date", "id")
    )
    versions = {v.pk: v for v in ProtocolVersion.objects.filter(protocol=protocol)}
    used = {v.version_id for v in visits if v.version_id}
    followed = Followed.of_all(p.pk for p in participants)
    used |= {f.version_id for f in followed.values()}
    shown = sorted(
        (v for v in versions.values() if v.is_released or v.pk in used),
        key=lambda v: v.order_key,
    )
    plans = {v.pk: resources.plan_definition(protocol, v, *version_plan(v.pk)) for v in shown}
    sites = {p.site.pk: p.site for p in participants}
    locations = {pk: resources.location(site) for pk, site in sorted(sites.items())}
    sponsor = resources.organization(protocol) if protocol.sponsor else None
    study = resources.research_study(protocol, plans.values(), locations.values(), sponsor)
    entries = [study, *plans.values(), *locations.values()]
    if sponsor is not None:
        entries.append(sponsor)
    patients, subjects = {}, {}
    for participant in participants:
        patients[participant.pk] = resources.patient(participant)
        plan = followed.get(participant.pk)
        subjects[participant.pk] = resources.research_subject(
            participant, study, patients[participant.pk], plans[plan.version_id] if plan else None
        )
        entries += [patients[participant.pk], subjects[participant.pk]]
    todays = {pk: site.today(now) for pk, site in sites.items()}
    for visit in visits:
        participant = visit.participant
        today = todays[participant.site_id]
        visit_status = visit.status_on(today)
        status = statuses.appointment_status(
            visit_status,
            visit.booked_date is not None,
            visit.confirmation,
            participant.is_active and visit.is_no_show(today),
        )
        entries.append(
            resources.appointment(
                visit,
                status=status,
                participation=statuses.participation_status(visit_status, visit.confirmation),
                why_cancelled=str(VisitStatus(visit_status).label),
                subject=subjects[participant.pk],
                individual=patients[participant.pk],
                place=locations[participant.site_id],
                plan=plans.get(visit.version_id),
            )
        )
    return {
        "resourceType": "Bundle",
        "id": resources.resource_uuid("bundle", protocol.code),
        "type": "collection",
        "timestamp": now.astimezone(datetime.UTC).isoformat(timespec="seconds"),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in entries],
    }


def dumps(bundle: dict) -> str:
    """The Bundle as JSON, once ``fhir.resources.R4B`` has validated every resource in it."""
    text = json.dumps(bundle, ensure_ascii=False, indent=1)
    Bundle.model_validate_json(text)
    return text + "\n"


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it, renamed once complete:
    a reader never sees half a file, and a failure leaves what was there."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def summary(bundle: dict) -> str:
    counts: dict[str, int] = {}
    for entry in bundle["entry"]:
        kind = entry["resource"]["resourceType"]
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{count} {kind}" for kind, count in counts.items())

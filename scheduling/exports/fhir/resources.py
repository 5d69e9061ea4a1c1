"""The FHIR R4B resources of the export, each a plain dict from plain values and the records
(docs/fhir.md#resources). A participant appears only by their subject id: no name, email,
phone or address, here or on the site's Location."""

import uuid

from participants import trial_phases

from . import statuses, timing

# Where this system's identifiers and extensions are named (docs/fhir.md#identifiers).
BASE = "urn:trialsite:fhir:"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:trialsite:fhir")
SOA_RANGE = "http://hl7.org/fhir/uv/vulcan-schedule/StructureDefinition/AcceptableOffsetRangeSoa"
VISIT_WINDOW = BASE + "StructureDefinition/visit-window"
PLAN_ACTION = BASE + "StructureDefinition/plan-action"
FOLLOWED_PLAN = BASE + "StructureDefinition/followed-plan"
CLINICALTRIALS_GOV = "https://clinicaltrials.gov"
PLAN_TYPE = "http://terminology.hl7.org/CodeSystem/plan-definition-type"
# ResearchStudy.phase: FHIR's own code system (R4/R4B), and the NCI Thesaurus, which codes the
# CDISC terms the protocol records (docs/fhir.md "The trial phase").
RESEARCH_STUDY_PHASE = "http://terminology.hl7.org/CodeSystem/research-study-phase"
NCI_THESAURUS = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"


def resource_uuid(kind: str, *key) -> str:
    """A resource's id, the same at every export of the same record (uuid5 of its key)."""
    return str(uuid.uuid5(NAMESPACE, "/".join([kind, *(str(part) for part in key)])))


def action_id(code: str, phase: bool = False) -> str:
    """A plan's action id (FHIR type id: letters, digits, "-" and "."): a visit's code, a
    phase's with "phase-" before it, "_" written "." (no slug has a dot, so none collide)."""
    return ("phase-" if phase else "") + code.replace("_", ".")


def reference(resource: dict) -> dict:
    return {"reference": f"urn:uuid:{resource['id']}"}


def identifier(kind: str, value: str) -> dict:
    return {"system": BASE + kind, "value": value}


def organization(protocol) -> dict:
    return {
        "resourceType": "Organization",
        "id": resource_uuid("sponsor", protocol.code),
        "name": protocol.sponsor,
    }


def location(site) -> dict:
    """The site by code and name only: its address and phone stay out."""
    return {
        "resourceType": "Location",
        "id": resource_uuid("site", site.code),
        "identifier": [identifier("site", site.code)],
        "status": "active",
        "name": site.name,
    }


def plan_definition(protocol, version, phases, definitions) -> dict:
    """One version's schedule of activities: an action per phase (its length, after the
    previous one) holding an action per visit (its offset from the phase start and window),
    in the manner of HL7's Schedule of Activities guide."""
    phase_actions = []
    by_phase = {}
    previous = None
    for phase in phases:
        action = {
            "id": action_id(phase.code, phase=True),
            "title": phase.name,
            "timingDuration": timing.duration(phase.length, phase.unit),
            "action": [],
        }
        if previous is not None:
            action["relatedAction"] = [{"actionId": previous, "relationship": "after-end"}]
        previous = action["id"]
        by_phase[phase.code] = action
        phase_actions.append(action)
    for definition in definitions:
        related = {
            "actionId": action_id(definition.phase.code, phase=True),
            "relationship": "after-start",
            "offsetDuration": timing.duration(definition.offset, definition.unit),
            "extension": [
                {
                    "url": VISIT_WINDOW,
                    "valueRange": timing.window_range(
                        definition.window_before, definition.window_after
                    ),
                }
            ],
        }
        acceptable = timing.offset_range(
            definition.offset, definition.unit, definition.window_before, definition.window_after
        )
        if acceptable is not None:
            related["extension"].insert(0, {"url": SOA_RANGE, "valueRange": acceptable})
        by_phase[definition.phase.code]["action"].append(
            {"id": action_id(definition.code), "title": definition.name, "relatedAction": [related]}
        )
    for action in phase_actions:
        if not action["action"]:
            del action["action"]
    plan = {
        "resourceType": "PlanDefinition",
        "id": resource_uuid("plan", protocol.code, version.number),
        "identifier": [identifier("protocol-version", f"{protocol.code} {version.number}")],
        "version": version.number,
        "title": f"{protocol.code} schedule of activities, version {version.number}",
        "type": {"coding": [{"system": PLAN_TYPE, "code": "clinical-protocol"}]},
        "status": "active" if version.is_released else "draft",
        "action": phase_actions,
    }
    if version.approved_on:
        plan["approvalDate"] = version.approved_on.isoformat()
    return plan


def research_study(protocol, plans, sites, sponsor) -> dict:
    study = {
        "resourceType": "ResearchStudy",
        "id": resource_uuid("study", protocol.code),
        "identifier": [identifier("protocol", protocol.code)],
        "title": protocol.title,
        "protocol": [reference(plan) for plan in plans],
        "status": "active",
        "site": [reference(site) for site in sites],
    }
    phase = study_phase(protocol.trial_phase)
    if phase is not None:
        study["phase"] = phase
    if protocol.registry_id:
        system = CLINICALTRIALS_GOV if protocol.registry_id.startswith("NCT") else BASE + "registry"
        study["identifier"].append({"system": system, "value": protocol.registry_id})
    if sponsor is not None:
        study["sponsor"] = reference(sponsor)
    return study


def study_phase(value: str) -> dict | None:
    """ResearchStudy.phase of a protocol's trial phase: FHIR's research-study-phase code where
    that code system has one, and always the CDISC term's NCI code; None when unknown."""
    term = trial_phases.trial_phase(value)
    if term is None:
        return None
    coding = [{"system": NCI_THESAURUS, "code": term.nci_code, "display": term.value}]
    if term.fhir_code:
        coding.insert(0, {"system": RESEARCH_STUDY_PHASE, "code": term.fhir_code})
    return {"coding": coding, "text": term.value}


def patient(participant) -> dict:
    """The individual a ResearchSubject needs (1..1 in R4): the subject id, nothing else."""
    return {
        "resourceType": "Patient",
        "id": resource_uuid("patient", participant.protocol.code, participant.subject_id),
        "identifier": [
            identifier(f"subject-id:{participant.protocol.code}", participant.subject_id)
        ],
    }


def research_subject(participant, study, individual, plan) -> dict:
    subject = {
        "resourceType": "ResearchSubject",
        "id": resource_uuid("subject", participant.protocol.code, participant.subject_id),
        "identifier": [
            identifier(f"subject-id:{participant.protocol.code}", participant.subject_id)
        ],
        "status": statuses.research_subject_status(participant.status),
        "period": {"start": participant.consent_date.isoformat()},
        "study": reference(study),
        "individual": reference(individual),
    }
    if participant.left_on:
        subject["period"]["end"] = participant.left_on.isoformat()
    if plan is not None:
        subject["extension"] = [{"url": FOLLOWED_PLAN, "valueReference": reference(plan)}]
    return subject


def appointment(
    visit, *, status, participation, why_cancelled, subject, individual, place, plan
) -> dict:
    """A visit's appointment: on its actual date once done, else its appointment day; at its
    booked time (an hour) on that day, else the whole day, in the site's zone."""
    done = visit.actual_date is not None
    day = visit.actual_date if done else visit.appointment_day
    booked_time = visit.booked_time if day == visit.appointment_date else None
    start, end = timing.appointment_period(day, booked_time, visit.site.zone)
    resource = {
        "resourceType": "Appointment",
        "id": resource_uuid("visit", visit.pk),
        "status": status,
        "description": visit.name,
        "start": start,
        "end": end,
        "supportingInformation": [reference(subject)],
        "participant": [
            {"actor": reference(individual), "required": "required", "status": participation},
            {"actor": reference(place), "required": "required", "status": "accepted"},
        ],
    }
    if status == "cancelled":
        resource["cancelationReason"] = {"text": why_cancelled}
    if plan is not None:
        resource["supportingInformation"].append(reference(plan))
        resource["extension"] = [{"url": PLAN_ACTION, "valueString": action_id(visit.code)}]
    return resource

"""export_fhir on the demo data: a Bundle that fhir.resources.R4B validates, whose references
all resolve inside it, one ResearchSubject per participant, one Appointment per visit,
statuses mapped, no contact details, and the same ids on a second export (docs/fhir.md)."""

import datetime
import json

import pytest
from django.core.management import call_command
from fhir.resources.R4B.bundle import Bundle

from participants.cli import InputError
from participants.models import Participant
from scheduling.exports.fhir import resources, statuses
from scheduling.models import Visit, VisitDefinition

pytestmark = pytest.mark.django_db


def export(tmp_path, name="bundle.json"):
    path = tmp_path / name
    call_command("export_fhir", "--output", str(path))
    return path


def references(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference":
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


@pytest.fixture
def exported(demo_data, tmp_path):
    path = export(tmp_path)
    return path, json.loads(path.read_text(encoding="utf-8"))


def of_type(data, kind):
    return [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == kind]


def test_the_demo_export_is_a_valid_r4b_bundle_whose_references_all_resolve(exported):
    path, data = exported
    bundle = Bundle.model_validate_json(path.read_bytes())
    assert bundle.type == "collection"
    full_urls = [entry["fullUrl"] for entry in data["entry"]]
    assert len(set(full_urls)) == len(full_urls)
    found = list(references(data))
    assert len(found) > 100
    assert set(found) <= set(full_urls)


def test_one_research_subject_per_participant_and_one_appointment_per_visit(exported):
    _, data = exported
    subjects = of_type(data, "ResearchSubject")
    assert len(subjects) == Participant.objects.count() == len(of_type(data, "Patient"))
    assert len(of_type(data, "Appointment")) == Visit.objects.count()


def test_subject_statuses_follow_the_lifecycle(exported):
    _, data = exported
    by_subject = {
        s["identifier"][0]["value"]: s["status"] for s in of_type(data, "ResearchSubject")
    }
    for participant in Participant.objects.all():
        assert (
            by_subject[participant.subject_id]
            == statuses.RESEARCH_SUBJECT_STATUS[participant.status]
        )
    assert {"screening", "off-study", "ineligible", "withdrawn"} <= set(by_subject.values())


def test_each_appointment_has_its_visits_mapped_status_and_a_start_before_its_end(exported):
    _, data = exported
    appointments = {a["id"]: a for a in of_type(data, "Appointment")}
    for visit in Visit.objects.select_related("participant__site"):
        appointment = appointments[resources.resource_uuid("visit", visit.pk)]
        today = visit.participant.site.today()
        visit_status = visit.status_on(today)
        no_show = visit.participant.is_active and visit.is_no_show(today)
        assert appointment["status"] == statuses.appointment_status(
            visit_status, visit.booked_date is not None, visit.confirmation, no_show
        )
        start = datetime.datetime.fromisoformat(appointment["start"])
        assert start < datetime.datetime.fromisoformat(appointment["end"])
        assert start.utcoffset() == start.astimezone(visit.participant.site.zone).utcoffset()
        if "cancelationReason" in appointment:
            assert appointment["status"] == "cancelled"
    codes = {a["status"] for a in appointments.values()}
    assert codes <= statuses.APPOINTMENT_STATUSES
    assert {"fulfilled", "cancelled", "noshow", "proposed"} <= codes


def test_each_visit_action_carries_its_offset_and_window(exported):
    _, data = exported
    plans = {p["version"]: p for p in of_type(data, "PlanDefinition")}
    actions = {
        visit["id"]: visit for phase in plans["2.0"]["action"] for visit in phase.get("action", [])
    }
    for definition in VisitDefinition.objects.filter(version__number="2.0"):
        (related,) = actions[resources.action_id(definition.code)]["relatedAction"]
        assert related["actionId"] == resources.action_id(definition.phase.code, phase=True)
        assert related["offsetDuration"]["value"] == definition.offset
        window = related["extension"][-1]
        assert window["url"] == resources.VISIT_WINDOW
        assert window["valueRange"]["low"]["value"] == -definition.window_before
        assert window["valueRange"]["high"]["value"] == definition.window_after
    assert actions["INF2"]["relatedAction"][0]["extension"][-1]["valueRange"]["high"]["value"] == 3


def test_the_study_phase_is_the_protocols_trial_phase_in_fhir_and_nci_codes(exported):
    _, data = exported
    (study,) = of_type(data, "ResearchStudy")
    assert study["phase"] == {
        "coding": [
            {"system": resources.RESEARCH_STUDY_PHASE, "code": "phase-2"},
            {"system": resources.NCI_THESAURUS, "code": "C15601", "display": "PHASE II TRIAL"},
        ],
        "text": "PHASE II TRIAL",
    }


@pytest.mark.parametrize(
    ("trial_phase", "codes"),
    [
        ("", None),  # unknown: no phase at all
        ("PHASE IIIB TRIAL", ["phase-3", "C49689"]),  # a sub-phase takes its phase's code
        ("PHASE V TRIAL", ["C47865"]),  # FHIR's code system has no Phase V
        ("PHASE 0 TRIAL", ["early-phase-1", "C54721"]),  # "formerly called Phase 0"
        ("NOT APPLICABLE", ["n-a", "C48660"]),
    ],
)
def test_a_trial_phase_without_a_fhir_code_keeps_its_nci_code_and_none_is_left_out(
    protocol, tmp_path, trial_phase, codes
):
    protocol.trial_phase = trial_phase
    protocol.save()
    path = export(tmp_path)
    Bundle.model_validate_json(path.read_bytes())
    (study,) = of_type(json.loads(path.read_text(encoding="utf-8")), "ResearchStudy")
    if codes is None:
        assert "phase" not in study
    else:
        assert [c["code"] for c in study["phase"]["coding"]] == codes


def test_the_study_lists_every_plan_and_a_reconsented_participant_follows_version_2(exported):
    _, data = exported
    plans = {p["version"]: p for p in of_type(data, "PlanDefinition")}
    assert set(plans) == {"1.0", "2.0"}
    (study,) = of_type(data, "ResearchStudy")
    assert {r["reference"] for r in study["protocol"]} == {
        f"urn:uuid:{p['id']}" for p in plans.values()
    }
    on_two = Visit.objects.filter(version__number="2.0", participant__site__code="OCN").first()
    assert on_two is not None
    subject_id = on_two.participant.subject_id
    two = f"urn:uuid:{plans['2.0']['id']}"
    (subject,) = [
        s for s in of_type(data, "ResearchSubject") if s["identifier"][0]["value"] == subject_id
    ]
    assert subject["extension"][0]["valueReference"]["reference"] == two
    patient_ref = subject["individual"]["reference"]
    theirs = [
        a
        for a in of_type(data, "Appointment")
        if a["participant"][0]["actor"]["reference"] == patient_ref
    ]
    assert any(two in {r["reference"] for r in a["supportingInformation"]} for a in theirs)
    fu2 = plans["2.0"]["action"]
    assert "FU2" in [visit["id"] for phase in fu2 for visit in phase.get("action", [])]


def test_no_participant_contact_detail_is_in_the_file(exported):
    path, _ = exported
    content = path.read_bytes()
    assert Participant.objects.exists()
    for participant in Participant.objects.select_related("site"):
        assert participant.email.encode() not in content
    for participant in Participant.objects.select_related("site")[:2]:
        assert participant.site.address.splitlines()[0].encode() not in content
        assert participant.site.phone.encode() not in content
    for patient in json.loads(content)["entry"]:
        resource = patient["resource"]
        if resource["resourceType"] == "Patient":
            assert set(resource) == {"resourceType", "id", "identifier"}


def test_a_second_export_gives_the_same_ids(exported, tmp_path):
    _, data = exported
    again = json.loads(export(tmp_path, "again.json").read_text(encoding="utf-8"))
    assert [e["fullUrl"] for e in again["entry"]] == [e["fullUrl"] for e in data["entry"]]


def test_an_unknown_protocol_is_refused_in_one_line(protocol, tmp_path):
    with pytest.raises(InputError) as refused:
        call_command("export_fhir", "--output", str(tmp_path / "x.json"), "--protocol", "NOPE")
    assert str(refused.value) == "protocol: there is no protocol NOPE."
    assert not (tmp_path / "x.json").exists()


def test_an_unwritable_output_is_refused_and_nothing_is_left(protocol, tmp_path):
    target = tmp_path / "missing" / "bundle.json"
    with pytest.raises(InputError) as refused:
        call_command("export_fhir", "--output", str(target))
    assert str(refused.value).startswith(f"{target}: file: cannot be written (")
    assert "\n" not in str(refused.value)
    assert list(tmp_path.iterdir()) == []


def test_the_export_reads_a_fixed_number_of_queries(demo_data, django_assert_max_num_queries):
    from participants.models import Protocol
    from scheduling.exports.fhir.bundle import export_bundle

    protocol = Protocol.objects.get(code="SLE-001")
    # Participants, visits, versions, take-ups, and two per version's plan: not per visit.
    with django_assert_max_num_queries(8):
        bundle = export_bundle(protocol)
    assert len(bundle["entry"]) > Visit.objects.count()


def test_with_two_protocols_one_must_be_named(protocol, tmp_path):
    from participants.models import Protocol

    Protocol.objects.create(code="LN-002", title="Another trial")
    with pytest.raises(InputError) as refused:
        call_command("export_fhir", "--output", str(tmp_path / "x.json"))
    assert str(refused.value) == "protocol: name one with --protocol (protocols: LN-002, SLE-001)."
    assert list(tmp_path.iterdir()) == []

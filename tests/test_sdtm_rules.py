"""The SDTM mappings (scheduling/exports/sdtm/mapping.py, docs/sdtm.md) as properties, with
the worked examples of SLE-001; and the subject datasets DM, SE and SV of generated
participants' stories (consent, enrolment, treatment, follow-up, each way of leaving) held to
the rules that tie them together."""

import datetime
import re
from decimal import Decimal

import holidays
import pycountry
import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from participants import trial_phases
from participants.lifecycle import record_transition
from participants.models import LEFT_STATUSES, Site, Status
from scheduling.exports.sdtm import datasets, mapping
from scheduling.exports.sdtm.variables import DATASETS
from scheduling.rules import engine
from scheduling.timeline.visits import record_visit
from tests.factories import enrol

# FHIR R4/R4B's code system research-study-phase, every code.
FHIR_PHASES = {
    "n-a",
    "early-phase-1",
    "phase-1",
    "phase-1-phase-2",
    "phase-2",
    "phase-2-phase-3",
    "phase-3",
    "phase-4",
}
days = st.dates(min_value=datetime.date(2000, 1, 1), max_value=datetime.date(2100, 1, 1))


def test_sle001_phases_map_to_the_controlled_epochs_and_element_codes():
    epochs = [
        mapping.epoch("screening", "Screening"),
        mapping.epoch("treatment", "Treatment"),
        mapping.epoch("follow_up", "Follow-up"),
    ]
    assert epochs == ["SCREENING", "TREATMENT", "FOLLOW-UP"]
    assert mapping.element_codes(epochs) == ["SCRN", "TRT", "FU"]


@given(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=12))
def test_element_codes_are_unique_and_at_most_8_characters(names):
    codes = mapping.element_codes([mapping.epoch(n, n) for n in names])
    assert len(codes) == len(set(codes)) == len(names)
    assert all(1 <= len(code) <= 8 for code in codes)


@given(st.text(max_size=30))
def test_a_phase_without_a_cdisc_term_keeps_its_name_in_capitals(name):
    term = mapping.epoch("x-" + name, "Extension " + name)
    assert term == ("Extension " + name).strip().upper()[:40]


@given(st.lists(st.sampled_from([None, 1, 2, 3, 10]), max_size=30))
def test_unscheduled_visits_number_after_the_planned_visit_before_them(previous):
    numbers = mapping.unscheduled_numbers(previous)
    assert len(numbers) == len(set(numbers)) == len(previous)
    for base, number in zip(previous, numbers, strict=True):
        assert int(number) == (base or 0) < number < (base or 0) + 1
    assert mapping.unscheduled_numbers([3, 3]) == [Decimal("3.01"), Decimal("3.02")]
    assert mapping.unscheduled_name(Decimal("3.01")) == "UNSCHEDULED 3.01"


@given(st.lists(st.tuples(st.integers(0, 9), st.sampled_from("ABCDEFG")), max_size=30))
def test_visit_numbers_are_one_per_code_in_order(keys):
    numbers = mapping.visit_numbers(keys)
    assert sorted(numbers.values()) == list(range(1, len({c for _, c in keys}) + 1))
    first = {}
    for key, code in sorted(keys):
        first.setdefault(code, key)
    assert sorted(numbers, key=numbers.get) == sorted(first, key=lambda c: (first[c], c))


@given(days, days, st.booleans())
def test_a_done_visit_has_its_day_and_no_day_0(actual, day_one, planned):
    row = mapping.subject_visit(
        visitnum=3,
        visit="V",
        epoch_term="TREATMENT",
        planned=planned,
        actual=actual,
        missed_reason="",
        day_one=day_one,
    )
    assert row.start == row.end == actual.isoformat()
    assert row.study_day != 0
    assert engine.date_of_study_day(row.study_day, day_one) == actual
    assert (row.presp, row.occur) == (("Y", "Y") if planned else ("", ""))


@given(st.text(min_size=1, max_size=40), st.none() | days)
def test_a_missed_visit_is_pre_specified_not_occurred_with_its_reason(reason, day_one):
    row = mapping.subject_visit(
        visitnum=2,
        visit="V",
        epoch_term="SCREENING",
        planned=True,
        actual=None,
        missed_reason=reason,
        day_one=day_one,
    )
    assert (row.presp, row.occur, row.reason) == ("Y", "N", reason)
    assert row.start == row.end == "" and row.study_day is None


@given(st.integers(1, 400), st.sampled_from(engine.UNITS))
def test_durations_are_iso_8601(amount, unit):
    assert mapping.iso_duration(amount, unit) == f"P{amount}{'DWM'[engine.UNITS.index(unit)]}"


def test_visitdy_of_sle001_infusion_1_is_day_1_and_screening_is_negative():
    phases = [
        engine.PhasePlan("screening", 8, engine.WEEKS),
        engine.PhasePlan("treatment", 8, engine.WEEKS),
    ]
    reference = datetime.date(2001, 1, 1)
    inf1 = engine.VisitPlan("INF1", "treatment", 0, engine.DAYS, 0, 0)
    scr = engine.VisitPlan("SCR", "screening", 0, engine.DAYS, 0, 3)
    assert mapping.planned_study_day(phases, inf1, "treatment", reference) == 1
    assert mapping.planned_study_day(phases, scr, "treatment", reference) == -56


def test_every_trial_phase_is_one_cdisc_term_with_its_own_nci_code():
    """participants/trial_phases.py: C66737 submission values, their NCI codes, and FHIR's
    research-study-phase codes (R4/R4B), each once (docs/sdtm.md "TS", docs/fhir.md)."""
    values = [phase.value for phase in trial_phases.TRIAL_PHASES]
    codes = [phase.nci_code for phase in trial_phases.TRIAL_PHASES]
    assert len(set(values)) == len(values) == len(set(codes)) == 15
    assert all(re.fullmatch(r"C\d+", code) for code in codes)
    assert all(value == value.upper() and len(value) <= 200 for value in values)
    assert {phase.fhir_code for phase in trial_phases.TRIAL_PHASES} - {""} == FHIR_PHASES
    assert trial_phases.trial_phase("PHASE II TRIAL").nci_code == "C15601"
    assert trial_phases.trial_phase("") is None


def test_subject_ids_name_the_study_once():
    assert mapping.usubjid("SLE-001", "SLE-001-101-001") == "SLE-001-101-001"
    assert mapping.usubjid("SLE-001", "101-001") == "SLE-001-101-001"


def test_the_variable_table_keeps_transport_v5_limits():
    for domain, (label, variables) in DATASETS.items():
        assert len(domain) <= 8 and len(label) <= 40
        names = [v.name for v in variables]
        assert names[:2] == ["STUDYID", "DOMAIN"] and len(names) == len(set(names))
        assert all(len(v.name) <= 8 and len(v.label) <= 40 for v in variables)


def test_a_value_over_200_bytes_is_refused_before_any_file(tmp_path):
    from scheduling.exports.sdtm.writing import OutputError, write_all

    rows = [{"STUDYID": "S", "DOMAIN": "TS", "TSSEQ": 1, "TSPARMCD": "TITLE", "TSVAL": "é" * 101}]
    with pytest.raises(OutputError) as refused:
        write_all(tmp_path / "out", {"TS": rows})
    assert str(refused.value) == (
        "TS record 1: TSVAL: 202 bytes, over the 200 a transport file holds; nothing was written."
    )
    assert list(tmp_path.iterdir()) == []


# DM, pure: identifiers, arms, the end of participation, the country.

subject_ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,20}\Z")


@given(subject_ids, st.booleans())
def test_usubjid_is_studyid_dash_subjid_and_names_the_study_once(subject_id, prefixed):
    subject_id = f"SLE-001-{subject_id}" if prefixed else subject_id
    usubjid = mapping.usubjid("SLE-001", subject_id)
    subjid = mapping.subject_id_in_study("SLE-001", subject_id)
    assert subjid and usubjid == f"SLE-001-{subjid}"
    assert usubjid.count("SLE-001-") >= 1 and not subjid.startswith("SLE-001-" * 2)


def test_subjid_of_sle001_is_the_site_and_subject_number():
    assert mapping.subject_id_in_study("SLE-001", "SLE-001-101-004") == "101-004"
    assert mapping.subject_id_in_study("SLE-001", "101-004") == "101-004"


ARMNRS = {mapping.SCREEN_FAILURE, mapping.NOT_ASSIGNED, mapping.ASSIGNED_NOT_TREATED}


@given(st.booleans(), st.booleans(), st.booleans())
def test_arm_null_reason_is_given_exactly_when_an_arm_is_null(treated, screen_failure, assigned):
    """SDTMIG 3.4 DM assumption 4: ARMNRS is null when both arms are given and names why
    otherwise; ARM goes with ARMCD, ACTARM with ACTARMCD; the only arm is TA's."""
    arms = mapping.arms(treated=treated, screen_failure=screen_failure, assigned=assigned)
    assert (arms.armcd, arms.arm) in (("", ""), (mapping.ARMCD, mapping.ARM))
    assert (arms.actarmcd, arms.actarm) in (("", ""), (mapping.ARMCD, mapping.ARM))
    assert (arms.armnrs == "") == bool(arms.armcd and arms.actarmcd) == treated
    assert arms.armnrs in ARMNRS | {""}
    if not treated:
        assert arms.armnrs == (
            mapping.SCREEN_FAILURE
            if screen_failure
            else mapping.ASSIGNED_NOT_TREATED
            if assigned
            else mapping.NOT_ASSIGNED
        )
        assert bool(arms.armcd) == (arms.armnrs == mapping.ASSIGNED_NOT_TREATED)


@given(days, st.none() | st.integers(0, 900), st.lists(st.integers(0, 900), max_size=5))
def test_end_of_participation_is_the_day_they_left_else_the_last_contact(consent, left, seen):
    left_on = consent + datetime.timedelta(days=left) if left is not None else None
    contacts = [consent + datetime.timedelta(days=d) for d in seen]
    end = mapping.end_of_participation(consent, left_on, contacts)
    assert end >= consent
    assert end == (left_on if left_on is not None else max([consent, *contacts]))


def test_every_iso_country_is_its_alpha_3_in_dm():
    countries = list(pycountry.countries)
    assert len(countries) == 249
    for country in countries:
        assert mapping.country_alpha3(country.alpha_2) == country.alpha_3, country
        assert mapping.country_alpha3(country.alpha_2.lower()) == country.alpha_3, country


def test_every_holiday_calendar_names_an_iso_country_or_none():
    """A site's country is a calendar of the holidays package: alpha-2, alpha-3 or another
    of its names; each is an ISO 3166-1 alpha-3 code in DM, or none (refused)."""
    alpha3 = {country.alpha_3 for country in pycountry.countries}
    results = {code: mapping.country_alpha3(code) for code in holidays.list_supported_countries()}
    assert {code for code, found in results.items() if not found} == {"XK", "XKK"}  # Kosovo
    assert set(results.values()) - {""} <= alpha3
    assert (results["US"], results["DE"], results["UK"], results["DEU"]) == (
        "USA",
        "DEU",
        "GBR",
        "DEU",
    )


# DM, SE and SV of generated stories: one participant's way through SLE-001, each step some
# days after the one before, on a clock after them all.

NOW = datetime.datetime(2026, 6, 1, 19, 0, tzinfo=datetime.UTC)
FIRST_CONSENT = datetime.date(2025, 1, 6)
PATHS = [
    (),
    (Status.SCREEN_FAILED,),
    (Status.WITHDRAWN,),
    (Status.ENROLLED,),
    (Status.ENROLLED, Status.SCREEN_FAILED),
    (Status.ENROLLED, Status.WITHDRAWN),
    (Status.ENROLLED, Status.TREATMENT),
    (Status.ENROLLED, Status.TREATMENT, Status.LOST_TO_FOLLOW_UP),
    (Status.ENROLLED, Status.TREATMENT, Status.FOLLOW_UP),
    (Status.ENROLLED, Status.TREATMENT, Status.FOLLOW_UP, Status.COMPLETED),
]
story = st.tuples(
    st.integers(0, 150),  # consent, days after FIRST_CONSENT
    st.sampled_from(PATHS),
    st.lists(st.integers(1, 80), min_size=4, max_size=4),  # days between the steps
    st.booleans(),  # screening visit done on the consent day
)


def play(make_participant, consent_offset, path, gaps, screened):
    consent = FIRST_CONSENT + datetime.timedelta(days=consent_offset)
    participant = make_participant(consent_date=consent)
    if screened:
        record_visit(participant, "SCR", on=consent)
    day = consent
    for status, gap in zip(path, gaps, strict=False):
        day += datetime.timedelta(days=gap)
        if status == Status.ENROLLED:
            enrol(participant, on=day)
        else:
            record_transition(participant, status, on=day, reason="As the story goes")
    participant.refresh_from_db()
    return participant


@pytest.mark.django_db
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stories=st.lists(story, min_size=1, max_size=3))
def test_dm_se_and_sv_of_any_story_agree(protocol, make_participant, site_ocn, stories):
    Site.objects.filter(pk=site_ocn.pk).update(holiday_country="US")
    with time_machine.travel(NOW, tick=False), transaction.atomic():
        participants = {
            p.subject_id: p for p in (play(make_participant, *told) for told in stories)
        }
        tables = datasets.subject_datasets(datasets.Design.read(protocol))
        transaction.set_rollback(True)
    dm = {row["USUBJID"]: row for row in tables.dm}
    # One DM record per subject; the subjects of SE, and every subject of SV, are DM's.
    assert len(dm) == len(tables.dm) == len(participants)
    assert set(dm) == {row["USUBJID"] for row in tables.se} == set(participants)
    assert {row["USUBJID"] for row in tables.sv} <= set(dm)
    trt = {row["USUBJID"]: row["SESTDTC"] for row in tables.se if row["ETCD"] == "TRT"}
    for subject, row in dm.items():
        participant = participants[subject]
        # RFSTDTC: the start of the Day 1 (treatment) element, and it alone.
        assert row["RFSTDTC"] == trt.get(subject, "")
        assert row["RFICDTC"] == participant.consent_date.isoformat()
        assert not row["RFSTDTC"] or row["RFICDTC"] <= row["RFSTDTC"]
        assert row["RFICDTC"] <= row["RFPENDTC"]
        left = participant.status in LEFT_STATUSES
        assert (row["RFPENDTC"] == participant.left_on.isoformat()) if left else True
        assert row["RFENDTC"] == (
            participant.left_on.isoformat() if left and trt.get(subject) else ""
        )
        # Arms: treated ⇔ an actual arm ⇔ no ARMNRS; screen failures have none.
        assert (row["ARMNRS"] == "") == bool(row["ACTARMCD"]) == bool(row["RFSTDTC"])
        if participant.status == Status.SCREEN_FAILED:
            assert (row["ARMCD"], row["ARMNRS"]) == ("", mapping.SCREEN_FAILURE)
        event(f"ARMNRS {row['ARMNRS'] or '(null)'}")
        assert row["COUNTRY"] == "USA" and row["SEX"] == "U"
    # SVSTDY: the study day of SVSTDTC counted from DM's RFSTDTC, with no Day 0.
    for row in tables.sv:
        rfstdtc = dm[row["USUBJID"]]["RFSTDTC"]
        if row["SVSTDTC"] and rfstdtc:
            day = datetime.date.fromisoformat(row["SVSTDTC"])
            start = datetime.date.fromisoformat(rfstdtc)
            assert row["SVSTDY"] == engine.study_day(day, start) != 0
            assert engine.date_of_study_day(row["SVSTDY"], start) == day
        else:
            assert row["SVSTDY"] is None

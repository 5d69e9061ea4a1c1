"""The pure SDTM mappings (scheduling/exports/sdtm/mapping.py, docs/sdtm.md) as properties,
with the worked examples of SLE-001."""

import datetime
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from participants import trial_phases
from scheduling.exports.sdtm import mapping
from scheduling.exports.sdtm.variables import DATASETS
from scheduling.rules import engine

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

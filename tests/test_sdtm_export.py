"""The CDISC SDTM export (issue 25, docs/sdtm.md) on the demo data: every ``.xpt`` read back
by two libraries (pandas and pyreadstat) and compared with its CSV and the variable table;
the conformance rules we can state ourselves (the CDISC rules engine cannot run here:
docs/sdtm.md "Validation"); the version each participant followed; no personal data; and
the command's one-line refusals with nothing half-written."""

import csv
import datetime
import math
import os
import re
import subprocess
import sys
from collections import Counter
from io import StringIO
from pathlib import Path

import pandas
import pyreadstat
import pytest
from django.conf import settings
from django.core.management import call_command

from participants.cli import InputError
from participants.models import Participant, Site, Status
from scheduling.exports.sdtm.mapping import EPOCH_TERMS
from scheduling.exports.sdtm.variables import DATASETS, DOMAINS, NUM
from scheduling.models import VersionTakeUp, Visit, VisitDefinition, VisitStatus
from scheduling.rules import engine
from scheduling.timeline.plans import Followed
from scheduling.timeline.visits import add_unscheduled_visit, record_visit
from tests.databases import process_database_url

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_DURATION = re.compile(r"^P\d+[DWMY]$")
EPOCHS = {term for _, term in EPOCH_TERMS}
# The keys that make a record unique in each dataset (SDTMIG 3.4 natural keys).
KEYS = {
    "TA": ("STUDYID", "ARMCD", "TAETORD"),
    "TE": ("STUDYID", "ETCD"),
    "TV": ("STUDYID", "VISITNUM", "ARMCD"),
    "TS": ("STUDYID", "TSPARMCD", "TSSEQ"),
    "DM": ("STUDYID", "USUBJID"),
    "SE": ("STUDYID", "USUBJID", "SESEQ"),
    "SV": ("STUDYID", "USUBJID", "VISITNUM"),
}
# Variables that are Required in SDTMIG 3.4 (never null).
REQUIRED = {
    "TA": ("STUDYID", "DOMAIN", "ARMCD", "ARM", "TAETORD", "ETCD", "EPOCH"),
    "TE": ("STUDYID", "DOMAIN", "ETCD", "ELEMENT", "TESTRL"),
    "TV": ("STUDYID", "DOMAIN", "VISITNUM", "TVSTRL"),
    "TS": ("STUDYID", "DOMAIN", "TSSEQ", "TSPARMCD", "TSPARM"),
    "DM": ("STUDYID", "DOMAIN", "USUBJID", "SUBJID", "SITEID", "SEX", "COUNTRY"),
    "SE": ("STUDYID", "DOMAIN", "USUBJID", "SESEQ", "ETCD", "SESTDTC"),
    "SV": ("STUDYID", "DOMAIN", "USUBJID", "VISITNUM"),
}


def export(folder: Path) -> str:
    out = StringIO()
    call_command("export_sdtm", "--output", str(folder), stdout=out)
    return out.getvalue()


def read_csv(folder: Path, domain: str) -> list[dict]:
    with open(folder / f"{domain.lower()}.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def exported(demo_data, tmp_path):
    folder = tmp_path / "sdtm"
    message = export(folder)
    return folder, message


def test_the_demo_exports_seven_datasets_read_back_alike_by_two_libraries(exported):
    folder, message = exported
    assert message.startswith("SDTM datasets of SLE-001 written to ")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{d.lower()}.{ext}" for d in DOMAINS for ext in ("csv", "xpt")
    )
    for domain in DOMAINS:
        label, variables = DATASETS[domain]
        names = [v.name for v in variables]
        rows = read_csv(folder, domain)
        assert rows, domain
        assert list(rows[0]) == names
        xpt = folder / f"{domain.lower()}.xpt"
        # The second library: pandas' own SAS reader, which knows transport version 5 only.
        with pandas.read_sas(xpt, format="xport", encoding="utf-8", iterator=True) as reader:
            assert reader.member_info["set_name"] == domain
            assert reader.member_info["label"] == label
            assert [f["name"].decode() for f in reader.fields] == names
            assert [f["label"].decode().strip() for f in reader.fields] == [
                v.label for v in variables
            ]
            by_pandas = reader.read()
        by_readstat, meta = pyreadstat.read_xport(str(xpt))
        assert list(by_pandas.columns) == names == list(by_readstat.columns)
        assert meta.table_name == domain
        assert meta.file_label == label
        assert meta.column_names_to_labels == {v.name: v.label for v in variables}
        assert all(len(v.label) <= 40 and len(v.name) <= 8 for v in variables)
        assert len(by_pandas) == len(rows) == len(by_readstat)
        for variable in variables:
            name = variable.name
            as_text = [row[name] for row in rows]
            if variable.type == NUM:
                assert meta.readstat_variable_types[name] == "double"
                for csv_value, a, b in zip(
                    as_text, by_pandas[name], by_readstat[name], strict=True
                ):
                    if csv_value == "":
                        assert math.isnan(a) and math.isnan(b)
                    else:
                        assert float(csv_value) == a == b
            else:
                assert meta.readstat_variable_types[name] == "string"
                # Length: the longest value (at least 1), at most 200 in version 5.
                longest = max(1, *(len(v.encode()) for v in as_text))
                assert meta.variable_storage_width[name] == longest <= 200
                assert list(by_pandas[name].fillna("")) == as_text
                assert list(by_readstat[name]) == as_text


def test_the_demo_datasets_keep_the_conformance_rules(exported):
    folder, _ = exported
    data = {domain: read_csv(folder, domain) for domain in DOMAINS}
    for domain, rows in data.items():
        keys = [tuple(row[k] for k in KEYS[domain]) for row in rows]
        assert len(keys) == len(set(keys)), f"{domain} keys repeat"
        for row in rows:
            assert row["DOMAIN"] == domain and row["STUDYID"] == "SLE-001"
            for name in REQUIRED[domain]:
                assert row[name] != "", (domain, name, row)
            for name, value in row.items():
                if name.endswith("DTC") and value:
                    assert ISO_DATE.match(value), (name, value)
                if name.endswith("DY") and value:
                    assert int(value) != 0, "no Day 0"
                if name == "EPOCH":
                    assert value in EPOCHS
    assert [r["EPOCH"] for r in data["TA"]] == ["SCREENING", "TREATMENT", "FOLLOW-UP"]
    assert {r["ETCD"] for r in data["TA"]} == {r["ETCD"] for r in data["TE"]}
    assert all(ISO_DURATION.match(r["TEDUR"]) for r in data["TE"])
    ts = {r["TSPARMCD"]: r for r in data["TS"]}
    assert ts["TITLE"]["TSVAL"].startswith("Descartes-08")
    assert ts["LENGTH"]["TSVAL"] == "P477D"  # 8 weeks + 8 weeks + 12 months from 2001-01-01
    # SLE-001 is a Phase 2 study (its listing; migration 0015): the CDISC CT term and its code.
    assert [ts["TPHASE"][v] for v in ("TSVAL", "TSVALNF", "TSVALCD", "TSVCDREF")] == [
        "PHASE II TRIAL",
        "",
        "C15601",
        "CDISC CT",
    ]
    assert all(r["TSVALCD"] == r["TSVCDREF"] == "" for r in data["TS"] if r["TSPARMCD"] != "TPHASE")
    assert all(r["TSVCDVER"] == "" for r in data["TS"])  # no CT package named (docs/sdtm.md)
    # VISITNUM and VISIT one to one, across TV and SV (SD0052-like).
    pairs = {(r["VISITNUM"], r["VISIT"]) for r in data["TV"] + data["SV"]}
    assert len({n for n, _ in pairs}) == len(pairs) == len({v for _, v in pairs})
    for row in data["TV"]:
        assert row["TVSTRL"].startswith("Start of ") and "days before" in row["TVSTRL"]
        assert row["TVENRL"].startswith("Window closes ")
    tv_numbers = {r["VISITNUM"] for r in data["TV"]}
    for row in data["SV"]:
        if row["SVPRESP"] == "Y":
            assert row["VISITNUM"] in tv_numbers
        else:  # unscheduled: a decimal after the planned visit before it
            assert row["SVOCCUR"] == "" and row["VISIT"] == f"UNSCHEDULED {row['VISITNUM']}"
        if row["SVOCCUR"] == "N":
            assert row["SVPRESP"] == "Y" and row["SVREASOC"] and row["SVSTDTC"] == ""
        else:
            assert row["SVSTDTC"] and row["SVENDTC"] == row["SVSTDTC"]
    assert any(r["SVOCCUR"] == "N" for r in data["SV"]), "the demo has a missed visit"
    # SE: per participant, ordered and contiguous elements; only the last may be open.
    by_subject: dict[str, list[dict]] = {}
    for row in data["SE"]:
        by_subject.setdefault(row["USUBJID"], []).append(row)
    for rows in by_subject.values():
        assert [int(r["SESEQ"]) for r in rows] == list(range(1, len(rows) + 1))
        assert [int(r["TAETORD"]) for r in rows] == sorted(int(r["TAETORD"]) for r in rows)
        for earlier, later in zip(rows, rows[1:], strict=False):
            assert earlier["SEENDTC"] == later["SESTDTC"]
        for row in rows:
            assert not row["SEENDTC"] or row["SESTDTC"] <= row["SEENDTC"]
    # DM: one record per subject of SE (every SV subject among them); RFSTDTC is the start of
    # the treatment element, and SVSTDY counts from it.
    dm = {r["USUBJID"]: r for r in data["DM"]}
    assert len(dm) == len(data["DM"]) == 27
    assert set(dm) == set(by_subject) >= {r["USUBJID"] for r in data["SV"]}
    day_one = {s: r["SESTDTC"] for s, rs in by_subject.items() for r in rs if r["ETCD"] == "TRT"}
    assert {s: r["RFSTDTC"] for s, r in dm.items() if r["RFSTDTC"]} == day_one
    for row in data["SV"]:
        if row["SVSTDTC"] and dm[row["USUBJID"]]["RFSTDTC"]:
            expected = engine.study_day(
                datetime.date.fromisoformat(row["SVSTDTC"]),
                datetime.date.fromisoformat(dm[row["USUBJID"]]["RFSTDTC"]),
            )
            assert int(row["SVSTDY"]) == expected
        else:
            assert row["SVSTDY"] == ""
    for row in dm.values():
        assert row["USUBJID"] == f"{row['STUDYID']}-{row['SUBJID']}"
        assert row["RFICDTC"] <= row["RFPENDTC"]
        assert not row["RFSTDTC"] or row["RFICDTC"] <= row["RFSTDTC"]
        assert not row["RFENDTC"] or row["RFSTDTC"] <= row["RFENDTC"]
        # One arm, from TA; ARMNRS only and always when an arm variable is null.
        assert row["ARMCD"] in ("", "ARM1") and row["ACTARMCD"] in ("", "ARM1")
        assert (row["ARMNRS"] == "") == bool(row["ACTARMCD"]) == bool(row["RFSTDTC"])
        assert bool(row["ARMCD"]) == bool(row["ARM"]) and bool(row["ACTARMCD"]) == bool(
            row["ACTARM"]
        )
        if not row["ARMCD"]:
            assert row["ARMNRS"] in ("SCREEN FAILURE", "NOT ASSIGNED")
        assert (row["SEX"], row["COUNTRY"]) == ("U", {"OCN": "USA", "BER": "DEU"}[row["SITEID"]])
        for name in ("RFXSTDTC", "RFXENDTC", "DTHDTC", "DTHFL", "AGE", "AGEU", "RACE", "ACTARMUD"):
            assert row[name] == "", name  # recorded nowhere: a null column (docs/sdtm.md)


def test_dm_of_the_demo_names_each_way_through_the_trial(exported):
    """Worked example: the demo's participants, one of each story, as DM states them."""
    folder, _ = exported
    dm = {r["USUBJID"]: r for r in read_csv(folder, "DM")}
    by_status = {}
    for participant in Participant.objects.order_by("subject_id"):
        by_status.setdefault(participant.status, participant)

    def arms(status):
        row = dm[by_status[status].subject_id]
        return (row["ARMCD"], row["ACTARMCD"], row["ARMNRS"])

    # As docs/sdtm.md "DM" counts them.
    assert Counter(r["ARMNRS"] for r in dm.values()) == {
        "": 10,
        "SCREEN FAILURE": 2,
        "ASSIGNED, NOT TREATED": 4,
        "NOT ASSIGNED": 11,
    }
    assert arms(Status.SCREEN_FAILED) == ("", "", "SCREEN FAILURE")
    assert arms(Status.SCREENING) == ("", "", "NOT ASSIGNED")
    assert arms(Status.ENROLLED) == ("ARM1", "", "ASSIGNED, NOT TREATED")
    assert arms(Status.TREATMENT) == ("ARM1", "ARM1", "")
    done = by_status[Status.COMPLETED]
    row = dm[done.subject_id]
    treated_on = done.transitions.get(to_status=Status.TREATMENT).effective_date
    assert row["SUBJID"] == done.subject_id.removeprefix("SLE-001-")
    assert (row["RFICDTC"], row["RFSTDTC"]) == (
        done.consent_date.isoformat(),
        treated_on.isoformat(),
    )
    assert row["RFENDTC"] == row["RFPENDTC"] == done.left_on.isoformat()
    assert row["SITEID"] == done.site.code
    # In the trial: RFPENDTC is the last contact, a visit done or a call that reached them.
    staying = by_status[Status.TREATMENT]
    last_visit = max(v.actual_date for v in staying.visits.exclude(actual_date=None))
    assert dm[staying.subject_id]["RFPENDTC"] >= last_visit.isoformat()
    assert dm[staying.subject_id]["RFENDTC"] == ""


def test_a_site_without_a_country_is_refused_in_one_line_and_nothing_is_written(
    make_participant, tmp_path
):
    participant = make_participant(consent_date=datetime.date(2026, 1, 5))
    assert participant.site.holiday_country == ""
    with pytest.raises(InputError) as refused:
        export(tmp_path / "out")
    assert refused.value.lines == [
        "site OCN: has no country, which DM's COUNTRY needs (set the site's “public holidays "
        "of” country, e.g. US); nothing was written."
    ]
    assert list(tmp_path.iterdir()) == []


def test_two_subject_ids_making_one_usubjid_are_refused(make_participant, site_ocn, tmp_path):
    Site.objects.filter(pk=site_ocn.pk).update(holiday_country="US")
    make_participant(subject_id="SLE-001-101-004")
    make_participant(subject_id="101-004")
    with pytest.raises(InputError) as refused:
        export(tmp_path / "out")
    assert refused.value.lines == [
        "USUBJID SLE-001-101-004: subjects 101-004 and SLE-001-101-004 both make it (they "
        "differ only by the study's code before them); rename one; nothing was written."
    ]
    assert list(tmp_path.iterdir()) == []


def test_sv_names_the_visits_of_the_version_each_participant_followed(exported):
    folder, _ = exported
    sv = read_csv(folder, "SV")
    participants = {p.subject_id: p for p in Participant.objects.select_related("site")}
    followed = Followed.of_all(p.pk for p in participants.values())
    on_two = [
        s
        for s, p in participants.items()
        if followed[p.pk].version_id
        and p.site.code == "OCN"
        and VisitDefinition.objects.filter(
            version_id=followed[p.pk].version_id, version__number="2.0"
        ).exists()
    ]
    assert on_two, "the demo has participants on 2.0 at OCN"
    for row in sv:
        if row["SVPRESP"] != "Y":
            continue
        participant = participants[row["USUBJID"]]
        visit = Visit.objects.get(participant=participant, name__iexact=row["VISIT"])
        # The visit of a version the participant followed (done visits keep theirs,
        # docs/amendments.md), never one a version made not applicable.
        taken = set(
            VersionTakeUp.objects.filter(participant=participant).values_list(
                "version_id", flat=True
            )
        )
        assert visit.version_id in taken, row
        assert followed[participant.pk].version_id in taken
        assert visit.status_on(participant.site.today()) != VisitStatus.NOT_APPLICABLE
        assert VisitDefinition.objects.filter(version_id=visit.version_id, code=visit.code).exists()
    assert any(row["USUBJID"] in on_two for row in sv)
    not_applicable = [
        v
        for v in Visit.objects.select_related("participant__site")
        if v.status_on(v.participant.site.today()) == VisitStatus.NOT_APPLICABLE
    ]
    shown = {(r["USUBJID"], r["VISIT"]) for r in sv}
    for visit in not_applicable:
        assert (visit.participant.subject_id, visit.name.upper()) not in shown


def test_no_name_email_phone_or_address_is_in_any_file(exported):
    folder, _ = exported
    content = b"".join(p.read_bytes() for p in folder.iterdir()).lower()
    secrets = set()
    for participant in Participant.objects.all():
        secrets.add(participant.email)
    for site in Site.objects.all():
        secrets |= {site.coordinator_email, site.phone, site.address, site.name}
    for secret in filter(None, secrets):
        assert secret.lower().encode() not in content, secret
    # No address at all in the text files (the transport files' IBM floats may hold 0x40).
    assert not [p for p in folder.glob("*.csv") if "@" in p.read_text()]


def test_an_output_that_is_a_file_is_refused_in_one_line(protocol, tmp_path):
    target = tmp_path / "sdtm"
    target.write_text("not a folder")
    with pytest.raises(InputError) as refused:
        export(target)
    assert refused.value.lines == [f"{target}: output: is a file, not a folder."]
    assert target.read_text() == "not a folder"


def test_an_output_under_a_file_is_refused_and_leaves_nothing(protocol, tmp_path):
    (tmp_path / "plain").write_text("x")
    target = tmp_path / "plain" / "sdtm"
    with pytest.raises(InputError) as refused:
        export(target)
    assert refused.value.lines == [
        f"{target}: output: {tmp_path / 'plain'} is a file, not a folder."
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["plain"]


def test_an_unknown_protocol_is_refused_in_one_line(protocol, tmp_path):
    with pytest.raises(InputError) as refused:
        call_command("export_sdtm", "--output", str(tmp_path / "x"), "--protocol", "NOPE-1")
    assert refused.value.lines == ["protocol: there is no protocol NOPE-1."]
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_gets_the_files_and_keeps_its_others(protocol, tmp_path):
    (tmp_path / "notes.txt").write_text("kept")
    message = export(tmp_path)
    assert "TA 3, TE 3, TV 14, TS 7, DM 0, SE 0, SV 0" in message
    assert (tmp_path / "notes.txt").read_text() == "kept"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".sdtm-")]
    assert read_csv(tmp_path, "SV") == []


@pytest.mark.parametrize(
    ("trial_phase", "expected"),
    [
        ("", ("", "UNK", "", "")),  # unknown: a null with its null flavor, no code
        # A codelist term that reads like a null flavor is still the term (SDTMIG 3.4 TS
        # assumption 11): TSVALNF stays null.
        ("NOT APPLICABLE", ("NOT APPLICABLE", "", "C48660", "CDISC CT")),
        ("PHASE IIB TRIAL", ("PHASE IIB TRIAL", "", "C49688", "CDISC CT")),
    ],
)
def test_tphase_is_the_protocols_trial_phase_with_its_code_or_unknown(
    protocol, tmp_path, trial_phase, expected
):
    protocol.trial_phase = trial_phase
    protocol.save()
    export(tmp_path / "out")
    (row,) = [r for r in read_csv(tmp_path / "out", "TS") if r["TSPARMCD"] == "TPHASE"]
    assert (row["TSVAL"], row["TSVALNF"], row["TSVALCD"], row["TSVCDREF"]) == expected


def test_unscheduled_visits_number_after_the_visit_before_and_unreached_phases_stay_out(
    make_participant, tmp_path
):
    """Worked example: consent 2026-01-05, screening done that day, two unscheduled visits
    after it, never treated: SV holds SCR (1), UNSCHEDULED 1.01 and 1.02, and the missed
    leukapheresis; no visit of the treatment it never entered."""
    participant = make_participant(consent_date=datetime.date(2026, 1, 5))
    Site.objects.filter(pk=participant.site_id).update(holiday_country="US")
    record_visit(participant, "SCR", on=datetime.date(2026, 1, 5))
    for day in (datetime.date(2026, 1, 9), datetime.date(2026, 1, 12)):
        add_unscheduled_visit(participant, on=day, reason="Rash, seen by the nurse")
    export(tmp_path / "out")
    sv = read_csv(tmp_path / "out", "SV")
    assert [(r["VISITNUM"], r["VISIT"], r["SVPRESP"], r["SVOCCUR"], r["SVSTDTC"]) for r in sv] == [
        ("1", "SCREENING: CONSENT AND ELIGIBILITY", "Y", "Y", "2026-01-05"),
        ("1.01", "UNSCHEDULED 1.01", "", "", "2026-01-09"),
        ("1.02", "UNSCHEDULED 1.02", "", "", "2026-01-12"),
        ("2", "LEUKAPHERESIS", "Y", "N", ""),
    ]
    assert {r["EPOCH"] for r in sv} == {"SCREENING"}
    assert all(r["SVSTDY"] == "" for r in sv)  # no RFSTDTC: never treated
    by_pandas = pandas.read_sas(tmp_path / "out" / "sv.xpt", format="xport", encoding="utf-8")
    assert list(by_pandas["VISITNUM"]) == [1.0, 1.01, 1.02, 2.0]
    assert b"Rash" not in (tmp_path / "out" / "sv.xpt").read_bytes()
    se = read_csv(tmp_path / "out", "SE")
    assert [(r["ETCD"], r["SESTDTC"], r["SEENDTC"]) for r in se] == [("SCRN", "2026-01-05", "")]
    # DM: in screening, so no arm yet and no RFSTDTC; the last contact is the last visit.
    (dm,) = read_csv(tmp_path / "out", "DM")
    assert [dm[v] for v in ("USUBJID", "SUBJID", "RFSTDTC", "RFICDTC", "RFPENDTC")] == [
        "SLE-001-101-001",
        "101-001",
        "",
        "2026-01-05",
        "2026-01-12",
    ]
    assert [dm[v] for v in ("SITEID", "ARMCD", "ARMNRS", "SEX", "COUNTRY")] == [
        "OCN",
        "",
        "NOT ASSIGNED",
        "U",
        "USA",
    ]


# Committed, for the process to see the protocol.
@pytest.mark.django_db(transaction=True)
def test_from_the_command_line_a_refusal_is_one_line_and_exit_1(protocol, tmp_path):
    target = tmp_path / "sdtm"
    target.write_text("not a folder")
    done = subprocess.run(
        [sys.executable, "manage.py", "export_sdtm", "--output", str(target)],
        cwd=Path(settings.BASE_DIR),
        env={**os.environ, "DATABASE_URL": process_database_url()},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"{target}: output: is a file, not a folder."]
    assert done.stdout == ""
    assert target.read_text() == "not a folder"

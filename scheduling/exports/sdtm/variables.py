"""Each SDTM dataset's variables, in SDTMIG 3.4 order: name, label (at most 40 characters),
type and, for character variables, nothing (the length written is the longest value, at
least 1, as SDTMIG's guidance for transport files says). One home: the CSV header, the
``.xpt`` labels and the tests read this table. See docs/sdtm.md."""

from __future__ import annotations

from dataclasses import dataclass

CHAR = "Char"
NUM = "Num"


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    type: str = CHAR


def _vars(*rows: tuple) -> tuple[Variable, ...]:
    return tuple(Variable(*row) for row in rows)


_STUDY = (("STUDYID", "Study Identifier"),)

DATASETS: dict[str, tuple[str, tuple[Variable, ...]]] = {
    "TA": (
        "Trial Arms",
        _vars(
            *_STUDY,
            ("DOMAIN", "Domain Abbreviation"),
            ("ARMCD", "Planned Arm Code"),
            ("ARM", "Description of Planned Arm"),
            ("TAETORD", "Planned Order of Element within Arm", NUM),
            ("ETCD", "Element Code"),
            ("ELEMENT", "Description of Element"),
            ("TABRANCH", "Branch"),
            ("TATRANS", "Transition Rule"),
            ("EPOCH", "Epoch"),
        ),
    ),
    "TE": (
        "Trial Elements",
        _vars(
            *_STUDY,
            ("DOMAIN", "Domain Abbreviation"),
            ("ETCD", "Element Code"),
            ("ELEMENT", "Description of Element"),
            ("TESTRL", "Rule for Start of Element"),
            ("TEENRL", "Rule for End of Element"),
            ("TEDUR", "Planned Duration of Element"),
        ),
    ),
    "TV": (
        "Trial Visits",
        _vars(
            *_STUDY,
            ("DOMAIN", "Domain Abbreviation"),
            ("VISITNUM", "Visit Number", NUM),
            ("VISIT", "Visit Name"),
            ("VISITDY", "Planned Study Day of Visit", NUM),
            ("ARMCD", "Planned Arm Code"),
            ("ARM", "Description of Planned Arm"),
            ("TVSTRL", "Visit Start Rule"),
            ("TVENRL", "Visit End Rule"),
        ),
    ),
    "TS": (
        "Trial Summary",
        _vars(
            *_STUDY,
            ("DOMAIN", "Domain Abbreviation"),
            ("TSSEQ", "Sequence Number", NUM),
            ("TSPARMCD", "Trial Summary Parameter Short Name"),
            ("TSPARM", "Trial Summary Parameter"),
            ("TSVAL", "Parameter Value"),
            ("TSVALNF", "Parameter Null Flavor"),
            ("TSVALCD", "Parameter Value Code"),
            ("TSVCDREF", "Name of the Reference Terminology"),
            # Expected, so present even when null (SDTMIG 3.4 4.1.5); null: docs/sdtm.md "TS".
            ("TSVCDVER", "Version of the Reference Terminology"),
        ),
    ),
    "DM": (
        "Demographics",
        _vars(
            *_STUDY,
            ("DOMAIN", "Domain Abbreviation"),
            ("USUBJID", "Unique Subject Identifier"),
            ("SUBJID", "Subject Identifier for the Study"),
            ("RFSTDTC", "Subject Reference Start Date/Time"),
            ("RFENDTC", "Subject Reference End Date/Time"),
            ("RFXSTDTC", "Date/Time of First Study Treatment"),
            ("RFXENDTC", "Date/Time of Last Study Treatment"),
            ("RFICDTC", "Date/Time of Informed Consent"),
            ("RFPENDTC", "Date/Time of End of Participation"),
            ("DTHDTC", "Date/Time of Death"),
            ("DTHFL", "Subject Death Flag"),
            ("SITEID", "Study Site Identifier"),
            ("AGE", "Age", NUM),
            ("AGEU", "Age Units"),
            ("SEX", "Sex"),
            ("RACE", "Race"),
            ("ARMCD", "Planned Arm Code"),
            ("ARM", "Description of Planned Arm"),
            ("ACTARMCD", "Actual Arm Code"),
            ("ACTARM", "Description of Actual Arm"),
            ("ARMNRS", "Reason Arm and/or Actual Arm is Null"),
            ("ACTARMUD", "Description of Unplanned Actual Arm"),
            ("COUNTRY", "Country"),
        ),
    ),
    "SE": (
        "Subject Elements",
        _vars(
            *_STUDY,
            ("DOMAIN", "Domain Abbreviation"),
            ("USUBJID", "Unique Subject Identifier"),
            ("SESEQ", "Sequence Number", NUM),
            ("ETCD", "Element Code"),
            ("ELEMENT", "Description of Element"),
            ("TAETORD", "Planned Order of Element within Arm", NUM),
            ("EPOCH", "Epoch"),
            ("SESTDTC", "Start Date/Time of Element"),
            ("SEENDTC", "End Date/Time of Element"),
        ),
    ),
    "SV": (
        "Subject Visits",
        _vars(
            *_STUDY,
            ("DOMAIN", "Domain Abbreviation"),
            ("USUBJID", "Unique Subject Identifier"),
            ("VISITNUM", "Visit Number", NUM),
            ("VISIT", "Visit Name"),
            ("SVPRESP", "Pre-specified", CHAR),
            ("SVOCCUR", "Occurrence", CHAR),
            ("SVREASOC", "Reason for Occur Value", CHAR),
            ("EPOCH", "Epoch"),
            ("SVSTDTC", "Start Date/Time of Visit"),
            ("SVENDTC", "End Date/Time of Visit"),
            ("SVSTDY", "Study Day of Start of Visit", NUM),
            ("SVENDY", "Study Day of End of Visit", NUM),
        ),
    ),
}

# The order the command writes and reports them in.
DOMAINS = ("TA", "TE", "TV", "TS", "DM", "SE", "SV")

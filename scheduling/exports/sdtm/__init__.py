"""CDISC SDTM export (issue 25): the trial design datasets TA, TE, TV, TS and the subject
datasets DM, SE and SV, written as CSV and SAS transport version 5. See docs/sdtm.md for the
mapping of every variable and the decisions taken.

Modules: ``variables`` (the one table of each dataset's variables), ``mapping`` (pure
mappings on plain values), ``datasets`` (the rows read from the timeline; DM's in
``demographics``), ``writing`` (CSV and ``.xpt`` into a temporary folder, moved in place)."""

from __future__ import annotations

from pathlib import Path

from participants.models import Protocol


def export(protocol: Protocol, output: Path, today_of=None) -> dict[str, int]:
    """Write every dataset of ``protocol`` into ``output``, all or nothing; the number of
    rows of each dataset. Raises ``writing.OutputError`` when the folder cannot be written,
    ``demographics.DatasetError`` when the data cannot be written as SDTM (a site without a
    country) and ``ValueError`` when the protocol has no released plan."""
    from scheduling.exports.sdtm import datasets, writing

    design = datasets.Design.read(protocol)
    subjects = datasets.subject_datasets(design, today_of)
    tables = {
        "TA": datasets.trial_arms(design),
        "TE": datasets.trial_elements(design),
        "TV": datasets.trial_visits(design),
        "TS": datasets.trial_summary(design),
        "DM": subjects.dm,
        "SE": subjects.se,
        "SV": subjects.sv,
    }
    writing.write_all(output, tables)
    return {domain: len(rows) for domain, rows in tables.items()}

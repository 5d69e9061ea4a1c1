"""Writing the datasets: one CSV (UTF-8, header = variable names) and one SAS transport file
version 5 (``<domain>.xpt``, by pyreadstat) per dataset, into a temporary folder beside the
output, then moved in place, so a failure leaves no partial output. See docs/sdtm.md
"Files"."""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import pandas
import pyreadstat

from scheduling.exports.sdtm.variables import DATASETS, NUM


class OutputError(Exception):
    """The output folder cannot be written: one sentence saying what and where."""


def frame(domain: str, rows: list[dict]) -> pandas.DataFrame:
    """The dataset as a table in its variables' order: numbers as floats (null: NaN),
    characters as text (null: empty)."""
    _, variables = DATASETS[domain]
    columns = {}
    for variable in variables:
        values = [row.get(variable.name) for row in rows]
        if variable.type == NUM:
            columns[variable.name] = pandas.Series(
                [float(v) if v is not None and v != "" else float("nan") for v in values],
                dtype="float64",
            )
        else:
            columns[variable.name] = pandas.Series(
                ["" if v is None else str(v) for v in values], dtype=object
            )
    return pandas.DataFrame(columns)


def _csv_value(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


# SAS transport version 5 holds at most 200 bytes in a character variable (pyreadstat would
# write a longer one, which SAS and validators refuse).
LONGEST_TEXT = 200


def write_dataset(folder: Path, domain: str, rows: list[dict]) -> None:
    label, variables = DATASETS[domain]
    names = [v.name for v in variables]
    for number, row in enumerate(rows, start=1):
        for name in names:
            size = len(_csv_value(row.get(name)).encode("utf-8"))
            if size > LONGEST_TEXT:
                raise OutputError(
                    f"{domain} record {number}: {name}: {size} bytes, over the "
                    f"{LONGEST_TEXT} a transport file holds; nothing was written."
                )
    with open(folder / f"{domain.lower()}.csv", "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        for row in rows:
            writer.writerow([_csv_value(row.get(name)) for name in names])
    table = frame(domain, rows)
    pyreadstat.write_xport(
        table,
        str(folder / f"{domain.lower()}.xpt"),
        file_label=label,
        column_labels={v.name: v.label for v in variables},
        table_name=domain,
        file_format_version=5,
    )


def write_all(output: Path, datasets: dict[str, list[dict]]) -> None:
    """Every dataset into ``output`` (created; files of the same names replaced), all or
    nothing; a folder that cannot be written (a name too long, a device) is one OutputError."""
    try:
        _write_all(output, datasets)
    except OSError as error:
        raise OutputError(
            f"{output}: output: cannot be written ({error.strerror or error})."
        ) from None


def _write_all(output: Path, datasets: dict[str, list[dict]]) -> None:
    if output.exists() and not output.is_dir():
        raise OutputError(f"{output}: output: is a file, not a folder.")
    parent = output.parent if output.exists() else _existing_parent(output)
    try:
        staging = Path(tempfile.mkdtemp(prefix=".sdtm-", dir=parent))
    except OSError as error:
        raise OutputError(
            f"{output}: output: cannot be written ({error.strerror or error})."
        ) from None
    try:
        # mkdtemp's folder is the owner's only; the output is read as any folder is.
        os.chmod(staging, 0o755)  # noqa: S103
        for domain, rows in datasets.items():
            write_dataset(staging, domain, rows)
        if not output.exists():
            # A new folder appears whole: the staging folder is renamed to it.
            output.parent.mkdir(parents=True, exist_ok=True)
            os.rename(staging, output)
            return
        if not os.access(output, os.W_OK):
            raise OutputError(f"{output}: output: cannot be written (permission denied).")
        for path in sorted(staging.iterdir()):
            os.replace(path, output / path.name)
    except OSError as error:
        raise OutputError(
            f"{output}: output: cannot be written ({error.strerror or error})."
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _existing_parent(path: Path) -> Path:
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"{path}: output: {parent} is a file, not a folder.")
            return parent
    return Path("/")

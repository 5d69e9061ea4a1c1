"""Compile the project's translations (every ``*/locale/*/LC_MESSAGES/*.po``) to ``.mo`` files.

Run by ``make install`` (so by ``make demo`` and ``make test``) and by the Dockerfile: the
``.po`` files are the source in the repository, the compiled ``.mo`` files are not committed.
Pure Python (polib), so no gettext tools are needed. Exits 1 naming a file that does not
parse, or an entry marked fuzzy or left empty.
"""

import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
APPS = ("participants", "scheduling", "trialsite")


def main() -> int:
    problems, compiled = [], 0
    for app in APPS:
        for po_path in sorted((ROOT / app).glob("locale/*/LC_MESSAGES/*.po")):
            try:
                catalog = polib.pofile(str(po_path))
            except (OSError, ValueError) as error:
                problems.append(f"{po_path.relative_to(ROOT)}: {error}")
                continue
            for entry in catalog:
                if entry.obsolete:
                    continue
                # A plural entry's texts are its msgstr[n], one per plural form.
                texts = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
                if "fuzzy" in entry.flags or not texts or not all(texts):
                    problems.append(
                        f"{po_path.relative_to(ROOT)}:{entry.linenum}: msgid {entry.msgid!r} "
                        "has no finished translation"
                    )
            mo_path = po_path.with_suffix(".mo")
            catalog.save_as_mofile(str(mo_path))
            compiled += 1
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"compiled {compiled} translation catalogue(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

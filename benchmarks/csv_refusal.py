"""A CSV import refused row after row, as a file where every row names an unknown site: the
peak memory and the time of ``manage.py import_participants`` on a large file, against the same
command on a ten-row file of the same kind (the floor: Django and the command starting up).

Issue 21: a 50 MB file of that kind took 1.5-2.2 GB and up to 177 s, and printed 1.2 million
error lines. The file is now read, checked and saved a chunk of rows at a time, and the
refusal lists the first 100 errors then a count: the peak memory should stay that of the
ten-row file whatever the size (target: at most 1.5×).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from _measure import SCRATCH

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = """
import os, resource, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings")
import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
from participants.cli import InputError
get_user_model().objects.update_or_create(
    username="bench", defaults={"is_staff": True, "is_superuser": True}
)
lines = 0
try:
    call_command("import_participants", sys.argv[1], "--by", "bench")
except InputError as error:
    lines = len(error.lines)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, lines)
"""


def bad_file(rows: int) -> Path:
    """``rows`` participants, each at a site that does not exist (about 60 bytes a row)."""
    path = SCRATCH / f"refused_{rows}.csv"
    if not path.exists():
        with path.open("w") as out:
            out.write("subject_id,site_code,email,consent_date\n")
            for number in range(rows):
                out.write(f"SLE-001-9{number:07d},NOPE,p{number}@example.org,2026-01-05\n")
    return path


def run(env: dict, rows: int) -> dict:
    """One refused import in a process of its own: peak resident memory, seconds, lines."""
    path = bad_file(rows)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(path)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.monotonic() - started
    peak, lines = result.stdout.split()[-2:]
    return {
        "peak_mb": float(peak),
        "seconds": seconds,
        "lines": int(lines),
        "megabytes": path.stat().st_size / 1e6,
    }

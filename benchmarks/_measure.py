"""What every benchmark process measures with: SQL statements, medians, the scratch folder."""

from __future__ import annotations

import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "var" / "bench"


class Statements:
    """A Django ``execute_wrapper`` counting every statement sent (savepoints included; the
    commit is the driver's own call and is not counted)."""

    def __init__(self, keep: bool = False):
        self.count = 0
        self.keep = keep
        self.executed: list[tuple[str, object]] = []

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        if self.keep:
            self.executed.append((sql, params))
        return execute(sql, params, many, context)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def quiet_django() -> None:
    """Production-like processes: no query log kept in memory (``make bench`` runs with DEBUG
    on, as ``make test`` does, so that static files and hosts need no set-up), no per-row
    INFO lines from the dispatcher."""
    import logging

    from django.conf import settings

    settings.DEBUG = False
    logging.getLogger("scheduling").setLevel(logging.WARNING)
    logging.getLogger("axes").setLevel(logging.WARNING)

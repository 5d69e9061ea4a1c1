"""The harness of `make bench` (benchmarks/run.py): the sizes, the rows of the table, the
workloads' shared state (``Bench``: the database server, a database per workload copied from
one migrated template, the services' environment) and the figures' formats."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import _data

from trialsite import embedded_postgres

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VAR = Path(os.environ.get("VAR_DIR") or ROOT / "var")

SIZES = {
    "small": {
        "import_sizes": (100, 1_000),
        "import_rounds": 3,
        "tick": (10_000, 100_000),
        "tick_rounds": 15,
        "pages_large": 10,  # site copies: about 1,000 participants
        "page_rounds": 5,
        "network": (10, 1_000, 10_000),  # sites; participants few, many
        "network_rounds": 3,
        "api_rounds": 7,  # single-client requests per size
        "api_clients": 16,
        "api_requests": 10,  # per concurrent client and round
        "api_load_rounds": 2,
        "dispatch_due": 500,
        "dispatch_rounds": 2,
        "memory_due": 5_000,
        "memory_seconds": 0,
        "refusal_rows": (20_000,),
    },
    "full": {
        "import_sizes": (1_000, 10_000),
        "import_rounds": 3,
        "tick": (10_000, 1_000_000),
        "tick_rounds": 15,
        "pages_large": 100,  # about 10,000 participants
        "page_rounds": 7,
        "network": (10, 1_000, 100_000),
        "network_rounds": 5,
        "api_rounds": 15,
        "api_clients": 16,
        "api_requests": 20,
        "api_load_rounds": 2,
        "dispatch_due": 10_000,
        "dispatch_rounds": 1,
        "memory_due": 100_000,
        "memory_seconds": None,  # what is left of WHOLE_RUN, at least three minutes
        "refusal_rows": (100_000, 800_000),  # about 6 and 50 MB
    },
}
# 17 minutes of measuring: with a fresh clone's `make install` (about 2), `make bench` stays
# under 20.
WHOLE_RUN = 17 * 60
DISPATCHERS = (1, 2, 4)


@dataclass
class Row:
    workload: str
    size: str
    product: float | None
    baseline: float | None
    unit: str
    ratio: float | None
    target: str
    met: bool | None
    sql: str = ""
    note: str = ""
    samples: dict = field(default_factory=dict)


class Bench:
    def __init__(self, size: str):
        self.size = size
        self.config = dict(SIZES[size])
        if os.environ.get("BENCH_ROUNDS"):  # the slow workloads' rounds (a quick "before")
            rounds = int(os.environ["BENCH_ROUNDS"])
            self.config.update(import_rounds=rounds, dispatch_rounds=rounds)
        self.started = time.monotonic()
        # The embedded servers (started by `make bench` through trialsite.local_services) when
        # no URL is given.
        self.url = os.environ.get("DATABASE_URL") or embedded_postgres.database_url(
            "trialsite", str(embedded_postgres.socket_dir(VAR))
        )
        self.name = "bench_" + _data.database_name(self.url)
        self.template = f"{self.name}_template"
        self.rows: list[Row] = []
        self.extra: dict = {}
        self.env = {
            "DEBUG": os.environ.get("DEBUG", "true"),
            "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL")
            or f"redis+socket://{VAR / 'redis' / 'redis.sock'}",
            "EMAIL_URL": "",  # nothing but the dispatch workloads sends, and those to loopback
        }

    def log(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"[{elapsed:6.0f} s] {text}", file=sys.stderr, flush=True)

    def database(self, workload: str) -> dict:
        url = _data.create_database(self.url, f"{self.name}_{workload}", template=self.template)
        return {**self.env, "DATABASE_URL": url}

    def drop(self, env: dict) -> None:
        _data.drop_database(self.url, _data.database_name(env["DATABASE_URL"]))

    def add(self, row: Row) -> None:
        self.rows.append(row)
        product, baseline = _figure(row.product, row.unit), _figure(row.baseline, row.unit)
        self.log(f"{row.workload} {row.size}: {product} vs {baseline} ({_ratio(row.ratio)})")


def _figure(value, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "msg/s":
        return f"{value:.0f} msg/s"
    if unit == "MB":
        return f"{value:.0f} MB"
    return f"{value:g} {unit}"


def _ratio(value) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _columns(header: tuple, lines: list[tuple]) -> list[str]:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *lines, strict=True)]
    out = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    return out


def table(rows: list[Row]) -> str:
    header = ("workload", "size", "product", "baseline", "ratio", "target", "met", "SQL")
    lines = [
        (
            row.workload,
            row.size,
            _figure(row.product, row.unit),
            _figure(row.baseline, row.unit),
            _ratio(row.ratio),
            row.target,
            {True: "yes", False: "NO", None: "—"}[row.met],
            row.sql,
        )
        for row in rows
    ]
    notes = [f"- {row.workload} ({row.size}): {row.note}" for row in rows if row.note]
    return "\n".join(_columns(header, lines) + ([""] + notes if notes else []))

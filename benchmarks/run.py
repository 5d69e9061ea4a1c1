"""`make bench`: every workload of issue 14 against its baseline measured in the same run, one
table, and the same as JSON (``var/bench.json``) so that two runs can be compared.

    make bench                          # the issue's sizes, under 20 minutes on 2 cores
    BENCH_SIZE=small make bench         # the same workloads, smaller: about 3 minutes
    python benchmarks/run.py --compare var/bench-before.json var/bench.json

Workloads, one module each: ``imports`` (import_participants against one multi-row INSERT per
table), ``csv_refusal`` (the peak memory of an import refused on every row, large file against
a ten-row one), ``idle_tick`` (a tick with nothing due, many pending reminders against few),
``pages`` (four staff pages, many participants against few), ``network_pages`` (the six
pages a monitor opens, 100,000 participants over 10 sites against 1,000, with every query's
plan), ``api_visits`` (the API's visit list of one site for two weeks, a page of 100, 100,000
participants over 10 sites against 1,000: one client through the test client, then 16
concurrent clients against gunicorn; the visits query's plan), ``dispatching`` (N due reminders
by 1, 2 and 4 dispatchers against plain smtplib; and the peak memory of one dispatcher over
100,000, which dispatches for what is left of 17 minutes unless BENCH_MEMORY_SECONDS says
otherwise: at today's dispatch rate it cannot send all 100,000 in that time, and says how
many it sent). ``_data`` makes the rows (copies of what the product wrote), ``smtp_sink`` is
the loopback SMTP server, ``_child`` runs each measurement in a process of its own. Here only
the order of the workloads, the table and the file: ``_bench`` holds the sizes, the rows and
the shared state, ``_data_workloads`` and ``_service_workloads`` run the workloads and make
their rows.

PostgreSQL (``DATABASE_URL``: its server is used, never its database: each workload gets its
own, ``bench_<name>_<workload>``, copied from one migrated template and dropped at the end) and
Redis (``CELERY_BROKER_URL``), as in CI. Every measurement runs in a process of its own
(``_child.py``); product and baseline runs alternate and the table gives medians. Timings are
never asserted: targets are printed beside the figures.

Environment: ``BENCH_SIZE`` (``full``, ``small``), ``BENCH_ONLY`` (workload names,
comma-separated: imports, csv_refusal, idle_tick, pages, dispatch, memory, network_pages,
api_visits),
``BENCH_OUTPUT`` (the JSON file), ``BENCH_MEMORY_SECONDS`` (how long the memory workload may
dispatch; 0: to the end), ``BENCH_ROUNDS`` (rounds of the import and dispatch workloads),
``BENCH_PROFILE`` (a file for the cProfile statistics of one more one-dispatcher run, after the
measured ones and not counted in them: ``python -m pstats FILE``).
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import _data  # noqa: E402
from _bench import SIZES, Bench, _columns, _figure, _ratio, table  # noqa: E402
from _data_workloads import (  # noqa: E402
    csv_refusal_workload,
    idle_tick_workload,
    imports_workload,
    network_pages_workload,
    pages_workload,
)
from _measure import SCRATCH  # noqa: E402
from _service_workloads import api_visits_workload, dispatch_workload, memory_workload  # noqa: E402

WORKLOADS = {
    "imports": imports_workload,
    "csv_refusal": csv_refusal_workload,
    "idle_tick": idle_tick_workload,
    "pages": pages_workload,
    "dispatch": dispatch_workload,
    "memory": memory_workload,
    # Last: the memory workload's time is what is left of WHOLE_RUN, which this one does not
    # take from it (about 5 minutes more, 3 of them storing 100,000 participants).
    "network_pages": network_pages_workload,
    "api_visits": api_visits_workload,
}


# The plans and the file.


def print_plans(plans: dict) -> None:
    for number, query in enumerate(plans.get("many", []), 1):
        print(f"\n-- query {number} of the idle tick --\n{query['sql']}\n{query['plan']}")


def print_page_plans(pages: dict) -> None:
    """Each query of each monitor's page with many participants, and its plan."""
    for page, plans in pages.items():
        for number, query in enumerate(plans.get("many", []), 1):
            print(
                f"\n-- query {number} of the monitor's {page} --\n{query['sql']}\n{query['plan']}"
            )


def _git() -> dict:
    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "changed_files": len(git("status", "--short").splitlines()),
    }


def compare(before_path: str, after_path: str) -> int:
    """Two runs' JSON side by side, row by row (matched by workload and size)."""
    before = {
        (r["workload"], r["size"]): r for r in json.loads(Path(before_path).read_text())["rows"]
    }
    lines = []
    for row in json.loads(Path(after_path).read_text())["rows"]:
        old = before.get((row["workload"], row["size"]), {})
        lines.append(
            (
                row["workload"],
                row["size"],
                _figure(old.get("product"), row["unit"]),
                _figure(row["product"], row["unit"]),
                _ratio(old.get("ratio")),
                _ratio(row["ratio"]),
                row["target"],
            )
        )
    header = ("workload", "size", "before", "after", "ratio before", "ratio after", "target")
    print("\n".join(_columns(header, lines)))
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--compare"]:
        return compare(argv[1], argv[2])
    size = os.environ.get("BENCH_SIZE", "full")
    if size not in SIZES:
        print(f"BENCH_SIZE must be one of {', '.join(SIZES)}, not {size!r}.")
        return 2
    only = [w for w in os.environ.get("BENCH_ONLY", "").split(",") if w] or list(WORKLOADS)
    unknown = set(only) - set(WORKLOADS)
    if unknown:
        print(f"BENCH_ONLY: no workload {', '.join(sorted(unknown))} ({', '.join(WORKLOADS)}).")
        return 2
    sys.path.insert(0, str(ROOT))
    from tests import preflight

    bench = Bench(size)
    services = (("PostgreSQL", bench.url, 5432), ("Redis", bench.env["CELERY_BROKER_URL"], 6379))
    for name, url, port in services:
        address, ok = preflight.reachable(url, port)
        if not ok:
            print(f"bench: {name} is unreachable at {address}; {preflight.HINT}")
            return 2
    SCRATCH.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    bench.log(f"BENCH_SIZE={size}: migrating the template database {bench.template}")
    template_url = _data.create_database(bench.url, bench.template)
    try:
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--verbosity", "0"],
            env={**os.environ, **bench.env, "DATABASE_URL": template_url},
            check=True,
        )
        for name in only:
            bench.log(f"== {name}")
            WORKLOADS[name](bench)
    finally:
        _data.drop_database(bench.url, bench.template)
    seconds = time.monotonic() - bench.started
    load_after = os.getloadavg()[0]
    print(
        f"\n`make bench`, BENCH_SIZE={size}: medians of alternated runs; {seconds / 60:.1f} "
        f"minutes in all on {os.cpu_count()} cores (load average {load_before[0]:.1f} at the "
        f"start, {load_after:.1f} at the end)\n"
    )
    print(table(bench.rows))
    if "idle_tick_plans" in bench.extra:
        print_plans(bench.extra["idle_tick_plans"])
    if "network_page_plans" in bench.extra:
        print_page_plans(bench.extra["network_page_plans"])
    if bench.extra.get("api_visits_plans"):
        plan = bench.extra["api_visits_plans"].get("many")
        if plan:
            print(
                f"\n-- the visits query of {bench.extra['api_visits_path']} (many) --\n"
                f"{plan['sql']}\n{plan['plan']}"
            )
    output = Path(os.environ.get("BENCH_OUTPUT", ROOT / "var" / "bench.json"))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        json.dumps(
            {
                "size": size,
                "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "seconds": round(seconds),
                "cores": os.cpu_count(),
                "load_average": [load_before[0], load_after],
                "git": _git(),
                "rows": [row.__dict__ for row in bench.rows],
                "extra": bench.extra,
            },
            indent=1,
        )
    )
    print(f"\nwritten to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

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
the loopback SMTP server, ``_child`` runs each measurement in a process of its own.

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
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import _data  # noqa: E402
from _child import Child, once  # noqa: E402
from _measure import SCRATCH, median  # noqa: E402

sys.path.insert(0, str(ROOT))
from trialsite import embedded_postgres  # noqa: E402

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


# The workloads (each in its module's processes; here, only the order of runs and the rows).


def imports_workload(bench: Bench) -> None:
    env = bench.database("import")
    try:
        per_participant = once(env, "imports", "prepare")
        bench.extra["import_rows_per_participant"] = per_participant
        medians = {}
        for size in bench.config["import_sizes"]:
            runs = {"product": [], "insert": [], "copy": []}
            statements = []
            for round_number in range(bench.config["import_rounds"]):
                result = once(env, "imports", "product", size=size)
                runs["product"].append(result["seconds"])
                statements.append(result["statements"])
                product_rows = result["rows"]
                # COPY, the floor below the baseline, once a size: for the notes only.
                for method in ("insert", "copy") if round_number == 0 else ("insert",):
                    result = once(env, "imports", "baseline", size=size, method=method)
                    runs[method].append(result["seconds"])
                    assert result["rows"] == product_rows, (result["rows"], product_rows)
                bench.log(
                    f"import {size}: product {runs['product'][-1]:.2f} s, "
                    f"INSERT {runs['insert'][-1]:.2f} s"
                )
            product, insert = median(runs["product"]), median(runs["insert"])
            medians[size] = product
            bench.add(
                Row(
                    "import_participants",
                    f"{size:,} participants",
                    product,
                    insert,
                    "s",
                    product / insert,
                    "≤ 2.0×",
                    product / insert <= 2.0,
                    sql=f"{median(statements):,.0f} in all, "
                    f"{median(statements) / size:.2g} per participant",
                    note=f"baseline: one multi-row INSERT per table; one COPY per table: "
                    f"{median(runs['copy']):.2f} s",
                    samples=runs,
                )
            )
        small, large = bench.config["import_sizes"]
        growth = medians[large] / medians[small]
        limit = 10.5 * large / small / 10
        bench.add(
            Row(
                "import_participants growth",
                f"{large:,} vs {small:,}",
                medians[large],
                medians[small],
                "s",
                growth,
                f"≤ {limit:.1f}× ({large // small}× the rows)",
                growth <= limit,
            )
        )
    finally:
        bench.drop(env)


def idle_tick_workload(bench: Bench) -> None:
    few, many = bench.config["tick"]
    envs = {}
    try:
        stored = {}
        for label, pending in (("few", few), ("many", many)):
            envs[label] = bench.database(f"tick_{label}")
            stored[label] = once(envs[label], "idle_tick", "prepare", pending=pending)
            pending, seconds = stored[label]["pending"], stored[label]["load_seconds"]
            bench.log(f"idle tick: {pending:,} pending reminders stored ({seconds:.0f} s)")
        children = {label: Child(env, "idle_tick", "ticker") for label, env in envs.items()}
        try:
            for child in children.values():
                child.request()  # warm: the first tick of a process loads templates, zones…
            times = {"few": [], "many": []}
            statements = {}
            for _ in range(bench.config["tick_rounds"]):
                for label, child in children.items():
                    result = child.request()
                    times[label].append(result["seconds"] * 1000)
                    statements[label] = result["statements"]
            plans = {
                label: child.request(explain=True)["plans"] for label, child in children.items()
            }
        finally:
            for child in children.values():
                child.close()
        bench.extra["idle_tick_plans"] = plans
        scans = sorted({t for plan in plans["many"] for t in plan["seq_scans"]})
        pages = {label: [plan["pages"] for plan in plans[label]] for label in plans}
        # A query that reads more pages with more rows stored grows with them.
        growing = [
            number
            for number, (few_pages, many_pages) in enumerate(
                zip(pages["few"], pages["many"], strict=False), 1
            )
            if many_pages > 2 * few_pages + 8
        ]
        product, baseline = median(times["many"]), median(times["few"])
        notes = [f"pages read per query: {pages['many']} ({pages['few']} with few)"]
        if scans:
            notes.append("sequential scans of " + ", ".join(scans))
        if growing:
            notes.append("queries reading more with more rows: " + ", ".join(map(str, growing)))
        bench.add(
            Row(
                "idle dispatch tick",
                f"{stored['many']['pending']:,} vs {stored['few']['pending']:,} pending",
                product,
                baseline,
                "ms",
                product / baseline,
                "≤ 1.2×, every query on an index",  # judged by pages read: see the note
                product / baseline <= 1.2 and not growing,
                sql=f"{statements['many']} per tick ({statements['few']} with few)",
                note="; ".join(notes),
                samples=times,
            )
        )
    finally:
        for env in envs.values():
            bench.drop(env)


def pages_workload(bench: Bench) -> None:
    envs = {}
    try:
        counts = {}
        for label, large in (("few", False), ("many", True)):
            envs[label] = bench.database(f"pages_{label}")
            copies = bench.config["pages_large"] if large else 1
            counts[label] = once(envs[label], "pages", "prepare", site_copies=copies)
            bench.log(f"pages: {counts[label]['participants']:,} participants stored")
        children = {label: Child(env, "pages", "browser") for label, env in envs.items()}
        try:
            pages = children["few"].request()
            for page in pages:
                for child in children.values():
                    child.request(page=page)  # warm: templates compiled, caches filled
            results = {page: {"few": [], "many": []} for page in pages}
            for _ in range(bench.config["page_rounds"]):
                for page in pages:
                    for label, child in children.items():
                        results[page][label].append(child.request(page=page))
        finally:
            for child in children.values():
                child.close()
        for page in pages:
            few = [r["seconds"] * 1000 for r in results[page]["few"]]
            many = [r["seconds"] * 1000 for r in results[page]["many"]]
            sql_few = {r["statements"] for r in results[page]["few"]}
            sql_many = {r["statements"] for r in results[page]["many"]}
            ratio = median(many) / median(few)
            same = sql_few == sql_many and len(sql_many) == 1
            bench.add(
                Row(
                    f"page: {page}",
                    f"{counts['many']['participants']:,} vs {counts['few']['participants']:,} "
                    "participants",
                    median(many),
                    median(few),
                    "ms",
                    ratio,
                    "≤ 1.5×, same queries",
                    ratio <= 1.5 and same,
                    sql=f"{'/'.join(map(str, sorted(sql_many)))} queries "
                    f"({'/'.join(map(str, sorted(sql_few)))} with few)",
                    samples={"few": few, "many": many},
                )
            )
    finally:
        for env in envs.values():
            bench.drop(env)


def network_pages_workload(bench: Bench) -> None:
    """The monitor's pages over a whole network, many participants against few on the same
    sites; each page's plans (EXPLAIN ANALYZE, BUFFERS) at both sizes."""
    sites, few, many = bench.config["network"]
    envs = {}
    try:
        counts = {}
        for label, participants in (("few", few), ("many", many)):
            envs[label] = bench.database(f"network_{label}")
            counts[label] = once(
                envs[label], "network_pages", "prepare", sites=sites, participants=participants
            )
            bench.log(
                f"network pages: {counts[label]['participants']:,} participants over "
                f"{counts[label]['sites']} sites stored ({counts[label]['load_seconds']:.0f} s)"
            )
        children = {label: Child(env, "network_pages", "browser") for label, env in envs.items()}
        try:
            pages = children["few"].request()
            for page in pages:
                for child in children.values():
                    child.request(page=page)  # warm: templates compiled, caches filled
            results = {page: {"few": [], "many": []} for page in pages}
            for _ in range(bench.config["network_rounds"]):
                for page in pages:
                    for label, child in children.items():
                        results[page][label].append(child.request(page=page))
            plans = {
                page: {
                    label: child.request(page=page, explain=True)["plans"]
                    for label, child in children.items()
                }
                for page in pages
            }
        finally:
            for child in children.values():
                child.close()
        bench.extra["network_page_plans"] = plans
        for page in pages:
            few_ms = [r["seconds"] * 1000 for r in results[page]["few"]]
            many_ms = [r["seconds"] * 1000 for r in results[page]["many"]]
            sql_few = {r["statements"] for r in results[page]["few"]}
            sql_many = {r["statements"] for r in results[page]["many"]}
            ratio = median(many_ms) / median(few_ms)
            same = sql_few == sql_many and len(sql_many) == 1
            scans = sorted({t for plan in plans[page]["many"] for t in plan["seq_scans"]})
            slowest = max(plans[page]["many"], key=lambda plan: plan["ms"] or 0, default=None)
            notes = [
                "pages read per query: "
                f"{[plan['pages'] for plan in plans[page]['many']]} "
                f"({[plan['pages'] for plan in plans[page]['few']]} with few)"
            ]
            if slowest is not None:
                notes.append(f"slowest query {slowest['ms']:.1f} ms")
            if scans:
                notes.append("sequential scans of " + ", ".join(scans))
            bench.add(
                Row(
                    f"monitor: {page}",
                    f"{counts['many']['participants']:,} vs {counts['few']['participants']:,} "
                    f"participants, {sites} sites",
                    median(many_ms),
                    median(few_ms),
                    "ms",
                    ratio,
                    "≤ 1.5×, same queries, on indexes",
                    ratio <= 1.5 and same and not scans,
                    sql=f"{'/'.join(map(str, sorted(sql_many)))} queries "
                    f"({'/'.join(map(str, sorted(sql_few)))} with few)",
                    note="; ".join(notes),
                    samples={"few": few_ms, "many": many_ms},
                )
            )
    finally:
        for env in envs.values():
            bench.drop(env)


def _free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


def _serve(env: dict, port: int) -> subprocess.Popen:
    """gunicorn serving the app on 127.0.0.1:``port`` (2 workers of 8 threads: the 2 cores),
    its access log off; returns once it answers."""
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "trialsite.wsgi",
            "--config", str(ROOT / "gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{port}",
            "--workers", "2", "--threads", "8",
            "--access-logfile", "/dev/null", "--log-level", "warning",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn ended (exit status {server.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise RuntimeError("gunicorn did not answer within 60 s")


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def api_visits_workload(bench: Bench) -> None:
    """The API's visit list of one site for two weeks, many participants against few on the
    same sites: one client at a time (test client, statements counted), then concurrent
    clients against gunicorn serving each database in turn; the visits query's plan."""
    sites, few, many = bench.config["network"]
    clients = bench.config["api_clients"]
    envs, counts = {}, {}
    try:
        for label, participants in (("few", few), ("many", many)):
            envs[label] = bench.database(f"api_{label}")
            counts[label] = once(
                envs[label], "api_visits", "prepare", sites=sites, participants=participants
            )
            bench.log(
                f"api visits: {counts[label]['participants']:,} participants over "
                f"{counts[label]['sites']} sites stored ({counts[label]['load_seconds']:.0f} s), "
                f"{counts[label]['booked_in_range']:,} booked visits of the site in the range"
            )
        size = (
            f"{counts['many']['participants']:,} vs {counts['few']['participants']:,} "
            f"participants, {sites} sites"
        )
        children = {
            label: Child(env, "api_visits", "client", key=counts[label]["key"],
                         path=counts[label]["path"])
            for label, env in envs.items()
        }  # fmt: skip
        try:
            for child in children.values():
                child.request()  # warm
            single = {"few": [], "many": []}
            for _ in range(bench.config["api_rounds"]):
                for label, child in children.items():
                    single[label].append(child.request())
            plans = {
                label: child.request(explain=True)["plan"] for label, child in children.items()
            }
        finally:
            for child in children.values():
                child.close()
        bench.extra["api_visits_plans"] = plans
        bench.extra["api_visits_path"] = counts["many"]["path"]
        few_ms = [r["seconds"] * 1000 for r in single["few"]]
        many_ms = [r["seconds"] * 1000 for r in single["many"]]
        sql_few = {r["statements"] for r in single["few"]}
        sql_many = {r["statements"] for r in single["many"]}
        same = sql_few == sql_many and len(sql_many) == 1
        rows = {label: {r["rows"] for r in single[label]} for label in single}
        ratio = median(many_ms) / median(few_ms)
        plan = plans["many"]
        notes = [f"rows on the page: {sorted(rows['many'])} ({sorted(rows['few'])} with few)"]
        if plan is None:
            notes.append("no visits query found to explain")
        else:
            index = "visit_api_order" in plan["plan"]
            notes.append(
                f"visits query {plan['ms']:.1f} ms, {plan['pages']} pages read, "
                + ("on visit_api_order" if index else "visit_api_order NOT used")
                + (f", sequential scans of {', '.join(plan['seq_scans'])}"
                   if plan["seq_scans"] else "")
            )  # fmt: skip
        sql = (
            "same queries"
            if same
            else f"{'/'.join(map(str, sorted(sql_many)))} queries "
            f"({'/'.join(map(str, sorted(sql_few)))} with few)"
        )
        if same:
            sql += f" ({next(iter(sql_many))})"
        bench.add(
            Row(
                "api: visits, 1 client",
                size,
                median(many_ms),
                median(few_ms),
                "ms",
                ratio,
                "≤ 1.5×, same queries",
                ratio <= 1.5 and same,
                sql=sql,
                note="; ".join(notes),
                samples={"few": few_ms, "many": many_ms},
            )
        )

        # Concurrent clients: gunicorn on each database in turn, rounds alternated.
        latencies = {"few": [], "many": []}
        errors = {"few": 0, "many": 0}
        seconds = {"few": [], "many": []}
        for _ in range(bench.config["api_load_rounds"]):
            for label, env in envs.items():
                port = _free_port()
                server = _serve(env, port)
                try:
                    with Child(env, "api_visits", "load", port=port, key=counts[label]["key"],
                               path=counts[label]["path"], clients=clients) as loader:  # fmt: skip
                        loader.request(requests=2)  # warm every worker and thread
                        result = loader.request(requests=bench.config["api_requests"])
                finally:
                    _stop(server)
                latencies[label] += result["latencies"]
                errors[label] += result["error_count"]
                seconds[label].append(result["seconds"])
                if result["error_count"]:
                    bench.log(f"api visits under load, {label}: errors {result['errors']}")
        for name, share in (("median", 0.5), ("p95", 0.95)):
            many_value = _percentile(latencies["many"], share)
            few_value = _percentile(latencies["few"], share)
            ratio = many_value / few_value if many_value and few_value else None
            requests = {label: len(latencies[label]) for label in latencies}
            throughput = {
                label: requests[label] / sum(seconds[label]) if seconds[label] else 0
                for label in seconds
            }
            bench.add(
                Row(
                    f"api: visits, {clients} clients, {name}",
                    size,
                    many_value,
                    few_value,
                    "ms",
                    ratio,
                    "≤ 1.5×",
                    ratio is not None and ratio <= 1.5 and not any(errors.values()),
                    sql=sql if name == "median" else "",
                    note=(
                        f"{requests['many']:,} requests ({requests['few']:,} with few), "
                        f"{throughput['many']:.0f} req/s ({throughput['few']:.0f} with few), "
                        f"errors {errors['many']} ({errors['few']} with few); gunicorn 2 "
                        "workers × 8 threads, DEBUG on"
                    )
                    if name == "median"
                    else "",
                    samples={"few": latencies["few"], "many": latencies["many"]},
                )
            )
    finally:
        for env in envs.values():
            bench.drop(env)


def _dispatch_run(
    env: dict, sink: Child, processes: int, keep: bool = False, profile: str = ""
) -> dict:
    """``processes`` dispatchers started together on the due rows; their combined figures.
    ``profile``: a file for the cProfile statistics of the first dispatcher."""
    sink.request(command="reset", keep=keep)
    children = [
        Child(env, "dispatching", "dispatcher", profile=profile if number == 0 else "")
        for number in range(processes)
    ]
    try:
        for child in children:
            child.send()
        results = [child.receive() for child in children]
    finally:
        for child in children:
            child.close()
    seen = sink.request(command="stats")
    sent = sum(r["summary"]["sent"] for r in results)
    seconds = max(r["end"] for r in results) - min(r["start"] for r in results)
    return {
        "rate": sent / seconds,
        "seconds": seconds,
        "sent": sent,
        "statements": sum(r["statements"] for r in results) / max(sent, 1),
        "server": seen,
        "maxrss_mb": max(r["maxrss_mb"] for r in results),
        # CPU milliseconds per message sent: where the two cores go.
        "cpu_ms": {
            "dispatchers": 1000 * sum(r["cpu_seconds"] for r in results) / max(sent, 1),
            "their database backends": 1000
            * sum(r["db_cpu_seconds"] for r in results)
            / max(sent, 1),
            "SMTP server": 1000 * seen["cpu_seconds"] / max(sent, 1),
        },
    }


def _cpu_note(cpu_ms: dict) -> str:
    parts = ", ".join(f"{name} {ms:.1f} ms" for name, ms in cpu_ms.items())
    return f"CPU per message: {parts} ({os.cpu_count()} cores in all)"


def dispatch_workload(bench: Bench) -> None:
    due = bench.config["dispatch_due"]
    env = bench.database("dispatch")
    messages = SCRATCH / "messages.pickle"
    try:
        with Child(env, "smtp_sink", "serve") as sink:
            port = sink.request(command="port")
            env = {**env, "EMAIL_URL": f"smtp://127.0.0.1:{port}"}
            stored = once(env, "dispatching", "prepare", due=due)
            bench.log(
                f"dispatch: {stored['due']:,} due of {stored['reminders']:,} reminders stored"
            )
            rates = {p: [] for p in DISPATCHERS}
            baseline, statements, cpu = [], {}, {}
            with Child(env, "dispatching", "resetter") as reset:
                for round_number in range(bench.config["dispatch_rounds"]):
                    for processes in DISPATCHERS:
                        reset.request()
                        keep = round_number == 0 and processes == 1
                        run = _dispatch_run(env, sink, processes, keep=keep)
                        server = run["server"]
                        # Exactly once under load: every reminder sent, no Message-ID twice.
                        assert run["sent"] == due == server["messages"] == server["distinct"], run
                        rates[processes].append(run["rate"])
                        statements[processes] = run["statements"]
                        cpu[processes] = run["cpu_ms"]
                        bench.log(f"dispatch, {processes} dispatcher(s): {run['rate']:.0f} msg/s")
                        if keep:
                            sink.request(command="dump", path=str(messages))
                        sink.request(command="reset")
                        result = once(env, "dispatching", "plain_smtplib", port=port)
                        baseline.append(result["sent"] / (result["end"] - result["start"]))
                        bench.log(f"dispatch baseline: {baseline[-1]:.0f} msg/s")
                if os.environ.get("BENCH_PROFILE"):
                    # A run of its own after the measured ones: cProfile slows what it watches.
                    reset.request()
                    profiled = _dispatch_run(env, sink, 1, profile=os.environ["BENCH_PROFILE"])
                    sink.request(command="reset")
                    bench.log(
                        f"dispatch, 1 dispatcher under cProfile: {profiled['rate']:.0f} msg/s "
                        f"(not counted), statistics in {os.environ['BENCH_PROFILE']}"
                    )
            floor = [once(env, "dispatching", "commit_floor") for _ in range(3)]
        commit_ms = median([f["ms_per_commit"] for f in floor])
        bench.extra["dispatch_commit_floor"] = {"ms_per_commit": commit_ms, **floor[0]["settings"]}
        bench.log(f"one durable commit: {commit_ms:.2f} ms ({floor[0]['settings']})")
        one = median(rates[1])
        bench.add(
            Row(
                "dispatch, 1 dispatcher",
                f"{due:,} due",
                one,
                median(baseline),
                "msg/s",
                one / median(baseline),
                "≥ 0.5× plain smtplib",
                one / median(baseline) >= 0.5,
                sql=f"{statements[1]:.1f} per reminder",
                note="baseline: the same messages by plain smtplib over one connection; "
                + _cpu_note(cpu[1])
                + f"; one durable commit per reminder (exactly once) costs {commit_ms:.2f} ms "
                f"here, so one dispatcher cannot pass {1000 / commit_ms:.0f} msg/s",
                samples={"product": rates[1], "baseline": baseline},
            )
        )
        for processes, target in ((2, 1.6), (4, 2.5)):
            rate = median(rates[processes])
            bench.add(
                Row(
                    f"dispatch, {processes} dispatchers",
                    f"{due:,} due",
                    rate,
                    one,
                    "msg/s",
                    rate / one,
                    f"≥ {target}× one dispatcher",
                    rate / one >= target,
                    sql=f"{statements[processes]:.1f} per reminder",
                    note=_cpu_note(cpu[processes]),
                    samples={"product": rates[processes]},
                )
            )
    finally:
        bench.drop(env)


def _rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process, from /proc."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def memory_workload(bench: Bench) -> None:
    import psycopg

    due = bench.config["memory_due"]
    budget = os.environ.get("BENCH_MEMORY_SECONDS")
    if budget is not None:
        budget = float(budget) or None
    elif bench.config["memory_seconds"] is None:
        budget = max(180.0, WHOLE_RUN - (time.monotonic() - bench.started))
    env = bench.database("memory")
    try:
        with Child(env, "smtp_sink", "serve") as sink:
            port = sink.request(command="port")
            env = {**env, "EMAIL_URL": f"smtp://127.0.0.1:{port}"}
            stored = once(env, "dispatching", "prepare", due=due, lean=True)
            limit = f" for at most {budget:.0f} s" if budget else ""
            bench.log(f"memory: {stored['due']:,} due reminders stored; dispatching{limit}")
            child = Child(env, "dispatching", "dispatcher")
            samples = []  # (seconds, sent, rss MB)
            peak = 0.0
            query = "SELECT count(*) FROM scheduling_reminder WHERE status = 'sent'"
            with psycopg.connect(env["DATABASE_URL"], autocommit=True) as connection:
                began = time.monotonic()
                child.send()
                while child.process.poll() is None:
                    time.sleep(2)
                    try:
                        rss, peak = _rss_mb(child.process.pid)
                    except FileNotFoundError:
                        break
                    sent = connection.execute(query).fetchone()[0]
                    samples.append((round(time.monotonic() - began), sent, round(rss, 1)))
                    if sent >= due or (budget and time.monotonic() - began > budget):
                        break
                if sent >= due:
                    peak = max(peak, child.receive()["maxrss_mb"])
                    child.close()
                else:  # the time budget is over: the rest is not needed for the figure
                    child.process.kill()
                    child.process.wait()
                sent = connection.execute(query).fetchone()[0]
        first = next((rss for _, count, rss in samples if count >= min(1000, sent)), None)
        note = (
            f"all {due:,} sent"
            if sent >= due
            else f"stopped at the time budget after {sent:,} of {due:,} "
            f"({sent / (time.monotonic() - began):.0f} msg/s)"
        )
        if first is not None and samples:
            note += (
                f"; RSS {first:.0f} MB at 1,000 sent, {samples[-1][2]:.0f} MB at {samples[-1][1]:,}"
            )
        bench.extra["memory_samples"] = samples
        bench.add(
            Row(
                "peak memory, 1 dispatcher",
                f"{due:,} due",
                peak,
                None,
                "MB",
                None,
                "< 150 MB",
                peak < 150,
                note=note,
                samples={"rss": samples},
            )
        )
    finally:
        bench.drop(env)


def csv_refusal_workload(bench: Bench) -> None:
    """A file refused on every row (csv_refusal.py): peak memory against a ten-row file."""
    sys.path.insert(0, str(HERE))
    import csv_refusal

    env = bench.database("refusal")
    try:
        floor = [csv_refusal.run(env, 10) for _ in range(3)]
        floor_mb = median([r["peak_mb"] for r in floor])
        for rows in bench.config["refusal_rows"]:
            runs = [csv_refusal.run(env, rows) for _ in range(3)]
            peak = median([r["peak_mb"] for r in runs])
            bench.add(
                Row(
                    "import refused on every row",
                    f"{rows:,} rows ({runs[0]['megabytes']:.1f} MB)",
                    peak,
                    floor_mb,
                    "MB",
                    peak / floor_mb,
                    "≤ 1.5×",
                    peak / floor_mb <= 1.5,
                    note=f"{median([r['seconds'] for r in runs]):.1f} s; "
                    f"{runs[0]['lines']} lines printed (100 errors, then a count)",
                    samples={"peak_mb": [r["peak_mb"] for r in runs]},
                )
            )
    finally:
        bench.drop(env)


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


# The table and the file.


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

"""The workloads of `make bench` against running services (benchmarks/run.py):
``api_visits`` (the API under gunicorn), ``dispatch`` and ``memory`` (dispatchers against a
loopback SMTP server). Each adds its rows to the table; timings are never asserted."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from _bench import DISPATCHERS, ROOT, WHOLE_RUN, Bench, Row
from _child import Child, once
from _measure import SCRATCH, median


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

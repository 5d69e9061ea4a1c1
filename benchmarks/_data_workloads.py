"""The workloads of `make bench` on stored rows (benchmarks/run.py): ``imports``,
``csv_refusal``, ``idle_tick``, ``pages`` and ``network_pages``. Each runs its module's
processes (``imports``, ``idle_tick``, ...) and adds its rows to the table; timings are never
asserted."""

from __future__ import annotations

import sys

from _bench import HERE, Bench, Row
from _child import Child, once
from _measure import median


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

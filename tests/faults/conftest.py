"""The fault suite's fixtures, its short and long forms, and its table of figures.

``make test`` collects this folder with the short form (small counts); ``make faults`` runs
it alone with ``FAULTS=long`` (10,000 reminders for the four dispatchers, longer outages).
Each scenario reports one line with its figure; the session ends with a table of them,
printed and written to ``var/faults.json``.
"""

import contextlib
import datetime
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.faults import FORM, stack
from tests.smtp_server import LoopbackSMTP, point_django_at

RESULTS = pytest.StashKey[dict]()
SPAN = pytest.StashKey[list]()  # wall-clock start and end of the scenarios, template included
REPORT = Path(__file__).resolve().parents[2] / "var" / "faults.json"


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "faults(number, title): a scenario of the fault suite on the real stack (make faults)",
    )
    config.stash[RESULTS] = {}
    config.stash[SPAN] = []


@dataclass
class Result:
    number: int
    title: str
    figure: str = ""
    figures: dict = field(default_factory=dict)
    seconds: float = 0.0
    outcome: str = "not run"


@dataclass
class Scenario:
    """What a scenario runs on, and where it reports its figure."""

    number: int
    result: Result
    database: stack.Database
    smtp: LoopbackSMTP
    stack: stack.Stack
    log_dir: Path
    settings: object
    _exits: contextlib.ExitStack
    form: str = FORM

    def report(self, figure: str, **figures) -> None:
        """The scenario's one line (printed now, and in the session's table)."""
        self.result.figure = figure
        self.result.figures = figures
        print(f"fault {self.number}: {figure}")

    def own_redis(self) -> stack.OwnRedis:
        """A Redis of the scenario's own, used by every process it starts from now on."""
        redis = stack.OwnRedis(self.log_dir)
        redis.start()
        self._exits.callback(redis.stop)
        self._exits.callback(self.stack.stop_all)  # the processes before their server
        self.stack.broker_url = redis.url
        return redis

    def own_postgres(self) -> stack.OwnPostgres:
        """A PostgreSQL server of the scenario's own holding a copy of its database; this
        process and every process started from now on use it."""
        server = stack.OwnPostgres()
        self._exits.callback(server.close)
        server.init()
        server.start()
        self._exits.callback(self.stack.stop_all)  # the processes before their server
        database = server.clone(self.database)
        self._exits.enter_context(stack.using_database(database))
        self.database = self.stack.database = database
        return server

    def in_process_mail(self) -> None:
        """Dispatch run in this process (under fake time) sends to the scenario's server."""
        point_django_at(self.settings, self.smtp.port)

    def fail_with_logs(self) -> str:
        return self.stack.logs()


@pytest.fixture(scope="session")
def fault_databases(django_db_setup, django_db_blocker, tmp_path_factory):
    """The migrated template every scenario's database is copied from (made once)."""
    with django_db_blocker.unblock():
        databases = stack.FaultDatabases(
            stack.django_database(), tmp_path_factory.mktemp("faults-migrate")
        )
        databases.prepare()
        yield databases
        databases.drop_all()


@pytest.fixture
def scenario(request, fault_databases, django_db_blocker, settings, tmp_path):
    """A scenario's own database (a copy of the template), its loopback SMTP server, and the
    processes it starts, all stopped at its end whatever happened."""
    marker = request.node.get_closest_marker("faults")
    assert marker is not None, "a fault scenario carries @pytest.mark.faults(number, title)"
    number, title = marker.kwargs["number"], marker.kwargs["title"]
    result = request.config.stash[RESULTS].setdefault(request.node.nodeid, Result(number, title))
    with contextlib.ExitStack() as exits:
        exits.enter_context(django_db_blocker.unblock())
        database = fault_databases.copy(f"fault{number}")
        exits.enter_context(stack.using_database(database))
        smtp = exits.enter_context(LoopbackSMTP())
        processes = stack.Stack(
            database=database, log_dir=tmp_path, email_url=f"smtp://127.0.0.1:{smtp.port}"
        )
        exits.callback(processes.stop_all)
        yield Scenario(
            number=number,
            result=result,
            database=database,
            smtp=smtp,
            stack=processes,
            log_dir=tmp_path,
            settings=settings,
            _exits=exits,
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    result = item.config.stash[RESULTS].get(item.nodeid)
    if result is not None:
        span = item.config.stash[SPAN]
        if not span:
            span.append(time.time() - report.duration)
        span[1:] = [time.time()]
        if report.when == "call":  # not the fixtures: the template, the session's teardown
            result.seconds += report.duration
        if report.failed:
            result.outcome = "failed" if report.when == "call" else f"error ({report.when})"
        elif report.when == "call":
            result.outcome = report.outcome
    return report


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    results = sorted(config.stash.get(RESULTS, {}).values(), key=lambda r: r.number)
    if not results:
        return
    span = config.stash[SPAN]
    total = span[-1] - span[0] if len(span) == 2 else sum(r.seconds for r in results)
    writer = terminalreporter
    writer.section(f"fault suite ({FORM} form): {len(results)} scenarios, {total:.0f} s")
    width = max(len(r.title) for r in results)
    for r in results:
        writer.write_line(
            f"{r.number:>2}  {r.title:<{width}}  {r.outcome:<7} {r.seconds:>6.1f} s  {r.figure}"
        )
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(
        json.dumps(
            {
                "form": FORM,
                "finished_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "seconds": round(total, 1),
                "scenarios": [
                    {
                        "number": r.number,
                        "title": r.title,
                        "outcome": r.outcome,
                        "seconds": round(r.seconds, 1),
                        "figure": r.figure,
                        "figures": r.figures,
                    }
                    for r in results
                ],
            },
            indent=2,
        )
        + "\n"
    )
    writer.write_line(f"written to {REPORT.relative_to(REPORT.parents[1])}")

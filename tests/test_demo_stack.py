"""`make demo` as a newcomer runs it: the whole stack (embedded PostgreSQL and Redis, web,
worker, beat) started by scripts/demo.py with no DATABASE_URL, CELERY_BROKER_URL or EMAIL_URL,
until a participant's reminder is in the mail folder; then the README's staff command in the
same checkout, Ctrl-C, and a second run that adds nothing."""

import datetime
import http.cookiejar
import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil
import psycopg
import pytest

from scheduling.rules.reminder_rules import ALLOWED_FROM, ALLOWED_UNTIL
from tests.databases import environment_without_servers
from trialsite.embedded_postgres import EmbeddedPostgres

ROOT = Path(__file__).resolve().parent.parent
# What a process of the demo writes when something is wrong.
ERROR_SIGNS = ("Traceback", " ERROR ", "ERROR/", "raised unexpected", "OperationalError")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the demo exited early with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def _participant_reminders(mail: Path) -> list[str]:
    if not mail.exists():
        return []
    messages = []
    for path in sorted(mail.iterdir()):
        for message in path.read_text(errors="replace").split("-" * 79):
            if "Message-ID: <reminder-" in message:
                messages.append(message)
    return messages


class Demo:
    """One `make demo` run: scripts/demo.py in its own process, as the Makefile starts it."""

    def __init__(self, tmp_path: Path, port: int, name: str):
        self.tmp_path = tmp_path
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = tmp_path / f"{name}.log"
        self.env = environment_without_servers("EMAIL_URL", "DEBUG", "SITE_URL")
        self.env.update(
            {
                "PORT": str(port),
                "VAR_DIR": str(tmp_path / "var"),
                "ENV_FILE": str(tmp_path / ".env"),  # never the checkout's own .env
                "DEMO_PASSWORD": "s3cret-demo",
            }
        )

    def start(self) -> None:
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "scripts/demo.py"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        _wait_for(f"{self.base}/admin/login/", self.process, timeout=240)

    def stop(self) -> int:
        """Ctrl-C, as a person stops it."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        finally:
            self.log.close()

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def _sign_in_and_open(base: str, path: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/admin/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"username": "admin", "password": "s3cret-demo", "csrfmiddlewaretoken": token, "next": path}
    ).encode()
    request = urllib.request.Request(f"{base}/admin/login/", data=form, headers={"Referer": base})
    return opener.open(request).read().decode()


# A dispatch run completed; reminders due already and still pending (held for the morning).
HEARTBEATS = "SELECT count(*) FROM scheduling_dispatchheartbeat WHERE last_completed_at IS NOT NULL"
HELD_FOR_THE_MORNING = (
    "SELECT count(*) FROM scheduling_reminder WHERE status = 'pending' AND due_at <= now()"
)
DEMO_ZONES = ("America/Los_Angeles", "Europe/Berlin")


def _a_demo_site_may_send(now: datetime.datetime) -> bool:
    """Whether a demo site is inside its span for late reminders (08:00 to 21:00 local) now
    and through the next four minutes, the test's wait for the first dispatch."""
    moments = (now, now + datetime.timedelta(minutes=4))
    return any(
        all(ALLOWED_FROM <= moment.astimezone(ZoneInfo(zone)).time() < ALLOWED_UNTIL
            for moment in moments)
        for zone in DEMO_ZONES
    )  # fmt: skip


def _count(server: EmbeddedPostgres, sql: str) -> int:
    with psycopg.connect(
        host=str(server.socket_dir), port=5432, user="postgres", dbname="trialsite"
    ) as connection:
        return connection.execute(sql).fetchone()[0]


def _processes_under(folder: Path) -> list[str]:
    """Processes of the demo still alive: a server or program of its own var/ folder."""
    left = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            command = " ".join(process.info["cmdline"] or [])
            if str(folder) in command or Path(process.cwd()).is_relative_to(folder):
                left.append(command)
        except (psutil.Error, OSError):
            continue
    return left


@pytest.mark.slow
def test_demo_delivers_a_reminder_on_the_embedded_stack_and_stops_clean(tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    (var / "trialsite.sqlite3").write_bytes(b"SQLite format 3\x00")  # an older demo's data
    port = _free_port()
    demo = Demo(tmp_path, port, "first")
    server = EmbeddedPostgres(var)
    try:
        demo.start()
        listing = _sign_in_and_open(demo.base, "/admin/participants/participant/")
        assert "SLE-001-101-001" in listing
        assert "SLE-001-102-007" in listing

        if _a_demo_site_may_send(datetime.datetime.now(datetime.UTC)):
            # The worker's first dispatch (beat: once a minute) delivers participants'
            # reminders, whose links name the port served.
            deadline = time.monotonic() + 180
            while not _participant_reminders(var / "mail") and time.monotonic() < deadline:
                assert demo.process.poll() is None, demo.output
                time.sleep(1)
            reminders = _participant_reminders(var / "mail")
            assert reminders, f"no participant reminder within 3 minutes:\n{demo.output[-3000:]}"
            assert f"http://127.0.0.1:{port}/r/" in reminders[0]
        else:
            # Night at both demo sites (05:00-07:00 UTC in winter): a reminder found late waits
            # for the site's morning (docs/reminders.md, "Never in the night"). The dispatch
            # runs, sends none, and the due reminders stay pending for the morning.
            deadline = time.monotonic() + 180
            while _count(server, HEARTBEATS) == 0 and time.monotonic() < deadline:
                assert demo.process.poll() is None, demo.output
                time.sleep(1)
            assert _count(server, HEARTBEATS) == 1, demo.output[-3000:]
            assert _participant_reminders(var / "mail") == []
            assert _count(server, HELD_FOR_THE_MORNING) > 0

        # The run that wrote the mail records its completion when it ends: until then the
        # health endpoint may still say "never" (503). Within a minute it says "ok".
        status, deadline = None, time.monotonic() + 60
        while status != "ok" and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{demo.base}/healthz/dispatch", timeout=5) as answer:
                    status = json.load(answer)["status"]
            except urllib.error.HTTPError as refused:
                status = json.load(refused)["status"]
                time.sleep(1)
        assert status == "ok", demo.output[-3000:]

        # The README's operator command, in the same checkout, with nothing but the venv: the
        # demo's .env gives it the development settings and the embedded database.
        command_env = {key: value for key, value in demo.env.items() if key != "PORT"}
        result = subprocess.run(
            [sys.executable, "manage.py", "send_due_reminders"],
            cwd=ROOT,
            env=command_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert re.fullmatch(r"sent \d+, retrying \d+, failed 0, expired \d+, superseded \d+, "
                            r"unknown 0\n", result.stdout)  # fmt: skip
        sites_history = _count(server, "SELECT count(*) FROM participants_historicalsite")
        participants = _count(server, "SELECT count(*) FROM participants_participant")
    finally:
        status = demo.stop()
    output = demo.output
    assert status == 0, output
    assert "demo: stopped." in output
    assert "older demo's SQLite database" in output
    assert [line for line in output.splitlines() if any(s in line for s in ERROR_SIGNS)] == []
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    assert not server.answers()
    assert _processes_under(var) == []

    # A second run reuses the data and adds nothing, not even an empty history row.
    again = Demo(tmp_path, _free_port(), "second")
    try:
        again.start()
        assert "0 participants" in again.output
        assert _count(server, "SELECT count(*) FROM participants_historicalsite") == sites_history
        assert _count(server, "SELECT count(*) FROM participants_participant") == participants
    finally:
        assert again.stop() == 0, again.output
    assert not server.answers()
    assert _processes_under(var) == []

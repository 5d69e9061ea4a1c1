"""Reply-link tokens never reach a log line (security issue 21 item 2).

A reply link (``/r/<token>/<action>/``) answers for a participant; a token read in a log must
not be usable. The web server runs here as people run it, in its own process with the product's
logging: gunicorn as the Dockerfile starts it (production profile; its config file
gunicorn.conf.py turns the access log on) and the development server as ``make demo`` starts it.
A run follows every kind of link (each action shown and used, a double click answered 409, a
one-click unsubscribe, a token under another action, a tampered one, an unknown action), then
every byte the server wrote is scanned for every token and signature used.
"""

import datetime
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from scheduling.models import LinkAction, Reminder
from scheduling.replies.answers import link_token
from tests.databases import process_database_url

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
ACTIONS = [LinkAction.CONFIRM, LinkAction.RESCHEDULE, LinkAction.STOP]
PRODUCTION_KEY = "a-real-key-for-this-test-0123456789-abcdefghijklmnopqrstuvwxyz"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(base: str, path: str, data: bytes | None = None, headers=None) -> int:
    try:
        with urllib.request.urlopen(
            urllib.request.Request(base + path, data=data, headers=headers or {}), timeout=30
        ) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def serve(kind: str, port: int, log_path: Path, static_root: Path) -> subprocess.Popen:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
        "DATABASE_URL": process_database_url(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "DEBUG",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if kind == "gunicorn":
        env.update(
            {
                "DEBUG": "false",
                "SECRET_KEY": PRODUCTION_KEY,
                "SITE_URL": f"http://127.0.0.1:{port}",
                "SECURE_SSL_REDIRECT": "false",
                "STATIC_ROOT": str(static_root),
            }
        )
        # As the Dockerfile builds the image: the static files and their manifest first.
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=120,
        )
        # As the Dockerfile's CMD, from the project folder (where gunicorn.conf.py is).
        command = [
            GUNICORN, "trialsite.wsgi:application", "--bind", f"127.0.0.1:{port}",
            "--workers", "1",
        ]  # fmt: skip
    else:
        env["DEBUG"] = "true"
        command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    log = log_path.open("w")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_for(base: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log_path.read_text()
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.3)
    raise AssertionError(f"the server did not answer: {log_path.read_text()}")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["gunicorn", "runserver"])
def test_no_log_line_of_the_web_server_holds_a_reply_token(
    transactional_db, protocol, make_participant, site_ocn, tmp_path, kind, settings
):
    if kind == "gunicorn":
        settings.SECRET_KEY = PRODUCTION_KEY  # links signed as that server signs them
    participant = make_participant(consent_date=site_ocn.today())
    other = make_participant(consent_date=site_ocn.today())
    reminder = Reminder.objects.filter(visit__participant=participant).order_by("due_at").first()
    second = Reminder.objects.filter(visit__participant=other).order_by("due_at").first()
    tokens = {link_token(r, action) for r in (reminder, second) for action in ACTIONS}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / f"{kind}.log"
    server = serve(kind, port, log_path, tmp_path / "static")
    statuses = []
    try:
        wait_for(base, server, log_path)
        for action in ACTIONS:
            path = f"/r/{link_token(reminder, action)}/{action}/"
            statuses.append(request(base, path))  # the page
            if action == LinkAction.STOP:
                statuses.append(
                    request(
                        base,
                        path,
                        b"List-Unsubscribe=One-Click",
                        {"Content-Type": "application/x-www-form-urlencoded"},
                    )
                )
            else:
                statuses.append(request(base, path, b"message=Friday%20please"))
                statuses.append(request(base, path, b"message=again"))  # a double click: 409
        confirm = link_token(second, LinkAction.CONFIRM)
        statuses.append(request(base, f"/r/{confirm}/stop/", b""))  # another action's token
        statuses.append(request(base, f"/r/{confirm[:-3]}abc/confirm/", b""))  # tampered
        statuses.append(request(base, f"/r/{confirm}/delete/"))  # no such action
        statuses.append(request(base, f"/r/{confirm}/confirm/?next=/r/{confirm}/stop/"))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert 409 in statuses and 404 in statuses and 200 in statuses, (statuses, log_path.read_text())

    log = log_path.read_text()
    assert "/r/[token]/confirm/" in log, log  # the paths are logged, with the token redacted
    signatures = {token.rsplit(":", 1)[-1] for token in tokens}
    payloads = {token.split(":", 1)[0] for token in tokens}
    for secret in tokens | signatures | payloads:
        assert secret not in log, f"{secret} in the {kind} log:\n{log}"
    assert datetime.date.today().isoformat()  # the run happened on the real clock

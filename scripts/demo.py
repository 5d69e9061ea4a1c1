"""`make demo`: start the embedded PostgreSQL and Redis, migrate, load the demo data, then run
the web server, a Celery worker and Celery beat until Ctrl-C, which stops all of them and the
embedded servers.

Nothing to configure: with DATABASE_URL, CELERY_BROKER_URL and EMAIL_URL unset, the data lives
in var/postgres, the broker on a socket in var/redis, and mail in var/mail. It writes a `.env`
(DEBUG on, SITE_URL on the port served) so that the README's staff commands, run from the
activated venv, reach the same database with no other setting; a `.env` it did not write is
left alone.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV_MARK = "# Written by `make demo`"


def run(*args: str) -> None:
    subprocess.run([sys.executable, *args], cwd=ROOT, check=True)


def write_env_file(path: Path, port: str) -> str:
    """The demo's settings for later commands in this checkout; one line to show."""
    if path.exists() and not path.read_text(errors="replace").startswith(ENV_MARK):
        return f"{path} was not written by the demo and is left as it is."
    path.write_text(
        f"{ENV_MARK} for this checkout's development settings; never committed, rewritten by\n"
        "# each demo. Delete it (and var/) with `make clean`.\n"
        "DEBUG=true\n"
        f"SITE_URL=http://127.0.0.1:{port}\n"
    )
    return f"{path.name} written: staff commands in the activated venv use the demo's settings."


def main() -> int:
    port = os.environ.get("PORT", "8000")
    password = os.environ.get("DEMO_PASSWORD", "demo")
    env_file = Path(os.environ.get("ENV_FILE") or ROOT / ".env")
    env_note = write_env_file(env_file, port)
    os.environ["ENV_FILE"] = str(env_file)
    # The demo is a development server: debug mode, development key (the settings default to
    # DEBUG off so that a deployment never runs in it by omission), links on the port served.
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings")
    sys.path.insert(0, str(ROOT))
    from trialsite.startup import load_settings_or_exit

    load_settings_or_exit()
    import django

    django.setup()
    from django.conf import settings

    from trialsite import embedded_postgres, embedded_redis

    old_sqlite = Path(settings.VAR_DIR) / "trialsite.sqlite3"
    if old_sqlite.exists():
        print(
            f"demo: {old_sqlite} is an older demo's SQLite database, no longer used (the demo "
            "now keeps its data in PostgreSQL under var/postgres); delete it, or run make clean.",
            flush=True,
        )

    stops = []
    try:
        if settings.EMBEDDED_POSTGRES:
            server = embedded_postgres.EmbeddedPostgres(settings.VAR_DIR)
            server.ensure_running()
            stops.append(server.stop)
        if settings.USE_EMBEDDED_REDIS:
            embedded_redis.ensure_running(settings.EMBEDDED_REDIS_SOCKET)
            stops.append(lambda: embedded_redis.stop(settings.EMBEDDED_REDIS_SOCKET))
        run("manage.py", "migrate", "--no-input", "-v", "0")
        run("manage.py", "load_demo_data")
    except (embedded_postgres.EmbeddedPostgresError, subprocess.CalledProcessError) as error:
        print(f"demo: {error}", file=sys.stderr)
        for stop in reversed(stops):
            stop()
        return 1
    except KeyboardInterrupt:
        for stop in reversed(stops):
            stop()
        return 130

    celery = [sys.executable, "-m", "celery", "-A", "trialsite"]
    commands = {
        "web": [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        "worker": [*celery, "worker", "--loglevel=INFO", "--concurrency=1"],
        "beat": [*celery, "beat", "--loglevel=INFO"],
    }
    children = {
        name: subprocess.Popen(command, cwd=ROOT, start_new_session=True)
        for name, command in commands.items()
    }

    stopping = False

    def stop(*_args):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    mail = getattr(settings, "EMAIL_FILE_PATH", "the SMTP server")
    database = (
        f"PostgreSQL (embedded) in {Path(settings.VAR_DIR) / 'postgres'}"
        if settings.EMBEDDED_POSTGRES
        else "PostgreSQL at DATABASE_URL"
    )
    print(
        f"\nThe demo is running.\n"
        f"  Admin:    {settings.SITE_URL}/admin/\n"
        f"  Logins:   admin, coordinator-ocn, coordinator-ber, investigator-ocn, investigator-ber,"
        f" manager-ocn,"
        f" monitor (password: {'$DEMO_PASSWORD' if 'DEMO_PASSWORD' in os.environ else password})\n"
        f"  Data:     {database}\n"
        f"  Mail:     {mail}\n"
        f"  Settings: {env_note}\n"
        f"Press Ctrl-C to stop the web server, the worker, beat and the embedded servers.\n",
        flush=True,
    )
    status = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"demo: the {name} process stopped (exit {child.returncode}); stopping all.")
                status, stopping = 1, True
        time.sleep(0.5)

    for child in children.values():
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    # A second Ctrl-C while the servers stop must not leave one of them running.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for stop_server in reversed(stops):
        stop_server()
    print("demo: stopped.", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())

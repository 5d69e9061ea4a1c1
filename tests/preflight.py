"""Stop `make test` at once, with one line, when the PostgreSQL or Redis it was given is
unreachable. With neither URL set, `make test` runs on the embedded servers (started by
trialsite.local_services before this runs), and there is nothing to check."""

import os
import socket
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

HINT = (
    "start them with: docker compose up -d postgres redis "
    "(or unset DATABASE_URL and CELERY_BROKER_URL to use the embedded servers)"
)


def _address(url: str, default_port: int) -> tuple[int, object, str]:
    """(socket family, address, how to name it) of the server a URL names."""
    parts = urlsplit(url)
    if parts.scheme == "redis+socket":
        path = unquote(parts.path)
        return socket.AF_UNIX, path, path
    folder = parse_qs(parts.query).get("host", [""])[0]
    if folder.startswith("/"):
        path = str(Path(folder) / f".s.PGSQL.{parts.port or default_port}")
        return socket.AF_UNIX, path, path
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    return socket.AF_INET, (host, port), f"{host}:{port}"


def reachable(url: str, default_port: int) -> tuple[str, bool]:
    family, address, name = _address(url, default_port)
    try:
        if family == socket.AF_UNIX:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(3)
                sock.connect(address)
        else:
            with socket.create_connection(address, timeout=3):
                pass
    except OSError:
        return name, False
    return name, True


def main() -> int:
    checks = [
        ("PostgreSQL", os.environ.get("DATABASE_URL", ""), 5432, ("postgres",)),
        ("Redis", os.environ.get("CELERY_BROKER_URL", ""), 6379, ("redis",)),
    ]
    for name, url, port, schemes in checks:
        if not url:
            continue  # the embedded server, started by trialsite.local_services
        if not url.startswith(schemes):
            print(f"preflight: {name} is needed by the tests; set its URL ({url!r} is not one).")
            return 2
        address, ok = reachable(url, port)
        if not ok:
            print(f"preflight: {name} is unreachable at {address}; {HINT}")
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Stop `make test` at once, with one line, when PostgreSQL or Redis is unreachable."""

import os
import socket
import sys
from urllib.parse import urlsplit

HINT = "start them with: docker compose up -d postgres redis"


def reachable(url: str, default_port: int) -> tuple[str, bool]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=3):
            return f"{host}:{port}", True
    except OSError:
        return f"{host}:{port}", False


def main() -> int:
    checks = [
        ("PostgreSQL", os.environ.get("DATABASE_URL", ""), 5432, "postgres"),
        ("Redis", os.environ.get("CELERY_BROKER_URL", ""), 6379, "redis"),
    ]
    for name, url, port, scheme in checks:
        if not url.startswith(scheme):
            print(f"preflight: {name} is needed by the tests; set its URL ({url!r} is not one).")
            return 2
        address, ok = reachable(url, port)
        if not ok:
            print(f"preflight: {name} is unreachable at {address}; {HINT}")
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

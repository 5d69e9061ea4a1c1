"""A benchmark process: ``python benchmarks/_child.py MODULE FUNCTION JSON``.

Loads ``benchmarks/MODULE.py``, calls ``FUNCTION(**JSON)`` once to open a session (Django set
up, database connected, data ready), prints ``READY``, then answers one request per line of
stdin (a JSON object of keyword arguments for the callable the session returned) with one
``RESULT {json}`` line. Everything else a process prints goes to stderr, so that the protocol
on stdout stays clean. ``Child`` is the parent's end.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load(stem: str):
    spec = importlib.util.spec_from_file_location(f"bench_{stem}", HERE / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    stem, function, arguments = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # print() and logging of the product go to stderr from here on
    sys.stdout = sys.stderr
    sys.path.insert(0, str(HERE))
    session = getattr(_load(stem), function)(**arguments)
    protocol.write("READY\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        result = session(**json.loads(line))
        protocol.write("RESULT " + json.dumps(result) + "\n")
    return 0


class Child:
    """A benchmark process and its requests, from the parent: ``Child(env, "imports",
    "product_session", size=1000).request(run=True)``."""

    def __init__(self, env: dict, stem: str, function: str, **arguments):
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "_child.py"), stem, function, json.dumps(arguments)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, **env},
            text=True,
            bufsize=1,
        )
        self._expect("READY")

    def _expect(self, word: str) -> str:
        for line in self.process.stdout:
            if line.startswith(word):
                return line[len(word) :].strip()
        code = self.process.wait()
        raise RuntimeError(f"benchmark process ended (exit status {code}) before {word}")

    def send(self, **request) -> None:
        self.process.stdin.write(json.dumps(request) + "\n")

    def receive(self):
        return json.loads(self._expect("RESULT"))

    def request(self, **request):
        self.send(**request)
        return self.receive()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def once(env: dict, stem: str, function: str, request: dict | None = None, **arguments):
    """Open a session in a new process, make one request, end the process."""
    with Child(env, stem, function, **arguments) as child:
        return child.request(**(request or {}))


if __name__ == "__main__":
    sys.exit(main())

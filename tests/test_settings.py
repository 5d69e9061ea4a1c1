"""Configuration from the environment, as the README's table says."""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from tests import preflight

ROOT = Path(__file__).resolve().parent.parent


def _django(code: str, **env_overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL"}}
    env.update({"DEBUG": "true", **env_overrides})
    env = {k: v for k, v in env.items() if v is not None}  # None: left out of the environment
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "trialsite.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _manage(*arguments: str, **env_overrides) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_overrides}
    env = {k: v for k, v in env.items() if v is not None}  # None: left out of the environment
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_missing_secret_key_outside_debug_is_a_one_line_start_up_error():
    result = _manage("check", SECRET_KEY=None, DEBUG="false")
    assert result.returncode == 1
    assert result.stderr == "trialsite: SECRET_KEY must be set when DEBUG is off.\n"
    assert result.stdout == ""


def test_an_sqlite_database_url_is_refused_at_start_up_with_one_line():
    for url in ("sqlite:///var/trialsite.sqlite3", "sqlite://:memory:"):
        result = _manage("migrate", DATABASE_URL=url)
        assert result.returncode == 1
        assert result.stderr == (
            "trialsite: DATABASE_URL is a sqlite URL: this project runs on PostgreSQL only "
            "(postgres://…); unset DATABASE_URL to use the embedded PostgreSQL under "
            "var/postgres.\n"
        )


def test_the_production_profile_requires_a_database_url_and_a_site_url():
    production = {"DEBUG": "false", "SECRET_KEY": "a-real-key-for-this-test-0123456789-abcdefghij"}
    result = _manage("check", **production, DATABASE_URL=None, SITE_URL="https://t.example")
    assert result.returncode == 1
    assert result.stderr.startswith("trialsite: DATABASE_URL must be set when DEBUG is off")
    assert len(result.stderr.splitlines()) == 1
    production["DATABASE_URL"] = "postgres://postgres@db.example/trialsite"
    result = _manage("check", **production, SITE_URL=None)
    assert result.returncode == 1
    assert result.stderr.startswith("trialsite: SITE_URL must be set when DEBUG is off")
    assert len(result.stderr.splitlines()) == 1
    result = _manage("check", **production, SITE_URL="https://t.example")
    assert result.returncode == 0, result.stderr


def test_links_follow_the_port_served_in_development_and_site_url_everywhere():
    code = "from django.conf import settings as s; print(s.SITE_URL)"
    assert _django(code, PORT="18900", SITE_URL=None).stdout.split() == ["http://127.0.0.1:18900"]
    assert _django(code, PORT=None, SITE_URL=None).stdout.split() == ["http://127.0.0.1:8000"]
    assert _django(code, PORT="18900", SITE_URL="https://t.example/").stdout.split() == [
        "https://t.example"
    ]


def test_a_demo_env_file_gives_staff_commands_the_development_settings(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=true\nSITE_URL=http://127.0.0.1:18900\n")
    result = _django(
        "from django.conf import settings as s; print(s.DEBUG, s.SITE_URL)",
        DEBUG=None,
        SITE_URL=None,
        ENV_FILE=str(env_file),
    )
    assert result.stdout.split() == ["True", "http://127.0.0.1:18900"], result.stderr


def test_debug_is_off_when_the_environment_leaves_it_out():
    # A deployment whose .env has no DEBUG line must not run in debug mode on the development
    # key: without SECRET_KEY it stops at start-up, with one it runs with DEBUG off.
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr
    result = _django(
        "from django.conf import settings as s; print(s.DEBUG, s.SESSION_COOKIE_SECURE)",
        DEBUG=None,
        SECRET_KEY="a-real-key-for-this-test-0123456789-abcdefghijklmnopqrstuvwxyz",
        SITE_URL="https://trial.example.org",
        DATABASE_URL="postgres://postgres@db.example/trialsite",
    )
    assert result.stdout.split() == ["False", "True"], result.stderr


def test_embedded_defaults_use_postgresql_under_var_and_a_socket_broker(tmp_path):
    result = _django(
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], "
        "s.DATABASES['default']['HOST'], s.EMBEDDED_POSTGRES, "
        "s.CELERY_BROKER_URL, s.EMAIL_BACKEND, s.TIME_ZONE, s.USE_TZ)",
        VAR_DIR=str(tmp_path),
        CELERY_BROKER_URL="",
        EMAIL_URL="",
    )
    engine, name, host, embedded, broker, backend, zone, use_tz = result.stdout.split()
    assert engine == "django.db.backends.postgresql"
    assert (name, host, embedded) == ("trialsite", str(tmp_path / "postgres" / "run"), "True")
    assert broker == f"redis+socket://{tmp_path / 'redis' / 'redis.sock'}"
    assert backend == "trialsite.mail.FolderAndConsoleBackend"
    assert (zone, use_tz) == ("UTC", "True")


def test_a_database_url_on_a_unix_socket_names_its_folder_as_host():
    result = _django(
        "from django.conf import settings as s; d = s.DATABASES['default']; "
        "print(d['HOST'], d['NAME'], d.get('OPTIONS', {}).get('host'), s.EMBEDDED_POSTGRES)",
        DATABASE_URL="postgres://postgres@/trial?host=/run/pg%20sockets",
    )
    assert result.stdout.split() == ["/run/pg", "sockets", "trial", "None", "False"]


def test_environment_variables_configure_database_broker_and_mail():
    result = _django(
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['HOST'], s.CELERY_BROKER_URL, s.EMAIL_HOST, s.EMAIL_PORT, "
        "s.DEFAULT_FROM_EMAIL.split()[-1], s.EMAIL_BACKEND, s.EMAIL_TIMEOUT, "
        "s.EMAIL_DATA_REPLY_TIMEOUT)",
        DATABASE_URL="postgres://u:p@db.internal:5433/trial",
        CELERY_BROKER_URL="redis://broker.internal:6379/3",
        EMAIL_URL="smtp://mail.internal:2525",
        DEFAULT_FROM_EMAIL="Visits <visits@site.example>",
    )
    assert result.stdout.split() == [
        "db.internal",
        "redis://broker.internal:6379/3",
        "mail.internal",
        "2525",
        "<visits@site.example>",
        "scheduling.mail.smtp.EmailBackend",  # RFC 5321's own wait for the reply to the data
        "20",
        "600",
    ]


def test_embedded_broker_starts_once_and_answers(tmp_path):
    from trialsite import embedded_redis

    socket_path = tmp_path / "redis" / "redis.sock"
    try:
        embedded_redis.ensure_running(socket_path)
        embedded_redis.ensure_running(socket_path)  # a second caller finds it running
        assert embedded_redis._answers(socket_path)
    finally:
        embedded_redis.stop(socket_path)
    assert not embedded_redis._answers(socket_path)


def test_docker_compose_file_is_valid_with_the_example_env(tmp_path):
    # Debian's docker-compose validates offline; make test installs it when missing.
    assert shutil.which("docker-compose"), (
        "docker-compose is not installed (apt-get install docker-compose)"
    )
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    result = subprocess.run(
        ["docker-compose", "config", "--services"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {
        "postgres",
        "redis",
        "mailpit",
        "migrate",
        "web",
        "worker",
        "beat",
    }


def test_make_test_stops_with_one_line_naming_an_unreachable_service():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = subprocess.run(
        [sys.executable, "-m", "tests.preflight"],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{port}/trialsite",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stdout.splitlines() == [
        f"preflight: PostgreSQL is unreachable at 127.0.0.1:{port}; {preflight.HINT}"
    ]

"""Fixtures for the whole suite: real PostgreSQL and Redis, the SLE-001 plan, factories."""

import datetime
import importlib
import os

import pytest
from django.apps import apps as django_apps

from tests import preflight
from tests.api import api  # noqa: F401 (the REST API's tests: a token client per demo user)
from tests.browser import browser, staff  # noqa: F401 (fixtures for the workspace tests)
from tests.passwords import reused_password_hashes
from tests.versions_fixtures import clock, two_participants  # noqa: F401 (issue 24's tests)


def pytest_configure(config):
    # `pytest` run by itself (not through make test) on the local default: the embedded
    # PostgreSQL and Redis, started here when nothing runs them and stopped at the end.
    from contextlib import ExitStack

    from trialsite import embedded_postgres, local_services

    config._embedded_servers = ExitStack()
    try:
        local_services.start(config._embedded_servers)
    except embedded_postgres.EmbeddedPostgresError as error:
        pytest.exit(f"the embedded PostgreSQL did not start: {error}", returncode=3)
    # One line and a stop, rather than a traceback per test, when a service is down.
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        address, ok = preflight.reachable(os.environ["DATABASE_URL"], 5432)
        if not ok:
            pytest.exit(f"PostgreSQL is unreachable at {address}; {preflight.HINT}", returncode=3)
    if os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        address, ok = preflight.reachable(os.environ["CELERY_BROKER_URL"], 6379)
        if not ok:
            pytest.exit(f"Redis is unreachable at {address}; {preflight.HINT}", returncode=3)


def pytest_unconfigure(config):
    servers = getattr(config, "_embedded_servers", None)
    if servers is not None:
        servers.close()


def load_sle001():
    """The SLE-001 plan as `migrate` loads it (again after a transactional test flushed it)."""
    seed = importlib.import_module("scheduling.migrations.0002_sle001_protocol")
    seed.load(django_apps, None)
    criteria = importlib.import_module("participants.migrations.0009_criterion_qualifying_answer")
    criteria.state_qualifying_answers(django_apps, None)
    starts = importlib.import_module("scheduling.migrations.0005_phase_started_by")
    starts.link_phase_starts(django_apps, None)
    appointments = importlib.import_module("scheduling.migrations.0009_appointment_data")
    appointments.link_sle001_resources(django_apps, None)
    names = importlib.import_module("scheduling.migrations.0019_visit_name_translations")
    names.seed_sle001_translations(django_apps, None)
    phase = importlib.import_module("participants.migrations.0015_protocol_trial_phase")
    phase.record_sle001_phase(django_apps, None)
    from participants.models import Protocol

    return Protocol.objects.get(code="SLE-001")


def superuser(user_model, username_field: str = "username"):
    """pytest-django's superuser (username "admin", password "password"), its password hashed
    once a session rather than once a test (tests/passwords.py)."""
    manager = user_model._default_manager
    try:
        return manager.get_by_natural_key("admin")
    except user_model.DoesNotExist:
        fields = {username_field: "admin", "password": "password"}
        if "email" in user_model.REQUIRED_FIELDS:
            fields["email"] = "admin@example.com"
        with reused_password_hashes():
            return manager.create_superuser(**fields)


@pytest.fixture
def admin_user(db, django_user_model, django_username_field):
    return superuser(django_user_model, django_username_field)


@pytest.fixture
def protocol(db):
    return load_sle001()


@pytest.fixture
def site_ocn(db):
    from tests.factories import SiteFactory

    return SiteFactory(code="OCN", name="Oceanside", timezone="America/Los_Angeles")


@pytest.fixture
def site_ber(db):
    from tests.factories import SiteFactory

    return SiteFactory(code="BER", name="Berlin", timezone="Europe/Berlin")


# The staff user the tests name with --by, the option of every staff command that changes data.
CLERK = "clerk"


@pytest.fixture
def clerk(db):
    """An active staff superuser: who a staff command's change is made by, allowed everything
    everywhere (tests/test_command_authors.py holds each role to what it may do)."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(CLERK, is_staff=True, is_superuser=True)


@pytest.fixture
def make_participant(protocol, site_ocn):
    """Create participants through the service, as staff would (schedule and reminders too)."""
    from participants.lifecycle import create_participant

    counter = iter(range(1, 10_000))

    def make(consent_date=datetime.date(2026, 1, 5), site=None, subject_id=None, **kwargs):
        return create_participant(
            protocol=protocol,
            site=site or site_ocn,
            subject_id=subject_id or f"SLE-001-101-{next(counter):03d}",
            email=kwargs.pop("email", "participant@example.org"),
            consent_date=consent_date,
            **kwargs,
        )

    return make


@pytest.fixture
def demo_data(protocol):
    """The demo's sites, staff and participants, loaded as `make demo` loads them (its six users'
    one password hashed once a session): what issue 25's outputs are produced from. Loaded once
    and copied back for the next tests (tests/demo_snapshot.py)."""
    from tests import demo_snapshot

    return demo_snapshot.demo_data()

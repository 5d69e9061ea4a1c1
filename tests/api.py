"""Helpers of the REST API's tests (tests/test_api_*.py): a client that carries a token of one
of the demo's staff, as an EDC would."""

import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from participants.api_tokens import issue_token

API = "/api/v1"


class TokenClient:
    """Requests with ``Authorization: Bearer <key>``; every POST with a fresh
    ``Idempotency-Key`` unless one is given."""

    def __init__(self, key: str | None):
        self.client = APIClient()
        self.key = key

    def _headers(self, headers):
        base = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        return {**base, **(headers or {})}

    def get(self, path, params=None, headers=None):
        return self.client.get(_url(path), params or {}, headers=self._headers(headers))

    def post(self, path, body=None, key="new", headers=None):
        headers = dict(headers or {})
        if key == "new":
            key = str(uuid.uuid4())
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post(
            _url(path),
            json.dumps(body if body is not None else {}),
            content_type="application/json",
            headers=self._headers(headers),
        )

    def delete(self, path, headers=None):
        return self.client.delete(_url(path), headers=self._headers(headers))


def _url(path: str) -> str:
    """``/visits/`` is ``/api/v1/visits/``; a path already under /api/v1/ stays as it is."""
    return path if path.startswith(API) else API + path


def client_of(username: str) -> TokenClient:
    user = get_user_model().objects.get(username=username)
    _token, key = issue_token(user, name="tests", by=user)
    return TokenClient(key)


def all_pages(client: TokenClient, path: str, params=None) -> list[dict]:
    """Every row of a list, following its ``next`` URLs."""
    rows, response = [], client.get(path, {**(params or {}), "page_size": 500})
    while True:
        assert response.status_code == 200, response.content
        rows += response.json()["results"]
        if not response.json()["next"]:
            return rows
        response = client.client.get(response.json()["next"], headers=client._headers(None))


def data_tables() -> list[str]:
    """The participants and scheduling tables, the API's own bookkeeping aside (a token's
    last use, the Idempotency-Key records): what a refused write must leave as it was."""
    from django.apps import apps

    from participants.api_tokens import ApiToken, IdempotencyRecord

    return [
        model._meta.db_table
        for label in ("participants", "scheduling")
        for model in apps.get_app_config(label).get_models()
        if model not in (ApiToken, IdempotencyRecord)
    ]


def fields_of(response) -> list[str | None]:
    """The fields the errors of a JSON error response name."""
    return [error["field"] for error in response.json()["errors"]]


@pytest.fixture
def api(demo_data):
    """username → a TokenClient of that demo user (admin: the demo's superuser)."""
    clients = {}

    def of(username):
        if username not in clients:
            clients[username] = client_of(username)
        return clients[username]

    return of

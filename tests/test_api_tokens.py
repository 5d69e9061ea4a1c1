"""API tokens (docs/api.md, "Authentication"): the key is shown once and only its digest is
stored; a revoked token, an inactive user or no token at all is a 401 in JSON."""

import hashlib
import re

import pytest
from django.contrib.auth import get_user_model

from participants.api_tokens import ApiToken
from tests.api import TokenClient, client_of

pytestmark = pytest.mark.django_db


def test_the_admin_shows_the_key_once_and_stores_only_its_digest(client, staff):
    coordinator = staff["coordinator-ocn"]
    client.force_login(coordinator)
    response = client.post(
        "/admin/participants/apitoken/add/",
        {"user": coordinator.pk, "name": "EDC sync"},
        follow=True,
    )
    page = response.content.decode()
    key = re.search(r"shown only now: ([A-Za-z0-9_-]{40,})", page).group(1)
    token = ApiToken.objects.get(user=coordinator)
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    assert token.prefix == key[:8] and token.created_by == coordinator
    assert key not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    listing = client.get("/admin/participants/apitoken/").content.decode()
    assert token.prefix in listing and key not in listing
    assert (
        key not in client.get(f"/admin/participants/apitoken/{token.pk}/change/").content.decode()
    )
    assert TokenClient(key).get("/sites/").status_code == 200


def test_a_coordinator_cannot_issue_a_token_for_someone_else(client, staff):
    client.force_login(staff["coordinator-ocn"])
    client.post("/admin/participants/apitoken/add/", {"user": staff["monitor"].pk, "name": "x"})
    assert not ApiToken.objects.filter(user=staff["monitor"]).exists()


def test_a_revoked_token_is_refused_with_a_json_401(client, staff):
    api = client_of("coordinator-ocn")
    assert api.get("/sites/").status_code == 200
    client.force_login(staff["coordinator-ocn"])
    token = ApiToken.objects.get(user=staff["coordinator-ocn"])
    done = client.post(
        "/admin/participants/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )
    shown = [str(message) for message in done.context["messages"]]
    assert shown == ["1 token revoked: its key is refused from now on."]
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == staff["coordinator-ocn"]
    response = api.get("/sites/")
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "This token is unknown or revoked."


def test_an_inactive_users_token_no_token_and_a_wrong_one_are_401(staff):
    api = client_of("monitor")
    get_user_model().objects.filter(username="monitor").update(is_active=False)
    for client in (api, TokenClient(None), TokenClient("not-a-key"), TokenClient("a b")):
        response = client.get("/visits/")
        assert response.status_code == 401
        assert response["Content-Type"] == "application/json"
        assert response.json()["errors"][0]["field"] is None
    assert TokenClient(None).get("/visits/")["WWW-Authenticate"].startswith("Bearer")


def test_last_use_is_written_at_most_once_a_minute(staff):
    api = client_of("monitor")
    api.get("/sites/")
    first = ApiToken.objects.get(user__username="monitor").last_used_at
    api.get("/sites/")
    assert first is not None
    assert ApiToken.objects.get(user__username="monitor").last_used_at == first

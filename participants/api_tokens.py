"""Staff access to the REST API (docs/api.md): personal tokens, and the requests each token's
user made with an ``Idempotency-Key`` (so an EDC retrying a request never records twice).

A token belongs to one staff user and acts as them, with their role and sites. Only the
SHA-256 digest of its key is stored: the key is shown once, when it is issued, and never
again. A revoked token, or one of a user no longer active, is refused. Its last use is
written at most once a minute, not on every request.
"""

import datetime
import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# What identifies a token in lists without revealing it: the first characters of its key.
PREFIX_LENGTH = 8
# Its last use is written when the one recorded is older than this (no write per request).
LAST_USED_EVERY = datetime.timedelta(minutes=1)
# How long a key's first answer is kept to be replayed (docs/api.md, "Idempotency"): an EDC
# retries within minutes or hours; the answers hold participants' data, so they do not stay.
IDEMPOTENCY_KEPT = datetime.timedelta(days=7)


def key_digest(key: str) -> str:
    """The stored form of a secret (an API key here; a calendar feed's URL secret in
    scheduling.exports.feeds): its SHA-256, in hex."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A staff user's key to the API. The key itself is never stored (``digest``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("user"),
    )
    name = models.CharField(
        _("name"),
        max_length=100,
        help_text=_("What uses it, e.g. “EDC sync”."),
    )
    prefix = models.CharField(_("prefix"), max_length=PREFIX_LENGTH, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        verbose_name=_("created by"),
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        verbose_name=_("revoked by"),
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.prefix}… ({self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyRecord(models.Model):
    """The first answer to a POST made with an ``Idempotency-Key``, kept to be given again.

    Written in the same transaction as the write it answers, so that a concurrent retry with
    the same key waits on the unique index and then replays it (scheduling/api/idempotency.py).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    body_digest = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="one_idempotency_key_per_user")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_at")]

    def __str__(self):
        return f"{self.method} {self.path} ({self.response_status})"


def issue_token(user, *, name: str, by) -> tuple[ApiToken, str]:
    """A new token for ``user``, and its key (shown once: only its digest is kept). Staff
    issue tokens for themselves; a superuser for any active staff user."""
    errors = {}
    if not user.is_active or not user.is_staff:
        errors["user"] = f"{user.get_username()} is not an active staff user."
    elif by is not None and by != user and not by.is_superuser:
        errors["user"] = "Only a superuser issues a token for someone else."
    if not name.strip():
        errors["name"] = "Name the token after what will use it, e.g. “EDC sync”."
    if errors:
        raise ValidationError(errors)
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip(),
        prefix=key[:PREFIX_LENGTH],
        digest=key_digest(key),
        created_by=by,
    )
    return token, key


def forget_idempotency_records(now: datetime.datetime | None = None) -> int:
    """Delete the first answers older than :data:`IDEMPOTENCY_KEPT` (run every hour by beat:
    scheduling.tasks.forget_idempotency_keys); how many. A key older than that is new again."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_KEPT
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@transaction.atomic
def revoke_tokens(tokens, *, by, now=None) -> int:
    """Revoke the tokens not yet revoked, recording who and when; how many were."""
    return tokens.filter(revoked_at__isnull=True).update(
        revoked_at=now or timezone.now(), revoked_by=by
    )


def token_for_key(key: str) -> ApiToken | None:
    """The active token of an active staff user whose key is ``key``, else None."""
    token = ApiToken.objects.select_related("user").filter(digest=key_digest(key)).first()
    if token is None or not token.is_active:
        return None
    if not token.user.is_active or not token.user.is_staff:
        return None
    return token


def note_use(token: ApiToken, now=None) -> None:
    """Record that ``token`` was used, at most once every :data:`LAST_USED_EVERY`."""
    now = now or timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now

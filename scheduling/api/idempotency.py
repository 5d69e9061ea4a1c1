"""``Idempotency-Key`` on every POST (docs/api.md, "Idempotency"), so that an EDC retrying a
request never records twice.

The key's record (``participants.api_tokens.IdempotencyRecord``, unique per user and key) is
inserted first, in the same transaction as the write it answers: a concurrent retry with the
same key waits on the unique index until the first commits, then finds it and replays its
answer. Same key and body: the first answer again (same status and body, with
``Idempotent-Replayed: true``); same key with another body or on another path: a 422. A
refused request (any 4xx) keeps nothing, its key included: it may be corrected and sent again.
"""

import hashlib
import json

from django.db import IntegrityError, transaction
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from participants.api_tokens import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255


class KeyMissing(exceptions.ValidationError):
    pass


class KeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was used for another request."


def header_key(request) -> str:
    """The request's key, checked: 1 to 255 printable ASCII characters."""
    key = request.headers.get(HEADER, "")
    if not key:
        raise KeyMissing({HEADER: "Every POST carries an Idempotency-Key header (a UUID, say)."})
    if len(key) > MAX_KEY_LENGTH or not all(" " < ch < "\x7f" for ch in key):
        raise KeyMissing(
            {HEADER: f"An Idempotency-Key is 1 to {MAX_KEY_LENGTH} printable ASCII characters."}
        )
    return key


def body_digest(data) -> str:
    """The SHA-256 of the body as parsed, written canonically (keys sorted, no spaces): the
    same JSON sent with other spacing or key order is the same body."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), cls=JSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(record: IdempotencyRecord, method: str, path: str, digest: str) -> Response:
    if record.method != method or record.path != path or record.body_digest != digest:
        raise KeyReused(
            f"This Idempotency-Key was first used for {record.method} {record.path} with "
            "another body: use a new key for a new request."
        )
    return Response(record.response_body, status=record.response_status, headers={REPLAYED: "true"})


def idempotent(request, write) -> Response:
    """``write()``'s response, or the first answer to this key; in one transaction with it."""
    key = header_key(request)
    digest = body_digest(request.data)
    method, path = request.method, request.path
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user=request.user, key=key, method=method, path=path, body_digest=digest
                )
        except IntegrityError:
            # Another request holds (or held) this key: the insert waited for it to commit.
            record = IdempotencyRecord.objects.get(user=request.user, key=key)
            return _replay(record, method, path, digest)
        response = write()
        if response.status_code >= 300:
            transaction.set_rollback(True)
            return response
        record.response_status = response.status_code
        record.response_body = json.loads(json.dumps(response.data, cls=JSONEncoder))
        record.save(update_fields=["response_status", "response_body"])
        return response

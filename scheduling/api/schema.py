"""What the OpenAPI schema says of every operation besides its success (docs/api.md): the
error shape, the responses each kind of operation may give, the ``Idempotency-Key`` header
of every POST."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from scheduling.api.idempotency import HEADER, MAX_KEY_LENGTH, REPLAYED

ERROR = inline_serializer(
    name="Errors",
    fields={
        "errors": serializers.ListField(
            child=inline_serializer(
                name="Error",
                fields={
                    "field": serializers.CharField(
                        allow_null=True,
                        help_text="The request's field, header or query parameter at fault; "
                        "null: the request as a whole.",
                    ),
                    "message": serializers.CharField(),
                },
            )
        )
    },
)

_WHY = {
    400: "Bad input: the errors name each field and say what is wrong with it.",
    401: "No token, or one unknown or revoked, or whose user is no longer active staff.",
    403: "The token's user's role may not do this.",
    404: "No such record among the token's user's sites.",
    405: "The method is not offered here.",
    406: "Only application/json is answered.",
    415: "The body is not application/json.",
    422: "This Idempotency-Key was used for another request (another body or path).",
}


def errors(*codes: int) -> dict:
    return {code: OpenApiResponse(ERROR, description=_WHY[code]) for code in codes}


READ_ERRORS = errors(400, 401, 403, 406)
DETAIL_ERRORS = errors(401, 403, 404, 406)
WRITE_ERRORS = errors(400, 401, 403, 404, 406, 415, 422)

IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    required=True,
    description=f"1 to {MAX_KEY_LENGTH} printable ASCII characters (a UUID, say), new for "
    "each new request; the same key again with the same body replays the first answer, with "
    f"the header {REPLAYED}: true.",
)

"""Token authentication (docs/api.md, "Authentication"): ``Authorization: Bearer <key>`` (or
``Token <key>``) names a staff user's :class:`participants.api_tokens.ApiToken`. A key that is
unknown, revoked, or whose user is no longer active staff is a 401; so is a request with none.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from participants.api_tokens import note_use, token_for_key

SCHEMES = (b"bearer", b"token")


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """The user of the token in the ``Authorization`` header; its last use noted (at most once
    a minute)."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() not in SCHEMES:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "The Authorization header is “Bearer” followed by one key."
            )
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            key = ""
        token = token_for_key(key) if key else None
        if token is None:
            raise exceptions.AuthenticationFailed("This token is unknown or revoked.")
        note_use(token)
        return token.user, token

    def authenticate_header(self, request):
        # A 401 (not a 403) for a request without credentials, with how to give them.
        return 'Bearer realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """The schema's security scheme for :class:`BearerTokenAuthentication`."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token, issued in the admin (API tokens).",
        }

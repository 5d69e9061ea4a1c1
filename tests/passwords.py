"""One real password hash per test password per session, for the fixtures that create users.

Django's default hasher (PBKDF2, 1,000,000 iterations) takes about half a second a hash on the
test machine, and the ``staff`` fixture alone made five of them for every one of its ~200
tests (about 3 s of set-up each, some 10 minutes of the suite). Within
``reused_password_hashes()`` the first hash of a password is made as usual and reused for every
later user given the same password: still a hash by the configured hasher at its full cost, so
``check_password`` and every sign-in with the password behave as in production. Only the salt
is shared between those users. Nothing outside the block is changed.
"""

import contextlib
from unittest import mock

_HASHES: dict[tuple, str] = {}


@contextlib.contextmanager
def reused_password_hashes():
    from django.conf import settings
    from django.contrib.auth import base_user, hashers
    from django.contrib.auth import models as auth_models

    def make_password(password, salt=None, hasher="default"):
        if not isinstance(password, str) or salt is not None or hasher != "default":
            return hashers.make_password(password, salt, hasher)  # unusable, or asked for
        key = (password, tuple(settings.PASSWORD_HASHERS))
        if key not in _HASHES:
            _HASHES[key] = hashers.make_password(password)
        return _HASHES[key]

    with (
        mock.patch.object(base_user, "make_password", make_password),  # set_password
        mock.patch.object(auth_models, "make_password", make_password),  # create_user
    ):
        yield

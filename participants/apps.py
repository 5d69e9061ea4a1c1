from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParticipantsConfig(AppConfig):
    name = "participants"
    verbose_name = _("Participants and sites")

    def ready(self):
        # Two-factor sign-in judges at each sign-in what the user owes (a code, a set-up).
        # The workspace language a user set is put in their session at sign-in.
        from participants import (
            staff_language,  # noqa: F401
            two_factor,  # noqa: F401
        )

from django.apps import AppConfig


class ParticipantsConfig(AppConfig):
    name = "participants"
    verbose_name = "Participants and sites"

    def ready(self):
        # Two-factor sign-in judges at each sign-in what the user owes (a code, a set-up).
        from participants import two_factor  # noqa: F401

"""The embedded-default mail backend: every message lands in var/mail/ and on the console."""

from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend


class FolderAndConsoleBackend(FileBackend):
    """Writes each message to a file under EMAIL_FILE_PATH and echoes it to stdout."""

    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        ConsoleBackend().send_messages(email_messages)
        return sent

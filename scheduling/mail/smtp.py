"""The SMTP backend used when ``EMAIL_URL`` names an SMTP server (trialsite/settings.py).

Django's backend waits for every reply with one socket timeout (``EMAIL_TIMEOUT``). RFC 5321
§4.5.3.2 gives the reply to the end of the data far longer than the others: a server may be
scanning or queueing the message, and a client that hangs up then does not know whether the
message was taken. This backend waits ``EMAIL_DATA_REPLY_TIMEOUT`` (10 minutes, §4.5.3.2.6)
for that one reply, and ``EMAIL_TIMEOUT`` for everything else. When the connection drops or
the wait runs out after the final "." went out, it raises ``OutcomeUnknown``: the server may
have queued the message, so the caller must not treat it as a plain failure (docs/reminders.md).
"""

import re
import smtplib

from django.conf import settings
from django.core.mail.backends import smtp

_LEADING_DOT = re.compile(rb"(?m)^\.")
_BARE_LINE_END = re.compile(rb"\r\n|\r|\n")


class OutcomeUnknown(smtplib.SMTPServerDisconnected):
    """The whole message was sent, then no reply came: it may or may not have been queued."""

    def __init__(self, reason: str):
        super().__init__(f"no reply after the message was sent: {reason}")
        self.reason = reason  # what ended the wait: the connection closed, or timed out


class _WaitForTheDataReply:
    """``smtplib.SMTP.data`` with its own timeout for the reply to the end of the data."""

    data_reply_timeout: float | None = None

    def data(self, msg):
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        if isinstance(msg, str):
            msg = _BARE_LINE_END.sub(b"\r\n", msg.encode("ascii"))
        data = _LEADING_DOT.sub(b"..", msg)
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        # A failure while sending is an ordinary lost connection: without the final "." the
        # server discards what it got (RFC 5321 §4.1.1.4).
        self.send(data + b".\r\n")
        self.sock.settimeout(self.data_reply_timeout)
        try:
            return self.getreply()
        except smtplib.SMTPServerDisconnected as error:  # dropped, or the wait ran out
            raise OutcomeUnknown(str(error)) from error
        finally:
            if self.sock is not None:
                self.sock.settimeout(self.timeout)


class _SMTP(_WaitForTheDataReply, smtplib.SMTP):
    pass


class _SMTPOverSSL(_WaitForTheDataReply, smtplib.SMTP_SSL):
    pass


class EmailBackend(smtp.EmailBackend):
    """Django's SMTP backend, waiting ``EMAIL_DATA_REPLY_TIMEOUT`` seconds for the reply to
    the end of the data, ``EMAIL_TIMEOUT`` for the rest."""

    def __init__(self, *args, data_reply_timeout=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.data_reply_timeout = (
            settings.EMAIL_DATA_REPLY_TIMEOUT if data_reply_timeout is None else data_reply_timeout
        )

    @property
    def connection_class(self):
        return _SMTPOverSSL if self.use_ssl else _SMTP

    def open(self):
        opened = super().open()
        if self.connection is not None:
            self.connection.data_reply_timeout = self.data_reply_timeout
        return opened

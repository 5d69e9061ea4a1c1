"""A real SMTP server on loopback for the tests (aiosmtpd), on a free port.

``LoopbackSMTP`` records every accepted message and can be told to misbehave the ways real
relays do: refuse MAIL FROM (``530 5.7.0 Authentication required``), answer RCPT with a reply
of our choosing (451 for the first n tries, 550 always, or one reply for one address only),
refuse the message after its data, be slow, take the message and answer only after a delay,
or take it and drop the connection without answering. It can also run a callback once it has
taken a message. The ``smtp_server`` fixture starts one and points Django's email settings at
it as ``EMAIL_URL`` would; ``refusing_port`` is a bound port nobody listens on.
"""

import asyncio
import email
import email.policy
import logging
import socket
import threading
import time

import pytest
from aiosmtpd.controller import Controller

# aiosmtpd logs every SMTP command at INFO; failures are what a test report needs.
logging.getLogger("mail.log").setLevel(logging.WARNING)


class _AnyFreePortController(Controller):
    """aiosmtpd's Controller bound to port 0: the OS picks a free port, read back here."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class RecordingHandler:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.peers: list[tuple[str, int]] = []  # the client end of each message's connection
        self.rcpt_attempts = 0
        self.refuse_rcpt: str | None = None  # e.g. "550 5.1.1 Mailbox unavailable"
        self.refuse_first = 0  # answer ``refuse_rcpt`` to the first n RCPT commands only
        self.refuse_address: dict[str, str] = {}  # one address's own reply, e.g. 550 5.1.1
        self.refuse_mail: str | None = None  # the reply to MAIL FROM, e.g. "530 5.7.0 ..."
        self.refuse_data: str | None = None  # the final reply after the data, e.g. "554 ..."
        self.reply_delay = 0.0  # seconds between taking the data and answering 250
        self.drop_after_data = 0  # take the next n messages and hang up instead of answering
        self.mail_attempts = 0
        self.delay = 0.0  # seconds spent on each message before accepting it
        self.latency = 0.0  # seconds before each reply to EHLO, MAIL, RCPT, DATA (a far server)
        self.after_accept = None  # callable(message), run before "250" goes back
        self._lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        await asyncio.sleep(self.latency)
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        await asyncio.sleep(self.latency)
        with self._lock:
            self.mail_attempts += 1
        if self.refuse_mail:
            return self.refuse_mail
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await asyncio.sleep(self.latency)
        with self._lock:
            self.rcpt_attempts += 1
            attempt = self.rcpt_attempts
        if address in self.refuse_address:
            return self.refuse_address[address]
        if self.refuse_rcpt and (not self.refuse_first or attempt <= self.refuse_first):
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.latency)
        if self.delay:
            time.sleep(self.delay)  # blocking on purpose: a slow server, one message at a time
        if self.refuse_data:
            return self.refuse_data
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.peers.append(session.peer)
        if self.after_accept is not None:
            self.after_accept(message)
        # From here on the message is queued: what follows is only the reply, or no reply.
        with self._lock:
            drop = self.drop_after_data > 0
            self.drop_after_data -= drop
        if drop:
            server.transport.close()  # the client has sent the final "." and hears nothing
            await asyncio.sleep(3600)  # cancelled when aiosmtpd sees the connection go
        await asyncio.sleep(self.reply_delay)  # the client's timeout decides if it hears this
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        with self._lock:
            return [m["Message-ID"] for m in self.messages]


class LoopbackSMTP:
    def __init__(self):
        self.handler = RecordingHandler()
        self.controller = _AnyFreePortController(self.handler, hostname="127.0.0.1", port=0)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port

    @property
    def messages(self):
        return self.handler.messages


def point_django_at(settings, port: int) -> None:
    """The settings ``EMAIL_URL=smtp://127.0.0.1:port`` gives (trialsite/settings.py)."""
    settings.EMAIL_BACKEND = "scheduling.mail.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


# Test modules import these two by their function names (``smtp_server_fixture``,
# ``refusing_port_fixture``) and request them by fixture name.
@pytest.fixture(name="smtp_server")
def smtp_server_fixture(settings):
    with LoopbackSMTP() as server:
        point_django_at(settings, server.port)
        yield server


@pytest.fixture(name="refusing_port")
def refusing_port_fixture(settings):
    """A port bound on loopback with no listener: connecting to it is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        point_django_at(settings, port)
        yield port

"""The dispatch run's email connection, and what a mail server's answer means for a message.

The rule (docs/reminders.md, "When the mail server says no"), by what an answer concerns:

- **the mail set-up** (the relay, our sender, our login): any refusal of MAIL FROM; a 5xx
  whose enhanced status code is 5.7.x (policy, authentication) or 5.5.x (protocol), or 5.1.7
  or 5.1.8 (the sender's address); a 500, 502, 503, 504, 530, 534, 535 or 538 without one;
  the same 5xx for ``SAME_REFUSAL_STREAK`` different recipients in a row; no server to talk
  to. The message is retried with backoff, the rest of the run sends nothing (``halted``),
  and the caller records the fault for operators;
- **one mailbox**: a refusal of the recipient with enhanced code 5.1.x (not 5.1.7 or 5.1.8),
  or an invalid address. That message fails;
- **unclear**: any other 5xx to the recipient or the message. It is the mailbox's if the
  server accepts another recipient after it; the caller holds the message (retried with
  backoff) until ``confirmed_refusals`` says so, or the streak makes it the set-up's;
- **a passing trouble**: 4xx replies and a connection lost before the message was all sent.
  Retried with backoff; the run goes on (a new connection for the next message);
- **unknown**: the whole message went out and no reply came (``scheduling.mail.smtp``). The
  server may have taken it. The run stops sending; the caller decides about a second copy;
- **the message**: a header built from a site's data holds a line break (its name in the
  digest's subject, its coordinator's address in Reply-To), stored before such values were
  refused. Nothing was sent, and every message of that site fails the same way: it is no
  one's mailbox. Retried with backoff, so it goes out once the site is corrected; the run
  goes on, and an ERROR line names the header.
"""

import contextlib
import datetime
import logging
import re
import smtplib
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.mail import BadHeaderError, get_connection
from django.core.validators import validate_email
from django.utils import timezone

from scheduling.mail.redaction import redact_addresses
from scheduling.mail.smtp import OutcomeUnknown

log = logging.getLogger(__name__)

TRANSIENT = "transient"
MAILBOX = "mailbox"
SETUP = "setup"
UNCLEAR = "unclear"
UNKNOWN = "unknown"
MESSAGE = "message"

# Three different recipients refused with the same reply, none accepted between: the relay.
SAME_REFUSAL_STREAK = 3

_ENHANCED_CODE = re.compile(r"\s*[245]\.(\d{1,3})\.(\d{1,3})(?!\d)")
_SENDER_ADDRESS = {7, 8}  # X.1.7 bad sender's mailbox syntax, X.1.8 bad sender's system address
# RFC 5321 §4.2.3 syntax and sequence errors, RFC 4954 §6 authentication replies.
_SETUP_CODES = {500, 502, 503, 504, 530, 534, 535, 538}
# The end of Django's BadHeaderError: "... (got 'value' for header 'Subject')".
_HEADER_NAME = re.compile(r"for header '([\w-]+)'\)$")


def concerns(code: int, text: str) -> str:
    """What a refusal of a recipient, or of the message itself, concerns: ``TRANSIENT``,
    ``SETUP``, ``MAILBOX`` or ``UNCLEAR`` (by the enhanced status code first, RFC 3463)."""
    if code < 500:
        return TRANSIENT
    enhanced = _ENHANCED_CODE.match(text)
    if enhanced:
        subject, detail = int(enhanced[1]), int(enhanced[2])
        if subject == 1:
            return SETUP if detail in _SENDER_ADDRESS else MAILBOX
        return SETUP if subject in (5, 7) else UNCLEAR
    return SETUP if code in _SETUP_CODES else UNCLEAR


def _decoded(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text


def reply_text(code: int, text: bytes | str) -> str:
    return f"{code} {_decoded(text)}".strip()


class DeliveryError(Exception):
    """A message was not delivered, or not known to be; ``kind`` is one of the six above.

    ``addresses`` are the recipients concerned, kept in memory for the run's judgment and
    never logged or stored."""

    def __init__(self, text: str, *, kind: str, addresses: frozenset[str] = frozenset()):
        super().__init__(text)
        self.text = text
        self.kind = kind
        self.addresses = addresses

    @property
    def permanent(self) -> bool:
        return self.kind == MAILBOX


@dataclass
class _Streak:
    """Unclear refusals with one reply for different recipients, none accepted between."""

    reply: str = ""
    addresses: set[str] = field(default_factory=set)

    def add(self, reply: str, addresses) -> int:
        if reply != self.reply:
            self.reply, self.addresses = reply, set()
        self.addresses.update(addresses)
        return len(self.addresses)


class Mailer:
    """One email connection shared by a dispatch run, opened on first use.

    Turns what the backend raises into a ``DeliveryError`` of one kind (module docstring).
    Once the mail set-up is at fault (``halted`` says how, addresses redacted), the rest of
    the run does not try the server again: each row is retried later with its own backoff.
    """

    def __init__(self, connection=None):
        self.connection = connection or get_connection(fail_silently=False)
        self.halted = ""
        self.last_accepted_at: datetime.datetime | None = None
        self._streak = _Streak()
        self._held: list[tuple[object, frozenset[str]]] = []
        self._confirmed: list[object] = []

    def send(self, message) -> None:
        addresses = frozenset(message.recipients())
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError as error:
                raise DeliveryError("invalid address", kind=MAILBOX) from error
        if self.halted:
            raise DeliveryError(self.halted, kind=TRANSIENT)
        self._open()
        message.connection = self.connection
        try:
            self.connection.send_messages([message])
        except (OSError, ValueError) as error:  # smtplib's errors are OSErrors
            raise self._judge(error, addresses) from error
        self._accepted(addresses)

    def _open(self) -> None:
        try:
            self.connection.open()
        except smtplib.SMTPResponseException as error:  # greeting, EHLO, STARTTLS or AUTH
            self._drop()
            raise self._setup_fault(
                "mail server refused the connection: "
                + reply_text(error.smtp_code, error.smtp_error)
            ) from error
        except OSError as error:  # refused, timed out, name not found, TLS failure
            self._drop()
            raise self._setup_fault(
                f"mail server unreachable: {error.__class__.__name__}: {error}"
            ) from error

    def _judge(self, error: OSError | ValueError, addresses: frozenset[str]) -> DeliveryError:
        """The ``DeliveryError`` for what ``send_messages`` raised."""
        if isinstance(error, OutcomeUnknown):
            self._drop()
            self.halt(f"mail server gave no reply after a message was sent: {error.reason}")
            return DeliveryError(f"outcome unknown: {error}", kind=UNKNOWN)
        if isinstance(error, smtplib.SMTPSenderRefused):  # MAIL FROM: never the recipient's
            return self._setup_fault(
                f"sender refused: {reply_text(error.smtp_code, error.smtp_error)}"
            )
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            refused = error.recipients  # {address: (code, text)}
            kinds = {concerns(code, _decoded(text)) for code, text in refused.values()}
            text = "recipient refused: " + "; ".join(reply_text(*r) for r in refused.values())
            return self._refused(text, kinds, frozenset(refused))
        if isinstance(error, smtplib.SMTPDataError):  # DATA, or the reply to the data
            kind = concerns(error.smtp_code, _decoded(error.smtp_error))
            text = f"message refused: {reply_text(error.smtp_code, error.smtp_error)}"
            return self._refused(text, {kind}, addresses)
        if isinstance(error, smtplib.SMTPResponseException):  # HELO refused, or 421 closing
            self._drop()
            return self._setup_fault(
                f"mail server error: {reply_text(error.smtp_code, error.smtp_error)}"
            )
        if isinstance(error, OSError):  # disconnected or timed out before the data was all sent
            self._drop()
            self._streak = _Streak()
            return DeliveryError(
                f"connection lost: {error.__class__.__name__}: {error}", kind=TRANSIENT
            )
        if isinstance(error, BadHeaderError):  # raised before anything is sent
            return self._bad_header(error)
        return DeliveryError(f"invalid address: {error}", kind=MAILBOX)  # cannot be encoded

    def _bad_header(self, error: BadHeaderError) -> DeliveryError:
        """A header with a line break: named, never quoted (its value may be an address)."""
        named = _HEADER_NAME.search(str(error))
        text = f"invalid header: {named[1] if named else 'a header'} contains a line break"
        log.error("a message cannot be built, retried later: %s", text)
        return DeliveryError(text, kind=MESSAGE)

    def _refused(self, text: str, kinds: set[str], addresses: frozenset[str]) -> DeliveryError:
        if SETUP in kinds:
            return self._setup_fault(text)
        if TRANSIENT in kinds:
            kind = TRANSIENT
        elif kinds == {MAILBOX}:
            kind = MAILBOX
        else:
            kind = UNCLEAR
        if kind != UNCLEAR:
            self._streak = _Streak()
            return DeliveryError(text, kind=kind, addresses=addresses)
        reply = redact_addresses(text.partition(": ")[2])
        count = self._streak.add(reply, addresses)
        if count >= SAME_REFUSAL_STREAK:
            return self._setup_fault(f"the same refusal for {count} recipients in a row: {reply}")
        return DeliveryError(text, kind=UNCLEAR, addresses=addresses)

    def _setup_fault(self, text: str) -> DeliveryError:
        self.halt(text)
        return DeliveryError(text, kind=SETUP)

    def halt(self, text: str) -> None:
        """Stop sending for the rest of the run: the mail set-up is at fault, said at once.
        The rows left unsent carry ``halted`` as their error, so it names no one's address."""
        self.halted = redact_addresses(text)
        self._streak = _Streak()
        self._held = []  # the set-up's fault, not theirs: they stay pending and are retried
        log.error("mail set-up fault, this run sends no more: %s", self.halted)

    def _accepted(self, addresses: frozenset[str]) -> None:
        self.last_accepted_at = timezone.now()
        self._streak = _Streak()
        # Another recipient accepted after a held refusal: that refusal was the mailbox's.
        self._confirmed += [key for key, held in self._held if held.isdisjoint(addresses)]
        self._held = [(key, held) for key, held in self._held if not held.isdisjoint(addresses)]

    def hold(self, key, error: DeliveryError) -> None:
        """Remember a message refused with an ``UNCLEAR`` reply, under the caller's ``key``."""
        self._held.append((key, error.addresses))

    def confirmed_refusals(self) -> list:
        """Keys of held messages whose refusal is now known to be their mailbox's (once)."""
        confirmed, self._confirmed = self._confirmed, []
        return confirmed

    def _drop(self) -> None:
        """Forget a broken connection; the next message opens a new one."""
        with contextlib.suppress(Exception):  # already broken: closing is best effort
            self.connection.close()
        if hasattr(self.connection, "connection"):
            self.connection.connection = None

    def close(self) -> None:
        self._drop()

"""Counting what the SMTP server received against what should have gone out.

Every copy of a reminder carries the same Message-ID (``<reminder-ID@localhost>``), so the
server's list of accepted Message-IDs says, per reminder, how many copies went out: one is
delivered, none is lost (unless the reminder was meant to be held back), more are duplicates.
"""

from collections import Counter
from dataclasses import dataclass, field

from tests.faults.population import message_id


@dataclass
class Ledger:
    expected: list[str]  # the Message-IDs that should each arrive once
    received: Counter = field(default_factory=Counter)  # Message-ID → copies accepted

    @classmethod
    def of(cls, server, reminder_ids) -> "Ledger":
        return cls(
            expected=[message_id(pk) for pk in reminder_ids],
            received=Counter(server.handler.message_ids()),
        )

    @property
    def delivered(self) -> int:
        return sum(1 for mid in self.expected if self.received[mid] > 0)

    @property
    def lost(self) -> list[str]:
        return [mid for mid in self.expected if self.received[mid] == 0]

    @property
    def duplicated(self) -> dict[str, int]:
        """Message-ID → copies, for those received more than once."""
        return {mid: copies for mid, copies in self.received.items() if copies > 1}

    @property
    def duplicates(self) -> int:
        """Copies beyond the first, over every message received."""
        return sum(copies - 1 for copies in self.received.values() if copies > 1)

    def strays(self, *, allowed=()) -> list[str]:
        """Reminders received that were not expected (nor in ``allowed``, e.g. digests)."""
        known = set(self.expected) | set(allowed)
        return [mid for mid in self.received if mid not in known and mid.startswith("<reminder-")]

    def line(self) -> str:
        return (
            f"{self.delivered}/{len(self.expected)} delivered, "
            f"{self.duplicates} duplicate{'' if self.duplicates == 1 else 's'}, "
            f"{len(self.lost)} lost"
        )


def digests(server, since: int = 0) -> list:
    """The coordinator digests the server accepted (after its first ``since`` messages)."""
    return [m for m in server.messages[since:] if m["Message-ID"].startswith("<digest-")]

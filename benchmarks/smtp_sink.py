"""A real SMTP server on loopback (aiosmtpd, as in tests/smtp_server.py), in a process of its
own so that it takes no CPU time from the process being measured. It accepts everything and
counts messages, their Message-IDs (a second copy of one is seen) and connections; it can keep
the messages it took, for the plain-smtplib baseline to send the same bytes again."""

from __future__ import annotations

import pickle
import re
import resource
import threading

from aiosmtpd.controller import Controller

_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _AnyFreePort(Controller):
    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class CountingHandler:
    def __init__(self):
        self.lock = threading.Lock()
        self.keep = False
        self.reset()

    def reset(self, keep: bool = False):
        with self.lock:
            self.cpu = _cpu_seconds()
            self.keep = keep
            self.count = 0
            self.size = 0
            self.ids: set[bytes] = set()
            self.duplicates = 0
            self.peers: set = set()
            self.kept: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        header = content.split(b"\r\n\r\n", 1)[0]
        found = _MESSAGE_ID.search(header)
        with self.lock:
            self.count += 1
            self.size += len(content)
            self.peers.add(session.peer)
            if found:
                if found.group(1) in self.ids:
                    self.duplicates += 1
                self.ids.add(found.group(1))
            if self.keep:
                self.kept.append((envelope.mail_from, list(envelope.rcpt_tos), content))
        return "250 Message accepted for delivery"


def serve():
    handler = CountingHandler()
    controller = _AnyFreePort(handler, hostname="127.0.0.1", port=0)
    controller.start()

    def answer(command: str, keep: bool = False, path: str = ""):
        if command == "port":
            return controller.port
        if command == "reset":
            handler.reset(keep)
            return None
        if command == "dump":
            with handler.lock:
                kept = list(handler.kept)
            with open(path, "wb") as out:
                pickle.dump(kept, out)
            return len(kept)
        with handler.lock:
            return {
                "messages": handler.count,
                "distinct": len(handler.ids),
                "duplicates": handler.duplicates,
                "connections": len(handler.peers),
                "bytes": handler.size,
                "cpu_seconds": _cpu_seconds() - handler.cpu,
            }

    return answer

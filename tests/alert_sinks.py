"""Local servers the notification tests deliver to for real: an HTTP webhook and an SMTP
server, each on a thread, each recording what it received and signalling an Event."""

from __future__ import annotations

import json
import socketserver
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    items: list = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def add(self, item) -> None:
        with self.arrived:
            self.items.append(item)
            self.arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list:
        """The first `count` items; AssertionError at the deadline (never a silent pass)."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.items) >= count, timeout):
                raise AssertionError(f"expected {count} deliveries, got {len(self.items)} "
                                     f"in {timeout}s")
            return list(self.items[:count])


class WebhookSink:
    """An HTTP server recording each POST: (path with query, headers, JSON body)."""

    def __init__(self, status: int = 200) -> None:
        self.received = Received()
        self.status = status
        self.block: threading.Event | None = None  # set: each answer waits for it
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if sink.block is not None and not sink.block.wait(30):
                    return
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"raw": raw.decode("utf-8", "replace")}
                self.send_response(sink.status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                sink.received.add((self.path, dict(self.headers), body))

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookSink:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


class SmtpSink:
    """A minimal SMTP server (RFC 5321's commands smtplib sends, plus AUTH PLAIN/LOGIN
    accepted for any credentials): records (from, [to], message text)."""

    def __init__(self) -> None:
        self.received = Received()
        self.logins: list[str] = []
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write((line + "\r\n").encode())

            def handle(self) -> None:
                self.reply("220 sink ESMTP")
                sender, rcpts = None, []
                while True:
                    raw = self.rfile.readline()
                    if not raw:
                        return
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    verb = line.split(" ", 1)[0].upper()
                    if verb == "EHLO":
                        self.wfile.write(b"250-sink\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
                    elif verb == "HELO":
                        self.reply("250 sink")
                    elif verb == "AUTH":
                        sink.logins.append(line)
                        self.reply("235 ok")
                    elif verb == "MAIL":
                        sender, rcpts = line.split(":", 1)[1].strip(), []
                        self.reply("250 ok")
                    elif verb == "RCPT":
                        rcpts.append(line.split(":", 1)[1].strip())
                        self.reply("250 ok")
                    elif verb == "DATA":
                        self.reply("354 go on")
                        lines = []
                        while True:
                            data = self.rfile.readline().decode("utf-8", "replace")
                            if data in (".\r\n", ".\n", ""):
                                break
                            lines.append(data)
                        self.reply("250 queued")
                        sink.received.add((sender, rcpts, "".join(lines)))
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:  # RSET, NOOP and anything else
                        self.reply("250 ok")

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SmtpSink:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def refused_port() -> int:
    """A local port nothing listens on (bound, then closed): connections are refused."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

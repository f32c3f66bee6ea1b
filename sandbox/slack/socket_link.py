"""Socket Mode as Slack serves it: `apps.connections.open` hands an app a WebSocket URL on the
stand-in; the stand-in says hello, delivers envelopes (slash commands, interactivity, events)
and reads the app's acks, which carry the answer an HTTP app would have sent in its response.

Only what an app's Socket Mode client uses of RFC 6455: the opening handshake, unfragmented
text frames, ping/pong and close.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from io import BufferedIOBase

from sandbox.slack.workspace import JsonDict

HANDSHAKE_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA
KINDS = ("slash_commands", "interactive", "events_api")


def accept_key(key: str) -> str:
    """The `Sec-WebSocket-Accept` answer to a client's `Sec-WebSocket-Key`."""
    digest = hashlib.sha1((key + HANDSHAKE_GUID).encode("ascii")).digest()  # noqa: S324 (RFC 6455)
    return base64.b64encode(digest).decode("ascii")


def frame(opcode: int, payload: bytes) -> bytes:
    """One final, unmasked frame, as a server sends it."""
    size = len(payload)
    if size < 126:
        head = bytes([0x80 | opcode, size])
    elif size < 1 << 16:
        head = bytes([0x80 | opcode, 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 127]) + size.to_bytes(8, "big")
    return head + payload


def read_frame(stream: BufferedIOBase) -> tuple[int, bytes] | None:
    """The next frame's opcode and (unmasked) payload; None when the connection ended."""
    head = stream.read(2)
    if len(head) < 2:
        return None
    opcode, size = head[0] & 0x0F, head[1] & 0x7F
    if size in (126, 127):
        size = int.from_bytes(stream.read(2 if size == 126 else 8), "big")
    mask = stream.read(4) if head[1] & 0x80 else b""
    data = stream.read(size)
    if mask:
        data = bytes(byte ^ mask[i % 4] for i, byte in enumerate(data))
    return opcode, data


class SocketLinks:
    """The app's open Socket Mode connections to one stand-in, and the acks it sent."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._writers: list[tuple[BufferedIOBase, threading.Lock]] = []
        self._acks: dict[str, JsonDict] = {}

    def serve(self, reader: BufferedIOBase, writer: BufferedIOBase) -> None:
        """Run one connection after its handshake, until the app closes it: say hello, answer
        pings, keep acks. Called on the HTTP handler's thread."""
        lock = threading.Lock()
        link = (writer, lock)
        self._send(link, {"type": "hello", "num_connections": 1, "debug_info": {}})
        with self._cond:
            self._writers.append(link)
            self._cond.notify_all()
        try:
            while (got := read_frame(reader)) is not None:
                opcode, data = got
                if opcode == CLOSE:
                    break
                if opcode == PING:
                    with lock:
                        writer.write(frame(PONG, data))
                        writer.flush()
                elif opcode == TEXT:
                    self._keep(json.loads(data))
        finally:
            with self._cond:
                self._writers.remove(link)

    def wait_connected(self, timeout: float) -> bool:
        """Whether an app is connected, waiting up to `timeout` seconds for one."""
        with self._cond:
            return self._cond.wait_for(lambda: bool(self._writers), timeout)

    def deliver(self, kind: str, payload: JsonDict, *, timeout: float = 5.0) -> JsonDict:
        """Send an envelope over the newest connection and wait for its ack; the ack's payload
        (`{}` when the app acked without one). TimeoutError when no ack comes."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        if not self.wait_connected(timeout):
            raise TimeoutError("no app is connected over Socket Mode")
        with self._cond:
            link = self._writers[-1]
        self._send(link, envelope)
        deadline = time.monotonic() + timeout
        with self._cond:
            if not self._cond.wait_for(
                lambda: envelope_id in self._acks, max(0.0, deadline - time.monotonic())
            ):
                raise TimeoutError(f"no ack for the {kind} envelope in {timeout} s")
            ack = self._acks.pop(envelope_id)
        answer = ack.get("payload")
        return answer if isinstance(answer, dict) else {}

    def _keep(self, message: object) -> None:
        if isinstance(message, dict) and isinstance(message.get("envelope_id"), str):
            with self._cond:
                self._acks[message["envelope_id"]] = message
                self._cond.notify_all()

    @staticmethod
    def _send(link: tuple[BufferedIOBase, threading.Lock], message: JsonDict) -> None:
        writer, lock = link
        with lock:
            writer.write(frame(TEXT, json.dumps(message).encode("utf-8")))
            writer.flush()

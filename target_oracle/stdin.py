"""Singer input read ahead by a thread, so the tap never waits while a batch commits.

Between the tap and the target, Meltano relays each line and waits until the target's stdin
pipe (64 KB) accepts it. The SDK reads stdin and commits batches on one thread, so while a batch
of thousands of rows is being written the pipe fills, Meltano stops reading the tap, and the
tap stops too: tap and target take turns instead of running side by side on two cores. A
reader thread keeps draining stdin into a bounded queue of chunks (sqlite3 and python-oracledb
release the GIL while the database works), and the SDK consumes lines from that queue.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, BinaryIO

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.singerlib.exceptions import InvalidInputLine

#: Key a RECORD message gets when its record holds text no UTF-8 database can store (lone
#: UTF-16 surrogates): the properties concerned, for the sink to quarantine the record.
UNSTORABLE = "__target_oracle_lone_surrogates__"
CHUNK_BYTES = 1 << 20
#: At most this many chunks wait in memory (64 MB): enough to cover a batch commit.
MAX_CHUNKS = 64
_END = object()


class ReadAheadLines:
    """The lines of a binary stream, read ahead in chunks by a daemon thread."""

    def __init__(self, stream: BinaryIO, chunk_bytes: int = CHUNK_BYTES,
                 max_chunks: int = MAX_CHUNKS) -> None:
        self._stream = stream
        self._chunk_bytes = chunk_bytes
        self._chunks: queue.Queue[object] = queue.Queue(maxsize=max_chunks)
        self._thread = threading.Thread(target=self._pump, name="stdin-read-ahead", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        read = getattr(self._stream, "read1", self._stream.read)
        try:
            while chunk := read(self._chunk_bytes):
                self._chunks.put(chunk)
        except BaseException as exc:  # handed to the consumer, which raises it in its thread
            self._chunks.put(exc)
        finally:
            self._chunks.put(_END)

    def __iter__(self) -> Iterator[bytes]:
        rest = b""
        while True:
            chunk = self._chunks.get()
            if chunk is _END:
                break
            if isinstance(chunk, BaseException):
                raise chunk
            lines = (rest + chunk).split(b"\n") if rest else chunk.split(b"\n")  # type: ignore[union-attr]
            rest = lines.pop()
            yield from (line for line in lines if line.strip())
        if rest.strip():
            yield rest


class ReadAheadReader(MsgSpecReader):
    """The SDK's msgspec reader (exact decimals), fed by `ReadAheadLines` from stdin."""

    @property
    def default_input(self) -> ReadAheadLines:  # type: ignore[override]
        return ReadAheadLines(sys.stdin.buffer)

    _decoder = msgspec.json.Decoder(float_hook=Decimal)

    def deserialize_json(self, line: Any) -> dict:  # type: ignore[override]
        """msgspec (exact decimals, fast); for a line it refuses, the standard ``json``.

        msgspec refuses a lone surrogate escape (``"\\ud800"``) that is valid JSON and that
        a Python server writes for a broken text, and an integer of thousands of digits: one
        such value must not end the run, so the line is parsed again and its record marked
        (:data:`UNSTORABLE`) for quarantine, or the number left to its column's check.
        A line neither parses (garbage, a cut line, bare ``NaN``) still ends the run.
        """
        try:
            return self._decoder.decode(line)
        except msgspec.DecodeError:
            pass
        try:
            message = json.loads(line, parse_float=Decimal, parse_int=_int,
                                 parse_constant=_no_constant)
        except (ValueError, RecursionError) as exc:
            shown = bytes(line[:200]) if isinstance(line, (bytes, bytearray)) else line[:200]
            msg = f"Unable to parse line as JSON ({exc}): {shown!r}"
            raise InvalidInputLine(msg) from exc
        if isinstance(message, dict) and isinstance(message.get("record"), dict):
            fields = [k for k, v in message["record"].items()
                      if has_lone_surrogate(k) or has_lone_surrogate(v)]
            if fields:
                message[UNSTORABLE] = fields
        return message


def _int(text: str) -> int | Decimal:
    """An integer too long for ``int()`` (4,300 digits) as an exact Decimal: it is one bad
    value, for its column to quarantine, not a reason to end the run."""
    return int(text) if len(text) <= 4000 else Decimal(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def has_lone_surrogate(value: Any) -> bool:
    """Whether ``value`` holds a text (a key too) that UTF-8 cannot encode."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(has_lone_surrogate(k) or has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_lone_surrogate(v) for v in value)
    return False

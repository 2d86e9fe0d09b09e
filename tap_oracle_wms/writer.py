"""Singer message writer: the SDK's msgspec writer, minus two per-record costs.

- `RecordMessage.to_dict` goes through `dataclasses.asdict`, which deep-copies every
  record value; we hand the record dict to msgspec as is.
- The SDK flushes stdout after every message; we flush on every non-RECORD message
  (STATE, SCHEMA, ACTIVATE_VERSION), so a STATE line is never left in a buffer
  while the records it covers were written before it, in order.

Decimals are written by msgspec as JSON numbers with their exact digits.
"""

from __future__ import annotations

import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter, serialize_jsonl
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage


class WMSMessageWriter(MsgSpecWriter):
    def serialize_message(self, message: Message) -> bytearray:
        if type(message) is RecordMessage:
            body: dict = {"type": "RECORD", "stream": message.stream, "record": message.record}
            if message.version is not None:
                body["version"] = message.version
            if message.time_extracted is not None:
                body["time_extracted"] = message.time_extracted
            return serialize_jsonl(body)
        return super().serialize_message(message)

    def write_message(self, message: Message) -> None:
        out = sys.stdout.buffer
        out.write(self.format_message(message))
        if type(message) is not RecordMessage:
            out.flush()

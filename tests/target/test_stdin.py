"""Singer input read ahead by a thread: every line arrives once, whole and in order."""

from __future__ import annotations

import io

import pytest

from target_oracle.stdin import ReadAheadLines


def test_lines_split_across_chunks_arrive_whole_and_in_order():
    lines = [f'{{"type":"RECORD","n":{i},"s":"{"x" * (i % 37)}"}}'.encode() for i in range(500)]
    stream = io.BytesIO(b"\n".join(lines) + b"\n\n")
    assert list(ReadAheadLines(stream, chunk_bytes=7, max_chunks=3)) == lines


def test_a_last_line_without_newline_is_kept():
    assert list(ReadAheadLines(io.BytesIO(b"a\nb"), chunk_bytes=1)) == [b"a", b"b"]


def test_a_read_error_reaches_the_reader():
    class Broken(io.RawIOBase):
        def readinto(self, buffer):
            raise OSError("pipe broke")

    with pytest.raises(OSError, match="pipe broke"):
        list(ReadAheadLines(Broken()))

"""Opening inputs: the one gzip rule and the one binary rule every reader and the CLI follow.

An input is gzip when its first two bytes are the gzip magic, whatever the file is called; it
is binary (not a log or a capture) when its first block holds more than a stray NUL byte or two.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import sys
from collections.abc import Iterator
from typing import Any, Final

__all__ = ["GZIP_MAGIC", "gunzip", "is_binary", "is_gzip", "open_input", "unzipped"]

GZIP_MAGIC: Final = b"\x1f\x8b"


def is_gzip(head: bytes) -> bool:
    """True when ``head`` (the first bytes of an input) starts like a gzip stream."""
    return head[:2] == GZIP_MAGIC


def is_binary(head: bytes) -> bool:
    """True for an input whose first block holds NUL bytes, more than a stray one or two (a
    text log holds none; random bytes hold one in 256; a log with a garbled line is still
    read line by line)."""
    return head.count(0) > max(2, len(head) >> 10)


def unzipped(raw: Any) -> Any:
    """The file to read from the buffered binary file ``raw``: unzipped when it is gzip."""
    if is_gzip(raw.peek(2)):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    return raw


def gunzip(data: bytes) -> bytes:
    """``data``, decompressed when it is gzip."""
    return gzip.decompress(data) if is_gzip(data) else data


@contextlib.contextmanager
def open_input(path: str) -> Iterator[tuple[Any, Any]]:
    """``(raw, file)``: the raw byte stream (for progress) and the one to read (unzipped);
    ``"-"`` is standard input."""
    if path == "-":
        raw: Any = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else sys.stdin
        close = False
    else:
        raw = open(path, "rb")  # noqa: SIM115 - closed below
        close = True
    try:
        if not hasattr(raw, "peek"):
            raw = io.BufferedReader(raw)
        yield raw, unzipped(raw)
    finally:
        if close:
            raw.close()

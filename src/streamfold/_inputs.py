"""Opening inputs: the one place every reader and the CLI open what they read.

``open_inputs(source, reader=...)`` takes any input a reader accepts and yields it as
:class:`Opened` inputs, one after another (a list of paths is several): their name, and their
lines or pieces. What a source means depends on the reader, and only there:

* ``"log"`` (``read_log``, ``fold_logs`` on text): bytes or str are the log's text, unless a str
  names an existing file (``log_paths``); a path, a text or binary file object, a list of paths
  or files, or an iterable of lines;
* ``"sse"`` (``from_sse``, ``iter_sse``): bytes or str are the body itself (never a path); a
  path, a binary file object, a response with ``iter_bytes()``, or an iterable of pieces;
* ``"path"`` (the command line, the process pool): the name of a file, ``"-"`` for standard input.

An input is gzip when its first two bytes are the gzip magic, whatever the file is called; it
is binary (not a log or a capture) when its first block holds more than a stray NUL byte or two.
A read error of a log's input (a truncated gzip file, an I/O error) ends its lines or pieces with
one ``ReadError``, which the log readers turn into one located error.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import sys
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Generator, Iterable, Iterator
from typing import Any, Final

from ._errors import UsageError

__all__ = [
    "BINARY",
    "GZIP_MAGIC",
    "HEAD",
    "Opened",
    "ReadError",
    "as_bytes",
    "async_pieces",
    "gunzip",
    "is_binary",
    "is_gzip",
    "log_paths",
    "looks_like_path",
    "one_input",
    "open_input",
    "open_inputs",
    "sniff",
    "unzipped",
]

GZIP_MAGIC: Final = b"\x1f\x8b"
HEAD: Final = 1 << 16  # bytes of an input looked at to tell what it is
READ_SIZE: Final = 1 << 16  # bytes of a file read at a time, as pieces

BINARY: Final = (
    "binary data (NUL bytes in its first 64 KiB), not a log of chunks or an SSE capture: "
    "the file is skipped"
)


class ReadError(Exception):
    """Internal: an input could not be read further (truncated or corrupt gzip, I/O error)."""


_READ_ERRORS: Final = (EOFError, OSError, zlib.error)


# ---------------------------------------------------------------------------------------------
# what an input is


def is_gzip(head: bytes) -> bool:
    """True when ``head`` (the first bytes of an input) starts like a gzip stream."""
    return head[:2] == GZIP_MAGIC


def is_binary(head: bytes) -> bool:
    """True for an input whose first block holds NUL bytes, more than a stray one or two (a
    text log holds none; random bytes hold one in 256; a log with a garbled line is still
    read line by line)."""
    return head.count(0) > max(2, len(head) >> 10)


_SSE_FIELDS: Final = (b"event:", b"id:", b"retry:", b"error:", b":")


def sniff(head: bytes) -> str:
    """``"sse"`` for an SSE capture, ``"jsonl"`` for a JSON-lines log (which may hold
    ``data:`` lines, one chunk per line, but no blank line between events)."""
    if head.startswith(b"\xef\xbb\xbf"):
        return "sse"
    for line in head.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith(b"data:"):
            framed = b"\n\n" in head or b"\r\n\r\n" in head or b"\r\r" in head
            return "sse" if framed else "jsonl"
        return "sse" if line.startswith(_SSE_FIELDS) else "jsonl"
    return "jsonl"


_TEXT_STARTS: Final = ("{", "[", "data:")


def log_paths(source: object) -> list[str] | None:
    """The paths a ``str``, or a list or tuple of ``str``, names; ``None`` when it is text.

    The one rule ``read_log`` and ``fold_logs`` share: a ``str`` that does not start (after
    whitespace) as a log's text does (``{``, ``[`` or ``data:``) and names an existing path is
    a path; otherwise it is the log's text (a line, or a list of lines). A list is read as paths
    only when every item is such a path. Anything else: ``None``.
    """
    if isinstance(source, str):
        items: list[str] = [source]
    elif isinstance(source, (list, tuple)) and source:
        if not all(isinstance(item, str) for item in source):
            return None
        items = list(source)
    else:
        return None
    for item in items:
        text = item.lstrip()
        if not text or text.startswith(_TEXT_STARTS) or "\n" in text or not os.path.exists(item):
            return None
    return items


_PATH_ENDINGS: Final = (".sse", ".txt", ".log", ".gz", ".jsonl", ".json", ".ndjson", ".raw")


def looks_like_path(text: str) -> bool:
    """Whether a str given as an SSE body is more likely a file name (one short line)."""
    name = text.strip()
    if not name or len(name) > 4096 or any(c in name for c in "\n\r\0") or name[0] in "<{[":
        return False
    return (
        "/" in name or "\\" in name or name.lower().endswith(_PATH_ENDINGS) or os.path.exists(name)
    )


def as_bytes(piece: Any) -> bytes:
    """A piece of a body or a line, as bytes (a str as UTF-8, lone surrogates kept)."""
    if type(piece) is bytes:
        return piece
    if isinstance(piece, str):
        return piece.encode("utf-8", "surrogatepass")
    if isinstance(piece, (bytes, bytearray, memoryview)):
        return bytes(piece)
    raise UsageError(f"expected bytes or str pieces, got {type(piece).__name__}")


# ---------------------------------------------------------------------------------------------
# opening


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


class Opened:
    """One input, open: its ``name`` (a path, a file's ``name``, or ``None``), and its lines or
    pieces. ``raw`` is the byte stream of a file opened here (for progress), ``file`` what to read
    from it (unzipped); an input in memory or given as an iterable has ``items`` instead."""

    __slots__ = ("file", "guarded", "items", "name", "raw")

    def __init__(
        self,
        name: str | None,
        *,
        raw: Any = None,
        file: Any = None,
        items: Iterable[Any] | None = None,
        guarded: bool = True,
    ) -> None:
        self.name = name
        self.raw = raw  # set only for a file opened here (by its path)
        self.file = file
        self.items = items
        self.guarded = guarded  # read errors end the input with one ReadError

    def head(self) -> bytes:
        """The first block of a file opened here, to tell what it is (not consumed)."""
        head: bytes = self.file.peek(HEAD)[:HEAD]
        return head

    def format(self, fmt: str) -> str:
        """``"sse"`` or ``"jsonl"``: ``fmt``, or what the head says for ``"auto"``; a binary
        input is read as lines (for its one message)."""
        head = self.head()
        if is_binary(head):
            return "jsonl"
        return sniff(head) if fmt == "auto" else fmt

    def lines(self) -> Iterator[Any]:
        """The lines; those of a file opened here after a look at its first block: a binary
        input gives one ``ReadError`` (one message, instead of one per line of garbage)."""
        if self.items is not None:
            return iter(self.items)
        if self.raw is not None:
            return _text_lines(self.file)
        return _file_lines(self.file)

    def pieces(self) -> Iterator[Any]:
        """The bytes in pieces of any size."""
        if self.items is not None:
            return iter(self.items)
        if self.guarded:
            return _guarded_pieces(self.file)
        return _pieces(self.file)


def open_inputs(source: Any, *, reader: str) -> Generator[Opened, None, None]:
    """The inputs of ``source`` for ``reader`` (``"log"``, ``"sse"`` or ``"path"``: see the
    top), opened one after another: a file opened here is closed when the next input is asked
    for, or when this iterator is closed. Raises ``OSError`` when a file cannot be opened (in its
    turn) and :class:`UsageError` for a source the reader does not take."""
    if reader == "log":
        return _log_inputs(source)
    if reader == "sse":
        return _sse_input(source)
    if reader == "path":
        return _path_input(source, guarded=True)
    raise AssertionError(f"no reader {reader!r}")


@contextlib.contextmanager
def one_input(source: Any, *, reader: str) -> Iterator[Opened]:
    """The one input of a source of ``reader`` ``"sse"`` or ``"path"``, open while in the
    ``with`` block (``open_inputs``)."""
    found = open_inputs(source, reader=reader)
    try:
        yield next(found)
    finally:
        found.close()


def _path_input(path: str, *, guarded: bool) -> Generator[Opened, None, None]:
    with open_input(path) as (raw, file):
        yield Opened(path, raw=raw, file=file, guarded=guarded)


def _log_inputs(source: Any) -> Generator[Opened, None, None]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield Opened(None, items=split_lines(bytes(source)))
    elif isinstance(source, str):
        paths = log_paths(source)
        if paths is not None:
            yield from _path_input(paths[0], guarded=True)
        else:
            yield Opened(None, items=split_lines(source.encode("utf-8", "surrogatepass")))
    elif isinstance(source, os.PathLike):
        yield from _path_input(str(os.fspath(source)), guarded=True)
    elif callable(getattr(source, "readline", None)):
        name = getattr(source, "name", None)
        yield Opened(name if isinstance(name, str) else None, file=source)
    elif isinstance(source, (list, tuple)) and (paths := log_paths(source)) is not None:
        for path in paths:
            yield from _path_input(path, guarded=True)
    elif isinstance(source, Iterable):
        items = iter(source)
        first = next(items, None)
        if first is None:
            return
        if _is_file(first):
            files = [first, *items]
            for item in files:
                if not _is_file(item):
                    raise UsageError(
                        f"a list of files holds only paths and files, got {type(item).__name__}"
                    )
            for item in files:
                yield from _log_inputs(item)
        else:
            yield Opened(None, items=_chain(first, items))
    else:
        raise UsageError(
            "read_log() takes bytes or str (the log's text), a path, a file, a list of paths "
            f"or files, or an iterable of lines; got {type(source).__name__}"
        )


def split_lines(data: bytes) -> list[bytes]:
    """``data.splitlines()``, at memchr speed when there is no CR (the common log): splitlines
    tests every byte for both line ends, which costs a log reader a quarter of its time."""
    if 13 in data:  # (a byte as an int: the C search, no bytes object to compare)
        return data.splitlines()
    lines = data.split(b"\n")
    if not lines[-1]:  # the text ends with a line end (or is empty): no line after it
        lines.pop()
    return lines


def _is_file(item: Any) -> bool:
    return isinstance(item, os.PathLike) or callable(getattr(item, "readline", None))


def _sse_input(source: Any) -> Generator[Opened, None, None]:
    if isinstance(source, (bytes, bytearray, memoryview, str)):
        yield Opened(None, items=(source,))
    elif isinstance(source, os.PathLike):
        path = os.fspath(source)
        # a plain open: from_sse reads a path called "-" as a file, not as standard input
        with open(path, "rb") as raw, unzipped(raw) as file:
            yield Opened(str(path), file=file, guarded=False)
    elif callable(iter_bytes := getattr(source, "iter_bytes", None)):
        yield Opened(None, items=iter_bytes())  # an httpx response: its body as it arrives
    elif callable(getattr(source, "read", None)):
        name = getattr(source, "name", None)
        yield Opened(name if isinstance(name, str) else None, file=source, guarded=False)
    elif isinstance(source, Iterable):
        yield Opened(None, items=source)
    else:
        raise UsageError(
            "from_sse() takes bytes, str (SSE text), a path, a binary file, or an iterable of "
            f"byte / str pieces; got {type(source).__name__}"
        )


def async_pieces(source: Any) -> AsyncIterator[Any]:
    """The pieces of an async source (``afrom_sse``, ``aiter_sse``): an async iterable, or a
    response with ``aiter_bytes()`` (httpx)."""
    aiter_bytes = getattr(source, "aiter_bytes", None)
    if callable(aiter_bytes):  # an httpx response: its body as it arrives
        return aiter(aiter_bytes())
    if not isinstance(source, AsyncIterable):
        kind = type(source).__name__
        raise UsageError(f"afrom_sse() / aiter_sse() take an async iterable of pieces, got {kind}")
    return aiter(source)


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


# ---------------------------------------------------------------------------------------------
# reading


def _file_lines(file: Any) -> Iterator[Any]:
    try:
        yield from file
    except _READ_ERRORS as exc:
        raise ReadError(f"cannot read further: {exc}") from exc


def _text_lines(file: Any) -> Iterator[bytes]:
    try:
        head = file.peek(HEAD)[:HEAD]
    except _READ_ERRORS as exc:
        raise ReadError(f"cannot read further: {exc}") from exc
    if is_binary(head):
        raise ReadError(BINARY)
    yield from _file_lines(file)


def _pieces(file: Any) -> Iterator[Any]:
    read = file.read
    while True:
        piece = read(READ_SIZE)
        if not piece:
            return
        yield piece


def _guarded_pieces(file: Any) -> Iterator[Any]:
    try:
        yield from _pieces(file)
    except _READ_ERRORS as exc:
        raise ReadError(f"cannot read further: {exc}") from exc

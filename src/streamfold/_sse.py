"""Server-Sent Events: an incremental decoder and the loops that fold what it decodes.

Theory of operation
-------------------
``SSEDecoder`` is sans-I/O: bytes in, in pieces of any size, events out. It follows the WHATWG
event-stream rules: one leading BOM is dropped; lines end with LF, CRLF or CR (a piece may end
between the CR and its LF); ``field: value`` lines, with one space after the colon removed;
``data`` lines of one event joined with LF; comment lines (``: keep-alive``) and the ``id`` /
``retry`` fields ignored; a blank line dispatches the event. It works on bytes throughout:
line endings are ASCII and never occur inside a UTF-8 sequence, so a piece that ends inside a
multibyte character needs no care, and the data goes to the JSON parser without a decode step.

Three things go beyond the WHATWG rules because servers need them:

* an ``error:`` field line (some llama.cpp versions send it instead of a data line) makes the event
  an error event, like ``event: error`` (Groq);
* ``data: [DONE]`` ends the stream;
* at the end of the body, an unterminated last line is still a line and a pending event is still
  dispatched (the WHATWG rules drop it): a cut connection often loses only the blank line after the
  final chunk, which carries the finish reason and the usage. The loop then reports a payload that
  is not complete JSON as a cut event.

The loops (``from_sse`` / ``afrom_sse``, ``iter_sse`` / ``aiter_sse``) only read pieces and hand
them to ``_SSEFold`` / ``_SSEParse``, which hold everything the sync and async twins share. Merge
rules live in the core: each chunk goes to :meth:`Accumulator.add`; an error event becomes the
chunk ``{"error": payload}``, which the core folds into a :class:`StreamError` like any in-band
error.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from typing import IO, Any, Final

import anyio

from . import _model as m
from ._convert import json_loads
from ._errors import (
    IncompleteStreamError,
    InvalidChunkError,
    StreamError,
    UsageError,
)
from ._fold import Accumulator, FieldRule

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "InvalidLineError",
    "LineStreamError",
    "SSEDecoder",
    "afrom_sse",
    "aiter_sse",
    "from_sse",
    "iter_sse",
]

Completion = m.ChatCompletion | m.TextCompletion
SSESource = bytes | bytearray | memoryview | str | os.PathLike[str] | IO[Any] | Iterable[Any]

DEFAULT_MAX_EVENT_SIZE: Final = 64 * 1024 * 1024
"""The largest event (its data, or one line of it) the decoder holds: 64 MiB."""

_READ_SIZE: Final = 1 << 16
_BOM: Final = b"\xef\xbb\xbf"

# event kinds
MESSAGE: Final = 0  # a chunk: an event without a name or named "message"
ERROR: Final = 1  # `event: error`, or an event with an `error:` line
DONE: Final = 2  # data: [DONE]
OTHER: Final = 3  # an event with another name: not a chunk

Event = tuple[int, bytes, int, str | None]
"""``(kind, data, line, name)``: ``line`` is the 1-based line of the event's first data line;
``name`` is the event name for ``OTHER`` events, else ``None``."""


# ---------------------------------------------------------------------------------------------
# errors that name the file and line


def where(source: str | None, line: int | None) -> str:
    """``FILE:LINE``, ``FILE``, ``line LINE`` or ``<input>``: the prefix of located messages."""
    if source is None:
        return f"line {line}" if line is not None else "<input>"
    return f"{source}:{line}" if line is not None else source


class InvalidLineError(InvalidChunkError):
    """A line or event of an SSE body or a log is not a valid chunk.

    The message starts with ``FILE:LINE:`` (``line N:`` for in-memory input). ``source`` is the
    file name (``None`` for in-memory input), ``line`` the 1-based line number; ``completion``
    holds what was folded before it.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        path: str = "",
        position: int | None = None,
        completion: Any = None,
        chunk: Any = None,
    ) -> None:
        super().__init__(message, path=path, position=position, completion=completion, chunk=chunk)
        self.source = source
        self.line = line


class LineStreamError(StreamError):
    """The server reported an error in an SSE body or a log, at ``source``:``line``.

    ``error`` is the payload (the value of the ``error`` key, the whole flat error object, or the
    data of an ``error:`` line / ``event: error`` event, parsed as JSON when it is JSON).
    ``completion`` holds everything folded up to and including the chunk that carried it.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        error: Any = None,
        position: int | None = None,
        completion: Any = None,
    ) -> None:
        super().__init__(message, error=error, position=position, completion=completion)
        self.source = source
        self.line = line


def locate(
    exc: InvalidChunkError | StreamError, source: str | None, line: int
) -> InvalidLineError | LineStreamError:
    """The located twin of an error the core raised (which names the chunk, not the line)."""
    message = f"{where(source, line)}: {exc.message}"
    if isinstance(exc, StreamError):
        return LineStreamError(
            message,
            source=source,
            line=line,
            error=exc.error,
            position=exc.position,
            completion=exc.completion,
        )
    return InvalidLineError(
        message,
        source=source,
        line=line,
        path=exc.path,
        position=exc.position,
        completion=exc.completion,
        chunk=exc.chunk,
    )


class _DecodeError(Exception):
    """Internal: the decoder met input it cannot hold; the loops add the file and completion."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def preview(data: bytes | str, size: int = 60) -> str:
    """A short printable excerpt of a payload for error messages."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return repr(text if len(text) <= size else text[: size - 3] + "...")


# ---------------------------------------------------------------------------------------------
# the decoder


class SSEDecoder:
    """Incremental WHATWG event-stream decoder: ``feed(bytes)`` in any pieces, events out.

    ``feed`` and ``close`` return lists of ``(kind, data, line, name)`` events (see :data:`Event`).
    After ``close``, ``cut`` is true when the last event had no blank line after it.
    ``max_event_size`` bounds the data of one event and the length of one line; beyond it,
    ``feed`` raises (the loops turn that into :class:`InvalidLineError`).
    """

    __slots__ = (
        "_data",
        "_error",
        "_event_line",
        "_line",
        "_name",
        "_size",
        "_skip_lf",
        "_start",
        "_tail",
        "_tail_size",
        "cut",
        "max_event_size",
    )

    def __init__(self, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        self.max_event_size = max_event_size
        self._tail: list[bytes] = []  # the unterminated line, in pieces (joined once it ends)
        self._tail_size = 0
        self._skip_lf = False  # the last piece ended with \r: a \n starting the next is its pair
        self._start = True  # a BOM may still come
        self._line = 0  # lines completed so far
        self._data: list[bytes] = []
        self._size = 0
        self._name: bytes | None = None
        self._error: list[bytes] | None = None
        self._event_line = 0
        self.cut = False

    @property
    def line(self) -> int:
        """How many lines have been completed so far."""
        return self._line

    def feed(self, piece: bytes) -> list[Event]:
        """Decode one piece of the body; return the events it completed."""
        if self._start:
            piece = b"".join(self._tail) + piece
            self._tail.clear()
            self._tail_size = 0
            if len(piece) < 3 and _BOM.startswith(piece):
                if piece:
                    self._tail.append(piece)  # wait: this may still become a BOM
                return []
            self._start = False
            if piece.startswith(_BOM):
                piece = piece[3:]
        if self._skip_lf and piece:
            self._skip_lf = False
            if piece[0] == 10:  # the \n of a \r\n split between two pieces
                piece = piece[1:]
        if b"\n" not in piece:
            if b"\r" not in piece:
                if piece:
                    self._tail.append(piece)
                    self._tail_size += len(piece)
                    if self._tail_size > self.max_event_size:
                        self._oversize(self._line + 1)
                return []
        if self._tail:
            self._tail.append(piece)
            piece = b"".join(self._tail)
            self._tail.clear()
        if b"\r" in piece:
            if piece[-1] == 13:
                self._skip_lf = True
            piece = piece.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        events: list[Event] = []
        if b"\n\n" in piece:
            # Fast path: cut at blank lines; an event that is one `data: ` line (what servers
            # send) is taken whole, anything else goes through the line rules.
            blocks = piece.split(b"\n\n")
            rest = blocks.pop()  # the lines after the last blank line
            start = 0
            if self._data or self._error is not None or self._name is not None:
                self._lines([*blocks[0].split(b"\n"), b""], events)  # ends the pending event
                start = 1
            number = self._line
            limit = self.max_event_size
            count = len(blocks) - start
            begin = len(blocks[0]) + 2 if start else 0
            end = len(piece) - len(rest)
            if (
                count
                and end - begin <= limit
                and piece.startswith(b"data: ", begin)
                and piece.count(b"\n", begin, end) == 2 * count
                and piece.count(b"\n\ndata: ", begin, end) == count - 1
            ):
                # every event here is one `data: ` line (the counts say so): no loop needed
                first = len(events)
                numbers = range(number + 1, number + 2 * count, 2)
                events += [
                    (MESSAGE, block[6:], line, None)
                    for block, line in zip(blocks[start:], numbers, strict=True)
                ]
                if b"data: [DONE]" in blocks:
                    for i in range(first, len(events)):
                        if events[i][1] == b"[DONE]":
                            events[i] = (DONE, *events[i][1:])
                number += 2 * count
            else:
                for i in range(start, len(blocks)):
                    block = blocks[i]
                    if block[:6] == b"data: " and b"\n" not in block and len(block) <= limit:
                        number += 2
                        payload = block[6:]
                        kind = DONE if payload == b"[DONE]" else MESSAGE
                        events.append((kind, payload, number - 1, None))
                    else:
                        self._line = number
                        self._lines([*block.split(b"\n"), b""], events)
                        number = self._line
            self._line = number
            piece = rest
        lines = piece.split(b"\n")
        last = lines.pop()
        self._tail_size = len(last)
        if last:
            self._tail.append(last)
            if self._tail_size > self.max_event_size:
                self._oversize(self._line + len(lines) + 1)
        if lines:
            self._lines(lines, events)
        return events

    def close(self) -> list[Event]:
        """End of the body: decode the unterminated last line and dispatch a pending event."""
        tail = b"".join(self._tail)
        self._tail.clear()
        self._tail_size = 0
        if self._start and tail.startswith(_BOM):
            tail = tail[3:]
        self._start = False
        events: list[Event] = []
        if tail:
            self._lines([tail], events)
        self.cut = bool(self._data or self._error is not None)
        if self.cut:
            self._dispatch(events)
        return events

    def _oversize(self, line: int) -> None:
        raise _DecodeError(
            line, f"an event is larger than max_event_size ({self.max_event_size} bytes)"
        )

    def _lines(self, lines: list[bytes], events: list[Event]) -> None:
        number = self._line
        data = self._data
        for line in lines:
            number += 1
            if not line:
                if data or self._error is not None:
                    self._dispatch(events)
                else:
                    self._name = None
                continue
            if line[:6] == b"data: ":
                value = line[6:]
            elif line[0] == 58:  # ':' a comment (keep-alive, OPENROUTER PROCESSING)
                continue
            else:
                colon = line.find(b":")
                if colon == -1:
                    name, value = line, b""
                else:
                    name, value = line[:colon], line[colon + 1 :]
                    if value[:1] == b" ":
                        value = value[1:]
                if name != b"data":
                    if name == b"event":
                        self._name = value or None
                    elif name == b"error":
                        if self._error is None:
                            self._error = []
                            self._event_line = number
                        self._error.append(value)
                        self._grow(len(value), number)
                    continue  # id, retry and unknown fields are ignored
            if not data:
                self._event_line = number
            data.append(value)
            self._size += len(value) + 1
            if self._size > self.max_event_size:
                self._oversize(number)
        self._line = number

    def _grow(self, size: int, line: int) -> None:
        self._size += size + 1
        if self._size > self.max_event_size:
            self._oversize(line)

    def _dispatch(self, events: list[Event]) -> None:
        data = self._data
        name = self._name
        if self._error is not None:
            # an `error:` line wins over data lines of the same event
            events.append((ERROR, b"\n".join(self._error), self._event_line, None))
        else:
            payload = data[0] if len(data) == 1 else b"\n".join(data)
            if name is None or name == b"message":
                kind = DONE if payload == b"[DONE]" else MESSAGE
                events.append((kind, payload, self._event_line, None))
            elif name == b"error":
                events.append((ERROR, payload, self._event_line, None))
            else:
                text = name.decode("utf-8", "replace")
                events.append((OTHER, payload, self._event_line, text))
        data.clear()
        self._name = None
        self._error = None
        self._size = 0


# ---------------------------------------------------------------------------------------------
# events to chunks


def _parse_json(data: bytes) -> Any:
    try:
        return json_loads(data)
    except ValueError:
        # WHATWG decodes the body as UTF-8 with replacement: invalid bytes become U+FFFD
        return json_loads(data.decode("utf-8", "replace"))


def event_chunk(kind: int, data: bytes, line: int, cut: bool) -> dict[str, Any]:
    """The chunk an event carries; raises ``_DecodeError`` when it is not one.

    An error event becomes ``{"error": payload}`` (or its data itself when that already has a
    non-null ``error`` key), so the core raises :class:`StreamError` with the unwrapped payload.
    """
    if kind == ERROR:
        try:
            payload = _parse_json(data)
        except ValueError:
            payload = data.decode("utf-8", "replace")
        if type(payload) is dict and payload.get("error") is not None:
            return payload
        return {"error": payload}
    try:
        chunk = _parse_json(data)
    except ValueError as exc:
        if cut:
            raise _DecodeError(
                line,
                f"the body ended inside an event whose data is not complete JSON "
                f"(a cut connection?): {preview(data[-60:])}",
            ) from None
        raise _DecodeError(
            line, f"invalid JSON in the event's data: {exc}: {preview(data)}"
        ) from None
    if type(chunk) is not dict:
        raise _DecodeError(line, f"expected a JSON object in the event's data, got {preview(data)}")
    return chunk


class _SSEParse:
    """Shared state of ``iter_sse`` / ``aiter_sse``: pieces in, chunk dicts out.

    ``feed`` and ``close`` are generators, so every chunk before a bad event reaches the
    consumer (and its accumulator) before the error is raised.
    """

    __slots__ = ("decoder", "done", "source")

    def __init__(self, source: str | None, max_event_size: int) -> None:
        self.decoder = SSEDecoder(max_event_size)
        self.source = source
        self.done = False

    def feed(self, piece: bytes | str) -> Iterator[dict[str, Any]]:
        try:
            events = self.decoder.feed(_as_bytes(piece))
        except _DecodeError as exc:
            raise self._error(exc) from None
        return self._chunks(events, False)

    def close(self) -> Iterator[dict[str, Any]]:
        if self.done:
            return iter(())
        events = self.decoder.close()
        return self._chunks(events, self.decoder.cut)

    def _chunks(self, events: list[Event], cut: bool) -> Iterator[dict[str, Any]]:
        last = len(events) - 1
        for i, (kind, data, line, _) in enumerate(events):
            if kind == DONE:
                self.done = True
                return
            if kind == OTHER:
                continue
            try:
                chunk = event_chunk(kind, data, line, cut and i == last)
            except _DecodeError as exc:
                raise self._error(exc) from None
            yield chunk

    def _error(self, exc: _DecodeError) -> InvalidLineError:
        return InvalidLineError(
            f"{where(self.source, exc.line)}: {exc.message}", source=self.source, line=exc.line
        )


# ---------------------------------------------------------------------------------------------
# events to completions


class Stream:
    """One stream folded from events: its accumulator, the errors met, and where it was."""

    __slots__ = ("acc", "errors", "first_line", "last_line", "saw_choices", "skipped")

    def __init__(self, acc: Accumulator) -> None:
        self.acc = acc
        self.errors: list[InvalidLineError | LineStreamError] = []
        self.first_line: int | None = None
        self.last_line: int | None = None
        self.saw_choices = False
        self.skipped: tuple[int, str] | None = None  # the first event with another name

    def foreign(self, source: str | None) -> InvalidLineError | None:
        """An error when the events were not chat completion chunks at all (another API)."""
        if self.acc.chunks == 0 and self.skipped is not None:
            line, name = self.skipped
            return InvalidLineError(
                f"{where(source, line)}: no chat completion chunk in the body, only events "
                f"named {name!r} and the like: the SSE body of another API?",
                source=source,
                line=line,
                completion=self.acc.snapshot(),
            )
        if self.acc.chunks and not self.saw_choices and not self.errors:
            return InvalidLineError(
                f"{where(source, self.first_line)}: no event carried 'choices': "
                "not a chat completion stream (the SSE body of another API?)",
                source=source,
                line=self.first_line,
                completion=self.acc.snapshot(),
            )
        return None


class _SSEFold:
    """Shared state of every SSE loop: pieces in, folded streams out.

    With ``multi=False`` (``from_sse``) the first error is raised and ``[DONE]`` ends the work.
    With ``multi=True`` (the command line) a body may hold several streams one after another,
    each closed by ``[DONE]`` or by a server error; errors are collected per stream, a bad chunk
    is skipped, and finished streams wait in ``finished``.
    """

    __slots__ = ("decoder", "done", "finished", "multi", "options", "source", "stream")

    def __init__(
        self,
        *,
        source: str | None,
        max_event_size: int,
        multi: bool,
        field_rules: Mapping[str, FieldRule] | None,
        normalize_finish_reason: bool,
    ) -> None:
        self.decoder = SSEDecoder(max_event_size)
        self.source = source
        self.multi = multi
        self.options: dict[str, Any] = {
            "field_rules": field_rules,
            "normalize_finish_reason": normalize_finish_reason,
        }
        self.stream = Stream(Accumulator(**self.options))
        self.finished: list[Stream] = []
        self.done = False

    def feed(self, piece: bytes | str) -> None:
        try:
            events = self.decoder.feed(_as_bytes(piece))
        except _DecodeError as exc:
            self._fatal(exc)
            return
        self._events(events, False)

    def close(self) -> None:
        """End of the body: fold what is left and close the last stream."""
        if self.done:
            return
        self._events(self.decoder.close(), self.decoder.cut)
        if not self.done:
            self._end()
        self.done = True

    def completion(self, strict: bool) -> Completion:
        """``from_sse``'s result: the one stream's completion (raises what it met)."""
        stream = self.finished[0]
        if stream.errors:
            raise stream.errors[0]
        try:
            return stream.acc.completion(strict=strict)
        except IncompleteStreamError as exc:
            raise IncompleteStreamError(
                f"{where(self.source, stream.last_line)}: {exc.message}",
                position=exc.position,
                completion=exc.completion,
            ) from None

    def _fatal(self, exc: _DecodeError) -> None:
        err = InvalidLineError(
            f"{where(self.source, exc.line)}: {exc.message}",
            source=self.source,
            line=exc.line,
            position=self.stream.acc.chunks,
            completion=self.stream.acc.snapshot(),
        )
        if not self.multi:
            raise err
        # the decoder cannot go on after this: the stream ends with the error, and the body
        self.stream.errors.append(err)
        self._end()
        self.done = True

    def _events(self, events: list[Event], cut: bool) -> None:
        # the hot loop: one JSON parse and one add() per chunk; the rest is bookkeeping
        stream = self.stream
        add = stream.acc.add
        cut_line = events[-1][2] if cut and events else -1
        for kind, data, line, name in events:
            if kind <= ERROR:  # MESSAGE or ERROR: a chunk for the core
                try:
                    chunk: Any = json_loads(data) if kind == MESSAGE else None
                except ValueError:
                    chunk = None
                if type(chunk) is not dict:
                    chunk = self._slow_chunk(stream, kind, data, line, line == cut_line)
                    if chunk is None:
                        continue
                if stream.first_line is None:
                    stream.first_line = line
                if not stream.saw_choices and "choices" in chunk:
                    stream.saw_choices = True
                stream.last_line = line
                try:
                    add(chunk)
                except (InvalidChunkError, StreamError) as exc:
                    self._fail(stream, locate(exc, self.source, line))
                    stream = self.stream  # a new one when the error ended the stream
                    add = stream.acc.add
            elif kind == DONE:
                self._end()
                stream = self.stream
                add = stream.acc.add
                if not self.multi:
                    self.done = True
                    return
            elif stream.skipped is None:
                stream.skipped = (line, name or "")

    def _slow_chunk(
        self, stream: Stream, kind: int, data: bytes, line: int, cut: bool
    ) -> dict[str, Any] | None:
        """An error event, or data the fast parse refused: the chunk, or ``None`` when the
        event is not one (the error is raised, or recorded on the stream)."""
        try:
            return event_chunk(kind, data, line, cut)
        except _DecodeError as exc:
            self._fail(
                stream,
                InvalidLineError(
                    f"{where(self.source, line)}: {exc.message}",
                    source=self.source,
                    line=line,
                    position=stream.acc.chunks,
                    completion=stream.acc.snapshot(),
                ),
            )
            return None

    def _fail(self, stream: Stream, err: InvalidLineError | LineStreamError) -> None:
        if not self.multi:
            raise err
        stream.errors.append(err)
        if isinstance(err, StreamError):
            self._end()

    def _end(self) -> None:
        stream = self.stream
        empty = stream.acc.chunks == 0 and not stream.errors and stream.skipped is None
        if not (self.multi and empty):  # nothing at all between two [DONE]: not a stream
            if not stream.errors:
                foreign = stream.foreign(self.source)
                if foreign is not None:
                    if not self.multi:
                        raise foreign
                    stream.errors.append(foreign)
            self.finished.append(stream)
        self.stream = Stream(Accumulator(**self.options))


def _as_bytes(piece: Any) -> bytes:
    if type(piece) is bytes:
        return piece
    if isinstance(piece, str):
        return piece.encode("utf-8", "surrogatepass")
    if isinstance(piece, (bytes, bytearray, memoryview)):
        return bytes(piece)
    raise UsageError(f"expected bytes or str pieces, got {type(piece).__name__}")


def open_source(source: Any) -> tuple[Iterator[Any], str | None]:
    """The pieces of an SSE source and its name (the path, or a file object's ``name``)."""
    if isinstance(source, (bytes, bytearray, memoryview, str)):
        return iter((source,)), None
    if isinstance(source, os.PathLike):
        path = os.fspath(source)
        return _read_path(path), str(path)
    iter_bytes = getattr(source, "iter_bytes", None)
    if callable(iter_bytes):  # an httpx response: its body as it arrives
        return iter(iter_bytes()), None
    read = getattr(source, "read", None)
    if callable(read):
        name = getattr(source, "name", None)
        return _read_file(source), name if isinstance(name, str) else None
    if isinstance(source, Iterable):
        return iter(source), None
    raise UsageError(
        "from_sse() takes bytes, str (SSE text), a path, a binary file, or an iterable of "
        f"byte / str pieces; got {type(source).__name__}"
    )


def _read_path(path: str | bytes) -> Iterator[bytes]:
    with open(path, "rb") as raw:
        if raw.peek(2)[:2] == b"\x1f\x8b":  # gzip, whatever the file is called
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield from _read_file(unzipped)
        else:
            yield from _read_file(raw)


def _read_file(file: Any) -> Iterator[Any]:
    read = file.read
    while True:
        piece = read(_READ_SIZE)
        if not piece:
            return
        yield piece


# ---------------------------------------------------------------------------------------------
# public entry points


def from_sse(
    source: SSESource,
    *,
    strict: bool = False,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
) -> Completion:
    """Fold an SSE body into the complete response.

    ``source`` is the body as ``bytes``, as ``str`` (always SSE text, never a path), a path
    (``os.PathLike``; gzip is read transparently), a binary file object, an iterable of
    ``bytes`` / ``str`` pieces of any size (``response.iter_bytes()``), or a response object
    with ``iter_bytes()`` (httpx). Reading stops at ``data: [DONE]``, and the source is closed
    then; a body without it ends where the source ends.

    Raises :class:`InvalidLineError` (an :class:`InvalidChunkError`) for an event that is not a
    chunk, an event larger than ``max_event_size``, a body cut inside an event, or a body of
    another API; :class:`LineStreamError` (a :class:`StreamError`) when the server reported an
    error (``{"error": ...}``, a flat ``{"object": "error"}``, ``event: error``, an ``error:``
    line); with ``strict=True``, :class:`IncompleteStreamError`. Each error names the line and
    keeps what was folded before it in ``completion``.
    """
    pieces, name = open_source(source)
    fold = _SSEFold(
        source=name,
        max_event_size=max_event_size,
        multi=False,
        field_rules=field_rules,
        normalize_finish_reason=normalize_finish_reason,
    )
    try:
        for piece in pieces:
            fold.feed(piece)
            if fold.done:
                break
    finally:
        _close(pieces)
    fold.close()
    return fold.completion(strict)


async def afrom_sse(
    source: AsyncIterable[bytes | str],
    *,
    strict: bool = False,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
) -> Completion:
    """Async twin of :func:`from_sse` for an async iterable of pieces (``aiter_bytes()``), or
    a response object with ``aiter_bytes()`` (httpx)."""
    fold = _SSEFold(
        source=None,
        max_event_size=max_event_size,
        multi=False,
        field_rules=field_rules,
        normalize_finish_reason=normalize_finish_reason,
    )
    pieces = _apieces(source)
    try:
        async for piece in pieces:
            fold.feed(piece)
            if fold.done:
                break
    finally:
        await _aclose(pieces)
    fold.close()
    return fold.completion(strict)


def iter_sse(
    source: SSESource, *, max_event_size: int = DEFAULT_MAX_EVENT_SIZE
) -> Iterator[dict[str, Any]]:
    """Yield the chunks of an SSE body one by one, as parsed JSON objects.

    ``source`` is what :func:`from_sse` takes. Events named anything but ``message`` are skipped;
    ``[DONE]`` ends the iteration. An error event (``event: error``, an ``error:`` line) is
    yielded as the chunk ``{"error": payload}``, so ``accumulate(iter_sse(body))`` raises the
    same :class:`StreamError` as :func:`from_sse`. Raises :class:`InvalidLineError` for an event
    that is not a JSON object.
    """
    pieces, name = open_source(source)
    parse = _SSEParse(name, max_event_size)
    try:
        for piece in pieces:
            yield from parse.feed(piece)
            if parse.done:
                return
    finally:
        _close(pieces)
    yield from parse.close()


async def aiter_sse(
    source: AsyncIterable[bytes | str], *, max_event_size: int = DEFAULT_MAX_EVENT_SIZE
) -> AsyncIterator[dict[str, Any]]:
    """Async twin of :func:`iter_sse` for an async iterable of pieces (``aiter_bytes()``)."""
    parse = _SSEParse(None, max_event_size)
    pieces = _apieces(source)
    try:
        async for piece in pieces:
            for chunk in parse.feed(piece):
                yield chunk
            if parse.done:
                return
    finally:
        await _aclose(pieces)
    for chunk in parse.close():
        yield chunk


def _apieces(source: Any) -> AsyncIterator[Any]:
    aiter_bytes = getattr(source, "aiter_bytes", None)
    if callable(aiter_bytes):  # an httpx response: its body as it arrives
        return aiter(aiter_bytes())
    if not isinstance(source, AsyncIterable):
        kind = type(source).__name__
        raise UsageError(f"afrom_sse() / aiter_sse() take an async iterable of pieces, got {kind}")
    return aiter(source)


def _close(pieces: Iterator[Any]) -> None:
    # the source is closed when reading stops early ([DONE], an error), as wrap() does
    close = getattr(pieces, "close", None)
    if callable(close):
        close()


async def _aclose(pieces: AsyncIterator[Any]) -> None:
    # shielded: closing must finish even when the read ends because it was cancelled
    close = getattr(pieces, "aclose", None)
    if callable(close):
        with anyio.CancelScope(shield=True):
            await close()

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

The fast path (``from_sse`` / ``afrom_sse`` and the command line; see "templates" below): the
decoder hands a stretch of one-line ``data:`` events over unread (a ``RUN``), and the fold walks
it in place. An event that repeats an earlier chunk's bytes but for some strings (the text, a
tool call's arguments, OpenAI's ``obfuscation``) or a logprob list is not parsed whole: its
changed leaves are decoded by the JSON parser and folded by ``Accumulator.add_variants``, which
has the effect of ``add()`` on the full chunk. Anything else takes the path described above.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from typing import IO, Any, Final

import anyio

from ._convert import json_bytes, json_loads
from ._dialect import (
    CHAT,
    AnyCompletion,
    Core,
    Dialect,
    dialect_error,
    dialect_of,
    dialect_of_name,
    dialect_of_type,
    is_start_event,
    new_core,
)
from ._errors import (
    IncompleteStreamError,
    InvalidChunkError,
    InvalidLineError,
    LineStreamError,
    StreamError,
    UsageError,
    _DecodeError,
    locate,
    preview,
    where,
)
from ._fold import Accumulator, ChunkVariant, FieldRule
from ._inputs import as_bytes, async_pieces, looks_like_path, one_input
from ._template import (
    FREE_LEARNING,
    LIST_BATCH,
    MAX_TEMPLATES,
    Template,
    carries_fragment,
    decode_leaves,
    in_turn,
    repeat,
    repeat_cycle,
    repeat_lists,
)

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "SSEDecoder",
    "afrom_sse",
    "aiter_sse",
    "from_sse",
    "iter_sse",
]

Completion = AnyCompletion
SSESource = bytes | bytearray | memoryview | str | os.PathLike[str] | IO[Any] | Iterable[Any]

DEFAULT_MAX_EVENT_SIZE: Final = 64 * 1024 * 1024
"""The largest event (its data, or one line of it) the decoder holds: 64 MiB."""

_loads = json_loads  # the JSON parser of data lines (orjson when installed, else json)

_write = json_bytes  # compact JSON as bytes, as json_dumps writes it (TypeError: it refuses)
_BOM: Final = b"\xef\xbb\xbf"

# event kinds
MESSAGE: Final = 0  # a chunk: an event without a name or named "message"
ERROR: Final = 1  # `event: error`, or an event with an `error:` line
DONE: Final = 2  # data: [DONE]
OTHER: Final = 3  # an event with another name: not a chunk
RUN: Final = 4  # internal (SSEDecoder._feed): one-line `data: ` events, their bytes as sent

Event = tuple[int, bytes, int, str | None]
"""``(kind, data, line, name)``: ``line`` is the 1-based line of the event's first data line;
``name`` is the event name for ``OTHER`` events, else ``None``."""


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
        "_rest",
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
        self._rest = b""  # the piece after a RUN, until the RUN is read (_feed with runs)
        self.cut = False

    @property
    def line(self) -> int:
        """How many lines have been completed so far."""
        return self._line

    def feed(self, piece: bytes) -> list[Event]:
        """Decode one piece of the body; return the events it completed."""
        return self._feed(piece, False)

    def _feed(self, piece: bytes, runs: bool) -> list[Event]:
        # With ``runs``, a stretch of one-line ``data: `` events (what servers send) comes out as
        # one ``RUN`` event whose data is their bytes as sent; ``_SSEFold`` walks it in place.
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
        if 10 not in piece:  # (a byte as an int: bytes-in-bytes first fails as an int)
            if 13 not in piece:
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
        if 13 in piece:
            if piece[-1] == 13:
                self._skip_lf = True
            piece = piece.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        events: list[Event] = []
        if runs and piece.find(b"\n\n") >= 0:
            rest = self._run(piece, events)
            if rest is None:
                return events  # a RUN, last: the rest of the piece waits for _resume
            piece = rest
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
                    if block[:6] == b"data: " and 10 not in block and len(block) <= limit:
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
        self._tail_lines(piece, events)
        return events

    def _tail_lines(self, piece: bytes, events: list[Event]) -> None:
        """The lines after the last blank line of a piece; the unterminated one waits."""
        lines = piece.split(b"\n")
        last = lines.pop()
        self._tail_size = len(last)
        if last:
            self._tail.append(last)
            if self._tail_size > self.max_event_size:
                self._oversize(self._line + len(lines) + 1)
        if lines:
            self._lines(lines, events)

    def _run(self, piece: bytes, events: list[Event]) -> bytes | None:
        """Hand the events up to the last blank line over as one ``RUN``, unread, and return
        ``None``: the rest of the piece then waits for :meth:`_resume`. Return what is left for
        the line rules instead when that stretch does not start as a `data: ` event, or is
        larger than an event may be."""
        begin = 0
        if self._data or self._error is not None or self._name is not None:
            cut = piece.index(b"\n\n")
            self._lines([*piece[:cut].split(b"\n"), b""], events)  # ends the pending event
            begin = cut + 2
        end = piece.rfind(b"\n\n") + 2
        if end <= begin or end - begin > self.max_event_size:
            return piece[begin:]
        if not piece.startswith(b"data: ", begin):
            return piece[begin:]
        events.append((RUN, piece[begin:end], self._line + 1, None))
        self._rest = piece[end:]  # holds no blank line: it does not start with a newline either
        return None

    def _resume(self, lines: int) -> list[Event]:
        """After a ``RUN`` of ``lines`` lines was read: go on with the rest of its piece."""
        self._line += lines
        rest = self._rest
        events: list[Event] = []
        if rest:
            self._rest = b""
            self._tail_lines(rest, events)
        else:
            self._tail_size = 0
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
        return _loads(data)
    except ValueError:
        # WHATWG decodes the body as UTF-8 with replacement: invalid bytes become U+FFFD
        return _loads(data.decode("utf-8", "replace"))


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
        if type(payload) is dict and (
            payload.get("error") is not None or dialect_of_type(payload.get("type"), payload)
        ):
            return payload  # (the Responses API's error event is flat: its own type says it)
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

    __slots__ = ("decoder", "dialect", "done", "source")

    def __init__(self, source: str | None, max_event_size: int) -> None:
        self.decoder = SSEDecoder(max_event_size)
        self.source = source
        self.done = False
        self.dialect: Dialect | None = None  # told by the first event

    def feed(self, piece: bytes | str) -> Iterator[dict[str, Any]]:
        try:
            events = self.decoder.feed(as_bytes(piece))
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
        for i, (kind, data, line, name) in enumerate(events):
            if kind == DONE:
                self.done = True
                return
            if kind == OTHER:
                # named events are the Responses and Messages APIs' way; a chat body's are not
                # chunks (skipped, as they always were)
                if self.dialect == CHAT or dialect_of_name(name or "") is None:
                    continue
                kind = MESSAGE
            try:
                chunk = event_chunk(kind, data, line, cut and i == last)
            except _DecodeError as exc:
                raise self._error(exc) from None
            if self.dialect is None:
                self.dialect = dialect_of(chunk)
            yield chunk

    def _error(self, exc: _DecodeError) -> InvalidLineError:
        return InvalidLineError(
            f"{where(self.source, exc.line)}: {exc.message}", source=self.source, line=exc.line
        )


# ---------------------------------------------------------------------------------------------
# events to completions


class Stream:
    """One stream folded from events: its accumulator, the errors met, and where it was."""

    __slots__ = (
        "acc",
        "decided",
        "dialect",
        "errors",
        "first_line",
        "last_line",
        "saw_choices",
        "skipped",
    )

    def __init__(self, acc: Core, dialect: Dialect = CHAT, decided: bool = False) -> None:
        self.acc = acc
        self.dialect = dialect  # the API the stream speaks: known once ``decided``
        self.decided = decided
        self.errors: list[InvalidLineError | LineStreamError] = []
        self.first_line: int | None = None
        self.last_line: int | None = None
        self.saw_choices = False
        self.skipped: tuple[int, str] | None = None  # the first event with another name

    def foreign(self, source: str | None) -> InvalidLineError | None:
        """An error when the events were not chat completion chunks at all (another API)."""
        if self.dialect != CHAT:
            return None
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

    An event that repeats a template of its stream takes the template path (see ``Template``):
    ``hits`` counts those events, ``misses`` the events parsed whole, ``learned`` the templates.
    """

    __slots__ = (
        "_batch",
        "_lists",
        "_tokens",
        "decoder",
        "done",
        "finished",
        "given",
        "head",
        "hits",
        "learned",
        "misses",
        "multi",
        "options",
        "predicted",
        "saw_done",
        "source",
        "stream",
        "templates",
        "whole",
    )

    def __init__(
        self,
        *,
        source: str | None,
        max_event_size: int,
        multi: bool,
        field_rules: Mapping[str, FieldRule] | None,
        normalize_finish_reason: bool,
        keep_obfuscation: bool = False,
    ) -> None:
        self.decoder = SSEDecoder(max_event_size)
        self.source = source
        self.multi = multi
        self.options: dict[str, Any] = {
            "field_rules": field_rules,
            "normalize_finish_reason": normalize_finish_reason,
            "keep_obfuscation": keep_obfuscation,
        }
        self.stream = Stream(Accumulator(**self.options))  # (replaced if the body is another API's)
        self.finished: list[Stream] = []
        self.done = False
        self.templates: list[Template] = []  # the current stream's, oldest first
        self.predicted: Template | None = None  # the template the next event likely repeats
        self._batch: list[ChunkVariant] = []  # matched events not folded yet: their templates'
        self._tokens: list[bytes] = []  # their string holes, as sent
        self._lists: list[bytes] = []  # their logprob-list holes, as sent
        self.hits = 0
        self.misses = 0
        self.learned = 0
        self.whole = False  # the body comes in one piece: what is left of a run is all there is
        self.head = bytearray()  # the body's first bytes: told back when it holds no event
        self.saw_done = False
        self.given: str | None = None  # from_sse's str source, for the hint when it is a path

    def feed(self, piece: bytes | str) -> None:
        piece = as_bytes(piece)
        if len(self.head) <= _HEAD:
            self.head += piece[: _HEAD + 1 - len(self.head)]
        try:
            events = self.decoder._feed(piece, True)
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
        if stream.first_line is None and not self.saw_done and stream.acc.chunks == 0:
            raise self._no_event(stream)
        try:
            return stream.acc.completion(strict=strict)
        except IncompleteStreamError as exc:
            raise IncompleteStreamError(
                f"{where(self.source, stream.last_line)}: {exc.message}",
                position=exc.position,
                completion=exc.completion,
            ) from None

    def _no_event(self, stream: Stream) -> InvalidLineError | LineStreamError:
        """The error for a body without a single ``data:`` event: what the body is instead."""
        head = bytes(self.head)
        text = head.strip()
        at = where(self.source, None)
        completion = stream.acc.snapshot()
        hint = ""
        if not text:
            what = "the body is empty"
        else:
            what = f"no 'data:' event in the body {preview(head)}"
            payload: Any = None
            if len(head) <= _HEAD and text[:1] in (b"{", b"["):
                try:
                    payload = _loads(text)
                except ValueError:
                    payload = None
            if isinstance(payload, dict):
                error = payload.get("error")
                if error is None and payload.get("object") == "error":
                    error = payload  # vLLM's flat error object
                if error is not None:
                    detail = error.get("message") if isinstance(error, dict) else error
                    return LineStreamError(
                        f"{at}: the server answered with an error instead of a stream: {detail}",
                        source=self.source,
                        error=error,
                        completion=completion,
                    )
                hint = (
                    "a JSON body, not an SSE stream: a response made without stream=True? "
                    "Build it with from_dict(ChatCompletion, data)"
                    if "choices" in payload
                    else "a JSON body, not an SSE stream"
                )
            elif text[:1] == b"<":
                hint = "an HTML or XML page, not an SSE stream: the error page of a proxy?"
            elif text[:1] == b"{":
                hint = "JSON lines rather than SSE? read them with read_log() or accumulate()"
        if self.given is not None and looks_like_path(self.given):
            hint = (
                "from_sse() reads a str as the SSE text itself, not as a file name; to read the "
                f"file, pass pathlib.Path({self.given!r}) or an open binary file "
                "(JSON-lines logs: read_log())"
            )
        message = f"{at}: {what}: {hint}" if hint else f"{at}: {what}"
        return InvalidLineError(message, source=self.source, completion=completion)

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
        cut_line = events[-1][2] if cut and events else -1
        for kind, data, line, name in events:
            if kind == RUN:  # the last event: the decoder waits for its line count
                lines = self._walk(data, line, False)
                if self.done:
                    return
                try:
                    rest = self.decoder._resume(lines)
                except _DecodeError as exc:
                    self._fatal(exc)
                    return
                if rest:  # (never: no blank line is left)
                    self._events(rest, False)
                return
            elif kind == MESSAGE:
                if 10 in data:  # several data lines: never a template's
                    self._message(data, line, line == cut_line, False)
                else:
                    self._walk(b"data: " + data + b"\n\n", line, line == cut_line)
            elif kind == ERROR:
                chunk = self._slow_chunk(self.stream, ERROR, data, line, line == cut_line)
                if chunk is not None:
                    if self.stream.dialect != CHAT:
                        chunk = dialect_error(chunk, self.stream.dialect)
                    self._add(chunk, line)
            elif kind == DONE:
                self._done()
            elif (
                dialect_of_name(name or "") is not None
                and (self.stream.dialect != CHAT or not self.stream.decided)
            ) or (self.stream.dialect != CHAT and data[:1] == b"{"):
                # the Responses and Messages APIs name every event: folded by the data's type
                # (an event of theirs not known by name yet goes to the core, which keeps it; a
                # gateway's keep-alive without a JSON object is skipped, as in a chat body)
                self._message(data, line, line == cut_line, False)
            elif self.stream.skipped is None:
                self.stream.skipped = (line, name or "")
            if self.done:
                return

    def _walk(self, run: bytes, line: int, cut: bool) -> int:
        """Fold the events of ``run`` (it ends with a blank line), the first at ``line``; return
        how many lines it has. ``cut`` when the body ended right after the last event.

        The hot loop. An event is tried against the template predicted for it (the one that
        followed the previous event's template last time), inline when it has one string hole;
        then against every template; else it is parsed whole, and may become a template.
        Matched events wait in the batch, folded together before the next event parsed whole.
        From an event that is not one ``data: `` line on, the line rules take over.
        """
        first = line
        size = len(run)
        pos = start = 0  # the batch's events are run[start:pos]
        tokens = self._tokens
        lists = self._lists
        batch = self._batch
        stream = self.stream
        predicted = self.predicted
        previous: Template | None = None  # the template of the event before
        current = None  # the template whose fields are unpacked below
        shape = head_len = after_len = tail_len = 0
        head = middle = tail = b""
        variant: Any = None  # set with the fields, before any use
        while pos < size:
            template = predicted
            if template is not None:
                if template is not current:
                    current = template
                    shape, head, head_len, middle, after_len, tail, tail_len, variant = (
                        template.fields
                    )
                if shape == 1 and template.next is not None and template.next is not template:
                    # templates that take turns (choices interleave): a tight loop around
                    cycle = in_turn(template)
                    if cycle is not None:
                        pieces = [(t.head, t.tail) for t in cycle]
                        after, count = repeat_cycle(run, pos, pieces, tokens)
                        if count:
                            variants = [t.variant for t in cycle]
                            batch += (variants * (count // len(cycle) + 1))[:count]
                            pos = after
                            previous = cycle[(count - 1) % len(cycle)]
                            predicted = previous.next
                            continue
                if shape and (template.next is None or template.next is template):
                    # the template repeats itself (no other interleaves): a tight loop
                    if shape == 1:
                        after, count = repeat(run, pos, head, tail, tokens)
                    else:
                        after, count = repeat_lists(
                            run, pos, head, middle, tail, tokens, lists, LIST_BATCH - len(lists)
                        )
                    if count:
                        batch += [variant] * count
                        pos = after
                        previous = predicted = template
                        if len(lists) >= LIST_BATCH:  # bounds the batch
                            line = self._flush(run, start, pos, line, cut)
                            start = pos
                        continue
                elif shape and run.startswith(head, pos):
                    at = pos + head_len
                    end = run.find(b'"', at)  # (-1 fails below: the pieces are 2 bytes or more)
                    if shape == 1:  # one string hole
                        if run[end - 1] != 92 and run.startswith(tail, end):
                            tokens.append(run[at:end])
                            batch.append(variant)
                            pos = end + tail_len
                            previous = template
                            predicted = template.next or template
                            continue
                    elif run[end - 1] != 92 and run.startswith(middle, end):
                        # a string hole, then a logprob list up to the tail ending the event
                        start_list = end + after_len
                        stop = run.find(b"\n", start_list) + 2 - tail_len
                        if stop > start_list and run.startswith(tail, stop):
                            tokens.append(run[at:end])
                            lists.append(run[start_list:stop])
                            batch.append(variant)
                            pos = stop + tail_len
                            previous = template
                            predicted = template.next or template
                            if len(lists) >= LIST_BATCH:  # bounds the batch
                                line = self._flush(run, start, pos, line, cut)
                                start = pos
                            continue
            found = None
            for candidate in self.templates:
                after = candidate.match(run, pos, tokens, lists)
                if after >= 0:
                    found = candidate
                    break
            if found is not None:
                batch.append(found.variant)
                if previous is not None:
                    previous.next = found
                pos = after
                previous = found
                predicted = found.next or found
                continue
            # not a template's: fold the batch, then this event the long way
            line = self._flush(run, start, pos, line, cut)
            end = run.find(b"\n\n", pos)
            data = run[pos + 6 : end]
            if not run.startswith(b"data: ", pos) or 10 in data:
                self.predicted = predicted
                return line - first + self._by_the_rules(run[pos:], line)
            pos = start = end + 2
            if data == b"[DONE]":
                self._done()
                learned = None
            else:
                # learning costs some fifteen events parsed whole: not for the last few of a body
                worth = not self.whole or size - pos > _WORTH_LEARNING * (len(data) + 8)
                learned = self._message(data, line, cut and pos == size, worth)
            line += 2
            if self.done:
                return line - first
            if self.stream is not stream:  # [DONE] or an error ended it: a new stream
                stream = self.stream
                predicted = learned = None
            elif learned is not None:
                if previous is not None:
                    previous.next = learned
                predicted = learned
            previous = learned
        self.predicted = predicted
        return self._flush(run, start, pos, line, cut) - first

    def _by_the_rules(self, block: bytes, line: int) -> int:
        """Fold the events of ``block`` (it ends with a blank line), the first at ``line``, by
        the line rules; return how many lines it has."""
        decoder = SSEDecoder(self.decoder.max_event_size)  # at a blank line: nothing pending
        decoder._start = False
        decoder._line = line - 1
        events: list[Event] = []
        decoder._lines(block.split(b"\n")[:-1], events)
        self._events(events, False)
        return decoder._line - line + 1

    def _flush(self, run: bytes, start: int, end: int, line: int, cut: bool) -> int:
        """Fold the batch, the events of ``run[start:end]``, the first at ``line``; return the
        line after them. Their holes are decoded by the JSON parser, the strings all at once;
        when that fails, the events are parsed whole instead."""
        batch = self._batch
        if not batch:
            return line
        tokens = self._tokens
        lists = self._lists
        count = len(batch)
        variants = batch[:]
        leaves = decode_leaves(variants, tokens, lists)
        batch.clear()
        tokens.clear()
        lists.clear()
        if leaves is not None:
            self._fold_batch(variants, leaves, run, start, line)
        else:
            self._replay(run, start, end, line, cut)
        return line + 2 * count

    def _fold_batch(
        self, batch: list[ChunkVariant], leaves: list[Any], run: bytes, start: int, line: int
    ) -> None:
        stream = self.stream
        acc = stream.acc
        assert isinstance(acc, Accumulator)  # templates are learned from chat chunks only
        done = offset = 0  # events of the batch folded or refused, and their leaves
        while done < len(batch):
            first = acc.chunks
            try:
                if done:
                    acc.add_variants(batch[done:], leaves[offset:])
                else:
                    acc.add_variants(batch, leaves)
                break
            except (InvalidChunkError, StreamError) as exc:
                bad = done + (first if exc.position is None else exc.position) - first
                self._fail(stream, locate(exc, self.source, line + 2 * bad))  # raises unless multi
                offset += sum(len(variant.paths) for variant in batch[done : bad + 1])
                done = bad + 1  # multi: the bad chunk is skipped, the stream goes on
                if self.stream is not stream:  # the error ended it: the rest the long way
                    pos = start
                    for _ in range(done):
                        pos = run.index(b"\n\n", pos) + 2
                    end = start
                    for _ in range(len(batch)):
                        end = run.index(b"\n\n", end) + 2
                    self._replay(run, pos, end, line + 2 * done, False)
                    return
        stream.last_line = line + 2 * (len(batch) - 1)
        self.hits += len(batch)

    def _replay(self, run: bytes, start: int, end: int, line: int, cut: bool) -> None:
        """Fold the events of ``run[start:end]`` the long way (a batch that did not decode)."""
        pos = start
        while pos < end:
            stop = run.find(b"\n\n", pos)
            data = run[pos + 6 : stop]
            if 10 in data:  # not one data line after all (a string with a raw newline)
                self._by_the_rules(run[pos:end], line)
                return
            pos = stop + 2
            self._message(data, line, cut and pos == len(run), False)
            line += 2

    def _message(self, data: bytes, line: int, cut: bool, learn: bool) -> Template | None:
        """Parse and fold one data event; return the template it became, if it did."""
        self.misses += 1
        chunk: Any
        try:
            chunk = _loads(data)
        except ValueError:
            chunk = None
        parsed = type(chunk) is dict
        if not parsed:
            chunk = self._slow_chunk(self.stream, MESSAGE, data, line, cut)
            if chunk is None:
                return None
        if not self._add(chunk, line) or not (parsed and learn):
            return None
        return self._learn(chunk, data)

    def _add(self, chunk: dict[str, Any], line: int) -> bool:
        stream = self.stream
        if not stream.decided:
            stream = self._decide(chunk)
        elif self.multi and stream.dialect != CHAT and stream.acc.is_complete:
            if is_start_event(chunk) and not stream.errors:  # the next body of a capture
                self._end()
                stream = self._decide(chunk)
        if stream.first_line is None:
            stream.first_line = line
        if not stream.saw_choices and "choices" in chunk:
            stream.saw_choices = True
        stream.last_line = line
        try:
            stream.acc.add(chunk)
        except (InvalidChunkError, StreamError) as exc:
            self._fail(stream, locate(exc, self.source, line))
            return False
        return True

    def _decide(self, chunk: dict[str, Any]) -> Stream:
        """The first event of the stream says which API it is: a fresh core when it is not
        chat (the chat options are refused for another API, except in a capture of many)."""
        stream = self.stream
        stream.decided = True
        dialect = dialect_of(chunk)
        if dialect is not None and dialect != CHAT and stream.acc.chunks == 0:
            options = {} if self.multi else self.options
            try:
                stream.acc = new_core(dialect, **options)
            except UsageError as exc:
                exc.completion = stream.acc.snapshot()
                raise
            stream.dialect = dialect
        return stream

    def _learn(self, chunk: dict[str, Any], data: bytes) -> Template | None:
        """The template of a chunk just folded, kept for the events that may repeat it."""
        if self.learned >= FREE_LEARNING + self.hits // 4 and self.misses % 32:
            return None  # templates that do not pay off: try again now and then only
        choices = chunk.get("choices")
        if type(choices) is not list or len(choices) != 1 or not carries_fragment(choices[0]):
            return None
        acc = self.stream.acc
        if not isinstance(acc, Accumulator):
            return None
        variant = acc.variant(chunk)
        template = Template.make(data, variant) if variant is not None else None
        if template is not None:
            self.learned += 1
            self.templates.append(template)
            if len(self.templates) > MAX_TEMPLATES:
                self.templates.pop(0).next = None
        return template

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

    def _done(self) -> None:
        self.saw_done = True
        self._end()
        if not self.multi:
            self.done = True

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
        for template in self.templates:  # made by the old stream's accumulator
            template.next = None  # (links make cycles, which would keep the old fold alive)
        self.templates = []
        self.predicted = None


_WORTH_LEARNING: Final = 16  # events left in a whole body for a template to pay off
_HEAD: Final = 64 * 1024  # bytes of the body kept to tell what it is when it holds no event
# ---------------------------------------------------------------------------------------------
# public entry points


def from_sse(
    source: SSESource,
    *,
    strict: bool = False,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
    keep_obfuscation: bool = False,
) -> Completion:
    """Fold an SSE body into the complete response: a ``chat.completion`` for a chat body, a
    :class:`Response` for the OpenAI Responses API's, an :class:`AnthropicMessage` for a Messages
    API body (the first event tells which, by its data or its ``event:`` name; those APIs name
    every event, and a chat body's named events are skipped).

    ``source`` is the body as ``bytes``, as ``str`` (always SSE text, never a path), a path
    (``os.PathLike``; gzip is read transparently), a binary file object, an iterable of
    ``bytes`` / ``str`` pieces of any size (``response.iter_bytes()``), or a response object
    with ``iter_bytes()`` (httpx). Reading stops at ``data: [DONE]``, and the source is closed
    then; a body without it ends where the source ends. ``field_rules``,
    ``normalize_finish_reason`` and ``keep_obfuscation`` are :class:`Accumulator`'s (chat only:
    :class:`UsageError` for another API's body).

    Raises :class:`InvalidLineError` (an :class:`InvalidChunkError`) for an event that is not a
    chunk, an event larger than ``max_event_size``, a body cut inside an event, or a body of
    another API; :class:`LineStreamError` (a :class:`StreamError`) when the server reported an
    error (``{"error": ...}``, a flat ``{"object": "error"}``, ``event: error``, an ``error:``
    line); with ``strict=True``, :class:`IncompleteStreamError`. Each error names the line and
    keeps what was folded before it in ``completion``.
    """
    with one_input(source, reader="sse") as opened:
        pieces = opened.pieces()
        fold = _SSEFold(
            source=opened.name,
            max_event_size=max_event_size,
            multi=False,
            field_rules=field_rules,
            normalize_finish_reason=normalize_finish_reason,
            keep_obfuscation=keep_obfuscation,
        )
        fold.whole = isinstance(source, (bytes, bytearray, memoryview, str))
        if isinstance(source, str):
            fold.given = source
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
    keep_obfuscation: bool = False,
) -> Completion:
    """Async twin of :func:`from_sse` for an async iterable of pieces (``aiter_bytes()``), or
    a response object with ``aiter_bytes()`` (httpx)."""
    fold = _SSEFold(
        source=None,
        max_event_size=max_event_size,
        multi=False,
        field_rules=field_rules,
        normalize_finish_reason=normalize_finish_reason,
        keep_obfuscation=keep_obfuscation,
    )
    pieces = async_pieces(source)
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

    ``source`` is what :func:`from_sse` takes. In a chat body, events named anything but
    ``message`` are skipped (the Responses and Messages APIs' named events are their stream);
    ``[DONE]`` ends the iteration. An error event (``event: error``, an ``error:`` line) is
    yielded as the chunk ``{"error": payload}``, so ``accumulate(iter_sse(body))`` raises the
    same :class:`StreamError` as :func:`from_sse`. Raises :class:`InvalidLineError` for an event
    that is not a JSON object.
    """
    with one_input(source, reader="sse") as opened:
        pieces = opened.pieces()
        parse = _SSEParse(opened.name, max_event_size)
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
    pieces = async_pieces(source)
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

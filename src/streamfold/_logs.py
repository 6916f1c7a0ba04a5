"""Logs: many streams in one log, folded in bounded memory.

Theory of operation
-------------------
A log is a sequence of lines, each holding one chunk: the chunk's JSON, a ``data: ...`` SSE line,
or a record that wraps a chunk (a gateway's ``{"request_id": ..., "chunk": {...}}``). Streams
interleave freely; a key (by default the chunk's ``id``) tells them apart, and each open stream
has its own :class:`Accumulator`. So memory is bounded by the streams open at once, not by the
log, provided streams are closed as soon as they can be:

* when the usage chunk arrives (``choices: []`` with a ``usage``): ``include_usage`` streams end
  with it;
* when every choice has finished and no chunk of the stream came in the next ``window`` lines
  (some servers send nothing after the finish, others a usage chunk a little later);
* when the log ends.

A log may mix APIs. Chat chunks are keyed by their ``id``; the OpenAI Responses API's events by
the response id, Anthropic's Messages events by the message id. Only some of those events name
their stream (``response.created`` and the other lifecycle events, ``message_start``): the
others are routed by ``Router`` (item ids learned from the items, else the one open stream of
that API in the file; when several are open and nothing tells them apart, the line is an error
asking for ``key=``). Their cores' ``event_kind`` feeds the same end-of-stream rule
(``StreamEnd``): ``response.completed`` and ``message_stop`` close a stream as a usage chunk does.

Each closed stream yields one :class:`LogResult`, in the order streams close. A bad line does not
stop the others: it becomes an error of its stream (the chunk is skipped, as the core allows), or,
when it belongs to no stream (not JSON, not an object), a result of its own with no completion.

``_LogFold`` holds the state; ``read_log`` and the command line only open inputs and loop. SSE
captures (several bodies one after another, each closed by ``[DONE]``) go through the same
results via ``_LogFold.sse``.
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Callable, Generator, Hashable, Iterable, Iterator, Mapping
from typing import IO, Any, Final, Protocol

from attrs import frozen

from ._convert import json_loads
from ._dialect import (
    CHAT,
    AnyCompletion,
    Core,
    Dialect,
    dialect_of,
    dialect_of_type,
    event_kind,
    new_core,
)
from ._errors import (
    IncompleteStreamError,
    InvalidChunkError,
    InvalidLineError,
    StreamError,
    StreamfoldError,
    UsageError,
    _CutLine,
    _DecodeError,
    cut_error,
    locate,
    preview,
    where,
)
from ._fold import Accumulator, ChunkVariant, FieldRule
from ._inputs import BINARY as BINARY
from ._inputs import ReadError, as_bytes, open_inputs
from ._kinds import CHOICES, CLOSE, FAILED, FINISH, IDLE, INVALID
from ._routing import ROUTED, Routed, Router
from ._sse import (
    DEFAULT_MAX_EVENT_SIZE,
    ERROR,
    Stream,
    _parse_json,
    _SSEFold,
    event_chunk,
)
from ._template import LIST_BATCH, LineTemplates, Template, decode_leaves

__all__ = [
    "CHOICES",
    "CLOSE",
    "DEFAULT_WINDOW",
    "FAILED",
    "FINISH",
    "IDLE",
    "INVALID",
    "KeyFunction",
    "LogResult",
    "LogSource",
    "read_log",
]

Completion = AnyCompletion
KeyFunction = Callable[[Any], "tuple[Hashable, Any] | None"]
"""``key(record) -> (stream_key, chunk)``, or ``None`` to skip the record."""
LogSource = bytes | str | os.PathLike[str] | IO[Any] | Iterable[Any]

DEFAULT_WINDOW: Final = 10_000
"""Lines to wait after the last chunk of a finished stream before emitting it (when no usage
chunk closes it first)."""

_BY_ID: Final = object()
_SKIP_PREFIXES: Final = (b"event:", b"id:", b"retry:", b":")


@frozen(kw_only=True)
class LogResult:
    """One stream of a log, folded; or a line that belongs to no stream.

    ``key`` is the stream key (the chunk ``id`` by default; ``None`` for a line that belongs to no
    stream). ``completion`` is everything folded (``None`` for such a line). ``errors`` lists what
    went wrong, each naming its file and line; a stream with errors still carries what arrived.
    ``source`` / ``line`` is where the stream (or the bad line) starts; ``chunks`` counts the
    chunks given to the stream. ``complete`` is true when the fold is complete (a choice arrived
    and every choice has a finish reason; as ``Accumulator.is_complete``); ``warnings`` lists
    doubts that are not errors (such as chunks with an empty id that look like several requests
    folded into one), each naming its file and line.
    """

    key: Any
    completion: Completion | None
    errors: tuple[StreamfoldError, ...] = ()
    source: str | None = None
    line: int | None = None
    chunks: int = 0
    complete: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when nothing went wrong."""
        return not self.errors


class _LogStream(Stream):
    __slots__ = (
        "batch",
        "complete",
        "emitted",
        "key",
        "last_source",
        "lists",
        "numbers",
        "raws",
        "source",
        "starts",
        "templates",
        "tick",
        "tokens",
        "warnings",
    )

    def __init__(
        self, acc: Core, key: Any, source: str | None, line: int, dialect: Dialect = CHAT
    ) -> None:
        super().__init__(acc, dialect, True)
        self.key = key
        self.source = source
        self.last_source = source
        self.first_line = line
        self.tick = 0
        self.emitted = False
        self.complete = False  # every choice has finished
        self.starts = 0  # chunks that set a role (an empty key only: see empty_key_warning)
        self.warnings: list[str] = []
        self.templates: list[Template] = []  # its templates (see LineTemplates)
        # lines that matched one and wait to be folded: templates' variants, the lines, their
        # numbers, their string holes and logprob-list holes as sent
        self.batch: list[ChunkVariant] = []
        self.raws: list[bytes] = []
        self.numbers: list[int] = []
        self.tokens: list[bytes] = []
        self.lists: list[bytes] = []


class _LogFold:
    """The state of one log: open streams, the finished ones waiting out the window."""

    def __init__(
        self,
        *,
        key: KeyFunction | None,
        strict: bool,
        window: int | None,
        field_rules: Mapping[str, FieldRule] | None,
        normalize_finish_reason: bool,
    ) -> None:
        if window is not None and window < 0:
            raise UsageError(f"window must be >= 0 or None, got {window}")
        self.parse = line_parser(key)
        self.by_id = key is None
        self.strict = strict
        self.end = StreamEnd(window)  # when a stream ends (the window's rule too)
        self.options: dict[str, Any] = {
            "field_rules": field_rules,
            "normalize_finish_reason": normalize_finish_reason,
        }
        self.open: dict[Any, _LogStream] = {}
        self.router = Router()  # the streams of the Responses and Messages APIs' events
        self.finished: deque[tuple[int, _LogStream]] = deque()  # (expiry, stream) in order
        self.tick = 0  # lines read so far, over every input
        self.templates = LineTemplates()  # of the open streams (default keys only)
        self.emitted = 0  # streams emitted so far

    # -- JSON lines -------------------------------------------------------------------------------

    def lines(self, lines: Iterable[bytes | str], source: str | None) -> Iterator[LogResult]:
        """Fold the lines of one input; yield the streams that close on the way.

        The hot loop. A line that repeats a template of an open stream but for its holes (see
        ``_template``) waits in that stream's batch, folded together before the stream's next
        line read whole, and at the end of the input; any other line is read whole (``_line``).
        """
        open_ = self.open
        finished = self.finished
        templates = self.templates
        by_key = templates.by_key
        tick = self.tick
        number = 0
        orphans = _OrphanCap(source)
        # the template the next line likely repeats, and its fields (LineTemplates.fields)
        current: Template | None = None
        shape = head_len = after_len = tail_len = 0  # (shape 0: no current template)
        head = middle = tail = b""
        variant: Any = None
        batch: list[Any] = []
        raws: list[bytes] = []
        numbers: list[int] = []
        tokens: list[bytes] = []
        lists: list[bytes] = []
        last: Template | None = None  # the template of the line before, if it had one
        limit = LIST_BATCH
        try:
            for raw in lines:
                number += 1
                tick += 1
                if finished and finished[0][0] <= tick:  # a waiting stream expires
                    self.tick = tick
                    yield from self._expire()
                if shape and type(raw) is bytes and raw.startswith(head):
                    end = raw.find(b'"', head_len)  # (-1 fails below: the pieces are longer)
                    if raw[end - 1] != 92:  # (an escape before the quote: the careful match)
                        if shape == 1:  # one string hole
                            hit = end == len(raw) - tail_len and raw.endswith(tail)
                        else:  # a string hole, then a logprob list up to the fixed tail
                            begin = end + after_len
                            stop = len(raw) - tail_len
                            hit = stop > begin and raw.startswith(middle, end)
                            if hit and raw.endswith(tail):
                                lists.append(raw[begin:stop])
                            else:
                                hit = False
                        if hit:
                            tokens.append(raw[head_len:end])
                            batch.append(variant)
                            raws.append(raw)
                            numbers.append(number)
                            last = current
                            if len(raws) >= limit:  # bounds the batch
                                self.tick = tick
                                yield from self._flush(current.owner, source, orphans)  # type: ignore[union-attr]
                                last = current = None
                                shape = 0
                                continue
                            nxt = current.next  # type: ignore[union-attr]
                            if nxt is not None and nxt is not current and nxt.owner is not None:
                                current = nxt  # templates that take turns (streams interleave)
                                (
                                    shape, head, head_len, middle, after_len, tail, tail_len,
                                    variant, batch, raws, numbers, tokens, lists,
                                ) = nxt.batch  # fmt: skip
                            continue
                template = None
                if by_key and type(raw) is bytes:
                    template = templates.find(raw)
                    if template is not None:
                        stream = template.owner
                        if not template.match_line(raw, stream.tokens, stream.lists):
                            template = None
                        else:
                            stream.batch.append(template.variant)
                            stream.raws.append(raw)
                            stream.numbers.append(number)
                            if last is not None and last.next is not template:
                                last.next = template
                            last = template
                            if len(stream.raws) >= LIST_BATCH:  # bounds the batch
                                self.tick = tick
                                yield from self._flush(stream, source, orphans)
                                last = current = None
                                shape = 0
                                continue
                if template is None:
                    self.tick = tick
                    template = last = yield from self._line(raw, number, source, orphans)
                current = template
                if template is None or not template.shape:
                    shape = 0
                else:  # the line's template is likely the next line's, or the one after it
                    nxt = template.next
                    if nxt is not None and nxt.owner is not None:
                        current = template = nxt
                    (
                        shape, head, head_len, middle, after_len, tail, tail_len,
                        variant, batch, raws, numbers, tokens, lists,
                    ) = template.batch  # fmt: skip
        except ReadError as exc:
            yield self._orphan(str(exc), source, number + 1)
        self.tick = tick
        for stream in list(open_.values()):
            if stream.raws:
                yield from self._flush(stream, source, orphans)
        if orphans.skipped:
            yield self._orphan(orphans.summary(), source, orphans.first_skipped)

    def _line(
        self, raw: Any, number: int, source: str | None, orphans: _OrphanCap
    ) -> Generator[LogResult, None, Template | None]:
        """Read one line whole and fold it; yield the stream it closes, if it does; return the
        template it became, if it did."""
        cut: _CutLine | None = None
        try:
            got = self.parse(raw)
        except _CutLine as exc:  # a line of a known stream, cut: an error of the stream
            got = exc.key, None
            cut = exc
        except _DecodeError as exc:
            if orphans.take(number):
                yield self._orphan(exc.message, source, number)
            return None
        if got is None:
            return None
        stream_key, chunk = got
        if type(stream_key) is Routed:  # an event of another API: which stream is it?
            try:
                stream_key = self.router.key(stream_key.dialect, chunk, source)
            except _DecodeError as exc:
                if orphans.take(number):
                    yield self._orphan(exc.message, source, number)
                return None
        stream = self.open.get(stream_key)
        if stream is None:
            dialect = dialect_of(chunk) or CHAT
            core = Accumulator(**self.options) if dialect == CHAT else new_core(dialect)
            stream = self.open[stream_key] = _LogStream(core, stream_key, source, number, dialect)
        elif stream.raws:  # lines of it wait in its batch: they come first
            yield from self._flush(stream, source, orphans)
        tick = self.tick
        stream.last_line = number
        if stream.last_source is not source:
            stream.last_source = source
        stream.tick = tick
        if cut is not None:  # as a chunk the core refused (the same decisions follow)
            stream.errors.append(cut_error(cut, stream.acc.snapshot(), source, number))
            return None
        # -- fold it ------------------------------------------------------------------------
        try:
            stream.acc.add(chunk)
        except InvalidChunkError as exc:
            stream.errors.append(locate(exc, source, number))
            return None
        except StreamError as exc:
            stream.errors.append(locate(exc, source, number))
            yield self._emit(stream)
            return None
        if not stream_key and self.by_id and is_start(chunk):
            stream.starts += 1
            if stream.starts == 2:
                stream.warnings.append(empty_key_warning(stream_key, source, number))
        # -- does the stream close here? ----------------------------------------------------
        kind = chunk_kind(chunk) if stream.dialect == CHAT else event_kind(stream.dialect, chunk)
        if kind == FINISH and not stream.complete:
            stream.complete = stream.acc.is_complete
            if stream.complete:  # what follows is rare: no templates for it
                self.templates.forget(stream.templates)
        end = self.end.after[kind][stream.complete]
        if end:
            if end == ENDS:  # the include_usage chunk ends the stream
                yield self._emit(stream)
            else:  # complete: the window starts again at each chunk after the end
                self.finished.append((self.end.expiry(tick), stream))
            return None
        if (
            kind == CHOICES
            and not stream.complete
            and stream_key
            and self.by_id
            and type(raw) is bytes
            and stream.dialect == CHAT  # (templates are chat chunks')
        ):
            return self.templates.learn(stream, chunk, raw)
        return None

    def _flush(
        self, stream: _LogStream, source: str | None, orphans: _OrphanCap
    ) -> Iterator[LogResult]:
        """Fold the batch of ``stream``: its lines' holes decoded by the JSON parser, the
        strings all at once; when that fails, the lines are read whole instead."""
        variants, raws, numbers = stream.batch[:], stream.raws[:], stream.numbers[:]
        tokens, lists = stream.tokens[:], stream.lists[:]
        for pending in (stream.batch, stream.raws, stream.numbers, stream.tokens, stream.lists):
            pending.clear()  # (in place: the loop holds them)
        stream.last_line = numbers[-1]  # (the loop leaves it to here)
        if stream.last_source is not source:
            stream.last_source = source
        leaves = decode_leaves(variants, tokens, lists)
        if leaves is not None:
            self._fold_run(stream, variants, leaves, numbers, source)
            return
        # a hole does not decode: line by line, the lines that do not read whole
        last = stream.last_line, stream.tick, stream.last_source
        # (the lines read whole below set them to theirs: they are put back after)
        good: list[ChunkVariant] = []
        good_leaves: list[Any] = []
        good_numbers: list[int] = []
        s = k = 0
        for variant, raw, number in zip(variants, raws, numbers, strict=True):
            holes = variant.strings
            has_list = bool(holes) and not holes[-1]
            n = len(holes) - has_list
            got = decode_leaves([variant], tokens[s : s + n], lists[k : k + has_list])
            s += n
            k += has_list
            if got is not None:
                good.append(variant)
                good_leaves += got
                good_numbers.append(number)
                continue
            if good:
                self._fold_run(stream, good, good_leaves, good_numbers, source)
                good, good_leaves, good_numbers = [], [], []
            yield from self._line(raw, number, source, orphans)
        if good:
            self._fold_run(stream, good, good_leaves, good_numbers, source)
        if not stream.emitted:
            stream.last_line, stream.tick, stream.last_source = last

    def _fold_run(
        self,
        stream: _LogStream,
        variants: list[ChunkVariant],
        leaves: list[Any],
        numbers: list[int],
        source: str | None,
    ) -> None:
        """Fold lines that matched templates from their decoded leaves; a refused one is an
        error of the stream, at its line, and the rest fold."""
        acc = stream.acc
        assert isinstance(acc, Accumulator)  # templates are learned from chat chunks only
        done = offset = 0  # lines folded or refused, and their leaves
        while done < len(variants):
            first = acc.chunks
            try:
                if done:
                    acc.add_variants(variants[done:], leaves[offset:])
                else:
                    acc.add_variants(variants, leaves)
                break
            except (InvalidChunkError, StreamError) as exc:  # (a hole is never an error)
                bad = done + (first if exc.position is None else exc.position) - first
                stream.errors.append(locate(exc, source, numbers[bad]))
                offset += sum(len(variant.paths) for variant in variants[done : bad + 1])
                done = bad + 1  # the bad chunk is skipped, the stream goes on
        self.templates.hits += len(variants)

    # -- SSE captures -------------------------------------------------------------------------

    def sse(
        self,
        pieces: Iterable[bytes | str],
        source: str | None,
        *,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    ) -> Iterator[LogResult]:
        """Fold an SSE capture: bodies one after another, each closed by ``[DONE]``."""
        fold = _SSEFold(source=source, max_event_size=max_event_size, multi=True, **self.options)
        try:
            for piece in pieces:
                fold.feed(piece)
                yield from self._sse_results(fold, source)
                if fold.done:
                    return
        except ReadError as exc:
            yield self._orphan(str(exc), source, fold.decoder.line + 1)
        fold.close()
        yield from self._sse_results(fold, source)

    def _sse_results(self, fold: _SSEFold, source: str | None) -> Iterator[LogResult]:
        for stream in fold.finished:
            yield self._result(stream, _BY_ID, source, source)
        fold.finished.clear()

    # -- closing streams ------------------------------------------------------------------------

    def finish(self) -> Iterator[LogResult]:
        """The log ended: emit every stream still open, in the order they started."""
        self.finished.clear()
        for stream in list(self.open.values()):
            yield self._emit(stream)

    def _expire(self) -> Iterator[LogResult]:
        finished = self.finished
        expiry = self.end.expiry
        while finished and finished[0][0] <= self.tick:
            due, stream = finished.popleft()
            if expiry(stream.tick) == due and not stream.emitted:  # no chunk of it came since
                yield self._emit(stream)

    def _emit(self, stream: _LogStream) -> LogResult:
        stream.emitted = True
        self.templates.forget(stream.templates)
        del self.open[stream.key]
        if stream.dialect != CHAT:
            self.router.closed(stream.key)
        return self._result(stream, stream.key, stream.source, stream.last_source)

    def _result(
        self, stream: Stream, key: Any, source: str | None, last_source: str | None
    ) -> LogResult:
        self.emitted += 1
        return stream_result(
            stream.acc,
            stream.errors,
            key=key,
            strict=self.strict,
            source=source,
            first_line=stream.first_line,
            last_source=last_source,
            last_line=stream.last_line,
            warnings=getattr(stream, "warnings", ()),
        )

    def _orphan(self, message: str, source: str | None, line: int) -> LogResult:
        """A line that belongs to no stream."""
        self.emitted += 1
        return orphan_result(message, source, line)


class Folded(Protocol):
    """What a stream's result is built from: an :class:`Accumulator`, or a merged
    :class:`PartialFold` (the process pool and Dask fold streams in pieces)."""

    @property
    def chunks(self) -> int: ...

    @property
    def is_complete(self) -> bool: ...

    def completion(self, *, strict: bool = False) -> Completion: ...


def stream_result(
    folded: Folded,
    errors: Iterable[StreamfoldError],
    *,
    key: Any,
    strict: bool,
    source: str | None,
    first_line: int | None,
    last_source: str | None,
    last_line: int | None,
    warnings: Iterable[str] = (),
) -> LogResult:
    """The result of a stream that ends here (the one way every reader builds it)."""
    found: list[StreamfoldError] = list(errors)
    incomplete: IncompleteStreamError | None = None
    try:
        completion = folded.completion(strict=strict)
    except IncompleteStreamError as exc:
        completion = exc.completion
        incomplete = exc
    if key is _BY_ID:  # an SSE body: the stream is known by its completion's id
        key = completion.id
    # a stream the server ended with an error is incomplete by nature: say it once
    if incomplete is not None and not any(isinstance(e, StreamError) for e in found):
        found.append(
            IncompleteStreamError(
                f"{where(last_source, last_line)}: stream {key!r}: {incomplete.message}",
                position=incomplete.position,
                completion=completion,
            )
        )
    return LogResult(
        key=key,
        completion=completion,
        errors=tuple(found),
        source=source,
        line=first_line,
        chunks=folded.chunks,
        complete=folded.is_complete,
        warnings=tuple(warnings),
    )


def orphan_result(message: str, source: str | None, line: int) -> LogResult:
    """The result of a line that belongs to no stream."""
    err = InvalidLineError(f"{where(source, line)}: {message}", source=source, line=line)
    return LogResult(key=None, completion=None, errors=(err,), source=source, line=line)


MAX_ORPHANS: Final = 20
"""Lines of one input that belong to no stream reported one by one; the rest are counted."""


class _OrphanCap:
    """Counts the lines of one input that belong to no stream, past the first ``MAX_ORPHANS``."""

    __slots__ = ("first_skipped", "seen", "skipped", "source")

    def __init__(self, source: str | None) -> None:
        self.source = source
        self.seen = 0
        self.skipped = 0
        self.first_skipped = 0

    def take(self, line: int) -> bool:
        """True when the line at ``line`` is to be reported."""
        self.seen += 1
        if self.seen <= MAX_ORPHANS:
            return True
        if not self.skipped:
            self.first_skipped = line
        self.skipped += 1
        return False

    def summary(self) -> str:
        return (
            f"{self.skipped} more lines that belong to no stream (not shown: the first "
            f"{MAX_ORPHANS} are; is this a log of chat completion chunks?)"
        )


def is_start(chunk: Any) -> bool:
    """A chunk that sets a choice's role: the first of a stream (for most servers)."""
    choices = chunk.get("choices") if type(chunk) is dict else getattr(chunk, "choices", None)
    if type(choices) is not list:
        return False
    for choice in choices:
        delta = choice.get("delta") if type(choice) is dict else None
        if type(delta) is dict and delta.get("role"):
            return True
    return False


def empty_key_warning(key: Any, source: str | None, line: int) -> str:
    """A stream keyed by an empty id sees a second start: several requests folded as one?"""
    return (
        f"{where(source, line)}: warning: chunks with an empty id ({key!r}) start a stream "
        "again here: several requests may be folded into one; give the request's field as "
        "the stream key (--key FIELD, or key= in read_log)"
    )


_ID: Final = re.compile(rb'"id"\s*:\s*"([^"\\]{1,200})"')


def _guess_id(raw: bytes) -> str | None:
    """The chunk id a line that is not valid JSON begins with (a line cut short), if any."""
    found = _ID.search(raw, 0, 400)
    return found.group(1).decode("utf-8", "replace") if found else None


# ---------------------------------------------------------------------------------------------
# reading a line


def line_parser(key: KeyFunction | None) -> Callable[[Any], tuple[Hashable, Any] | None]:
    """The one reading of a log line, shared by every reader (``read_log``, the command line,
    the process pool of ``fold_logs``, Dask).

    ``parse(raw)`` returns ``(stream_key, chunk)``, or ``None`` for a line that carries no chunk
    (blank, ``[DONE]``, ``event:``, skipped by the key function). A line that belongs to no
    stream raises ``_DecodeError`` whose message says why.
    """

    guess: Callable[[bytes], Any] | None = _guess_id if key is None else getattr(key, "guess", None)

    def parse(raw: Any) -> tuple[Hashable, Any] | None:
        try:
            if type(raw) is bytes and raw[:1] == b"{":
                try:
                    record = json_loads(raw)
                except ValueError:
                    record = _parse_json(raw)  # invalid UTF-8 is replaced, as SSE does
            else:
                raw = _as_line(raw)
                record = _unframe(raw)
                if record is None:
                    return None
            if type(record) is not dict:
                raise _DecodeError(0, f"expected a JSON object, got {preview(raw)}")
            if key is None and (
                "choices" in record
                or "object" in record
                or (record.get("error") is not None and "type" not in record)
            ):
                stream_key: Any = record.get("id")
                chunk: Any = record
            else:
                got = _call_key(key, record)
                if got is None:
                    return None
                stream_key, chunk = got
                if isinstance(chunk, (str, bytes)):
                    chunk = _unframe(_as_line(chunk))
                    if type(chunk) is not dict:
                        raise _DecodeError(
                            0, "the chunk the key function returned is not a JSON object"
                        )
        except ValueError as exc:
            message = f"invalid JSON: {exc}: {preview(raw)}"
            found = None if guess is None or type(raw) is not bytes else guess(raw)
            if found is not None:
                raise _CutLine(
                    found,
                    f"stream {found!r}: a line of it is not valid JSON (cut short?): {message}",
                ) from None
            raise _DecodeError(0, message) from None
        try:
            hash(stream_key)
        except TypeError:
            raise _DecodeError(0, f"the stream key {stream_key!r:.60} is not hashable") from None
        return stream_key, chunk

    return parse


def _call_key(key: KeyFunction | None, record: dict[str, Any]) -> tuple[Hashable, Any] | None:
    if key is None:
        return _default_key(record)
    try:
        got = key(record)
    except _DecodeError:
        raise
    except Exception as exc:
        raise _DecodeError(0, f"the key function raised {type(exc).__name__}: {exc}") from exc
    if got is None:
        return None
    if not isinstance(got, tuple) or len(got) != 2:
        raise _DecodeError(
            0, f"the key function must return (stream_key, chunk) or None, got {got!r:.60}"
        )
    return got


# How a chunk ended (``chunk_kind`` for one that folded well, or an error): see ``_kinds``.

# What it means for its stream (``StreamEnd``); false only for OPEN.
OPEN: Final = 0  # the stream goes on
ENDS: Final = 1  # the stream ends with this chunk: emitted now
WAITS: Final = 2  # the stream is complete: emitted unless a chunk of it comes within the window


class StreamEnd:
    """The one rule of when a stream in a log ends, which every reader follows (``read_log``,
    the process pool of ``fold_logs`` and Dask, which reads with ``window=None``):

    * it ends with its include_usage chunk (``CLOSE``) or a chunk carrying a server error
      (``FAILED``): emitted then;
    * after a chunk with choices (``CHOICES``, ``FINISH``) once it is complete (every choice seen
      has finished; it can become so only at a ``FINISH`` chunk), it waits: emitted before line
      ``expiry(line)`` unless another chunk of it comes first (``window=None``: it never
      expires);
    * otherwise (``IDLE``, ``INVALID``, or not complete) it stays open;
    * the end of the input emits every stream still open (each reader's ``finish``).

    ``after[kind][complete]`` is ``OPEN``, ``ENDS`` or ``WAITS`` for a chunk that ended as
    ``kind`` (a table: the per-line decision is two lookups).
    """

    __slots__ = ("after", "window")

    def __init__(self, window: int | None) -> None:
        self.window = window
        waits = OPEN if window is None else WAITS
        self.after: tuple[tuple[int, int], ...] = (
            (OPEN, OPEN),  # IDLE
            (ENDS, ENDS),  # CLOSE
            (OPEN, waits),  # CHOICES
            (OPEN, waits),  # FINISH
            (OPEN, OPEN),  # INVALID
            (ENDS, ENDS),  # FAILED
        )

    def ends(self, kind: int) -> bool:
        """Whether a stream ends with a chunk that ended as ``kind``."""
        return self.after[kind][False] == ENDS

    def may_wait(self, kind: int) -> bool:
        """Whether the window may close a stream after a chunk that ended as ``kind`` (when the
        stream is complete then)."""
        return self.after[kind][True] == WAITS

    def expiry(self, line: int) -> int:
        """The line before which a stream waiting since ``line`` is emitted (no chunk of it
        came in the ``window`` lines after it)."""
        assert self.window is not None
        return line + self.window + 1


def chunk_kind(chunk: Any) -> int:
    """``IDLE``, ``CLOSE``, ``CHOICES`` or ``FINISH`` (see above) for a chunk ``add`` took."""
    if type(chunk) is dict:
        choices = chunk.get("choices")
        usage = chunk.get("usage")
    else:
        choices = getattr(chunk, "choices", None)
        usage = getattr(chunk, "usage", None)
    if not choices:
        return IDLE if usage is None else CLOSE
    for choice in choices:
        if _finish_reason(choice):
            return FINISH
    return CHOICES


def _finish_reason(choice: Any) -> Any:
    if type(choice) is dict:
        return choice.get("finish_reason")
    return getattr(choice, "finish_reason", None)


def _as_line(raw: Any) -> bytes:
    if type(raw) is bytes:
        return raw
    try:
        return as_bytes(raw)
    except UsageError:  # a line of no stream, not a usage error
        raise _DecodeError(0, f"expected a line of text, got {type(raw).__name__}") from None


def _unframe(line: bytes) -> Any:
    """The parsed JSON of a log line that is not plain JSON; ``None`` when it carries no chunk.

    Raises ``ValueError`` when the payload is not JSON.
    """
    line = line.strip()
    if line[:1] == b"{":
        return _parse_json(line)
    if not line:
        return None
    if line.startswith(b"data:"):
        data = line[5:].strip()
        return None if data == b"[DONE]" or not data else _parse_json(data)
    if line.startswith(b"error:"):  # llama.cpp's error line: the chunk the SSE path makes of it
        return event_chunk(ERROR, line[6:].strip(), 0, False)
    if line.startswith(_SKIP_PREFIXES):
        return None
    return _parse_json(line)  # not JSON: the parser says why


def _is_chunk(data: dict[str, Any]) -> bool:
    """A chunk has choices or an object type, or carries an error (a flat error has both; an
    error with a ``type`` is an event of the Responses or Messages API)."""
    return (
        "choices" in data
        or "object" in data
        or (data.get("error") is not None and "type" not in data)
    )


def _keyed(data: dict[str, Any]) -> tuple[Hashable, Any] | None:
    """A chat chunk and its ``id``, or an event of another API and its ``Routed`` marker."""
    if _is_chunk(data):
        return data.get("id"), data
    dialect = dialect_of_type(data.get("type"), data)
    if dialect is not None:
        return ROUTED[dialect], data
    return None


def _default_key(record: dict[str, Any]) -> tuple[Hashable, Any] | None:
    """The chunk a record holds (itself, or a value that is a chunk) and its ``id``; for an
    event of the Responses or Messages API, a ``Routed`` marker (``Router`` finds its stream)."""
    found = _keyed(record)
    if found is not None:
        return found
    for value in record.values():
        if type(value) is dict:
            found = _keyed(value)
            if found is not None:
                return found
        if type(value) is str:
            text = value.strip()
            if text.startswith("data:"):
                text = text[5:].strip()
                if text == "[DONE]":
                    return None
            if text.startswith("{"):
                try:
                    inner = _parse_json(text.encode("utf-8", "surrogatepass"))
                except ValueError:
                    continue
                if type(inner) is dict:
                    found = _keyed(inner)
                    if found is not None:
                        return found
    keys = ", ".join(list(record)[:5])
    raise _DecodeError(
        0,
        f"no chat completion chunk in this record (keys: {keys}), nor an event of the"
        " Responses or Messages API: pass key= to read_log to say where the chunk is",
    )


# ---------------------------------------------------------------------------------------------
# the public entry point


def read_log(
    source: LogSource,
    *,
    key: KeyFunction | None = None,
    strict: bool = False,
    window: int | None = DEFAULT_WINDOW,
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
) -> Iterator[LogResult]:
    """Yield one :class:`LogResult` per stream of a JSON-lines log, as streams close.

    Each line is a chunk, a ``data: ...`` SSE line (``[DONE]``, ``event:``, ``id:`` and comment
    lines are skipped), or a record wrapping a chunk (a value that is a chunk object, or its JSON
    text). A chunk may also be an event of the OpenAI Responses API or of Anthropic's Messages
    API: those streams fold into a :class:`Response` / :class:`AnthropicMessage`, keyed by the
    response / message id (see the module's notes for the events that name no stream).
    ``source`` is the log's text (``bytes`` or ``str``), a path (``os.PathLike``, or a
    ``str`` naming an existing file that does not start as JSON does: ``{``, ``[`` or
    ``data:``), a file object, a list of paths or files (one log, in the order given; a list of
    ``str`` is read as paths when each names an existing file by the same rule, else as lines),
    or an iterable of lines. Gzip files are read transparently.

    ``key(record)`` returns ``(stream_key, chunk)`` for a parsed line, or ``None`` to skip it.
    By default the stream key is the chunk's ``id``: right for OpenAI-style logs; for servers
    whose ids are empty or change per chunk (TGI, some gateways), return a request id from the
    record instead.

    Memory stays bounded by the streams open at once: a stream is emitted when its usage chunk
    (``choices: []``) arrives, when it has finished and no chunk of it came in the next
    ``window`` lines (``None``: wait for the end), or when the log ends. A chunk whose key
    belongs to a stream already emitted starts a new stream.

    Bad lines do not stop the others: each error (an :class:`InvalidLineError`, a
    :class:`LineStreamError`, with ``strict=True`` an :class:`IncompleteStreamError`) names its
    file and line and is listed in the ``errors`` of its stream's result, or of a result of its
    own (``key`` and ``completion`` ``None``) when the line belongs to no stream. Raises
    ``OSError`` when a file cannot be opened and :class:`UsageError` for a source of another type.
    """
    fold = _LogFold(
        key=key,
        strict=strict,
        window=window,
        field_rules=field_rules,
        normalize_finish_reason=normalize_finish_reason,
    )
    for opened in open_inputs(source, reader="log"):
        yield from fold.lines(opened.lines(), opened.name)
    yield from fold.finish()

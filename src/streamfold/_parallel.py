"""Logs folded on all the cores of one machine: files and byte ranges of files, in parallel.

Theory of operation
-------------------
``read_log`` reads one log line after line. Its output is a function of the lines alone, and this
module computes that same function in pieces: the log (its files, in order) is cut into *units*
(a file, or a byte range of a large plain file: a range starts after the first newline at or after
its offset, so every line belongs to exactly one unit), each unit is read in a worker process, and
the parent puts the pieces together in unit order, giving the results ``read_log`` gives, in its
order, with its errors.

What a worker sends back (``fold_lines``). It reads its lines with ``line_parser``, the reading
``read_log`` uses, and folds the chunks of each stream key into *segments*: runs of consecutive
chunks of one key, each folded into a :class:`PartialFold` whose range is global (the unit number
shifted left by 40 bits, plus the line number in the unit: one increasing integer over the log).
A worker does not know what came before its unit, so it cannot tell where the single-process run
would close a stream; it cuts a segment wherever a stream *may* close, and leaves the decision to
the parent:

* after the include_usage chunk, or a chunk carrying a server error (a stream always ends there);
* after a chunk the core refused (its error message and ``completion`` depend on the chunks of
  the stream before it, which the parent has);
* before a chunk that comes more than ``window`` lines after the previous chunk of its key, when
  that one had choices (the only place where the window can close a stream: see below);
* at the end of the unit.

With each segment go its first and last line, how its last chunk ended (``chunk_kind`` or an
error), and the choice state needed to decide when the stream became *complete* (every choice
finished): the choice indexes seen and finished, at each chunk where a choice finishes and at the
end. Lines that belong to no stream go as (line, message).

What the parent does (``_Assembler``). It walks the units in order, and in each the events sorted
by line (a segment's start, a segment's end, a bad line), with global line numbers (ticks) from
the line counts of the units before. It keeps the state ``_LogFold`` keeps (the open streams in a
dict, in the order they opened) and makes the same decisions at the same ticks:

* a segment's start joins the open stream of its key, or opens a new one (a key seen again after
  its stream closed starts a new stream, as in ``read_log``);
* a segment's end adds the segment to its stream; the stream is emitted there when the last chunk
  was the usage chunk or a server error; a refused chunk becomes a located error whose position and
  completion come from the stream merged so far;
* the window. ``read_log`` emits a finished stream when no chunk of it came within ``window``
  lines of its last chunk, provided that last chunk had choices and the stream was complete after
  it; it does so when it reads line ``last + window + 1``, before that line, and at most one stream
  can expire per line. Within a segment no two chunks of a key are more than ``window`` lines apart
  after a chunk with choices, so an expiry can only follow a segment's end: the parent schedules it
  there (``last + window + 1``), cancels it when the next segment of the stream starts earlier, and
  fires every due expiry before each event and at the end of each unit (a line exists there), as
  ``read_log`` does at each line. Completeness is the one thing a worker cannot see: it is decided
  in order from the choice states, as ``Accumulator.is_complete`` decides it on the whole stream
  (a choice is finished once any of its chunks carried a finish reason).
* the end of the log emits the streams still open, in the order they opened.

A stream's completion is the merge of its segments (``PartialFold.merge``'s rules, in range
order, gaps allowed: the lines of other streams lie between), built with the options'
``normalize_finish_reason`` wherever it is built (a worker, the parent, an error's completion).

Most streams begin and end inside one unit, and for them the worker does the parent's work itself
(``_finish_here``): it runs the same ``_Assembler`` over its own unit as if nothing came before,
and sends the completion of each stream that ends inside the unit without an error, ready (or as
JSON text for the command line), instead of its pieces. The guess holds unless the key of the
stream's first segment was still open when that segment began in the parent (the stream began in
an earlier unit): from that segment on, every decision about the stream depends only on its own
segments and on line distances, which the worker has. The parent sees a failed guess at that
segment's start, and merges the pieces instead; for the streams whose guess can fail, the worker
also sends where their lines are in the file (or the lines, from a gzip file), which the parent
reads and folds again only then (sending the folds cost the workers more than that). The guess
is sure for a stream that follows, in the unit, a stream of the same key closed by its usage chunk
or an error (or one whose guess was sure and that the window closed): those send nothing more.
(Unpickling the pieces of every stream and building every completion in the parent cost it about
half of the single-process work, and the parent was the bottleneck.)

The streams of the Responses and Messages APIs. Most of their events name no stream: ``read_log``
routes them by what came before them in the file (``Router``: the item ids seen, the one open
stream of the API, the ``sequence_number`` that follows), which a range after the first of its
file does not have. Such a range routes with the continuation rule (``_routing``): where the past
would decide, the event goes to a placeholder key (``Continued``: one per item it does not know,
so interleaved streams stay apart), and the worker sends, with its segments, the trace of its
routing decisions (a few per stream, ``RouteTrace``). Before it assembles a unit, the parent
replays the unit's trace on the file's ``Router`` (``RouteBook``: the state ``read_log``'s router
has at that line), which gives each placeholder its real key, or ``(dialect, None)`` as
``read_log`` would; the segments are renamed, and from there on they are a stream's pieces like
any other. Two cautions keep the guess safe: a placeholder's segments and those of the other
streams of its API are cut apart (``Apart``: it may turn out to be one of them), and the worker
finishes no stream it keyed by a placeholder nor, in such a range, trusts its guess for the
others (the parent may merge them with a placeholder's pieces). Where the replay shows that the
range guessed otherwise than ``read_log`` routes (an event it cannot route either, such as an
unnamed event while two Messages streams are open across the cut; an event of a stream that
closed), the parent reads that range again itself, routed from the file's state as ``read_log``
routes it (``RouteBook.again``): the results are ``read_log``'s in every case. A stream the
window closes is the one thing the routing does not see (see ``_routing``), in a range as in a
whole file.

SSE captures (found per file, as the command line does) and gzip files are whole units; an SSE
capture gives its results directly, at its place.

A Responses stream whose ``sequence_number`` order crosses a cut, in a segment too long for the
merge to replay, is refused by the merge (``PartialMergeError``); each Responses segment sent as a
fold carries where its lines start (``Segment.again``), and the parent folds that stream again
from all of them, as ``read_log`` does.

The one case where the pieces differ from the single run is a stream whose chunks mix the chat and
the legacy text shapes across a cut: the merge refuses it (``PartialMergeError``), and the parent
reports it as an error of that stream instead of raising.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import os
import pickle
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from attrs import define, field, frozen

from ._anthropic import MessageAccumulator
from ._convert import to_json
from ._dialect import (
    CHAT,
    RESPONSES,
    Core,
    dialect_of,
    dialect_of_core,
    event_kind,
    new_core,
)
from ._errors import (
    CutLineError,
    InvalidChunkError,
    PartialMergeError,
    StreamError,
    StreamfoldError,
    UsageError,
    _CutLine,
    _DecodeError,
    _OrderMergeError,
    cut_error,
    locate,
    where,
)
from ._fold import (
    Accumulator,
    FieldRule,
    PartialFold,
    SegmentCore,
    merge_partials,
    resolved,
)
from ._inputs import BINARY, ReadError, is_binary, log_paths, one_input, sniff
from ._logs import (
    CHOICES,
    DEFAULT_WINDOW,
    ENDS,
    FAILED,
    FINISH,
    INVALID,
    WAITS,
    KeyFunction,
    LogResult,
    StreamEnd,
    _LogFold,
    _OrphanCap,
    chunk_kind,
    empty_key_warning,
    is_start,
    line_parser,
    orphan_result,
    read_log,
    stream_result,
)
from ._responses import ResponseAccumulator
from ._routing import (
    Apart,
    Continued,
    Resolution,
    RouteBook,
    Routed,
    RouteTrace,
    SegmentRouter,
)

if TYPE_CHECKING:
    from concurrent.futures import Future
    from multiprocessing.context import BaseContext

__all__ = ["fold_logs"]

SHIFT: Final = 40
"""A global position is ``unit << SHIFT | line``: one increasing integer over the whole log."""

# events of a unit, in line order; at one line: a segment starts before it ends
ORPHAN: Final = 0  # (line, ORPHAN, message): a line that belongs to no stream
START: Final = 1  # (line, START, segment number)
END: Final = 2  # (line, END, segment number)
READ_ERROR: Final = 3  # (lines read, READ_ERROR, message): the input could not be read further

_MIN_BLOCK: Final = 1 << 20
_MAX_BLOCK: Final = 64 << 20

ChoiceState = tuple[frozenset[int], frozenset[int]]


# ---------------------------------------------------------------------------------------------
# the worker side: lines -> segments


class Segment:
    """Consecutive chunks of one stream key in one unit, folded (what a worker sends back)."""

    __slots__ = (
        "acc",
        "again",
        "checks",
        "choices",
        "end",
        "error",
        "final",
        "finished",
        "first",
        "index",
        "key",
        "last",
        "lines",
        "members",
        "partial",
        "starts",
    )

    def __init__(self, key: Any, index: int, first: int, acc: Core) -> None:
        self.key = key
        self.index = index  # its number in the unit
        self.first = first  # line numbers in the unit, of its first and last chunk
        self.last = first
        self.acc: Core | None = acc  # while open; the partial fold once closed
        # the fold; or, when the worker finished the stream on a guess, its lines to fold again
        # should the guess fail (cheaper to send than the fold); None when the guess is sure
        self.partial: PartialFold | Refold | None = None
        self.lines: list[Any] = []  # the segment's lines, while the worker needs them
        # a Responses segment sent as its fold: its lines too, should a merge be refused
        # (``_Assembler._refolded``); True while ``fold_lines`` keeps them (``_with_lines``)
        self.again: Refold | bool | None = None
        self.end = CHOICES  # how the last chunk ended: chunk_kind, INVALID or FAILED
        self.error: InvalidChunkError | StreamError | None = None  # of the last chunk
        # the choice state at each chunk where a choice finished (where read_log asks
        # is_complete), then at the end: (indexes seen, indexes finished)
        self.checks: list[ChoiceState] = []
        self.choices: frozenset[int] = frozenset()
        self.finished: frozenset[int] = frozenset()
        # on the first segment of a stream the worker finished (_finish_here): its completion
        # (or JSON text) and how many segments it has
        self.final: Any = None
        self.members = 0
        self.starts: list[int] = []  # (an empty key only) lines of chunks that set a role

    def close(self, base: int) -> None:
        acc = self.acc
        assert acc is not None
        self.choices, self.finished = _choice_state(acc)
        self.partial = PartialFold(segment_core(acc), base + self.first, base + self.last + 1)
        self.acc = None

    # Sent as a tuple: thousands of segments go to the parent per unit, and pickling each one's
    # slots as a dict cost as much as a tenth of folding them.
    def __reduce__(self) -> tuple[Any, ...]:
        return _segment, (
            self.key,
            self.index,
            self.first,
            self.last,
            self.end,
            self.error,
            self.checks,
            self.choices,
            self.finished,
            self.partial,
            self.final,
            self.members,
            self.starts,
            self.again,
        )


def _segment(
    key: Any,
    index: int,
    first: int,
    last: int,
    end: int,
    error: InvalidChunkError | StreamError | None,
    checks: list[ChoiceState],
    choices: frozenset[int],
    finished: frozenset[int],
    partial: PartialFold | Refold | None,
    final: Any,
    members: int,
    starts: list[int],
    again: Refold | bool | None,
) -> Segment:
    seg = Segment.__new__(Segment)
    seg.key, seg.index, seg.first, seg.last, seg.end, seg.error = (
        key,
        index,
        first,
        last,
        end,
        error,
    )
    seg.checks, seg.choices, seg.finished = checks, choices, finished
    seg.partial, seg.final, seg.members, seg.starts = partial, final, members, starts
    seg.again = again
    seg.acc, seg.lines = None, []
    return seg


_STATES: dict[ChoiceState, ChoiceState] = {}


def _starts(event: Any) -> bool:
    """Whether a Responses event opens its stream (nothing of the stream comes before it)."""
    return type(event) is dict and event.get("type") == "response.created"


def segment_core(acc: Core) -> Accumulator | SegmentCore:
    """A core as ``PartialFold`` takes it (every core folds segments)."""
    assert isinstance(acc, (Accumulator, ResponseAccumulator, MessageAccumulator))
    return acc


_ONE: Final = frozenset({0})


def _choice_state(acc: Core) -> ChoiceState:
    # is_complete is this, on one stream
    if not isinstance(acc, Accumulator):  # another API's: one "choice", finished when complete
        state: ChoiceState = (_ONE, _ONE if acc.is_complete else frozenset())
        return _STATES.setdefault(state, state)
    choices = acc.choice_states()
    finished = [i for i, state in choices.items() if state.finish_reason is not None]
    state = frozenset(choices), frozenset(finished)
    # one object per state (a pickle writes an object it has seen as a reference)
    if len(_STATES) > 1024:
        _STATES.clear()
    return _STATES.setdefault(state, state)


@define
class UnitResult:
    """What a worker sends back for one unit."""

    lines: int = 0  # lines read
    events: list[tuple[int, int, Any]] = field(factory=list)  # sorted by (line, kind)
    segments: list[Segment] = field(factory=list)
    results: list[LogResult] = field(factory=list)  # an SSE capture's streams, in order
    error: OSError | None = None  # the input could not be opened
    routes: RouteTrace | None = None  # how its Responses and Messages events were routed


def fold_lines(
    lines: Iterable[Any],
    parse: Callable[[Any], tuple[Any, Any] | None],
    *,
    window: int | None,
    base: int,
    field_rules: Mapping[str, FieldRule] | None,
    keep_lines: bool = False,
    offsets: _RangeLines | None = None,
    by_id: bool = False,
    continuing: bool = False,
    router: SegmentRouter | None = None,
    replayable: bool = False,
) -> UnitResult:
    """Fold the lines of one unit into segments (see the theory of operation); with
    ``keep_lines``, each segment keeps its lines (for ``_finish_here``), or where they start in
    the file when ``offsets`` reads them. ``continuing``: the unit is not the first piece of its
    file (the streams of the Responses and Messages APIs open where it starts are unknown: see
    ``_routing``); ``router``: one that knows them (``RouteBook.again``). ``replayable``: a
    Responses segment that does not begin with ``response.created`` keeps all its events, for
    a merge to replay whatever their order (``ResponseAccumulator.keep_events``; Dask, where
    nothing can read a partition's lines again)."""
    segments: list[Segment] = []
    events: list[tuple[int, int, Any]] = []
    open_: dict[Any, Segment] = {}
    # the streams of the Responses and Messages APIs' events, in this unit
    if router is None:
        router = SegmentRouter(continuing=continuing)
    apart = Apart() if continuing else None
    acc: Core
    after = StreamEnd(window).after  # how each chunk bears on the end of its stream
    number = 0
    try:
        for raw in lines:
            number += 1
            cut: _CutLine | None = None
            try:
                got = parse(raw)
            except _CutLine as exc:  # a cut line of a stream: as a chunk the core refused
                got = exc.key, None
                cut = exc
            except _DecodeError as exc:
                events.append((number, ORPHAN, exc.message))
                continue
            if got is None:
                continue
            key, chunk = got
            if type(key) is Routed:  # an event of another API: which stream is it?
                dialect = key.dialect
                try:
                    key = router.route(dialect, chunk, number)
                except _DecodeError as exc:
                    events.append((number, ORPHAN, exc.message))
                    continue
                if apart is not None:  # a continuing unit: guessed streams stay apart
                    for other in apart.cut(dialect, key):
                        done = open_.pop(other, None)
                        if done is not None:
                            done.close(base)
                            events.append((done.last, END, done.index))
            seg = open_.get(key)
            if (
                seg is not None
                and after[seg.end][True] == WAITS  # the stream may be waiting
                and window is not None
                and number - seg.last > window
            ):
                # read_log may close the stream in this gap (StreamEnd, were it complete):
                # leave the decision to the parent
                del open_[key]
                seg.close(base)
                events.append((seg.last, END, seg.index))
                seg = None
            if seg is None:
                dialect = dialect_of(chunk) or CHAT
                if dialect == CHAT:
                    acc = Accumulator(field_rules=field_rules)
                else:
                    acc = new_core(dialect)
                # a segment fold: tool-call routing waits for the merge (it needs the past)
                acc.mark_segment()
                if replayable and type(acc) is ResponseAccumulator and not _starts(chunk):
                    acc.keep_events()
                seg = open_[key] = Segment(key, len(segments), number, acc)
                seg.again = keep_lines and dialect == RESPONSES
                segments.append(seg)
                events.append((number, START, seg.index))
            else:
                acc = seg.acc  # type: ignore[assignment]  # (an open segment's is set)
            seg.last = number
            if keep_lines:
                seg.lines.append(raw if offsets is None else offsets.offset)
            try:
                if cut is not None:
                    raise CutLineError(cut.message)
                acc.add(chunk)
                if by_id and not key and is_start(chunk) and len(seg.starts) < 2:
                    seg.starts.append(number)
            except InvalidChunkError as exc:
                seg.end = INVALID
                seg.error = exc
            except StreamError as exc:
                seg.end = FAILED
                seg.error = exc
            else:
                if type(acc) is Accumulator:
                    kind = seg.end = chunk_kind(chunk)
                else:
                    kind = seg.end = event_kind(dialect_of_core(acc), chunk)
                if kind == FINISH:
                    state = _choice_state(acc)
                    if not seg.checks or seg.checks[-1] != state:
                        seg.checks.append(state)
                if after[kind][True] != ENDS:
                    continue
            # the segment ends here: the stream closes (usage, server error), or the parent
            # needs the fold so far to place the error
            if seg.error is not None:
                seg.error.completion = None  # the parent builds it from the whole stream
            if type(acc) is not Accumulator and after[seg.end][True] == ENDS:
                router.closed(key)  # (a refused event leaves its stream open, as in read_log)
            del open_[key]
            seg.close(base)
            events.append((number, END, seg.index))
    except ReadError as exc:
        events.append((number, READ_ERROR, str(exc)))
    for seg in open_.values():
        seg.close(base)
        events.append((seg.last, END, seg.index))
    events.sort()  # by (line, kind): no two events share both, so payloads are never compared
    return UnitResult(lines=number, events=events, segments=segments, routes=router.trace())


# ---------------------------------------------------------------------------------------------
# units


@frozen
class Unit:
    """A piece of the log one worker reads: a whole input, or a byte range of a plain file."""

    index: int
    input: int  # the input's number: line numbers go on over the ranges of one input
    path: str  # what to open ("-": standard input)
    name: str  # the source named in results and errors
    fmt: str  # "jsonl", "sse" or "auto" (detected as the command line does)
    start: int = 0  # byte offset: the range starts after the first newline at or after it
    stop: int | None = None  # the last offset a line of the range may start at; None: whole
    size: int = 0  # bytes of the input this unit stands for (progress)
    error: OSError | None = None  # the input could not be opened when the work was planned
    last: bool = True  # the input's last unit


@frozen
class Options:
    """How every unit is folded (sent to the workers with each unit)."""

    key: KeyFunction | None = None
    strict: bool = False
    window: int | None = DEFAULT_WINDOW
    field_rules: Mapping[str, FieldRule] | None = None
    normalize_finish_reason: bool = False  # "stop" after tool calls reported as "tool_calls"
    render: str | None = None  # "json" or "pretty": send finished completions as JSON text


def plan(
    paths: Iterable[str], names: Iterable[str], *, fmt: str, jobs: int, block_size: int | None
) -> list[Unit]:
    """Cut the inputs into units, in log order."""
    found: list[tuple[str, str, str, int, bool, OSError | None]] = []
    total = 0
    for path, name in zip(paths, names, strict=True):
        if path == "-":
            found.append((path, name, fmt, 0, False, None))
            continue
        try:
            with one_input(path, reader="path") as opened:
                size = os.fstat(opened.raw.fileno()).st_size
                kind = fmt
                splittable = opened.file is opened.raw  # a gzip file is read whole
                head = opened.head()
                if splittable and kind == "auto":
                    kind = sniff(head)
                # a binary file is read whole: its one message comes from fold_unit
                splittable = splittable and kind == "jsonl" and not is_binary(head)
        except OSError as exc:
            found.append((path, name, fmt, 0, False, exc))
            continue
        found.append((path, name, kind, size, splittable, None))
        total += size if splittable else 0
    given = block_size is not None
    if block_size is None:  # about four ranges per process, for an even share of the work
        block_size = min(_MAX_BLOCK, max(_MIN_BLOCK, total // (4 * max(1, jobs))))
    units: list[Unit] = []
    for number, (path, name, kind, size, splittable, error) in enumerate(found):
        if not splittable or size <= block_size:
            stop = size - 1 if splittable else None
            units.append(Unit(len(units), number, path, name, kind, 0, stop, size, error))
            continue
        # ranges of equal size: no more than block_size bytes when it was given, else about it
        count = -(-size // block_size) if given else max(1, round(size / block_size))
        step = -(-size // count)
        for offset in range(0, size, step):
            # a line may start at `stop` (the next range skips it); the last range ends with the
            # file as it was planned (a log still being written grows past it)
            end = min(offset + step, size)
            stop = end if end < size else size - 1
            units.append(
                Unit(
                    len(units),
                    number,
                    path,
                    name,
                    kind,
                    offset,
                    stop,
                    end - offset,
                    last=end >= size,
                )
            )
    return units


def fold_unit(unit: Unit, options: Options) -> UnitResult:
    """Read one unit (in a worker process, or in the parent for standard input)."""
    if unit.error is not None:
        return UnitResult(error=unit.error)
    parse = line_parser(options.key)
    base = unit.index << SHIFT
    try:
        if unit.stop is not None:
            lines = _RangeLines(unit.path, unit.start, unit.stop)
            result = fold_lines(
                lines,
                parse,
                window=options.window,
                base=base,
                field_rules=options.field_rules,
                keep_lines=True,
                by_id=options.key is None,
                offsets=lines,
                continuing=unit.start > 0,
            )
            return _finish_here(unit, result, options, unit.path)
        with one_input(unit.path, reader="path") as opened:
            head = opened.head()  # as the command line does, for the same errors
            if is_binary(head):
                return UnitResult(events=[(0, READ_ERROR, BINARY)])
            fmt = opened.format(unit.fmt)
            if fmt == "sse":
                fold = _LogFold(
                    key=options.key,
                    strict=options.strict,
                    window=options.window,
                    field_rules=options.field_rules,
                    normalize_finish_reason=options.normalize_finish_reason,
                )
                return UnitResult(results=list(fold.sse(opened.pieces(), unit.name)))
            result = fold_lines(
                opened.lines(),
                parse,
                window=options.window,
                base=base,
                field_rules=options.field_rules,
                keep_lines=True,
                by_id=options.key is None,
            )
            return _finish_here(unit, result, options, None)
    except OSError as exc:
        return UnitResult(error=exc)


class _RangeLines:
    """The lines of a byte range: those starting after the first newline at or after ``start``
    (at 0 for the first range) and at or before ``stop``. ``offset`` is where the line last
    given starts in the file."""

    def __init__(self, path: str, start: int, stop: int) -> None:
        self.path = path
        self.start = start
        self.stop = stop
        self.offset = 0

    def __iter__(self) -> Iterator[bytes]:
        stop = self.stop
        with open(self.path, "rb") as file:
            try:
                if self.start:
                    file.seek(self.start)
                    file.readline()
                position = file.tell()
                for line in file:
                    if position > stop:
                        return
                    self.offset = position
                    position += len(line)
                    yield line
            except OSError as exc:
                raise ReadError(f"cannot read further: {exc}") from exc


def _range_lines(path: str, start: int, stop: int) -> Iterator[bytes]:
    return iter(_RangeLines(path, start, stop))


# ---------------------------------------------------------------------------------------------
# the parent side: segments -> the results of the single-process run, in its order


@define
class InputError:
    """An input that could not be opened or read: the command line reports it and goes on."""

    name: str
    error: OSError


class _Stream:
    """One stream of the single-process run (a key may have several, one after another)."""

    __slots__ = (
        "again",
        "certain",
        "choices",
        "complete",
        "count",
        "emitted",
        "errors",
        "expiry",
        "final",
        "finished",
        "first_line",
        "head",
        "key",
        "last_line",
        "last_source",
        "members",
        "parts",
        "source",
        "starts",
        "warnings",
    )

    def __init__(self, key: Any, source: str, line: int, head: Segment) -> None:
        self.key = key
        self.source = source
        self.first_line = line
        self.last_source = source
        self.last_line = line
        self.head = head  # its first segment
        self.parts: list[PartialFold | Refold | None] = []
        # (a Responses stream) the lines of every segment so far, to fold the stream again
        # should a merge be refused (``_Assembler._refolded``); None when one's are not sent
        self.again: list[Refold] | None = []
        self.errors: list[StreamfoldError] = []
        self.choices: frozenset[int] = frozenset()
        self.finished: frozenset[int] = frozenset()
        self.complete = False
        self.expiry: int | None = None  # the tick before which read_log would emit it
        self.emitted = False
        self.count = 0  # segments so far
        self.final: Any = head.final  # what the worker made of it, if it finished it
        self.members = head.members
        self.certain = False  # (in a worker) surely not the continuation of an earlier stream
        self.starts = 0  # chunks that set a role, for an empty key (see read_log)
        self.warnings: list[str] = []


class _Assembler:
    """Puts the units' segments together into ``read_log``'s results, in its order.

    In the parent, over every unit in order. In a worker (``speculate=True``), over its one unit
    as if nothing came before: the streams it emits are those the worker can finish.
    """

    def __init__(self, options: Options, *, speculate: bool = False) -> None:
        self.strict = options.strict
        self.end = StreamEnd(options.window)
        self.render = options.render
        self.field_rules = options.field_rules
        self.normalize = options.normalize_finish_reason
        self.parse = line_parser(options.key)
        self.by_id = options.key is None
        self.speculate = speculate
        self.open: dict[Any, _Stream] = {}  # in the order the streams opened, as read_log's
        self.due: list[tuple[int, int, _Stream]] = []  # (expiry tick, order, stream)
        self.scheduled = 0
        self.tick = 0  # lines of the units already assembled
        self.lines: dict[int, int] = {}  # lines already assembled, per input
        self.settled: set[Any] = set()  # (in a worker) keys whose last stream surely ended
        self.streams: list[_Stream | None] = []  # the stream of each segment of the unit
        self.orphans: dict[int, _OrphanCap] = {}  # per input: the lines of no stream reported
        self.books: dict[int, RouteBook] = {}  # per input: read_log's routing (see _routing)

    def unit(self, unit: Unit, result: UnitResult) -> Iterator[LogResult | Rendered]:
        """The results that come out while ``read_log`` reads this unit."""
        source = unit.name
        base = self.tick
        offset = self.lines.get(unit.input, 0)  # line numbers go on over an input's ranges
        if result.routes is not None and not self.speculate:
            result = self._route(unit, result, offset)
        segments = result.segments
        streams: list[_Stream | None] = [None] * len(segments)
        self.streams = streams
        due = self.due
        for line, kind, payload in result.events:
            if due and due[0][0] <= base + line:
                yield from self._expire(base + line)
            if kind == START:
                seg = segments[payload]
                stream = self.open.get(seg.key)
                if stream is None:
                    stream = self.open[seg.key] = _Stream(seg.key, source, offset + line, seg)
                    stream.certain = seg.key in self.settled
                else:
                    stream.expiry = None  # a chunk came: the window starts again
                streams[payload] = stream
            elif kind == END:
                seg = segments[payload]
                stream = streams[payload]
                assert stream is not None
                if self._end(stream, seg, source, offset + line, base + line):
                    yield self._emit(stream)
            elif kind == ORPHAN:
                cap = self.orphans.get(unit.input)
                if cap is None:
                    cap = self.orphans[unit.input] = _OrphanCap(source)
                if cap.take(offset + line):
                    yield orphan_result(payload, source, offset + line)
            else:  # READ_ERROR, after the last line read
                yield orphan_result(payload, source, offset + line + 1)
        yield from self._expire(base + result.lines)
        self.tick = base + result.lines
        self.lines[unit.input] = offset + result.lines
        yield from result.results
        cap = self.orphans.pop(unit.input, None) if unit.last else None
        if cap is not None and cap.skipped:  # as read_log says it at the end of the input
            yield orphan_result(cap.summary(), source, cap.first_skipped)

    def _route(self, unit: Unit, result: UnitResult, offset: int) -> UnitResult:
        """Give the unit's segments of the Responses and Messages APIs their real stream keys,
        and its lines of no stream read_log's messages (see ``_routing``). Where the worker's
        guesses fail, the unit is read again here, routed as read_log routes it."""
        book = self.books.get(unit.input)
        if book is None:
            book = self.books[unit.input] = RouteBook()

        def place(line: int) -> str:
            return where(unit.name, offset + line)

        try:
            _resolved(book, result, place)
        except UsageError:
            if unit.start == 0 or unit.stop is None:  # (a first piece guesses nothing)
                raise
            lines = _RangeLines(unit.path, unit.start, unit.stop)
            result = fold_lines(
                lines,
                self.parse,
                window=self.end.window,
                base=unit.index << SHIFT,
                field_rules=self.field_rules,
                keep_lines=True,
                offsets=lines,
                by_id=self.by_id,
                router=book.again(),
            )
            _keep_lines(result, unit.path)
            _resolved(book, result, place)  # (routed as read_log routes: nothing to fail)
        return result

    def finish(self) -> Iterator[LogResult | Rendered]:
        """The log ended: the streams still open, in the order they opened."""
        self.due.clear()
        for stream in list(self.open.values()):
            yield self._emit(stream)

    def _end(self, stream: _Stream, seg: Segment, source: str, line: int, tick: int) -> bool:
        """A segment of the stream ends: True when the stream ends with it."""
        stream.parts.append(seg.partial)
        stream.count += 1
        if stream.again is not None:
            again = seg.partial if isinstance(seg.partial, Refold) else seg.again
            if isinstance(again, Refold):
                stream.again.append(again)
            else:
                stream.again = None
        stream.last_source = source
        stream.last_line = line
        for start in seg.starts:
            stream.starts += 1
            if stream.starts == 2:
                stream.warnings.append(
                    empty_key_warning(stream.key, source, line - seg.last + start)
                )
        if not stream.complete:
            # read_log asks is_complete at each chunk where a choice finishes: all the choices
            # seen so far have finished (in this segment or an earlier one)
            for choices, finished in seg.checks:
                if choices | stream.choices <= finished | stream.finished:
                    stream.complete = True
                    break
            stream.choices |= seg.choices
            stream.finished |= seg.finished
        if seg.error is not None:
            merged = self._merged(stream, source, line)
            stream.errors.append(
                _located(seg.error, merged, source, line, normalize_finish_reason=self.normalize)
            )
        end = self.end.after[seg.end][stream.complete]
        if end == ENDS:
            if self.speculate:  # the next stream of this key surely starts anew
                self.settled.add(stream.key)
            return True
        if end == WAITS:
            expiry = stream.expiry = self.end.expiry(tick)
            self.scheduled += 1
            heapq.heappush(self.due, (expiry, self.scheduled, stream))
        return False

    def _expire(self, tick: int) -> Iterator[LogResult | Rendered]:
        """read_log reached line ``tick``: the streams whose window ran out before it."""
        due = self.due
        while due and due[0][0] <= tick:
            expiry, _, stream = heapq.heappop(due)
            if stream.expiry == expiry and not stream.emitted:
                if self.speculate:  # an earlier stream may have changed when it ended
                    (self.settled.add if stream.certain else self.settled.discard)(stream.key)
                yield self._emit(stream)

    def _merged(self, stream: _Stream, source: str, line: int) -> PartialFold:
        parts = [self._loaded(part) for part in stream.parts]
        try:
            merged = merge_partials(parts, gaps=True)
        except PartialMergeError as refusal:
            if isinstance(refusal, _OrderMergeError) and stream.again:
                # a Responses stream's order crosses a cut: fold it again from its lines
                refolded = self._refolded(stream, parts)
                stream.parts = [refolded]
                return refolded
            # chat and text chunks in one stream (see the top), or no lines to read again
            merged = parts[0]
            for part in parts[1:]:
                try:
                    merged = merged.merge(part, gaps=True)
                except PartialMergeError as exc:
                    refused = InvalidChunkError(f"stream {stream.key!r}: {exc.message}")
                    stream.errors.append(locate(refused, source, line))
        stream.parts = [merged]
        return merged

    def _refolded(self, stream: _Stream, parts: list[PartialFold]) -> PartialFold:
        """The stream folded again from all its lines, as read_log folds it: a Responses
        stream whose order by sequence number crosses a cut, in a segment too long for the
        merge to replay (``ResponseAccumulator.merge``)."""
        assert stream.again is not None
        core = ResponseAccumulator()
        core.mark_segment()
        for again in stream.again:
            for raw in again.lines():
                # as read_log, which goes on past a cut line or a refused event (each was
                # reported when its segment ended)
                with contextlib.suppress(_CutLine, InvalidChunkError, StreamError):
                    got = self.parse(raw)
                    assert got is not None  # (these lines held the stream's events)
                    core.add(got[1])
        return PartialFold(core, parts[0].start, parts[-1].end)

    def _loaded(self, part: PartialFold | Refold | None) -> PartialFold:
        if isinstance(part, Refold):  # a worker's guess failed: fold its lines again, here
            acc: Core | None = None
            for raw in part.lines():
                got = self.parse(raw)
                assert got is not None  # (these lines held chunks of a stream without errors)
                if acc is None:
                    dialect = dialect_of(got[1]) or CHAT
                    if dialect == CHAT:
                        acc = Accumulator(field_rules=self.field_rules)
                    else:
                        acc = new_core(dialect)
                    acc.mark_segment()
                acc.add(got[1])
            assert acc is not None  # (a segment has a line)
            return PartialFold(segment_core(acc), part.start, part.end)
        if part is None:
            raise AssertionError("the pieces of a stream the worker finished were not sent")
        return part

    def _emit(self, stream: _Stream) -> LogResult | Rendered:
        stream.emitted = True
        del self.open[stream.key]
        if stream.final is not None:  # the worker finished it: the guess held (see the top)
            if stream.count != stream.members:
                raise AssertionError(f"stream {stream.key!r}: the worker's guess failed")
            completion, chunks, complete, logged = stream.final
            for record in logged:  # what building it logged, now that it is the result
                _LOG.handle(record)
            if self.render is not None:  # the JSON text, ready to write
                return Rendered(completion, stream.key, stream.source, stream.first_line, complete)
            return LogResult(
                key=stream.key,
                completion=completion,
                source=stream.source,
                line=stream.first_line,
                chunks=chunks,
                complete=complete,
            )
        # (a worker) what the stream's fold logs (a Responses disagreement) is held back and
        # sent with the result: logged by the parent if the guess holds, else never
        holding: contextlib.AbstractContextManager[list[logging.LogRecord]] = (
            _held_log() if self.speculate else contextlib.nullcontext([])
        )
        with holding as logged:
            merged = self._merged(stream, stream.last_source, stream.last_line)
            stream.parts = []
            result = stream_result(
                resolved(merged, self.normalize),
                stream.errors,
                key=stream.key,
                strict=self.strict,
                source=stream.source,
                first_line=stream.first_line,
                last_source=stream.last_source,
                last_line=stream.last_line,
                warnings=stream.warnings,
            )
        if self.speculate and result.ok and not result.warnings:
            assert result.completion is not None
            head = stream.head
            head.members = stream.count
            folded: Any = result.completion
            if self.render is not None:
                folded = to_json(result.completion, pretty=self.render == "pretty")
            head.final = (folded, result.chunks, result.complete, tuple(logged))
        return result


_LOG: Final = logging.getLogger("streamfold")


@contextlib.contextmanager
def _held_log() -> Iterator[list[logging.LogRecord]]:
    """The records the ``streamfold`` logger would emit meanwhile, held back (their message
    made text, so they pickle) instead of emitted."""
    held: list[logging.LogRecord] = []

    def hold(record: logging.LogRecord) -> bool:
        record.msg, record.args = record.getMessage(), None
        held.append(record)
        return False

    _LOG.addFilter(hold)
    try:
        yield held
    finally:
        _LOG.removeFilter(hold)


def _resolved(book: RouteBook, result: UnitResult, place: Callable[[int], str]) -> None:
    """The unit's segments by their real keys (``book`` resolves them), and read_log's
    messages for its lines of no stream (``take_resolution``)."""
    if result.routes is not None:
        take_resolution(book.resolve(result.routes, place), result, place)


def take_resolution(found: Resolution, result: UnitResult, place: Callable[[int], str]) -> None:
    """Give a unit's segments the real keys ``found`` names, and its lines of no stream
    read_log's messages; raise where the guesses fail (``Resolution.check``). A stream several
    local keys turned out to share is merged from its pieces (what a worker made of each key
    alone is not the stream)."""
    shared = found.check(((seg.key, seg.first, seg.last) for seg in result.segments), place)
    for seg in result.segments:
        if seg.key in found.keys:
            seg.key = found.keys[seg.key]
            if seg.key in shared:
                seg.final = None
    if found.orphans:
        result.events = [
            (line, kind, found.orphans.get(line, payload) if kind == ORPHAN else payload)
            for line, kind, payload in result.events
        ]


class Rendered(NamedTuple):
    """(``Options.render``) a stream the worker finished without an error, as JSON text."""

    text: str
    key: Any
    source: str
    line: int
    complete: bool


class Refold(NamedTuple):
    """The lines of a segment, for the parent to fold again (see ``Segment.partial``): where they
    start in the file ``path`` (a range of a plain file); or, without a path (a gzip file,
    standard input), the lines themselves, joined in one ``bytes`` (one object to pickle), each
    but the input's last ending with its newline."""

    start: int
    end: int
    path: str | None
    lines_or_offsets: bytes | list[int]

    def lines(self) -> list[bytes]:
        found = self.lines_or_offsets
        if isinstance(found, bytes):
            pieces = found.split(b"\n")
            last = pieces.pop()
            return [piece + b"\n" for piece in pieces] + ([last] if last else [])
        assert self.path is not None
        with open(self.path, "rb") as file:
            out = []
            for offset in found:
                file.seek(offset)
                out.append(file.readline())
            return out


def _finish_here(unit: Unit, result: UnitResult, options: Options, path: str | None) -> UnitResult:
    """Finish in the worker the streams that end in this unit (see the top); keep for the
    parent what it may need."""
    assembler = _Assembler(options, speculate=True)
    for _ in assembler.unit(unit, result):
        pass
    # (a continuing range) the keys of its Responses and Messages streams: one may turn out to
    # continue a stream of an earlier range, or to be another's (see ``_routing``)
    routed = result.routes.local_keys() if result.routes is not None and unit.start > 0 else set()
    for seg, stream in zip(result.segments, assembler.streams, strict=True):
        assert stream is not None
        if isinstance(seg.key, Continued):  # surely an earlier range's stream: the parent's
            stream.head.final = None
        if stream.head.final is not None:
            if stream.certain and seg.key not in routed:
                seg.partial = None  # the parent will surely use the completion
            elif isinstance(seg.partial, PartialFold):
                seg.partial = _with_lines(seg, path)
    _keep_lines(result, path)
    return result


def _with_lines(seg: Segment, path: str | None) -> Refold:
    """The segment's lines (kept by ``fold_lines``), to fold again in the parent."""
    assert isinstance(seg.partial, PartialFold)
    found = seg.lines if path is not None else b"".join(seg.lines)
    return Refold(seg.partial.start, seg.partial.end, path, found)


def _keep_lines(result: UnitResult, path: str | None) -> None:
    """Keep the lines of the Responses segments sent as folds (``Segment.again``); drop the
    rest."""
    for seg in result.segments:
        if seg.again is True:
            seg.again = _with_lines(seg, path) if isinstance(seg.partial, PartialFold) else None
        seg.lines = []


def _located(
    error: InvalidChunkError | StreamError,
    merged: PartialFold,
    source: str | None,
    line: int,
    *,
    normalize_finish_reason: bool,
) -> StreamfoldError:
    """The error ``read_log`` reports for a chunk of a stream, from the worker's error (which
    counts chunks from the segment's start) and the stream merged up to that chunk."""
    if isinstance(error, CutLineError):  # a line that is no chunk: no position to shift
        completion = merged.completion(normalize_finish_reason=normalize_finish_reason)
        return cut_error(error, completion, source, line)
    position = merged.chunks - 1  # the chunk is the last ``merged`` counts
    message = error.message
    for name in ("chunk", "event"):  # (the chat core counts chunks, the others events)
        local = f"{name} {error.position}: "
        if message.startswith(local):
            message = f"{name} {position}: {message[len(local) :]}"
            break
    completion = merged.completion(normalize_finish_reason=normalize_finish_reason)
    if isinstance(error, StreamError):
        core: InvalidChunkError | StreamError = StreamError(
            message, error=error.error, position=position, completion=completion
        )
    else:
        core = InvalidChunkError(
            message, path=error.path, position=position, completion=completion, chunk=error.chunk
        )
    return locate(core, source, line)


# ---------------------------------------------------------------------------------------------
# running the units


def assemble(
    units: list[Unit],
    options: Options,
    *,
    jobs: int,
    progress: Callable[[int], None] | None = None,
) -> Generator[LogResult | Rendered | InputError, None, None]:
    """Fold the units (on ``jobs`` processes; 1: here) and yield the results in log order."""
    assembler = _Assembler(options)
    for unit, result in _run(units, options, jobs):
        if result.error is not None:
            yield InputError(unit.name, result.error)
        else:
            yield from assembler.unit(unit, result)
        if progress is not None:
            progress(unit.size)
    yield from assembler.finish()


def _run(units: list[Unit], options: Options, jobs: int) -> Iterator[tuple[Unit, UnitResult]]:
    remote = [unit for unit in units if unit.path != "-" and unit.error is None]
    if jobs <= 1 or len(remote) <= 1:  # nothing to share: no pool to start
        for unit in units:
            yield unit, fold_unit(unit, options)
        return
    # imported here: `import streamfold` stays free of the process machinery (10 ms)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context: BaseContext
    if "forkserver" in multiprocessing.get_all_start_methods():
        # not fork: forking a process that has threads may deadlock (and warns from Python
        # 3.12 on), and forked workers flush copies of the parent's unwritten output at exit
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])  # each worker starts with streamfold loaded
    else:
        context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
    try:
        ahead: deque[tuple[Unit, Future[UnitResult] | None]] = deque()
        pending = iter(units)

        def submit() -> None:
            unit = next(pending, None)
            if unit is None:
                return
            if unit.path == "-" or unit.error is not None:  # read here, in its turn
                ahead.append((unit, None))
            else:
                ahead.append((unit, pool.submit(fold_unit, unit, options)))

        for _ in range(jobs + 1):  # one unit waiting per process: memory stays bounded
            submit()
        while ahead:
            unit, work = ahead.popleft()
            submit()
            yield unit, (fold_unit(unit, options) if work is None else work.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# ---------------------------------------------------------------------------------------------
# the public entry point


def fold_logs(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    jobs: int = 1,
    key: KeyFunction | None = None,
    strict: bool = False,
    window: int | None = DEFAULT_WINDOW,
    field_rules: Mapping[str, FieldRule] | None = None,
    block_size: int | None = None,
    normalize_finish_reason: bool = False,
) -> Generator[LogResult, None, None]:
    """Yield the results of :func:`read_log` over log files, folded on ``jobs`` processes.

    ``paths`` is a path or a list of paths, read as one log in the order given (a ``str``, or a
    list of ``str``, is read as :func:`read_log` reads it: paths when each names an existing file
    and does not start as JSON does, else the log's text, folded here); gzip files are read
    transparently. The results are those ``read_log`` gives for the same files (as ``pathlib``
    paths), in the same order, with the same errors: the files and byte ranges of
    ``block_size`` bytes of the plain ones (default: from the total size, 1 to 64 MiB) are read
    in parallel, each stream folded in pieces that are merged at the end.
    ``normalize_finish_reason=True`` reports ``"tool_calls"`` for a choice that called tools but
    finished with ``"stop"``, as ``read_log`` does with it.

    ``jobs``: 1 (the default) reads here, in this process; 0 uses every core. With several
    processes, ``key`` and ``field_rules`` must be picklable (a function defined at the top of a
    module, not a lambda). Raises :class:`UsageError` for a bad argument, ``OSError`` when a file
    cannot be opened (when its turn comes, as ``read_log`` does).
    """
    text: Any = None  # the log's text, when paths is text
    if isinstance(paths, (str, list, tuple)) and all(isinstance(p, str) for p in paths):
        # the rule read_log follows (log_paths): a str that names no file is the log's text
        if log_paths(paths) is None:
            text = paths
        elif isinstance(paths, str):
            paths = [paths]
    elif isinstance(paths, os.PathLike):
        paths = [paths]
    names = [] if text is not None else [os.fspath(path) for path in paths]
    if not isinstance(jobs, int) or jobs < 0:
        raise UsageError(f"jobs must be an int >= 0 (0: every core), got {jobs!r}")
    if window is not None and window < 0:
        raise UsageError(f"window must be >= 0 or None, got {window}")
    if block_size is not None and block_size < 1:
        raise UsageError(f"block_size must be >= 1, got {block_size}")
    options = Options(
        key=key,
        strict=strict,
        window=window,
        field_rules=field_rules,
        normalize_finish_reason=normalize_finish_reason,
    )
    jobs = jobs or cores()
    if text is not None:
        return _fold_here(text, options)
    if jobs == 1:
        return _fold_here([Path(name) for name in names], options)
    try:
        pickle.dumps(options)
    except Exception as exc:
        raise UsageError(
            "key and field_rules must be picklable to fold on several processes (a function "
            f"defined at the top of a module, not a lambda): {exc}"
        ) from exc
    units = plan(names, names, fmt="jsonl", jobs=jobs, block_size=block_size)
    return _raising(assemble(units, options, jobs=jobs))


def _fold_here(source: Any, options: Options) -> Generator[LogResult, None, None]:
    """Fold in this process: ``read_log`` of the paths or the text."""
    yield from read_log(
        source,
        key=options.key,
        strict=options.strict,
        window=options.window,
        field_rules=options.field_rules,
        normalize_finish_reason=options.normalize_finish_reason,
    )


def _raising(
    items: Generator[LogResult | Rendered | InputError, None, None],
) -> Generator[LogResult, None, None]:
    try:
        for item in items:
            if isinstance(item, InputError):
                raise item.error
            assert isinstance(item, LogResult)  # Options.render is None: never JSON text
            yield item
    finally:
        items.close()  # the process pool shuts down at once, even when the reader stops early

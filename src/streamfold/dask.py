"""Fold logs beyond one machine: a Dask bag of log lines in, a bag of completions out.

``pip install streamfold[dask]``. ``import streamfold`` does not import Dask; this module does::

    import dask.bag as db
    from dask.distributed import Client
    from streamfold.dask import fold_bag

    client = Client("tcp://scheduler:8786")  # or Client() for a local cluster
    lines = db.read_text("s3://bucket/logs/*.jsonl.gz")  # partitions follow file order
    fold_bag(lines).map(json.dumps).to_textfiles("s3://bucket/out/*.jsonl", last_endline=True)

How it works: each partition is read with the reading ``read_log`` uses (``line_parser``) and
folded per stream key into :class:`PartialFold` pieces whose ranges are global positions (the
partition number shifted left by 40 bits, plus the line number in the partition: one increasing
integer over the bag, since a bag's partitions keep the order of its files and of their blocks).
The pieces of one key are merged with a tree reduction (``Bag.foldby``: the merge is both the
binary operator and the combine step), and each merged stream becomes its result where it ends.

The events of the Responses and Messages APIs that name no stream are routed by what came before
them (the item ids seen, the one open stream of the API): a partition after the first routes
them with the continuation rule of ``fold_logs`` (``streamfold._routing``), opening a placeholder
stream where the earlier partitions would decide, and sends the trace of its routing decisions
(a few per stream). One small task replays the traces of every partition in order, as
``read_log`` routes the bag's lines, and each partition's streams take their real keys before the
reduction; a stream split across partitions then merges as any other. Where a partition guessed
otherwise than ``read_log`` routes, it cannot be read again from there: an event ``read_log``
cannot route either (two Messages streams open across a partition boundary, with no key to tell
them apart), or one of a stream that closed, raises :class:`UsageError` naming the partition and
line, rather than give a different result: pass ``key=``.

A Responses stream whose ``sequence_number`` order crosses a partition boundary: a partition's
segment that does not begin with ``response.created`` may continue a stream, so it keeps all its
events (``ResponseAccumulator.keep_events``) and the merge replays them as the whole fold reads
them. Only a stream whose ``response.created`` itself comes after some of its events, across a
boundary, in a long piece, still cannot merge: that raises :class:`UsageError` naming the
partition and line.

A stream ends at its include_usage chunk, at a chunk carrying a server error, or at the end of
the data: the results are those of ``read_log(..., window=None)`` over the same lines, as a bag
(in no particular order). The window of ``read_log`` (a finished stream closed when no chunk of
it came for N lines) needs the order of every line of the log, which a tree reduction does not
have: with ids that come back after their stream ended without a usage chunk, the two differ.
Errors name ``partition N`` and the line in the partition (the line numbers of the files are
not known to a partition).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

import dask.bag as db
from dask.delayed import delayed

from ._convert import to_dict
from ._errors import (
    InvalidChunkError,
    StreamError,
    StreamfoldError,
    UsageError,
    _OrderMergeError,
    where,
)
from ._fold import FieldRule, PartialFold, merge_partials, resolved
from ._logs import (
    KeyFunction,
    LogResult,
    StreamEnd,
    empty_key_warning,
    line_parser,
    orphan_result,
    stream_result,
)
from ._parallel import ORPHAN, SHIFT, Options, Segment, UnitResult, fold_lines, take_resolution
from ._parallel import _located as located
from ._routing import Resolution, RouteBook, RouteTrace

__all__ = ["fold_bag", "fold_results"]

# dask.bag has no type annotations: its calls go through Any here, the results typed as Bag
_bag: Any = db
_END = StreamEnd(None)  # the end-of-stream rule of read_log(..., window=None)


def fold_results(
    lines: db.Bag,
    *,
    key: KeyFunction | None = None,
    strict: bool = False,
    field_rules: Mapping[str, FieldRule] | None = None,
    split_every: int | None = None,
    npartitions: int | None = None,
    normalize_finish_reason: bool = False,
) -> db.Bag:
    """A bag of :class:`LogResult`: one per stream of the log lines, and one per line that
    belongs to no stream (``key`` and ``completion`` ``None``), as ``read_log(lines,
    window=None)`` yields them, in no particular order.

    ``lines`` is a bag of log lines (``dask.bag.read_text``, or ``from_sequence``): a chunk's
    JSON, a ``data:`` line, or a record wrapping a chunk. ``key``, ``strict``, ``field_rules``
    and ``normalize_finish_reason`` (report ``"tool_calls"`` for a choice that called tools but
    finished with ``"stop"``) are those of :func:`read_log` (``key`` and ``field_rules`` travel to
    the workers: they must pickle).

    The pieces of each stream are merged by a tree reduction (``Bag.foldby``, ``split_every``
    pieces at a time: Dask's default is 8), whose result is one partition: the streams are then
    spread again over as many partitions as ``lines`` has, where their completions are built.
    With ``npartitions``, the pieces are grouped by key with a task shuffle into that many
    partitions instead (``Bag.groupby``): no step holds every stream, for the largest logs.
    """
    streams, orphans = _fold(
        lines, _options(key, strict, field_rules, normalize_finish_reason), split_every, npartitions
    )
    bag: db.Bag = _bag.concat([streams, orphans])
    return bag


def fold_bag(
    lines: db.Bag,
    *,
    key: KeyFunction | None = None,
    strict: bool = False,
    field_rules: Mapping[str, FieldRule] | None = None,
    split_every: int | None = None,
    npartitions: int | None = None,
    normalize_finish_reason: bool = False,
) -> db.Bag:
    """A bag of completions, as plain JSON data (``to_dict``): one per stream that folded
    without an error, as ``streamfold fold`` writes them. Ready for ``.map(json.dumps)
    .to_textfiles(..., last_endline=True)``. The streams with errors, and the lines of no
    stream, are in :func:`fold_results` (same arguments).
    """
    streams, _ = _fold(
        lines, _options(key, strict, field_rules, normalize_finish_reason), split_every, npartitions
    )
    completions: db.Bag = streams.filter(operator.attrgetter("ok")).map(_completion)
    return completions


def _options(
    key: KeyFunction | None,
    strict: bool,
    field_rules: Mapping[str, FieldRule] | None,
    normalize_finish_reason: bool,
) -> Options:
    """The options of every partition: those of ``read_log(..., window=None)``."""
    return Options(
        key=key,
        strict=strict,
        window=None,
        field_rules=field_rules,
        normalize_finish_reason=normalize_finish_reason,
    )


def _fold(
    lines: db.Bag, options: Options, split_every: int | None, npartitions: int | None
) -> tuple[Any, Any]:
    """The bag of the streams' results, and that of the lines of no stream."""
    parts: list[Any] = _bag.Bag.to_delayed(lines)
    folded = [
        delayed(_fold_partition, pure=True)(part, number, options)
        for number, part in enumerate(parts)
    ]
    # the streams of the Responses and Messages APIs: one small task replays every partition's
    # routing in order (see the top), then each partition gets its streams' real keys
    routes = delayed(_resolve, pure=True)([part.routes for part in folded])
    keyed = [
        delayed(_partition_runs, pure=True)(part, routes, number)
        for number, part in enumerate(folded)
    ]
    streams = _bag.from_delayed([part[0] for part in keyed])
    orphans = _bag.from_delayed([part[1] for part in keyed])
    if npartitions is None:
        merged = streams.foldby(operator.itemgetter(0), _combine, split_every=split_every)
        merged = merged.repartition(npartitions=len(parts))
    else:
        grouped = streams.groupby(operator.itemgetter(0), shuffle="tasks", npartitions=npartitions)
        merged = grouped.map(_combine_all)
    results = merged.map(_results, options.strict, options.normalize_finish_reason).flatten()
    return results, orphans


# ---------------------------------------------------------------------------------------------
# the tasks


class _Run:
    """Consecutive chunks of one stream key, folded: a stream, or a piece of one (``closed``:
    its last chunk ended the stream). Immutable once built: merging makes a new one."""

    __slots__ = ("closed", "errors", "first", "last", "partial", "starts")

    def __init__(
        self,
        partial: PartialFold,
        errors: list[tuple[PartialFold, InvalidChunkError | StreamError, str, int]],
        first: tuple[str, int],
        last: tuple[str, int],
        closed: bool,
        starts: tuple[tuple[str, int], ...] = (),
    ) -> None:
        self.partial = partial
        # each error with the stream folded up to its chunk, where it came from
        self.errors = errors
        self.first = first
        self.last = last
        self.closed = closed
        # (an empty key) where its first two chunks that set a role are: read_log's warning
        self.starts = starts

    @classmethod
    def of(cls, seg: Segment, source: str) -> _Run:
        assert isinstance(seg.partial, PartialFold)
        run = cls(seg.partial, [], (source, seg.first), (source, seg.last), False)
        return run._with(seg, source)

    def _with(self, seg: Segment, source: str) -> _Run:
        """(Building a partition's runs) this run and the segment that follows it."""
        assert isinstance(seg.partial, PartialFold)
        partial = self.partial
        if partial is not seg.partial:
            partial = _merge(partial, seg.partial, source, seg.first)
        errors = self.errors
        if seg.error is not None:
            errors = [*errors, (partial, seg.error, source, seg.last)]
        closed = _END.ends(seg.end)
        starts = (self.starts + tuple((source, line) for line in seg.starts))[:2]
        return _Run(partial, errors, self.first, (source, seg.last), closed, starts)

    def then(self, other: _Run) -> _Run:
        """This run and the next piece of the same stream (from a later partition)."""
        partial = _merge(self.partial, other.partial, *other.first)
        errors = self.errors + [
            (_merge(self.partial, prefix, *other.first), error, source, line)
            for prefix, error, source, line in other.errors
        ]
        starts = (self.starts + other.starts)[:2]
        return _Run(partial, errors, self.first, other.last, other.closed, starts)


def _merge(first: PartialFold, then: PartialFold, source: str, line: int) -> PartialFold:
    """Two pieces of a stream merged; a merge that would differ from ``read_log`` (a Responses
    stream whose sequence numbers are out of order across the cut, ``ResponseAccumulator.merge``)
    raises :class:`UsageError` naming the partition and line where the later piece begins."""
    try:
        return merge_partials([first, then], gaps=True)
    except _OrderMergeError as exc:
        raise UsageError(
            f"{where(source, line)}: {exc.message}; put the stream in one partition, or read"
            " the log with read_log"
        ) from None


def _fold_partition(lines: list[Any], number: int, options: Options) -> UnitResult:
    """One partition, folded into segments by local stream keys (``fold_lines``)."""
    return fold_lines(
        lines,
        line_parser(options.key),
        window=None,
        base=number << SHIFT,
        field_rules=options.field_rules,
        by_id=options.key is None,
        continuing=number > 0,
        replayable=True,
    )


def _resolve(traces: list[RouteTrace | None]) -> list[Resolution | None]:
    """The real keys of each partition's Responses and Messages streams: its routing replayed
    after the partitions before it (``RouteBook``), as ``read_log`` routes the bag's lines."""
    book = RouteBook()
    return [
        None if trace is None else book.resolve(trace, _place(number))
        for number, trace in enumerate(traces)
    ]


def _place(number: int) -> Callable[[int], str]:
    source = f"partition {number}"
    return lambda line: where(source, line)


def _partition_runs(
    folded: UnitResult, routes: list[Resolution | None], number: int
) -> tuple[list[tuple[Any, list[_Run]]], list[LogResult]]:
    """One partition: ``(key, runs)`` per stream key, and the lines of no stream."""
    source = f"partition {number}"
    resolution = routes[number]
    if resolution is not None:
        take_resolution(resolution, folded, _place(number))
    orphans = [
        orphan_result(message, source, line)
        for line, kind, message in folded.events
        if kind == ORPHAN
    ]
    runs: dict[Any, list[_Run]] = {}
    for seg in folded.segments:  # in the order they started: a key's in line order
        of_key = runs.setdefault(seg.key, [])
        if of_key and not of_key[-1].closed:
            of_key[-1] = of_key[-1]._with(seg, source)
        else:
            of_key.append(_Run.of(seg, source))
    return list(runs.items()), orphans


def _combine(a: tuple[Any, list[_Run]], b: tuple[Any, list[_Run]]) -> tuple[Any, list[_Run]]:
    """The runs of one key from two groups of partitions, in order: the last run of the earlier
    one continues into the first of the later one unless it was closed. (Dask combines adjacent
    groups in order; out of order, a merge would see overlapping ranges and raise.)"""
    first, second = a[1], b[1]
    if second[0].partial.start < first[0].partial.start:
        first, second = second, first
    if first[-1].closed:
        return a[0], [*first, *second]
    return a[0], [*first[:-1], first[-1].then(second[0]), *second[1:]]


def _combine_all(group: tuple[Any, list[tuple[Any, list[_Run]]]]) -> tuple[Any, Any]:
    """``groupby``: every piece of a key, in any order: ordered by range, then combined."""
    key, pieces = group
    pieces = sorted(pieces, key=lambda piece: piece[1][0].partial.start)
    merged = pieces[0]
    for piece in pieces[1:]:
        merged = _combine(merged, piece)
    return key, merged


def _results(
    item: tuple[Any, tuple[Any, list[_Run]]], strict: bool, normalize_finish_reason: bool
) -> list[LogResult]:
    key, (_, runs) = item
    results = []
    for run in runs:
        errors: list[StreamfoldError] = [
            located(error, prefix, source, line, normalize_finish_reason=normalize_finish_reason)
            for prefix, error, source, line in run.errors
        ]
        results.append(
            stream_result(
                resolved(run.partial, normalize_finish_reason),
                errors,
                key=key,
                strict=strict,
                source=run.first[0],
                first_line=run.first[1],
                last_source=run.last[0],
                last_line=run.last[1],
                warnings=[empty_key_warning(key, *run.starts[1])] if len(run.starts) == 2 else [],
            )
        )
    return results


def _completion(result: LogResult) -> Any:
    return to_dict(result.completion)

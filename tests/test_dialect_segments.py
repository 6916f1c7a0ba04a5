"""Responses and Messages streams folded in pieces give read_log's results (``_routing``).

``fold_logs(jobs=N)`` cuts a file into byte ranges and Dask reads a bag in partitions; a piece
that is not the first of its file does not know which streams are open where it starts, and the
events of these APIs that name no stream are routed by what came before them. The continuation
rule (placeholders in the piece, their real keys found by replaying the pieces' routing in order)
must give exactly what ``read_log`` gives, wherever the cuts fall, or a clear error.
"""

from __future__ import annotations

import json
import pickle
import random
from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import anthropic_streams as anth
import responses_streams as resp
import streamfold
from streamfold import _parallel
from streamfold import dask as sdask
from streamfold._routing import Continued
from test_dialects import _mixed_log, _renamed
from test_parallel import assembled_units, signature

BAD = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": 3}}


def _dialect_log(seed: int) -> list[str]:
    """``_mixed_log``'s streams (interleaved Responses streams, Messages streams one after
    another, chat streams between), then a Messages stream with a refused event, one the server
    ends with an error, a Responses stream ended by an unnamed ``error`` event and a failed one,
    with chat chunks between them."""
    lines, _ = _mixed_log(seed)
    rng = random.Random(seed)
    text = _renamed(anth.TEXT, f"_t{seed}")
    tail: list[Any] = [
        *text[:2],
        BAD,
        *text[2:],
        *_renamed(anth.ERROR, f"_e{seed}"),
        *_renamed(resp.ERROR_EVENT.events, f"_z{seed}"),
        *_renamed(resp.FAILED.events, f"_x{seed}"),
    ]
    chat = [json.loads(line) for line in lines if "chat.completion.chunk" in line]
    for event in _renamed(chat, f"_c{seed}"):
        tail.insert(rng.randrange(len(tail) + 1), event)
    return lines + [json.dumps(event) for event in tail]


MESSAGES = [
    anth.TEXT,
    anth.TOOL,
    anth.EMPTY_TOOL,
    anth.PARALLEL,
    anth.THINKING,
    anth.REDACTED,
    anth.WEB_SEARCH,
    anth.CUT,
    anth.ERROR,
    anth.MAX_TOKENS,
    anth.STOP_SEQUENCE,
    anth.GATEWAY,
    anth.PAUSE,
]


def _random_log(seed: int) -> list[str]:
    """Five Responses streams of the fixtures (cut, failed, events after the terminal one, out
    of order...) interleaved at random, each numbering its events from its own base (some not
    at all); four Messages streams one after another (the first perhaps without its
    ``message_start``); chat chunks between. ``read_log`` may find no stream for some events."""
    rng = random.Random(seed)
    responses = [
        _renamed(stream.events, f"_r{seed}_{k}")
        for k, stream in enumerate(rng.sample(list(resp.STREAMS.values()), 5))
    ]
    for k, events in enumerate(responses):
        numbered = rng.random() > 0.1
        for event in events:
            if not numbered:
                event.pop("sequence_number", None)
            elif isinstance(event.get("sequence_number"), int):
                event["sequence_number"] += 1000 * k
    messages = [_renamed(m, f"_m{seed}_{k}") for k, m in enumerate(rng.sample(MESSAGES, 4))]
    if rng.random() < 0.3:
        messages[0] = messages[0][1:]  # keyed ("anthropic", None)
    chat = [
        {**_chat_chunk(f"c{seed}_{k}"), "choices": [{"index": 0, "delta": {"content": "x"}}]}
        for k in range(10)
    ]
    queues = [*responses, [e for m in messages for e in m], chat]
    out = []
    while any(queues):
        out.append(rng.choice([q for q in queues if q]).pop(0))
    return [json.dumps(e) for e in out]


def _chat_chunk(sid: str) -> dict[str, Any]:
    return {"id": sid, "object": "chat.completion.chunk", "created": 1, "model": "m"}


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _units(path: Path, cuts: Iterable[int]) -> list[_parallel.Unit]:
    """The file as byte ranges starting at ``cuts`` (as ``plan`` makes them, anywhere)."""
    size = path.stat().st_size
    starts = [0, *sorted({cut for cut in cuts if 0 < cut < size})]
    units = []
    for index, start in enumerate(starts):
        last = index + 1 == len(starts)
        end = size if last else starts[index + 1]
        stop = size - 1 if last else end
        name = str(path)
        units.append(
            _parallel.Unit(index, 0, name, name, "jsonl", start, stop, end - start, last=last)
        )
    return units


def _cut_anywhere(path: Path, cuts: list[float], window: int | None) -> list[tuple[Any, ...]]:
    """The process pool's results on ``path`` cut at the fractions ``cuts`` of its size."""
    size = path.stat().st_size
    return assembled_units(_units(path, (int(cut * size) for cut in cuts)), window=window)


def _read_log_of(path: Path, window: int | None) -> list[tuple[Any, ...]]:
    return [signature(r) for r in streamfold.read_log([path], window=window)]


def _dask_here(parts: list[list[str]]) -> list[streamfold.LogResult]:
    """``streamfold.dask``'s tasks run in this process on partitions ``parts`` (each result
    pickled, as Dask's workers send them)."""
    options = sdask._options(None, False, None, False)

    def sent(value: Any) -> Any:
        return pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))

    folded = [sent(sdask._fold_partition(part, n, options)) for n, part in enumerate(parts)]
    routes = sent(sdask._resolve([part.routes for part in folded]))
    merged: dict[Any, Any] = {}
    orphans: list[streamfold.LogResult] = []
    for number, part in enumerate(folded):
        streams, lost = sdask._partition_runs(part, routes, number)
        orphans += lost
        for key, runs in streams:
            merged[key] = sdask._combine(merged[key], (key, runs)) if key in merged else (key, runs)
    results = [r for item in merged.items() for r in sdask._results(item, False, False)]
    return results + orphans


def _global(results: Iterable[streamfold.LogResult], sizes: list[int]) -> list[str]:
    """Dask's results as read_log's: the line in the log, from the partition and its line."""
    starts = [sum(sizes[:n]) for n in range(len(sizes))]
    out = []
    for r in results:
        line = r.line
        if r.source is not None and line is not None:
            line += starts[int(r.source.split()[1])]
        completion = None if r.completion is None else streamfold.to_json(r.completion)
        messages = [str(e).split(": ", 1)[1] for e in r.errors]  # (without the place)
        out.append(repr((r.key, line, r.chunks, r.complete, completion, messages)))
    return sorted(out)


def _read_log(lines: list[str]) -> list[str]:
    return _global(streamfold.read_log("\n".join(lines), window=None), [])


def _split(lines: list[str], cuts: Iterable[int]) -> list[list[str]]:
    points = [0, *sorted({c for c in cuts if 0 < c < len(lines)}), len(lines)]
    return [lines[a:b] for a, b in pairwise(points)]


# ---------------------------------------------------------------------------------------------
# the byte ranges of fold_logs


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 5),
    cuts=st.lists(st.floats(0, 1), max_size=12),
    window=st.sampled_from([None, 2, 10_000]),
)
def test_any_byte_ranges_of_a_dialect_log_fold_as_read_log(
    tmp_path_factory: pytest.TempPathFactory,
    seed: int,
    cuts: list[float],
    window: int | None,
) -> None:
    """Cut anywhere, a log mixing the three APIs gives read_log's results, in its order."""
    path = _write(tmp_path_factory.mktemp("cuts") / "log.jsonl", _dialect_log(seed))
    assert _cut_anywhere(path, cuts, window) == _read_log_of(path, window)


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    cuts=st.lists(st.floats(0, 1), min_size=1, max_size=15),
    window=st.sampled_from([None, 10_000]),
)
@example(seed=286, cuts=[0.5], window=None)  # a straggler of another stream's numbering, held
def test_any_byte_ranges_of_a_random_log_fold_as_read_log(
    tmp_path_factory: pytest.TempPathFactory,
    seed: int,
    cuts: list[float],
    window: int | None,
) -> None:
    """Streams of every shape the fixtures have, cut anywhere: read_log's results, events of no
    stream included (a range whose guesses fail is read again, routed as read_log routes it)."""
    path = _write(tmp_path_factory.mktemp("random") / "log.jsonl", _random_log(seed))
    assert _cut_anywhere(path, cuts, window) == _read_log_of(path, window)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10_000), cuts=st.lists(st.integers(0, 120), min_size=1, max_size=12))
def test_any_partitions_of_a_random_log_fold_as_read_log_or_raise(
    seed: int, cuts: list[int]
) -> None:
    """Dask's tasks on any partitions of such a log: read_log(window=None)'s streams; or, only
    where read_log finds no stream for some event, the error that says so (raised)."""
    lines = _random_log(seed)
    parts = _split(lines, cuts)
    expected = _read_log(lines)
    raised = ""
    try:
        got = _global(_dask_here(parts), [len(part) for part in parts])
    except streamfold.UsageError as exc:
        raised = str(exc)
    if raised:
        assert "pass key=" in raised
        assert any(r.startswith("(None") for r in expected)
        return

    def streams(results: list[str]) -> list[str]:  # (Dask reports every line of no stream)
        return [r for r in results if not r.startswith("(None")]

    assert streams(got) == streams(expected)


def test_every_block_size_folds_as_read_log(tmp_path: Path) -> None:
    """Byte ranges of any size, down to a line or two each: read_log's results, in order; the
    log has what the rule must handle (placeholders, errors, lines of no stream)."""
    path = _write(tmp_path / "log.jsonl", _dialect_log(0))
    names = [str(path)]
    expected = [signature(r) for r in streamfold.read_log([path])]
    assert sum(r[5] != () for r in expected) >= 3  # streams with errors
    for block_size in [40, 97, 150, 333, 512, 1000, 2500, 8000]:
        units = _parallel.plan(names, names, fmt="jsonl", jobs=2, block_size=block_size)
        assert assembled_units(units) == expected, block_size


def test_fold_logs_on_two_processes_splits_dialect_logs(tmp_path: Path) -> None:
    """jobs=2 cuts logs of the Responses and Messages APIs into byte ranges (they used to be read
    whole), a range continues streams of the range before it, and the results are read_log's."""
    files = [_write(tmp_path / f"log{seed}.jsonl", _dialect_log(seed)) for seed in range(3)]
    names = [str(path) for path in files]
    units = _parallel.plan(names, names, fmt="jsonl", jobs=2, block_size=700)
    assert len(units) > 3 * len(files)
    continued = [
        key
        for unit in units
        if unit.start > 0
        for routes in [_parallel.fold_unit(unit, _parallel.Options()).routes]
        if routes is not None
        for key in routes.local_keys()
        if isinstance(key, Continued)
    ]
    assert continued  # the continuation rule ran
    for window in (None, 10_000):
        single = [signature(r) for r in streamfold.read_log(files, window=window)]
        pooled = streamfold.fold_logs(files, jobs=2, block_size=700, window=window)
        assert [signature(r) for r in pooled] == single


# ---------------------------------------------------------------------------------------------
# Dask's partitions


def test_dask_partitions_fold_dialect_logs_as_read_log() -> None:
    """A bag of 1 to 8 partitions gives read_log(window=None)'s results, result by result."""
    import dask
    import dask.bag as db

    bag: Any = db
    for seed in range(3):
        lines = _dialect_log(seed)
        expected = _read_log(lines)
        for n in range(1, 9):
            with dask.config.set(scheduler="synchronous"):
                lines_bag = bag.from_sequence(lines, npartitions=n)
                sizes = lines_bag.map_partitions(lambda part: [len(list(part))]).compute()
                folded: Any = sdask.fold_results(lines_bag)
                results = folded.compute()
            assert _global(results, sizes) == expected, (seed, n)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 5), cuts=st.lists(st.integers(0, 200), max_size=10))
def test_any_partitions_of_a_dialect_log_fold_as_read_log(seed: int, cuts: list[int]) -> None:
    """Dask's tasks on partitions cut anywhere: read_log(window=None)'s results."""
    lines = _dialect_log(seed)
    parts = _split(lines, cuts)
    assert _global(_dask_here(parts), [len(part) for part in parts]) == _read_log(lines)


# ---------------------------------------------------------------------------------------------
# what the pieces cannot tell


def _two_messages_at_once() -> list[str]:
    a1, a2 = _renamed(anth.TEXT, "_1"), _renamed(anth.TOOL, "_2")
    both = [e for pair in zip(a1, a2, strict=False) for e in pair] + a2[len(a1) :]
    return [json.dumps(e) for e in both]


def test_two_messages_streams_across_a_cut_are_read_logs_error(tmp_path: Path) -> None:
    """Two Messages streams open at once: read_log reports each unnamed event, asking for key=.
    A byte range that guessed is read again by the parent, routed as read_log routes it: the
    same results. A Dask partition cannot be: the error is raised, naming the place."""
    lines = _two_messages_at_once()
    single = list(streamfold.read_log("\n".join(lines)))
    messages = [str(e) for r in single for e in r.errors]
    assert any("2 of its streams are open" in m and "pass key=" in m for m in messages)
    path = _write(tmp_path / "log.jsonl", lines)
    expected = [signature(r) for r in streamfold.read_log([path])]
    for block_size in (60, 150, 300, 700):
        units = _parallel.plan([str(path)], [str(path)], fmt="jsonl", jobs=2, block_size=block_size)
        assert len(units) > 2
        assert assembled_units(units) == expected
    pooled = streamfold.fold_logs([path], jobs=2, block_size=150)
    assert [signature(r) for r in pooled] == expected
    with pytest.raises(streamfold.UsageError, match=r"^partition \d+:\d+: .*pass key="):
        _dask_here(_split(lines, [5]))
    dask_errors = [str(e) for r in _dask_here([lines]) for e in r.errors]
    assert dask_errors[0] == messages[0].replace("line ", "partition 0:", 1)


_ORDERED: list[list[dict[str, Any]]] = [
    [dict(e) for e in case.events]
    for case in (resp.TEXT, resp.REASONING, resp.PARALLEL_CALLS, resp.WEB_SEARCH, resp.OUT_OF_ORDER)
]


@settings(max_examples=200, deadline=None)
@given(
    which=st.integers(0, len(_ORDERED) - 1),
    moves=st.lists(st.tuples(st.floats(0, 1), st.integers(-4, 4)), max_size=4),
    renumber=st.lists(st.tuples(st.floats(0, 1), st.integers(-3, 40)), max_size=2),
    cuts=st.lists(st.floats(0, 1), min_size=1, max_size=4),
)
def test_partial_folds_of_a_disordered_responses_stream_merge_to_the_whole(
    which: int,
    moves: list[tuple[float, int]],
    renumber: list[tuple[float, int]],
    cuts: list[float],
) -> None:
    """A Responses stream whose sequence numbers come in any order (events moved, numbers
    repeated or skipped), cut anywhere: its segments' folds merge to the whole fold."""
    events = list(_ORDERED[which])
    for at, by in moves:
        i = int(at * (len(events) - 1))
        events.insert(max(0, min(len(events) - 1, i + by)), events.pop(i))
    for at, shift in renumber:
        i = int(at * (len(events) - 1))
        events[i] = {**events[i], "sequence_number": max(0, events[i]["sequence_number"] + shift)}
    try:
        whole: Any = streamfold.accumulate(events)
    except streamfold.StreamfoldError as exc:  # (a repeat the whole fold dropped: not ours)
        whole = type(exc)
    bounds = sorted({0, len(events), *(int(c * len(events)) for c in cuts)})
    parts = []
    for start, end in pairwise(bounds):
        core = streamfold.ResponseAccumulator()
        core.mark_segment()
        for event in events[start:end]:
            core.add(event)
        parts.append(streamfold.PartialFold(core, start, end))
    try:
        merged: Any = streamfold.merge_partials(parts).completion()
    except streamfold.StreamfoldError as exc:
        merged = type(exc)
    assert merged == whole


def test_dask_replays_a_long_responses_piece_that_continues_a_stream() -> None:
    """A Responses stream whose order by sequence number crosses a partition boundary, the
    piece after it long: the piece keeps its events (it does not begin with
    ``response.created``, so it may continue a stream), the merge replays them, and Dask gives
    read_log's result, for any cut near the disorder and with several partitions."""
    from streamfold import _responses
    from test_dialects import _text_response

    events = list(_responses.to_events(_text_response("x" * 300), piece_size=1))
    for swapped in (
        [*events[:4], events[5], events[4], *events[6:]],  # 5 waits for 4, across the cut
        [*events[:4], events[5], events[6], events[4], *events[7:]],  # 6 4 after it
    ):
        lines = [json.dumps(e) for e in swapped]
        for cuts in ([5], [4], [6], [5, 100], [5, 100, 200]):
            parts = _split(lines, cuts)
            assert _global(_dask_here(parts), [len(p) for p in parts]) == _read_log(lines)
    in_order = [json.dumps(e) for e in events]
    assert _global(_dask_here(_split(in_order, [5])), [5, len(events) - 5]) == _read_log(in_order)


def test_dask_raises_where_a_long_responses_piece_would_merge_otherwise() -> None:
    """A stream whose ``response.created`` comes after later events, across a partition
    boundary, in a long piece: the piece begins the stream as far as its partition can tell, so
    it keeps only its first events, and its merge would differ from the whole fold. Dask raises
    UsageError naming the partition and line, never a result that differs from read_log's."""
    from streamfold import _responses
    from test_dialects import _text_response

    events = list(_responses.to_events(_text_response("x" * 300), piece_size=1))
    late = [*events[1:5], events[0], *events[5:]]  # created after 1-4, across the cut
    lines = [json.dumps(e) for e in late]
    single = _read_log(lines)
    assert len(single) == 1
    assert '"status":"completed"' in single[0]
    assert single[0].endswith("[])")  # no error
    with pytest.raises(streamfold.UsageError, match=r"^partition 1:1: .*sequence numbers"):
        _dask_here(_split(lines, [4]))


def _long_disordered_response(tmp_path: Path) -> tuple[Path, int]:
    """A Responses stream of some 300 events, the fifth moved after the seventh (0 1 2 3 5 6
    4 7 ...), written with a chat stream around it; and the byte where the line after event 5
    starts: a cut there leaves 6 4 7 ... apart, a piece too long to be replayed whose
    sequence numbers do not follow the first piece's."""
    from streamfold import _responses
    from test_dialects import _text_response

    events = list(_responses.to_events(_text_response("x" * 300), piece_size=1))
    swapped = [*events[:4], events[5], events[6], events[4], *events[7:]]
    chat = [json.dumps({**_chat_chunk("c"), "choices": [{"index": 0, "delta": {"content": w}}]})
            for w in ("a", "b", "c")]  # fmt: skip
    lines = [chat[0], *(json.dumps(e) for e in swapped[:5]), chat[1]]
    lines += [json.dumps(e) for e in swapped[5:]] + [chat[2]]
    path = _write(tmp_path / "long.jsonl", lines)
    cut = sum(len(line) + 1 for line in lines[:7]) - 1  # the newline ending the chat line
    return path, cut


def test_fold_logs_reads_again_a_long_responses_piece_whose_merge_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cut inside a Responses stream whose order by sequence number crosses it, the piece
    after it too long for the merge to replay: the parent folds the stream again from its
    lines (the worker sends them), so the results are read_log's, with no error; through
    pickle as a worker sends them, and on the real process pool."""
    path, cut = _long_disordered_response(tmp_path)
    expected = _read_log_of(path, None)
    (response,) = [r for r in streamfold.read_log([path]) if r.key != "c"]
    assert response.ok
    assert isinstance(response.completion, streamfold.Response)
    assert response.completion.output_text == "x" * 300
    refolded = []
    original = _parallel._Assembler._refolded

    def spy(self: Any, stream: Any, parts: Any) -> Any:
        refolded.append(stream.key)
        return original(self, stream, parts)

    monkeypatch.setattr(_parallel._Assembler, "_refolded", spy)
    for cuts in ([cut], [40, cut], [cut, cut + 25_000]):  # other pieces around it too
        refolded.clear()
        assert assembled_units(_units(path, cuts), window=None) == expected
        assert refolded == [response.key]  # the merge was refused: the stream read again
    refolded.clear()  # a short piece after the cut: its events replayed, no refusal
    assert assembled_units(_units(path, [cut, cut + 4000]), window=None) == expected
    assert refolded == []
    refolded.clear()
    pooled = _parallel.assemble(_units(path, [cut]), _parallel.Options(window=None), jobs=2)
    assert [signature(r) for r in pooled if isinstance(r, streamfold.LogResult)] == expected
    assert refolded == [response.key]


def _disagreeing_log(tmp_path: Path) -> Path:
    """Three Responses streams one after another, 40 text deltas each; the second's
    ``response.completed`` sends a text other than its deltas' (a disagreement, logged)."""
    from streamfold import _responses
    from test_dialects import _text_response

    lines = []
    for k in range(3):
        events = list(_responses.to_events(_text_response("abcd" * 10), piece_size=1))
        if k == 1:
            done = events[-1]
            assert done["type"] == "response.completed"
            done["response"]["output"] = [
                {"id": "msg_long", "type": "message", "role": "assistant",
                 "content": [{"type": "output_text", "text": "other", "annotations": []}]}
            ]  # fmt: skip
        lines += [json.dumps(e).replace("_long", f"_{k}") for e in events]
    return _write(tmp_path / "disagreeing.jsonl", lines)


def test_a_worker_holds_back_what_a_guessed_stream_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker finishes the streams that end in its range on a guess (one may have begun in
    an earlier range): what building such a stream logs (a Responses disagreement) goes to
    the parent with it, logged if the guess holds and never if it fails. Wherever the log is
    cut, the warnings are read_log's, once each."""
    path = _disagreeing_log(tmp_path)
    caplog.set_level("WARNING", logger="streamfold")
    expected = _read_log_of(path, None)
    logged = sorted(r.getMessage() for r in caplog.records)
    assert len(logged) == 1
    assert "response resp_1: 1 value(s)" in logged[0]
    size = path.stat().st_size
    for cuts in (
        [size // 6],
        [size // 2],
        [size // 3, size // 2],
        [size * k // 9 for k in range(1, 9)],
    ):
        caplog.clear()
        assert assembled_units(_units(path, cuts), window=None) == expected
        assert sorted(r.getMessage() for r in caplog.records) == logged, cuts


@settings(max_examples=40, deadline=None)
@given(
    moves=st.lists(st.tuples(st.floats(0, 1), st.integers(-6, 6)), min_size=1, max_size=4),
    cuts=st.lists(st.floats(0, 1), min_size=1, max_size=3),
)
def test_any_byte_ranges_of_a_long_disordered_responses_stream_fold_as_read_log(
    tmp_path_factory: pytest.TempPathFactory, moves: list[tuple[float, int]], cuts: list[float]
) -> None:
    """A Responses stream of some 300 events, some moved out of order, between chat streams,
    cut anywhere: the pieces (long ones whose merge is refused included) give read_log's
    results."""
    from streamfold import _responses
    from test_dialects import _text_response

    events = list(_responses.to_events(_text_response("ab" * 150), piece_size=1))
    for at, by in moves:
        i = int(at * (len(events) - 1))
        events.insert(max(0, min(len(events) - 1, i + by)), events.pop(i))
    choices = [{"index": 0, "delta": {"content": "x"}}]
    chat = [json.dumps({**_chat_chunk(f"c{k}"), "choices": choices}) for k in range(3)]
    lines = [chat[0], *(json.dumps(e) for e in events[:150]), chat[1]]
    lines += [json.dumps(e) for e in events[150:]] + [chat[2]]
    path = _write(tmp_path_factory.mktemp("long") / "log.jsonl", lines)
    assert _cut_anywhere(path, cuts, None) == _read_log_of(path, None)


@settings(max_examples=40, deadline=None)
@given(
    moves=st.lists(st.tuples(st.floats(0, 1), st.integers(-6, 6)), min_size=1, max_size=4),
    cuts=st.lists(st.integers(1, 305), min_size=1, max_size=4),
)
def test_any_partitions_of_a_long_disordered_responses_stream_fold_as_read_log(
    moves: list[tuple[float, int]], cuts: list[int]
) -> None:
    """A Responses stream of some 300 events, some moved out of order, in partitions cut
    anywhere: Dask gives read_log's results; it may raise (UsageError) only where the stream's
    ``response.created`` no longer comes first."""
    from streamfold import _responses
    from test_dialects import _text_response

    events = list(_responses.to_events(_text_response("ab" * 150), piece_size=1))
    for at, by in moves:
        i = int(at * (len(events) - 1))
        events.insert(max(0, min(len(events) - 1, i + by)), events.pop(i))
    lines = [json.dumps(e) for e in events]
    parts = _split(lines, cuts)
    try:
        got = _global(_dask_here(parts), [len(p) for p in parts])
    except streamfold.UsageError:
        assert events[0]["type"] != "response.created"
        return
    assert got == _read_log(lines)

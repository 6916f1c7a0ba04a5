"""The Responses API and Anthropic Messages streams everywhere the chat dialect works: every adapter
on both async backends, SSE bodies, logs that mix the three APIs, the command line, the process
pool and Dask, partial folds, and the way back (to_events / to_sse)."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import BaseModel, ValidationError

import anthropic_streams as anth
import responses_streams as resp
import streamfold
from conftest import Fold, _agen
from streamfold import _dialect, _parallel
from streamfold.cli import main

EXAMPLES = Path(__file__).parent.parent / "examples"
Event = dict[str, Any]


class Case:
    """A stream of one API and what it folds into (``error``: the StreamError's payload)."""

    def __init__(
        self,
        name: str,
        events: list[Event],
        expected: dict[str, Any],
        complete: bool,
        error: Any = None,
    ) -> None:
        self.name = name
        self.events = events
        self.expected = expected
        self.complete = complete
        self.error = error
        self.cls = (
            streamfold.Response if name.startswith("responses") else (streamfold.AnthropicMessage)
        )

    def __repr__(self) -> str:
        return self.name


CASES = [
    *(
        Case(f"responses-{name}", s.events, s.expected, s.complete, s.error)
        for name, s in resp.STREAMS.items()
    ),
    *(
        Case(f"anthropic-{name}", events, message, message["stop_reason"] is not None)
        for name, (events, message) in anth.STREAMS.items()
    ),
    Case("anthropic-error", anth.ERROR, anth.ERROR_MESSAGE, False, anth.ERROR[-1]["error"]),
]
OK_CASES = [case for case in CASES if case.error is None]


def _named(events: Iterable[Event]) -> bytes:
    """An SSE body as both APIs send it: an `event:` line with each event's type."""
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def _bare(events: Iterable[Event]) -> bytes:
    """An SSE body of `data:` lines only, closed by `[DONE]` as a proxy may do."""
    return b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events) + b"data: [DONE]\n\n"


def _pieces(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def _check(case: Case, fold: Any) -> None:
    """``fold()`` gives the case's object, or raises its error with that object."""
    if case.error is not None:
        with pytest.raises(streamfold.StreamError) as caught:
            fold()
        assert caught.value.error == case.error
        assert isinstance(caught.value.completion, case.cls)
        assert streamfold.to_dict(caught.value.completion) == case.expected
        return
    folded = fold()
    assert isinstance(folded, case.cls)
    assert streamfold.to_dict(folded) == case.expected
    assert folded.is_complete == case.complete or case.name.endswith("failed")


# ---------------------------------------------------------------------------------------------
# detection


def test_the_first_event_tells_the_api() -> None:
    """Dicts, JSON text, `data:` lines, SDK objects and SSE names say which API they are."""
    dialect_of = _dialect.dialect_of
    assert dialect_of(resp.TEXT.events[0]) == "responses"
    assert dialect_of(anth.TEXT[0]) == "anthropic"
    assert dialect_of({"object": "chat.completion.chunk", "choices": []}) == "chat"
    assert dialect_of({"object": "text_completion"}) == "chat"
    assert dialect_of({"error": {"message": "x"}}) == "chat"
    assert dialect_of({"type": "error", "code": "e", "sequence_number": 3}) == "responses"
    assert dialect_of({"type": "error", "error": {"type": "overloaded_error"}}) == "anthropic"
    assert dialect_of("data: " + json.dumps(anth.TEXT[0])) == "anthropic"
    assert dialect_of(json.dumps(resp.TEXT.events[1]).encode()) == "responses"
    assert dialect_of("data: [DONE]") is None
    assert dialect_of(b"not json") == "chat"
    assert _dialect.dialect_of_name("content_block_delta") == "anthropic"
    assert _dialect.dialect_of_name("response.output_text.delta") == "responses"
    assert _dialect.dialect_of_name("error") is None


def test_sdk_objects_tell_the_api() -> None:
    """The openai and anthropic SDKs' event objects are told apart by their attributes."""
    from anthropic.types import RawMessageStartEvent
    from openai.types.chat import ChatCompletionChunk
    from openai.types.responses import ResponseCreatedEvent

    chunk = ChatCompletionChunk.model_validate(
        {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": []}
    )
    created = ResponseCreatedEvent.model_validate(resp.TEXT.events[0])
    start = RawMessageStartEvent.model_validate(anth.TEXT[0])
    assert [_dialect.dialect_of(x) for x in (chunk, created, start)] == [
        "chat",
        "responses",
        "anthropic",
    ]


# ---------------------------------------------------------------------------------------------
# every adapter, both backends


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_every_stream_folds_through_every_adapter(fold: Fold, case: Case) -> None:
    """accumulate, wrap, aaccumulate and awrap (asyncio and trio) fold each stream into its
    API's object; a server error raises StreamError carrying what was folded."""
    _check(case, lambda: fold(case.events))


@pytest.mark.parametrize("case", [c for c in OK_CASES if not c.complete], ids=repr)
def test_strict_refuses_a_stream_without_its_terminal_event(fold: Fold, case: Case) -> None:
    """strict=True: IncompleteStreamError with everything folded, on every adapter."""
    with pytest.raises(streamfold.IncompleteStreamError) as caught:
        fold(case.events, strict=True)
    assert streamfold.to_dict(caught.value.completion) == case.expected


@pytest.mark.parametrize("case", [c for c in OK_CASES if c.complete][:4], ids=repr)
def test_strict_accepts_a_finished_stream(fold: Fold, case: Case) -> None:
    """strict=True returns a finished stream's object."""
    assert streamfold.to_dict(fold(case.events, strict=True)) == case.expected


def test_text_events_and_sdk_objects_fold_alike() -> None:
    """JSON text, `data:` lines and the SDKs' pydantic events fold as the dicts do."""
    from anthropic.types import RawMessageStreamEvent
    from openai.types.responses import ResponseStreamEvent
    from pydantic import TypeAdapter

    for events, adapter in (
        (resp.PARALLEL_CALLS.events, TypeAdapter(ResponseStreamEvent)),
        (anth.TOOL, TypeAdapter(RawMessageStreamEvent)),
    ):
        folded = streamfold.accumulate(events)
        assert streamfold.accumulate(json.dumps(e) for e in events) == folded
        assert streamfold.accumulate(f"data: {json.dumps(e)}" for e in events) == folded
        assert streamfold.accumulate(["data: [DONE]", *events]) == folded
        sdk = [_sdk(adapter, e) for e in events]
        # (the streams' lifecycle events carry a trimmed response the SDK may refuse: dicts)
        assert sum(isinstance(e, BaseModel) for e in sdk) >= len(events) - 3
        assert streamfold.accumulate(sdk) == folded


def _sdk(adapter: Any, event: Event) -> Any:
    """The SDK's object for ``event``, or the dict when the SDK's model refuses it."""
    try:
        return adapter.validate_python(event)
    except ValidationError:
        return event


def test_wrapper_exposes_the_core_in_use_and_passes_events_through() -> None:
    """wrapper.accumulator is the API's core; the events come out unchanged."""
    for events, core in (
        (resp.TEXT.events, streamfold.ResponseAccumulator),
        (anth.TEXT, streamfold.MessageAccumulator),
    ):
        wrapped = streamfold.wrap(events)
        assert isinstance(wrapped.accumulator, streamfold.Accumulator)  # nothing came yet
        assert list(wrapped) == events
        assert isinstance(wrapped.accumulator, core)
        assert wrapped.completion == streamfold.accumulate(events)
        assert wrapped.snapshot() == wrapped.completion
        assert "dialect=" in repr(wrapped)


def test_chat_options_on_another_api_are_a_usage_error() -> None:
    """field_rules and the other chat options are refused for a Responses or Messages stream."""
    with pytest.raises(streamfold.UsageError, match="normalize_finish_reason"):
        streamfold.accumulate(anth.TEXT, normalize_finish_reason=True)
    with pytest.raises(streamfold.UsageError, match="field_rules"):
        list(streamfold.wrap(resp.TEXT.events, field_rules={"x": "last"}))


def test_a_chat_stream_refuses_a_later_event_of_another_api() -> None:
    """The first event picks the API: a Messages event inside a chat stream is a bad chunk."""
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    chat = [{**chunk, "choices": [{"index": 0, "delta": {"content": "hi"}}]}]
    with pytest.raises(streamfold.InvalidChunkError, match="one stream speaks one API") as info:
        streamfold.accumulate([*chat, anth.TEXT[0]])
    assert info.value.position == 1
    assert isinstance(info.value.completion, streamfold.ChatCompletion)


EVENT_ADAPTERS = [
    "core",
    "wrap-events",
    "wrap-callback",
    *(f"{b}-{m}" for b in ("asyncio", "trio") for m in ("events", "callback")),
]


def _events_of(name: str, events: list[Event]) -> list[streamfold.Event]:
    out: list[streamfold.Event] = []
    if name == "core":
        acc = _dialect.new_core(_dialect.dialect_of(events[0]))
        for event in events:
            out.extend(acc.add_events(event))
        out.extend(acc.end_events())
        return out
    if name == "wrap-events":
        return list(streamfold.wrap(events).events())
    if name == "wrap-callback":
        assert list(streamfold.wrap(events, on_event=out.append)) == events
        return out
    backend, mode = name.split("-")

    async def run() -> None:
        if mode == "events":
            out.extend([e async for e in streamfold.awrap(_agen(events)).events()])
        else:
            passed = [e async for e in streamfold.awrap(_agen(events), on_event=out.append)]
            assert passed == events

    anyio.run(run, backend=backend)
    return out


@pytest.mark.parametrize("name", EVENT_ADAPTERS)
def test_typed_events_through_every_adapter(name: str) -> None:
    """wrap().events(), on_event and the async twins give the core's own typed events."""
    for events in (resp.TEXT.events, resp.PARALLEL_CALLS.events, anth.TOOL, anth.THINKING):
        expected = _events_of("core", events)
        got = _events_of(name, events)
        assert got == expected
        kinds = {type(e) for e in got}
        if events is resp.PARALLEL_CALLS.events:
            assert streamfold.ToolCallArgumentsDelta in kinds
        else:
            assert streamfold.ContentDelta in kinds


def _error_events(name: str, events: list[Event]) -> list[streamfold.Event]:
    """The typed events of ``events`` by one adapter, up to the StreamError they end with."""
    seen: list[streamfold.Event] = []
    if name == "wrap-events":
        with pytest.raises(streamfold.StreamError):
            seen.extend(streamfold.wrap(events).events())
        return seen

    async def run() -> None:
        async for event in streamfold.awrap(_agen(events)).events():
            seen.append(event)  # noqa: PERF401 - what came before the error must be kept

    with pytest.raises(streamfold.StreamError):
        anyio.run(run, backend=name.split("-")[0])
    return seen


@pytest.mark.parametrize("name", ["wrap-events", "asyncio-events", "trio-events"])
def test_a_server_error_is_an_error_event_then_raised(name: str) -> None:
    """The error event comes last in events(), then StreamError is raised."""
    for events in (anth.ERROR, resp.ERROR_EVENT.events):
        seen = _error_events(name, events)
        assert isinstance(seen[-1], streamfold.ErrorEvent)
        assert any(isinstance(e, streamfold.ContentDelta) for e in seen)


# ---------------------------------------------------------------------------------------------
# SSE


SSE_ADAPTERS = [
    "from_sse",
    "from_sse-pieces",
    "iter_sse",
    "asyncio-afrom_sse",
    "trio-afrom_sse",
    "asyncio-aiter_sse",
    "trio-aiter_sse",
]


def _sse_fold(name: str, body: bytes) -> Any:
    if name == "from_sse":
        return streamfold.from_sse(body)
    if name == "from_sse-pieces":
        return streamfold.from_sse(_pieces(body, 7))
    if name == "iter_sse":
        return streamfold.accumulate(streamfold.iter_sse(_pieces(body, 13)))
    backend, adapter = name.split("-")

    async def run() -> Any:
        pieces = _agen(_pieces(body, 11))
        if adapter == "afrom_sse":
            return await streamfold.afrom_sse(pieces)
        return await streamfold.aaccumulate(streamfold.aiter_sse(pieces))

    return anyio.run(run, backend=backend)


@pytest.mark.parametrize("name", SSE_ADAPTERS)
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_sse_bodies_fold_through_every_sse_adapter(name: str, case: Case) -> None:
    """Named-event bodies (as both APIs send them) and bare `data:` bodies with [DONE]."""
    _check(case, lambda: _sse_fold(name, _named(case.events)))
    _check(case, lambda: _sse_fold(name, _bare(case.events)))


def test_the_error_event_by_its_sse_name() -> None:
    """`event: error` with each API's payload is that API's server error."""
    for events in (anth.ERROR, resp.ERROR_EVENT.events):
        expected = None
        try:
            streamfold.accumulate(events)
        except streamfold.StreamError as exc:
            expected = exc.completion
        with pytest.raises(streamfold.LineStreamError) as caught:
            streamfold.from_sse(_named(events))
        assert caught.value.completion == expected
        assert caught.value.line == 3 * len(events) - 1  # the last event's data line


def test_an_untyped_error_event_becomes_the_apis_error() -> None:
    """A gateway's `event: error` with a bare payload ends a Messages or Responses stream."""
    for events in (anth.TEXT[:3], resp.TEXT.events[:4]):
        body = _named(events) + b'event: error\ndata: {"message": "upstream timed out"}\n\n'
        with pytest.raises(streamfold.StreamError, match="upstream timed out") as caught:
            streamfold.from_sse(body)
        assert caught.value.completion == streamfold.accumulate(events)


@pytest.mark.parametrize("case", [c for c in OK_CASES if len(c.events) > 4][:6], ids=repr)
def test_a_body_cut_inside_an_event_keeps_what_was_folded(case: Case) -> None:
    """The connection drops inside the last event's JSON: InvalidLineError with everything
    before it in ``completion``, as for chat."""
    body = _named(case.events)
    cut = body[: body.rindex(b"data: ") + 20]
    with pytest.raises(streamfold.InvalidChunkError, match="cut connection") as caught:
        streamfold.from_sse(cut)
    assert caught.value.completion == streamfold.accumulate(case.events[:-1])
    with pytest.raises(streamfold.InvalidLineError):
        streamfold.accumulate(streamfold.iter_sse(cut))


def test_a_chat_body_still_skips_named_events() -> None:
    """A chat body's named events (not the other APIs' names) are skipped, as before."""
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    body = (
        f"data: {json.dumps({**chunk, 'choices': [{'index': 0, 'delta': {'content': 'a'}}]})}\n\n"
        'event: message_start\ndata: {"type": "message_start"}\n\n'
        'event: progress\ndata: {"x": 1}\n\n'
        f"data: {json.dumps({**chunk, 'choices': [{'index': 0, 'finish_reason': 'stop'}]})}\n\n"
        "data: [DONE]\n\n"
    )
    folded = streamfold.from_sse(body)
    assert isinstance(folded, streamfold.ChatCompletion)
    assert folded.choices[0].message.content == "a"
    assert len(list(streamfold.iter_sse(body))) == 2


# ---------------------------------------------------------------------------------------------
# logs


def _renamed(events: list[Event], suffix: str) -> list[Event]:
    """The stream with every id made unique (response id, item ids, message id)."""
    text = json.dumps(events)
    ids = set()
    for event in events:
        for holder in (event, event.get("item"), event.get("response"), event.get("message")):
            if isinstance(holder, dict):
                for name in ("id", "item_id"):
                    if isinstance(holder.get(name), str):
                        ids.add(holder[name])
    for old in sorted(ids, key=len, reverse=True):
        text = text.replace(f'"{old}"', f'"{old}{suffix}"')
    renamed: list[Event] = json.loads(text)
    return renamed


def _chat_stream(sid: str, words: list[str]) -> list[Event]:
    head = {"id": sid, "object": "chat.completion.chunk", "created": 1, "model": "m"}
    chunks = [{**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    chunks += [{**head, "choices": [{"index": 0, "delta": {"content": w}}]} for w in words]
    chunks.append({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return chunks


def _mixed_log(seed: int = 0) -> tuple[list[str], dict[Any, Any]]:
    """Lines of a log where chat streams, two Responses streams (interleaved, their deltas
    routed by item_id) and Anthropic streams (one at a time) mix; the expected folds by key."""
    rng = random.Random(seed)
    r1 = _renamed(resp.INTERLEAVED.events, "_1")
    r2 = [
        {**e, "sequence_number": e["sequence_number"] + 1000}
        for e in _renamed(resp.PARALLEL_CALLS.events, "_2")
    ]
    a1, a2 = anth.TOOL, _renamed(anth.THINKING, "_b")
    c1 = _chat_stream("chatcmpl-1", ["Hel", "lo"])
    c2 = _chat_stream("chatcmpl-2", [" wor", "ld"])
    # r1 and r2 open one after the other; their item events interleave afterwards
    streams = [r1[3:], r2[3:], c1[:], c2[:]]
    lines = [*r1[:3], *r2[:3]]
    while any(streams):
        live = [s for s in streams if s]
        lines.append(rng.choice(live).pop(0))
    # Anthropic streams one after the other, with chat chunks between
    lines[5:5] = a1
    lines += [*a2]
    expected = {
        key: streamfold.accumulate(events)
        for key, events in (
            (r1[0]["response"]["id"], r1),
            (r2[0]["response"]["id"], r2),
            ("msg_tool", a1),
            (a2[0]["message"]["id"], a2),
            ("chatcmpl-1", c1),
            ("chatcmpl-2", c2),
        )
    }
    return [json.dumps(e) for e in lines], expected


def test_read_log_folds_a_log_mixing_the_three_apis() -> None:
    """Each stream by its key: chunk id, response id, message id; deltas by item_id."""
    lines, expected = _mixed_log()
    results = list(streamfold.read_log("\n".join(lines)))
    assert all(r.ok for r in results), [str(e) for r in results for e in r.errors]
    assert {r.key: r.completion for r in results} == expected
    assert {r.key: r.complete for r in results} == dict.fromkeys(expected, True)


def test_read_log_in_every_line_form_and_with_a_key() -> None:
    """`data:` lines and records that wrap the event, by default and with key=."""
    events = _renamed(anth.TEXT, "_x")
    lines = [f"data: {json.dumps(e)}" for e in events]
    records = [json.dumps({"request_id": "r1", "event": e}) for e in events]
    expected = streamfold.accumulate(events)
    for log in (lines, records):
        (result,) = streamfold.read_log("\n".join(log))
        assert result.completion == expected
    (result,) = streamfold.read_log("\n".join(records), key=lambda r: (r["request_id"], r["event"]))
    assert result.key == "r1"
    assert result.completion == expected


def test_interleaved_anthropic_streams_need_a_key() -> None:
    """Two Messages streams at once: an event after message_start names no stream, so the line
    is an error telling to pass key=; with a request key they fold."""
    a1, a2 = _renamed(anth.TEXT, "_1"), _renamed(anth.TOOL, "_2")
    pairs = [(i, e) for pair in zip(a1, a2, strict=False) for i, e in enumerate(pair)]
    pairs += [(1, e) for e in a2[len(a1) :]]
    plain = "\n".join(json.dumps(e) for _, e in pairs)
    results = list(streamfold.read_log(plain))
    errors = [str(e) for r in results for e in r.errors]
    assert any("pass key=" in e and "2 of its streams are open" in e for e in errors)
    records = "\n".join(json.dumps({"req": i, "event": e}) for i, e in pairs)
    keyed = {r.key: r for r in streamfold.read_log(records, key=lambda r: (r["req"], r["event"]))}
    assert keyed[0].completion == streamfold.accumulate(a1)
    assert keyed[1].completion == streamfold.accumulate(a2)
    assert all(r.ok for r in keyed.values())


def test_a_stream_error_and_a_bad_event_in_a_log() -> None:
    """A server error ends its stream with a LineStreamError; a bad event is an error of its
    stream, named by line, and the stream goes on."""
    bad = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": 3}}
    lines = [*anth.TEXT[:2], bad, *anth.TEXT[2:], *_renamed(anth.ERROR, "_e")]
    results = list(streamfold.read_log("\n".join(json.dumps(e) for e in lines)))
    first, second = results
    assert first.completion == streamfold.accumulate(anth.TEXT)
    assert [type(e) for e in first.errors] == [streamfold.InvalidLineError]
    assert str(first.errors[0]).startswith("line 3: ")
    assert isinstance(second.errors[0], streamfold.LineStreamError)


def test_the_command_folds_an_sse_capture_of_each_api(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`streamfold fold` on the examples writes each stream's response / message JSON."""
    captures = sorted(EXAMPLES.glob("responses_*.sse")) + sorted(EXAMPLES.glob("anthropic_*.sse"))
    assert len(captures) >= 4
    for path in captures:
        status = main(["fold", str(path)])
        out, err = capsys.readouterr()
        assert status == 0, err
        (line,) = out.splitlines()
        assert json.loads(line) == streamfold.to_dict(streamfold.from_sse(path))
        assert json.loads(line)["object" if "responses" in path.name else "type"] in (
            "response",
            "message",
        )


def test_the_command_folds_a_capture_of_several_bodies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bodies one after another (no [DONE] in these APIs): a finished stream's successor starts
    at its first event; a keep-alive event without JSON between them is skipped."""
    tool = _renamed(anth.TOOL, "_2")
    path = tmp_path / "capture.sse"
    path.write_bytes(
        _named(anth.TEXT)
        + b"event: keepalive\ndata: \n\n"
        + _named(tool)
        + _named(resp.TEXT.events)
    )
    assert main(["fold", str(path)]) == 0
    out, err = capsys.readouterr()
    assert not err
    assert [json.loads(line) for line in out.splitlines()] == [
        streamfold.to_dict(streamfold.accumulate(events))
        for events in (anth.TEXT, tool, resp.TEXT.events)
    ]


def test_the_command_folds_a_mixed_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`streamfold fold` and `--jobs 2` on a mixed JSON-lines log write read_log's objects."""
    lines, expected = _mixed_log(1)
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    outputs = []
    for args in (["fold", str(path)], ["fold", "--jobs", "2", str(path)]):
        status = main(args)
        out, err = capsys.readouterr()
        assert status == 0, err
        outputs.append(out)
    assert outputs[0] == outputs[1]
    written = [json.loads(line) for line in outputs[0].splitlines()]
    assert sorted(map(json.dumps, written)) == sorted(
        json.dumps(streamfold.to_dict(c)) for c in expected.values()
    )


def test_fold_logs_with_jobs_equals_read_log(tmp_path: Path) -> None:
    """The process pool gives read_log's results on mixed logs split into several files."""
    files = []
    for seed in range(3):
        lines, _ = _mixed_log(seed)
        unique = _renamed([json.loads(line) for line in lines], f"_f{seed}")
        path = tmp_path / f"part{seed}.jsonl"
        path.write_text("".join(json.dumps(e) + "\n" for e in unique))
        files.append(path)
    single = list(streamfold.read_log(files))
    pooled = list(streamfold.fold_logs(files, jobs=2))
    assert pooled == single
    # a small block size cuts them into byte ranges too: a range that starts inside a Responses
    # or Messages stream continues it (the continuation rule of _routing)
    names = [str(path) for path in files]
    units = _parallel.plan(names, names, fmt="jsonl", jobs=2, block_size=512)
    assert len(units) > 2 * len(files)
    ranges = [u for u in units if u.start > 0]
    assert any(_parallel.fold_unit(u, _parallel.Options()).routes is not None for u in ranges)
    assert list(streamfold.fold_logs(files, jobs=2, block_size=512)) == single
    assert len(single) == 18


def test_dask_folds_a_mixed_log_like_read_log() -> None:
    """streamfold.dask on a bag of mixed lines gives read_log(window=None)'s streams."""
    import dask
    import dask.bag as db

    from streamfold.dask import fold_results

    lines, expected = _mixed_log(2)
    single = list(streamfold.read_log("\n".join(lines), window=None))
    bag: Any = db
    for n in (1, 2, 3, 5, 8):  # streams of every API cross the partitions
        with dask.config.set(scheduler="synchronous"):
            folded: Any = fold_results(bag.from_sequence(lines, npartitions=n))
            results = folded.compute()
        assert {r.key: r.completion for r in results} == expected, n
        if n == 1:
            assert sorted(map(_summary, results)) == sorted(map(_summary, single))
        else:  # a result's line is its partition's: compare the rest
            assert sorted(map(_unplaced, results)) == sorted(map(_unplaced, single)), n


def _summary(result: streamfold.LogResult) -> str:
    """What a result says, but where its lines are (Dask names partitions, not files)."""
    return repr((result.key, result.line, result.chunks, result.complete, result.errors))


def _unplaced(result: streamfold.LogResult) -> str:
    """What a result says, but where it is (Dask counts lines per partition)."""
    return repr((result.key, result.chunks, result.complete, result.errors))


# ---------------------------------------------------------------------------------------------
# partial folds


@pytest.mark.parametrize("case", OK_CASES, ids=repr)
def test_partial_folds_of_any_split_merge_to_the_whole(case: Case) -> None:
    """A stream cut anywhere, each segment folded by its core, merges back to the plain fold."""
    whole = streamfold.accumulate(case.events)
    dialect = _dialect.dialect_of(case.events[0])
    rng = random.Random(len(case.events))
    for _ in range(6):
        cuts = sorted(rng.sample(range(1, len(case.events)), min(2, len(case.events) - 1)))
        bounds = [0, *cuts, len(case.events)]
        parts = []
        for start, end in itertools.pairwise(bounds):
            core = _dialect.new_core(dialect)
            core.mark_segment()
            for event in case.events[start:end]:
                core.add(event)
            parts.append(streamfold.PartialFold(_segment(core), start, end))
        rng.shuffle(parts)
        merged = streamfold.merge_partials(parts)
        assert merged.completion() == whole
        assert merged.chunks == len(case.events)
        assert merged.is_complete == case.complete
    with pytest.raises(streamfold.PartialMergeError):
        streamfold.merge_partials([parts[0], parts[0]])


def _segment(core: _dialect.Core) -> Any:
    """A core as PartialFold takes it (the Core protocol does not name ``merge``)."""
    return core


def test_a_part_whose_done_names_another_kind_merges_as_the_whole_folds() -> None:
    """A refusal part whose ``output_item.done`` carries an output_text part (a log's routing
    can give a stream another's done item): the whole fold keeps the part's first kind and reads
    that kind's field; a later segment read the other one, and the merge must read it as the
    whole does, wherever the stream is cut."""
    item, rid = "msg_x", "resp_kinds"
    events: list[Any] = [
        {"type": "response.created", "response": {"id": rid, "status": "in_progress"}},
        {"type": "response.output_item.added", "output_index": 0,
         "item": {"id": item, "type": "message", "role": "assistant", "content": []}},
        {"type": "response.content_part.added", "item_id": item, "output_index": 0,
         "content_index": 0, "part": {"type": "refusal", "refusal": ""}},
        {"type": "response.refusal.delta", "item_id": item, "output_index": 0,
         "content_index": 0, "delta": "I can't "},
        {"type": "response.refusal.delta", "item_id": item, "output_index": 0,
         "content_index": 0, "delta": "help with that."},
        {"type": "response.output_item.done", "output_index": 0,
         "item": {"id": "msg_other", "type": "message", "role": "assistant",
                  "content": [{"type": "output_text", "text": "Hi there!", "annotations": []}]}},
        {"type": "response.completed", "response": {"id": rid, "status": "completed"}},
    ]  # fmt: skip
    whole = streamfold.accumulate(events)
    part = whole.output[0]["content"][0]
    assert (part["refusal"], part["text"]) == ("I can't help with that.", "Hi there!")
    for cut in range(1, len(events)):
        parts = []
        for start, end in ((0, cut), (cut, len(events))):
            core = _dialect.new_core("responses")
            core.mark_segment()
            for event in events[start:end]:
                core.add(event)
            parts.append(streamfold.PartialFold(_segment(core), start, end))
        assert streamfold.merge_partials(parts).completion() == whole, cut


def test_partials_of_different_apis_do_not_merge() -> None:
    """A Responses segment and a Messages segment refuse to merge, naming both."""
    a = streamfold.PartialFold(_segment(_dialect.new_core("responses")), 0, 1)
    b = streamfold.PartialFold(_segment(_dialect.new_core("anthropic")), 1, 2)
    with pytest.raises(streamfold.PartialMergeError, match=r"Response.*Message"):
        streamfold.merge_partials([a, b])
    c = streamfold.PartialFold.fold([], start=2)
    with pytest.raises(streamfold.PartialMergeError):
        streamfold.merge_partials([b, c])


# ---------------------------------------------------------------------------------------------
# the way back


@pytest.mark.parametrize("case", OK_CASES, ids=repr)
def test_to_events_to_sse_from_sse_round_trip(case: Case) -> None:
    """Any folded object -> to_events -> to_sse -> from_sse gives the object back."""
    folded = streamfold.accumulate(case.events)
    for seed in range(3):
        events = list(streamfold.to_events(folded, piece_size=3, seed=seed))
        assert streamfold.accumulate(events) == folded
        body = b"".join(streamfold.to_sse(events))
        assert body.startswith(b"event: ")
        assert not body.endswith(b"[DONE]\n\n")
        assert streamfold.from_sse(body) == folded
        assert streamfold.from_sse(_pieces(body, 5)) == folded
    plain = streamfold.to_dict(folded)
    assert list(streamfold.to_events(plain, seed=7)) == list(streamfold.to_events(folded, seed=7))


def test_to_events_of_a_chat_completion_is_its_chunks() -> None:
    """For a chat completion, to_events yields to_chunks; to_sse ends it with [DONE]."""
    completion = streamfold.accumulate(_chat_stream("c", ["a", "bc"]))
    assert list(streamfold.to_events(completion)) == list(streamfold.to_chunks(completion))
    body = b"".join(streamfold.to_sse(streamfold.to_events(completion)))
    assert body.endswith(b"data: [DONE]\n\n")
    assert streamfold.from_sse(body) == completion
    with pytest.raises(ValueError, match="piece_size"):
        list(streamfold.to_events(completion, piece_size=0))


def test_the_replay_command_writes_a_response_and_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`streamfold replay` on a stored response / message JSON writes its SSE body."""
    for events in (resp.REASONING.events, anth.WEB_SEARCH):
        folded = streamfold.accumulate(events)
        path = tmp_path / "stored.json"
        path.write_text(json.dumps(streamfold.to_dict(folded)))
        status = main(["replay", str(path), "--seed", "3"])
        out, err = capsys.readouterr()
        assert status == 0, err
        assert out.startswith("event: ")
        assert streamfold.from_sse(out.encode()) == folded


def _fold_parts(events: list[dict[str, Any]], bounds: list[int]) -> streamfold.PartialFold:
    """The segments ``bounds`` cut ``events`` into, each folded by its own core, merged."""
    parts = []
    for start, end in itertools.pairwise(bounds):
        core = _dialect.new_core("responses")
        core.mark_segment()
        for event in events[start:end]:
            core.add(event)
        parts.append(streamfold.PartialFold(_segment(core), start, end))
    return streamfold.merge_partials(parts)


def _disordered() -> Iterable[list[dict[str, Any]]]:
    """Responses streams whose sequence numbers come out of order: each event moved one to
    three places later, and a straggler numbered from another stream (far ahead, as a log's
    routing can give a stream an event of another one)."""
    for case in (resp.REASONING, resp.PARALLEL_CALLS, resp.WEB_SEARCH, resp.OUT_OF_ORDER):
        events = [dict(e) for e in case.events]
        for at in range(len(events) - 1):
            for by in (1, 3):
                moved = list(events)
                moved.insert(min(at + by, len(moved) - 1), moved.pop(at))
                yield moved
        for at in range(1, len(events)):
            straggler = {**events[at - 1], "sequence_number": events[at]["sequence_number"] + 1}
            yield [*events[:at], straggler, *events[at:]]


def test_partial_folds_of_disordered_sequence_numbers_merge_to_the_whole_at_every_cut() -> None:
    """The order by sequence number (events held after a gap, repeats dropped) crosses any cut:
    the segments' folds merge to the whole fold wherever the stream is cut, once or twice."""
    checked = 0
    for events in _disordered():
        whole = streamfold.accumulate(events)
        n = len(events)
        for cut in range(1, n):
            merged = _fold_parts(events, [0, cut, n])
            assert merged.completion() == whole, (cut, events)
            assert merged.chunks == n
        for first, second in itertools.combinations(range(1, n), 2):
            if (first * 7 + second) % 5 == 0:  # a deterministic fifth of the pairs
                assert _fold_parts(events, [0, first, second, n]).completion() == whole
        checked += 1
    assert checked > 100


def test_a_long_segment_whose_sequence_numbers_do_not_follow_is_refused() -> None:
    """A segment too long to keep its events (more than ``RAW``) is merged by its state, which
    is the whole fold's only when its sequence numbers follow the earlier segments': otherwise
    the merge says so (never a silently different response)."""
    from streamfold import _responses

    text = "x" * (_responses.RAW + 20)
    events = list(_responses.to_events(_text_response(text), piece_size=1))
    assert len(events) > _responses.RAW + 10
    whole = streamfold.accumulate(events)
    assert _fold_parts(events, [0, 5, len(events)]).completion() == whole  # in order: merged
    late = [*events[:4], *events[5:], events[4]]  # event 4 comes last: a gap held across the cut
    cut = len(late) - 10  # the later segment kept its events: replayed after the earlier's
    assert _fold_parts(late, [0, cut, len(late)]).completion() == streamfold.accumulate(late)
    with pytest.raises(streamfold.PartialMergeError, match="sequence numbers do not follow"):
        _fold_parts(late, [0, 3, len(late)])


def _text_response(text: str) -> Any:
    rid, mid = "resp_long", "msg_long"
    events: list[Any] = [
        {"type": "response.created", "sequence_number": 0,
         "response": {"id": rid, "status": "in_progress", "output": []}},
        {"type": "response.output_item.added", "sequence_number": 1, "output_index": 0,
         "item": {"id": mid, "type": "message", "role": "assistant", "content": []}},
        {"type": "response.output_text.delta", "sequence_number": 2, "output_index": 0,
         "item_id": mid, "content_index": 0, "delta": text},
        {"type": "response.completed", "sequence_number": 3,
         "response": {"id": rid, "status": "completed"}},
    ]  # fmt: skip
    return streamfold.accumulate(events)

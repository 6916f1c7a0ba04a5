"""Typed events: which events each stream causes, in which order, through every adapter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import streamfold

CollectEvents = Callable[..., list[streamfold.Event]]  # the events_of fixture (conftest.py)

ENV = {"id": "chatcmpl-ev1", "object": "chat.completion.chunk", "created": 1741570283,
       "model": "gpt-4o-2024-08-06", "system_fingerprint": "fp_eb9dce56a8"}  # fmt: skip


def chunk(*choices: dict[str, Any], usage: dict[str, Any] | None = None) -> dict[str, Any]:
    """A chunk in OpenAI's envelope with the given choices."""
    out: dict[str, Any] = {**ENV, "choices": list(choices)}
    if usage is not None:
        out["usage"] = usage
    return out


def delta(d: dict[str, Any], index: int = 0, finish: str | None = None) -> dict[str, Any]:
    """One streamed choice."""
    return {"index": index, "delta": d, "logprobs": None, "finish_reason": finish}


def kinds(events: list[streamfold.Event]) -> list[str]:
    """The event types, in order."""
    return [e.type for e in events]


USAGE = {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}


def test_text_stream_events_in_order(events_of: CollectEvents) -> None:
    """Text: started, one delta per piece, then content.done, choice.finished, usage."""
    events = events_of(
        [
            chunk(delta({"role": "assistant", "content": ""})),
            chunk(delta({"content": "Hel"})),
            chunk(delta({"content": "lo"})),
            chunk(delta({}, finish="stop")),
            chunk(usage=USAGE),
        ]
    )
    assert kinds(events) == [
        "choice.started",
        "content.delta",
        "content.delta",
        "content.done",
        "choice.finished",
        "usage",
    ]
    assert [e.delta for e in events if isinstance(e, streamfold.ContentDelta)] == ["Hel", "lo"]
    done, finished, usage = events[3:]
    assert isinstance(done, streamfold.ContentDone)
    assert done.content == "Hello"
    assert isinstance(finished, streamfold.ChoiceFinished)
    assert finished.finish_reason == "stop"
    assert isinstance(usage, streamfold.UsageEvent)
    assert usage.usage.total_tokens == 12


def _tool_stream() -> list[dict[str, Any]]:
    def call(i: int, **fields: Any) -> dict[str, Any]:
        return delta({"tool_calls": [{"index": i, **fields}]})

    return [
        chunk(delta({"role": "assistant", "content": None})),
        chunk(call(0, id="call_a", type="function", function={"name": "get", "arguments": ""})),
        chunk(call(0, function={"arguments": '{"city": '})),
        chunk(call(0, function={"arguments": '"Paris"}'})),
        chunk(call(1, id="call_b", type="function", function={"name": "put", "arguments": ""})),
        chunk(call(1, function={"arguments": '{"x": 1'})),
        chunk(delta({}, finish="tool_calls")),
    ]


def test_parallel_tool_calls_done_when_choice_finishes(events_of: CollectEvents) -> None:
    """Parallel calls: started/arguments deltas per call, both done at the finish, parsed."""
    events = events_of(_tool_stream())
    assert kinds(events) == [
        "choice.started",
        "tool_calls.function.started",
        "tool_calls.function.arguments.delta",
        "tool_calls.function.arguments.delta",
        "tool_calls.function.started",
        "tool_calls.function.arguments.delta",
        "tool_calls.function.arguments.done",
        "tool_calls.function.arguments.done",
        "choice.finished",
    ]
    started = [e for e in events if isinstance(e, streamfold.ToolCallStarted)]
    assert [(e.index, e.id, e.name) for e in started] == [
        (0, "call_a", "get"),
        (1, "call_b", "put"),
    ]
    done = [e for e in events if isinstance(e, streamfold.ToolCallDone)]
    assert done[0].arguments == '{"city": "Paris"}'
    assert done[0].parsed == {"city": "Paris"}
    assert done[0].parse_error is None
    # the second call's JSON was cut off: the done event carries the parse error, not a value
    assert done[1].arguments == '{"x": 1'
    assert done[1].parsed is None
    assert isinstance(done[1].parse_error, ValueError)


def test_eager_tool_calls_done_when_next_call_starts(events_of: CollectEvents) -> None:
    """eager_tool_calls=True: a call is done as soon as the next call of its choice starts."""
    events = events_of(_tool_stream(), eager_tool_calls=True)
    assert kinds(events)[4:7] == [
        "tool_calls.function.arguments.done",
        "tool_calls.function.started",
        "tool_calls.function.arguments.delta",
    ]
    first_done = events[4]
    assert isinstance(first_done, streamfold.ToolCallDone)
    assert first_done.id == "call_a"
    assert kinds(events)[-2:] == ["tool_calls.function.arguments.done", "choice.finished"]


def test_refusal_events(events_of: CollectEvents) -> None:
    """Refusal: refusal.delta per piece and refusal.done with the whole text."""
    events = events_of(
        [
            chunk(delta({"role": "assistant", "content": None, "refusal": ""})),
            chunk(delta({"refusal": "I can't "})),
            chunk(delta({"refusal": "help with that."})),
            chunk(delta({}, finish="stop")),
        ]
    )
    assert kinds(events) == [
        "choice.started",
        "refusal.delta",
        "refusal.delta",
        "refusal.done",
        "choice.finished",
    ]
    done = events[3]
    assert isinstance(done, streamfold.RefusalDone)
    assert done.refusal == "I can't help with that."


def test_reasoning_then_content_events(events_of: CollectEvents) -> None:
    """DeepSeek-style reasoning_content: reasoning deltas, then content; both done at finish."""
    events = events_of(
        [
            chunk(delta({"role": "assistant", "content": None, "reasoning_content": ""})),
            chunk(delta({"content": None, "reasoning_content": "Think"})),
            chunk(delta({"content": None, "reasoning_content": "ing."})),
            chunk(delta({"content": "Answer", "reasoning_content": None})),
            chunk(delta({"content": "", "reasoning_content": None}, finish="stop")),
        ]
    )
    assert kinds(events) == [
        "choice.started",
        "reasoning.delta",
        "reasoning.delta",
        "content.delta",
        "reasoning.done",
        "content.done",
        "choice.finished",
    ]
    first = events[1]
    assert isinstance(first, streamfold.ReasoningDelta)
    assert (first.field, first.delta) == ("reasoning_content", "Think")
    done = events[4]
    assert isinstance(done, streamfold.ReasoningDone)
    assert done.reasoning == "Thinking."


def test_logprobs_events_carry_only_new_entries(events_of: CollectEvents) -> None:
    """logprobs.content.delta carries the entries of its chunk only, never earlier ones."""

    def lp(token: str) -> dict[str, Any]:
        return {"content": [{"token": token, "logprob": -0.5, "bytes": None, "top_logprobs": []}]}

    events = events_of(
        [
            chunk({**delta({"content": "A"}), "logprobs": lp("A")}),
            chunk({**delta({"content": "B"}), "logprobs": lp("B")}),
            chunk(delta({}, finish="stop")),
        ]
    )
    deltas = [e for e in events if isinstance(e, streamfold.LogprobsDelta)]
    assert [e.type for e in deltas] == ["logprobs.content.delta", "logprobs.content.delta"]
    assert [[t.token for t in e.entries] for e in deltas] == [["A"], ["B"]]


def test_interleaved_choices_each_get_their_events(events_of: CollectEvents) -> None:
    """n=2: each choice starts, streams and finishes on its own index."""
    events = events_of(
        [
            chunk(delta({"role": "assistant", "content": "a"}, index=0)),
            chunk(delta({"role": "assistant", "content": "b"}, index=1)),
            chunk(delta({}, index=1, finish="length")),
            chunk(delta({"content": "c"}, index=0)),
            chunk(delta({}, index=0, finish="stop")),
        ]
    )
    per_choice = {
        i: [e.type for e in events if getattr(e, "choice_index", None) == i] for i in (0, 1)
    }
    assert per_choice[0] == [
        "choice.started",
        "content.delta",
        "content.delta",
        "content.done",
        "choice.finished",
    ]
    assert per_choice[1] == ["choice.started", "content.delta", "content.done", "choice.finished"]


def test_unfinished_stream_done_events_at_the_end(events_of: CollectEvents) -> None:
    """A stream cut before its finish_reason still reports content.done when it ends."""
    events = events_of([chunk(delta({"role": "assistant", "content": "partial"}))])
    assert kinds(events) == ["choice.started", "content.delta", "content.done"]


def test_error_event_then_stream_error() -> None:
    """A server error: the error event is delivered, then StreamError is raised."""
    chunks = [
        chunk(delta({"role": "assistant", "content": "Hi"})),
        {**chunk(delta({}, finish="error")), "error": {"message": "overloaded", "code": 502}},
    ]
    events: list[streamfold.Event] = []
    with pytest.raises(streamfold.StreamError) as info:
        events.extend(streamfold.wrap(chunks).events())
    assert info.value.error == {"message": "overloaded", "code": 502}
    assert kinds(events)[-3:] == ["content.done", "choice.finished", "error"]
    last = events[-1]
    assert isinstance(last, streamfold.ErrorEvent)
    assert last.error == {"message": "overloaded", "code": 502}
    acc = streamfold.Accumulator()
    acc.add_events(chunks[0])
    assert kinds(acc.add_events(chunks[1]))[-1] == "error"
    with pytest.raises(streamfold.UsageError):
        acc.add_events(chunks[0])


def test_plain_adapters_unaffected_by_events() -> None:
    """The completion folded while events are tracked equals the plain fold."""
    chunks = _tool_stream()
    wrapped = streamfold.wrap(chunks)
    list(wrapped.events())
    assert wrapped.completion == streamfold.accumulate(chunks)


def _finish_every_chunk() -> list[dict[str, Any]]:
    """A proxy's tool-call stream: every chunk, the first included, says "tool_calls"."""

    def call(i: int, **fields: Any) -> dict[str, Any]:
        return delta({"tool_calls": [{"index": i, **fields}]}, finish="tool_calls")

    return [
        chunk(delta({"role": "assistant", "content": ""}, finish="tool_calls")),
        chunk(call(0, id="call_a", type="function", function={"name": "get", "arguments": ""})),
        chunk(call(0, function={"arguments": '{"city": '})),
        chunk(call(0, function={"arguments": '"Paris"}'})),
        chunk(call(1, id="call_b", type="function", function={"name": "put", "arguments": "{}"})),
        chunk(delta({}, finish="tool_calls")),
    ]


def test_finish_reason_on_every_chunk_done_events_fire_once_at_the_end(
    events_of: CollectEvents,
) -> None:
    """finish_reason on every chunk: the done events fire once, after every delta, complete."""
    chunks = _finish_every_chunk()
    events = events_of(chunks)
    assert kinds(events) == [
        "choice.started",
        "tool_calls.function.started",
        "tool_calls.function.arguments.delta",
        "tool_calls.function.arguments.delta",
        "tool_calls.function.started",
        "tool_calls.function.arguments.delta",
        "tool_calls.function.arguments.done",
        "tool_calls.function.arguments.done",
        "choice.finished",
    ]
    done = [e for e in events if isinstance(e, streamfold.ToolCallDone)]
    calls = streamfold.accumulate(chunks).choices[0].message.tool_calls
    assert calls is not None
    assert [(e.id, e.arguments) for e in done] == [(c.id, c.function.arguments) for c in calls]
    assert [e.parsed for e in done] == [{"city": "Paris"}, {}]


def test_finish_then_more_content_is_not_final(events_of: CollectEvents) -> None:
    """A finish followed by more deltas: content.done carries all the text, once."""
    events = events_of(
        [
            chunk(delta({"role": "assistant", "content": "Hel"}, finish="stop")),
            chunk(delta({}, finish="stop")),
            chunk(delta({"content": "lo"}, finish="stop")),
            chunk(delta({}, finish="length")),
        ]
    )
    assert kinds(events) == [
        "choice.started",
        "content.delta",
        "content.delta",
        "content.done",
        "choice.finished",
    ]
    done, finished = events[-2:]
    assert isinstance(done, streamfold.ContentDone)
    assert done.content == "Hello"
    assert isinstance(finished, streamfold.ChoiceFinished)
    assert finished.finish_reason == "length"  # the final state's


def test_usage_chunk_closes_the_finished_choices() -> None:
    """The closing usage chunk brings the done events of the finished choices, before usage."""
    acc = streamfold.Accumulator()
    for part in _finish_every_chunk():
        assert not any(isinstance(e, streamfold.ToolCallDone) for e in acc.add_events(part))
    assert kinds(acc.add_events(chunk(usage=USAGE))) == [
        "tool_calls.function.arguments.done",
        "tool_calls.function.arguments.done",
        "choice.finished",
        "usage",
    ]
    assert acc.end_events() == []

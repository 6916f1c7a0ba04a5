"""The Anthropic Messages dialect: streams fold into the non-streamed message, events, merge,
the way back (to_events) and the anthropic SDK's objects in and out."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import pytest
from anthropic import types as at
from anthropic._models import construct_type
from anthropic.lib.streaming import _types as helper_types
from hypothesis import given, settings
from hypothesis import strategies as st

import streamfold
from anthropic_streams import (
    CUT,
    ERROR,
    ERROR_MESSAGE,
    STREAMS,
    TEXT,
    TEXT_MESSAGE,
    THINKING,
    TOOL,
    WEB_SEARCH,
    block,
    delta,
    json_piece,
    start,
    stop,
    text,
)
from streamfold import AnthropicMessage, MessageAccumulator, to_dict
from streamfold._anthropic import event_kind, to_events
from streamfold._logs import CHOICES, CLOSE, FINISH, IDLE


def fold(events: list[Any]) -> MessageAccumulator:
    acc = MessageAccumulator()
    for event in events:
        acc.add(event)
    return acc


def sdk_event(event: dict[str, Any]) -> Any:
    """The SDK's event object, built the way the SDK builds the events it receives."""
    return construct_type(type_=at.RawMessageStreamEvent, value=copy.deepcopy(event))


NAMES = sorted(STREAMS)


@pytest.mark.parametrize("name", NAMES)
def test_stream_folds_to_the_non_streamed_message(name: str) -> None:
    """Each stream folds to the hand-written non-streamed message JSON."""
    events, expected = STREAMS[name]
    acc = fold(events)
    assert to_dict(acc.completion()) == expected
    assert acc.chunks == len(events)


@pytest.mark.parametrize("name", NAMES)
def test_stream_as_sdk_objects_folds_the_same(name: str) -> None:
    """The anthropic SDK's event objects fold to the same message as the dicts."""
    events, expected = STREAMS[name]
    acc = fold([sdk_event(e) for e in events])
    assert to_dict(acc.completion()) == expected


@pytest.mark.parametrize("name", NAMES)
def test_stream_as_json_text_folds_the_same(name: str) -> None:
    """JSON text, bytes and SSE data lines fold to the same message."""
    events, expected = STREAMS[name]
    forms = [
        json.dumps(e)
        if i % 3 == 0
        else json.dumps(e).encode()
        if i % 3 == 1
        else "data: " + json.dumps(e)
        for i, e in enumerate(events)
    ]
    acc = fold([*forms, "data: [DONE]"])
    assert to_dict(acc.completion()) == expected
    assert acc.chunks == len(events)


@pytest.mark.parametrize("name", NAMES)
def test_input_events_are_not_modified(name: str) -> None:
    """Folding leaves the caller's event dicts as they were."""
    events, _ = STREAMS[name]
    before = copy.deepcopy(events)
    fold(events).completion()
    assert events == before


def test_usage_is_merged_field_by_field_never_added() -> None:
    """message_start's input tokens and message_delta's output tokens both survive, unsummed."""
    acc = fold(TEXT)
    assert acc.completion().usage == {"input_tokens": 25, "output_tokens": 12}


def test_complete_and_key() -> None:
    """is_complete once a stop_reason came; key is the message id from message_start."""
    acc = MessageAccumulator()
    assert acc.key is None
    acc.add(TEXT[0])
    assert acc.key == "msg_text"
    for event in TEXT[1:-2]:
        acc.add(event)
    assert not acc.is_complete
    acc.add(TEXT[-2])
    assert acc.is_complete


def test_cut_stream_keeps_the_raw_tool_input_and_reports_it() -> None:
    """A tool input cut mid-JSON stays as the text sent; snapshot never raises; strict does."""
    acc = fold(CUT)
    snap = acc.snapshot()
    assert snap.content[1]["input"] == '{"path": "a.txt", "content": "hel'
    assert not acc.is_complete
    errors = acc.input_errors
    assert list(errors) == [1]
    assert errors[1].arguments == '{"path": "a.txt", "content": "hel'
    with pytest.raises(streamfold.IncompleteStreamError) as info:
        acc.completion(strict=True)
    assert info.value.completion == snap


def test_strict_raises_for_tool_input_that_is_not_json() -> None:
    """A finished stream whose tool input is not JSON: strict raises InvalidArgumentsError."""
    events = [
        start("m", {"input_tokens": 1, "output_tokens": 1}),
        block(0, {"type": "tool_use", "id": "t", "name": "f", "input": {}}),
        json_piece(0, "{not json"),
        stop(0),
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 3},
        },
        {"type": "message_stop"},
    ]
    acc = fold(events)
    with pytest.raises(streamfold.InvalidArgumentsError) as info:
        acc.completion(strict=True)
    assert info.value.name == "f"
    assert info.value.id == "t"
    assert "content[0].input" in str(info.value)
    folded = info.value.completion
    assert isinstance(folded, AnthropicMessage)
    assert folded.content[0]["input"] == "{not json"


def test_error_event_raises_stream_error_with_what_was_folded() -> None:
    """An overloaded_error event raises StreamError naming the position, with the message so far."""
    acc = MessageAccumulator()
    for event in ERROR[:-1]:
        acc.add(event)
    with pytest.raises(streamfold.StreamError) as info:
        acc.add(ERROR[-1])
    err = info.value
    assert err.position == 4
    assert "event 4" in str(err)
    assert "overloaded_error" in str(err)
    assert "Overloaded" in str(err)
    assert err.error == {"type": "overloaded_error", "message": "Overloaded"}
    assert err.completion is not None
    assert to_dict(err.completion) == ERROR_MESSAGE
    with pytest.raises(streamfold.UsageError):
        acc.add({"type": "ping"})


def test_add_after_completion_is_a_usage_error() -> None:
    """add() after completion() raises UsageError."""
    acc = fold(TEXT)
    acc.completion()
    with pytest.raises(streamfold.UsageError):
        acc.add({"type": "ping"})
    with pytest.raises(streamfold.UsageError):  # the delta hot path refuses too
        acc.add(text(0, "more"))
    assert acc.chunks == len(TEXT) + 2


@pytest.mark.parametrize(
    ("event", "position_path", "needle"),
    [
        (
            delta(0, {"type": "text_delta", "text": 3}),
            "delta.text",
            "expected a string, got an int (3)",
        ),
        (
            delta(0, {"type": "input_json_delta", "partial_json": None}),
            "delta.partial_json",
            "null",
        ),
        (
            {
                "type": "content_block_delta",
                "index": "0",
                "delta": {"type": "text_delta", "text": "x"},
            },
            "index",
            "non-negative integer",
        ),
        (
            {
                "type": "content_block_delta",
                "index": -1,
                "delta": {"type": "text_delta", "text": "x"},
            },
            "index",
            "non-negative integer",
        ),
        (
            {
                "type": "content_block_delta",
                "index": True,
                "delta": {"type": "text_delta", "text": "x"},
            },
            "index",
            "a boolean",
        ),
        ({"type": "content_block_delta", "index": 0, "delta": "x"}, "delta", "an object"),
        (
            {"type": "content_block_delta", "index": 0, "delta": {"text": "x"}},
            "delta.type",
            "a string",
        ),
        (
            {"type": "content_block_start", "index": 1, "content_block": {"text": ""}},
            "content_block.type",
            "a string",
        ),
        (
            {"type": "content_block_start", "index": 1, "content_block": None},
            "content_block",
            "an object",
        ),
        ({"type": "message_delta", "delta": {"stop_reason": 5}}, "delta.stop_reason", "a string"),
        (
            {"type": "message_delta", "delta": {}, "usage": {"output_tokens": "9"}},
            "usage.output_tokens",
            "non-negative integer",
        ),
        ({"type": "message_start", "message": {"id": 7}}, "message.id", "a string"),
        ({"type": "message_start", "message": {"content": {}}}, "message.content", "a list"),
        ({"type": 3}, "type", "an event type"),
        (
            {"type": "citations_delta"}
            | {"type": "content_block_delta", "index": 0, "delta": {"type": "citations_delta"}},
            "delta.citation",
            "an object",
        ),
    ],
)
def test_malformed_event_names_position_and_field(
    event: Any, position_path: str, needle: str
) -> None:
    """A malformed event raises InvalidChunkError naming the event and field; nothing is lost."""
    acc = fold(TEXT[:3])
    with pytest.raises(streamfold.InvalidChunkError) as info:
        acc.add(event)
    err = info.value
    assert str(err).startswith(f"event 3: {position_path}: ")
    assert needle in str(err)
    assert err.path == position_path
    assert err.position == 3
    assert err.completion is not None
    assert err.completion.id == "msg_text"
    # the accumulator stays usable: the rest of the stream folds as if the bad event were absent
    for good in TEXT[3:]:
        acc.add(good)
    assert to_dict(acc.completion()) == TEXT_MESSAGE
    assert acc.chunks == len(TEXT) + 1


@pytest.mark.parametrize("bad", ["{not json", b"[1, 2]", "data: 5", 3.5])
def test_bad_event_text_is_invalid(bad: Any) -> None:
    """Text that is not a JSON object, or a value that is no event, is an InvalidChunkError."""
    acc = MessageAccumulator()
    with pytest.raises(streamfold.InvalidChunkError) as info:
        acc.add(bad)
    assert str(info.value).startswith("event 0: ")


def test_sparse_out_of_order_blocks_and_deltas_before_start() -> None:
    """Blocks by index: sparse, out of order, a delta before its start, a stop before anything."""
    events = [
        start("m", {"input_tokens": 1, "output_tokens": 1}),
        text(5, "late "),  # creates block 5 as text
        block(5, {"type": "text", "text": "", "citations": None}),
        text(5, "start"),
        json_piece(2, '{"a": 1}'),  # block 2 implied: tool_use
        block(2, {"type": "tool_use", "id": "t2", "name": "f", "input": {}}),
        delta(1, {"type": "signature_delta", "signature": "sig"}),  # implied thinking
        stop(0),  # a block of unknown type, never started
        delta(0, {"type": "thinking_delta", "thinking": "hm"}),
    ]
    message = fold(events).completion()
    assert list(message.content) == [
        {"type": "thinking", "thinking": "hm"},
        {"type": "thinking", "signature": "sig"},
        {"type": "tool_use", "id": "t2", "name": "f", "input": {"a": 1}},
        {"type": "text", "text": "late start", "citations": None},
    ]


def test_unknown_event_block_and_delta_types_are_kept() -> None:
    """Unknown event types go to other_events; unknown blocks stay whole; unknown deltas fold by
    the generic rule (strings concatenate, lists extend, other values: latest non-null)."""
    unknown_event = {"type": "message_metadata", "data": {"region": "eu"}}
    events = [
        start("m", {"input_tokens": 1, "output_tokens": 1}),
        unknown_event,
        block(0, {"type": "compaction", "content": "Sum", "meta": {"v": 1}}),
        delta(0, {"type": "compaction_delta", "content": "mary", "tags": ["a"], "level": 2}),
        delta(0, {"type": "compaction_delta", "content": ".", "tags": ["b"], "level": None}),
        stop(0),
        block(1, {"type": "container_upload", "file_id": "file_1"}),
        stop(1),
        delta(2, {"type": "weird_delta", "value": "x"}),
    ]
    acc = fold(events)
    message = acc.completion()
    assert list(message.content) == [
        {
            "type": "compaction",
            "content": "Summary.",
            "meta": {"v": 1},
            "tags": ["a", "b"],
            "level": 2,
        },
        {"type": "container_upload", "file_id": "file_1"},
        {"type": "weird", "value": "x"},
    ]
    assert acc.other_events == (unknown_event,)


def test_signature_deltas_concatenate() -> None:
    """A signature sent in several signature_delta events is one concatenated signature."""
    message = fold(THINKING).completion()
    assert message.content[0]["signature"] == "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"


def test_tool_input_in_the_start_with_no_deltas_stands() -> None:
    """A tool block whose whole input came in its start keeps it (no delta replaces it)."""
    events = [block(0, {"type": "tool_use", "id": "t", "name": "f", "input": {"x": 1}}), stop(0)]
    assert fold(events).completion().content[0]["input"] == {"x": 1}


def test_null_in_a_later_report_erases_nothing() -> None:
    """A later null (stop_reason, usage field) keeps the earlier value."""
    events = [
        start("m", {"input_tokens": 4, "output_tokens": 1}),
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 3},
        },
        {
            "type": "message_delta",
            "delta": {"stop_reason": None},
            "usage": {"output_tokens": None, "input_tokens": None},
        },
    ]
    message = fold(events).completion()
    assert message.stop_reason == "end_turn"
    assert message.usage == {"input_tokens": 4, "output_tokens": 3}


# -- the SDK's stream helper --------------------------------------------------------------------


def helper_events(events: list[dict[str, Any]]) -> list[Any]:
    """What client.messages.stream() yields: the raw events plus derived ones with snapshots."""
    out: list[Any] = []
    snapshot_text = ""
    for event in events:
        raw = sdk_event(event)
        if event["type"] == "message_stop":
            out.append(
                helper_types.MessageStopEvent.construct(type="message_stop", message="SNAPSHOT")
            )
            continue
        if event["type"] == "content_block_stop":
            out.append(
                helper_types.ContentBlockStopEvent.construct(
                    type="content_block_stop", index=event["index"], content_block="SNAPSHOT"
                )
            )
            continue
        out.append(raw)
        if event["type"] == "content_block_delta":
            body = event["delta"]
            if body["type"] == "text_delta":
                snapshot_text += body["text"]
                out.append(
                    helper_types.TextEvent.construct(
                        type="text", text=body["text"], snapshot=snapshot_text
                    )
                )
            elif body["type"] == "input_json_delta":
                out.append(
                    helper_types.InputJsonEvent.construct(
                        type="input_json", partial_json=body["partial_json"], snapshot={}
                    )
                )
            elif body["type"] == "thinking_delta":
                out.append(
                    helper_types.ThinkingEvent.construct(
                        type="thinking", thinking=body["thinking"], snapshot=""
                    )
                )
            elif body["type"] == "signature_delta":
                out.append(
                    helper_types.SignatureEvent.construct(
                        type="signature", signature=body["signature"]
                    )
                )
            elif body["type"] == "citations_delta":
                out.append(
                    helper_types.CitationEvent.construct(
                        type="citation", citation=body["citation"], snapshot=[]
                    )
                )
    return out


@pytest.mark.parametrize("name", ["text", "thinking", "web_search", "tool"])
def test_stream_helper_events_are_not_double_counted(name: str) -> None:
    """The helper's derived events are skipped and its stop snapshots ignored."""
    events, expected = STREAMS[name]
    stream = helper_events(events)
    assert len(stream) > len(events)
    assert to_dict(fold(stream).completion()) == expected


def test_events_of_the_real_helper_stream_fold_to_its_final_message() -> None:
    """The anthropic SDK's own accumulate_event agrees with the fold on a realistic stream."""
    from anthropic.lib.streaming._messages import accumulate_event

    snapshot = None
    bufs: dict[int, bytes] = {}
    for event in WEB_SEARCH:
        snapshot = accumulate_event(
            event=sdk_event(event), current_snapshot=snapshot, json_bufs=bufs
        )
    assert snapshot is not None
    theirs = streamfold.from_anthropic(at.Message.construct(**snapshot.__dict__))
    ours = fold(WEB_SEARCH).completion()
    assert [b["type"] for b in to_dict(theirs)["content"]] == [b["type"] for b in ours.content]
    assert to_dict(theirs)["content"][3]["text"] == ours.content[3]["text"]


# -- events -------------------------------------------------------------------------------------


def all_events(events: list[Any]) -> list[Any]:
    acc = MessageAccumulator()
    out: list[Any] = []
    for event in events:
        out.extend(acc.add_events(event))
    out.extend(acc.end_events())
    return out


def test_events_of_a_thinking_text_tool_stream() -> None:
    """Typed events: started, reasoning / content / tool deltas, done at block stop, then
    finish and usage at message_stop."""
    out = all_events(THINKING)
    kinds = [type(e).__name__ for e in out]
    assert kinds == [
        "ChoiceStarted",
        "ReasoningDelta",
        "ReasoningDelta",
        "ReasoningDone",
        "ContentDelta",
        "ContentDelta",
        "ContentDone",
        "ToolCallStarted",
        "ToolCallArgumentsDelta",
        "ToolCallDone",
        "ChoiceFinished",
        "UsageReport",
    ]
    assert out[3] == streamfold.ReasoningDone(
        choice_index=0,
        field="thinking",
        reasoning="The user wants 27 * 453. That is 12231.",
        item=0,
    )
    assert out[6] == streamfold.ContentDone(
        choice_index=0, content="27 * 453 = 12,231. Let me verify.", item=1
    )
    assert out[7] == streamfold.ToolCallStarted(
        choice_index=0, index=2, id="toolu_calc", name="calculator"
    )
    done = out[9]
    assert isinstance(done, streamfold.ToolCallDone)
    assert done.arguments == '{"expr": "27 * 453"}'
    assert done.parsed == {"expr": "27 * 453"}
    assert out[10] == streamfold.ChoiceFinished(choice_index=0, finish_reason="tool_use")
    assert out[11] == streamfold.UsageReport(
        usage={"input_tokens": 80, "output_tokens": 210, "cache_read_input_tokens": 0}
    )


def test_events_report_server_tools_as_no_tool_call() -> None:
    """server_tool_use blocks run on the server: no ToolCall events for them."""
    out = all_events(WEB_SEARCH)
    assert not any(
        isinstance(e, (streamfold.ToolCallStarted, streamfold.ToolCallDone)) for e in out
    )
    deltas = [e for e in out if isinstance(e, streamfold.ContentDelta)]
    assert [d.item for d in deltas] == [0, 3]


def test_events_of_an_error_stream_end_with_an_error_event() -> None:
    """An error event becomes an ErrorEvent; end_events then closes the open text block."""
    acc = MessageAccumulator()
    out: list[Any] = []
    for event in ERROR:
        out.extend(acc.add_events(event))
    assert isinstance(out[-1], streamfold.ErrorEvent)
    assert out[-1].error == {"type": "overloaded_error", "message": "Overloaded"}
    assert isinstance(out[-1].exception, streamfold.StreamError)
    rest = acc.end_events()
    assert rest == [
        streamfold.ContentDone(choice_index=0, content="Partial ans", item=0),
        streamfold.UsageReport(usage={"input_tokens": 10, "output_tokens": 1}),
    ]


def test_events_of_a_cut_tool_call_report_the_parse_error() -> None:
    """end_events of a cut stream: the tool call is done with its parse error, no finish."""
    out = all_events(CUT)
    done = [e for e in out if isinstance(e, streamfold.ToolCallDone)]
    assert len(done) == 1
    assert done[0].parsed is None
    assert done[0].parse_error is not None
    assert not any(isinstance(e, streamfold.ChoiceFinished) for e in out)


def test_events_from_sdk_objects_match_events_from_dicts() -> None:
    """SDK event objects give the same typed events as dicts."""
    assert all_events([sdk_event(e) for e in TOOL]) == all_events(TOOL)


def test_end_events_once() -> None:
    """end_events after message_stop fires nothing more."""
    acc = MessageAccumulator()
    for event in TEXT:
        acc.add_events(event)
    assert acc.end_events() == []


# -- event_kind ---------------------------------------------------------------------------------


def test_event_kind() -> None:
    """message_stop closes, a stop_reason finishes, block events are content, the rest idle."""
    assert [event_kind(e) for e in TOOL[-3:]] == [CHOICES, FINISH, CLOSE]
    assert event_kind(TOOL[0]) == IDLE
    assert event_kind({"type": "ping"}) == IDLE
    assert event_kind({"type": "message_delta", "delta": {"stop_reason": None}}) == IDLE
    assert [event_kind(sdk_event(e)) for e in TOOL[-3:]] == [CHOICES, FINISH, CLOSE]


# -- merge --------------------------------------------------------------------------------------


def fold_segments(events: list[Any], cuts: list[int]) -> MessageAccumulator:
    bounds = [0, *sorted(cuts), len(events)]
    parts = []
    for lo, hi in itertools.pairwise(bounds):
        acc = MessageAccumulator()
        acc.mark_segment()
        for event in events[lo:hi]:
            acc.add(event)
        parts.append(acc)
    first = parts[0]
    for later in parts[1:]:
        first.merge(later)
    return first


@given(st.sampled_from(list(NAMES)), st.lists(st.integers(0, 30), max_size=4))
def test_merge_of_segments_is_the_fold_of_the_whole(name: str, cuts: list[int]) -> None:
    """For any split points, the segments' folds merged in order equal the fold of the stream."""
    events, expected = STREAMS[name]
    cuts = [min(c, len(events)) for c in cuts]
    merged = fold_segments(events, cuts)
    assert to_dict(merged.completion()) == expected
    assert merged.chunks == len(events)


# -- the way back -------------------------------------------------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_citation = st.fixed_dictionaries(
    {
        "type": st.just("char_location"),
        "cited_text": st.text(max_size=10),
        "document_index": st.integers(0, 3),
    }
)
_blocks = st.one_of(
    st.builds(
        lambda t, c: {"type": "text", "text": t, **({"citations": c} if c is not None else {})},
        st.text(max_size=30),
        st.none() | st.lists(_citation, max_size=3),
    ),
    st.builds(
        lambda t, s: {"type": "thinking", "thinking": t, "signature": s},
        st.text(max_size=30),
        st.text(max_size=12),
    ),
    st.builds(lambda d: {"type": "redacted_thinking", "data": d}, st.text(min_size=1, max_size=12)),
    st.builds(
        lambda i, n, x: {"type": "tool_use", "id": i, "name": n, "input": x},
        st.text(min_size=1, max_size=6),
        st.text(min_size=1, max_size=6),
        st.dictionaries(st.text(max_size=5), _json, max_size=4),
    ),
    st.builds(
        lambda i, q: {
            "type": "server_tool_use",
            "id": i,
            "name": "web_search",
            "input": {"query": q},
        },
        st.text(min_size=1, max_size=6),
        st.text(max_size=10),
    ),
    st.builds(
        lambda i: {
            "type": "web_search_tool_result",
            "tool_use_id": i,
            "content": [
                {"type": "web_search_result", "url": "u", "title": "t", "encrypted_content": "e"}
            ],
        },
        st.text(min_size=1, max_size=6),
    ),
)
_usage = st.none() | st.fixed_dictionaries(
    {"input_tokens": st.integers(0, 10**6), "output_tokens": st.integers(0, 10**6)},
    optional={
        "cache_read_input_tokens": st.integers(0, 100),
        "server_tool_use": st.just({"web_search_requests": 1}),
    },
)
messages = st.builds(
    lambda i, c, r, s, u: AnthropicMessage(
        id=i, model="claude-x", content=tuple(c), stop_reason=r, stop_sequence=s, usage=u
    ),
    st.text(min_size=1, max_size=8),
    st.lists(_blocks, max_size=5),
    st.sampled_from(
        [None, "end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"]
    ),
    st.none() | st.text(max_size=3),
    _usage,
)


@settings(max_examples=150)
@given(messages, st.integers(1, 8), st.integers(0, 100))
def test_to_events_folds_back_to_the_message(
    message: AnthropicMessage, piece: int, seed: int
) -> None:
    """Any message -> to_events -> fold is the same message; through to_dict/from_dict too."""
    events = list(to_events(message, piece_size=piece, seed=seed))
    folded = fold(events).completion()
    assert folded == message
    assert streamfold.from_dict(AnthropicMessage, to_dict(folded)) == message
    assert list(to_events(message, piece_size=piece, seed=seed)) == events  # same seed, same events


@settings(max_examples=60)
@given(messages, st.lists(st.integers(0, 200), max_size=4), st.integers(0, 20))
def test_to_events_split_any_way_merges_back(
    message: AnthropicMessage, cuts: list[int], seed: int
) -> None:
    """to_events split at random points, each segment folded and merged: the same message."""
    events = list(to_events(message, seed=seed))
    cuts = [min(c, len(events)) for c in cuts]
    whole = fold(events).completion()
    assert fold_segments(events, cuts).completion() == whole


@settings(max_examples=40)
@given(messages)
def test_to_events_are_valid_sdk_events(message: AnthropicMessage) -> None:
    """The events to_events writes are events the anthropic SDK can build and that fold alike."""
    events = list(to_events(message))
    assert fold([sdk_event(e) for e in events]).completion() == fold(events).completion()


# -- interop ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["text", "tool", "thinking", "web_search", "redacted"])
def test_to_anthropic_and_back(name: str) -> None:
    """to_anthropic gives the SDK's Message; from_anthropic gives back the same message."""
    events, expected = STREAMS[name]
    ours = fold(events).completion()
    theirs = streamfold.to_anthropic(ours, validate=name != "web_search")
    assert isinstance(theirs, at.Message)
    assert theirs.id == ours.id
    assert theirs.usage.output_tokens == expected["usage"]["output_tokens"]
    assert streamfold.from_anthropic(theirs) == ours


def test_to_anthropic_validation_error_names_the_field() -> None:
    """A message the SDK's schema refuses (no usage) raises InvalidChunkError naming the field."""
    with pytest.raises(streamfold.InvalidChunkError) as info:
        streamfold.to_anthropic(fold(CUT[:2]).snapshot().__class__(id="m", model="x"))
    assert "usage" in str(info.value)


def test_interop_type_errors() -> None:
    """to_anthropic / from_anthropic refuse other objects with TypeError."""
    with pytest.raises(TypeError):
        streamfold.to_anthropic(streamfold.ChatCompletion())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        streamfold.from_anthropic({"id": "m"})  # type: ignore[arg-type]


def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without anthropic installed, interop raises ModuleNotFoundError naming the extra."""
    import sys

    monkeypatch.setitem(sys.modules, "anthropic", None)
    with pytest.raises(ModuleNotFoundError, match=r"streamfold\[anthropic\]"):
        streamfold.to_anthropic(AnthropicMessage())


def test_from_anthropic_of_a_real_sdk_message() -> None:
    """An SDK Message parsed from the API's JSON comes in with exactly the keys sent."""
    data = dict(STREAMS["thinking"][1])
    theirs = at.Message.model_validate(data)
    assert to_dict(streamfold.from_anthropic(theirs)) == data


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("examples/anthropic_tools.sse", "thinking"),
        ("examples/anthropic_web_search.sse", "web_search"),
    ],
)
def test_bundled_sse_captures_fold(path: str, name: str) -> None:
    """The bundled Anthropic SSE captures (event: names and data: lines) fold to their message."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    lines = (root / path).read_text(encoding="utf-8").splitlines()
    acc = fold([line for line in lines if line.startswith("data:")])
    assert to_dict(acc.completion()) == STREAMS[name][1]
    names = [line.removeprefix("event: ") for line in lines if line.startswith("event:")]
    assert names == [e["type"] for e in STREAMS[name][0]]

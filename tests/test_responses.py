"""The Responses API core: ``ResponseAccumulator`` on the streams of ``responses_streams``, its
errors, events, ordering, merge, the way back (``to_events``) and the openai SDK interop."""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import logging
import random
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai._models import construct_type
from openai.types.responses import Response as SdkResponse
from openai.types.responses import ResponseStreamEvent

import streamfold
from responses_streams import (
    CUT,
    ERROR_EVENT,
    FAILED,
    PARALLEL_CALLS,
    REASONING,
    REFUSAL,
    START,
    STREAMS,
    TEXT,
    USAGE,
    WEB_SEARCH,
    ResponseStream,
    lifecycle,
    numbered,
)
from streamfold import _logs
from streamfold._responses import HOLD, event_kind, to_events

Acc = streamfold.ResponseAccumulator


def fold(events: list[Any], acc: Acc | None = None) -> tuple[streamfold.Response, Acc]:
    """Fold ``events``; a StreamError gives its completion."""
    acc = acc if acc is not None else Acc()
    try:
        for event in events:
            acc.add(event)
    except streamfold.StreamError as exc:
        completion = exc.completion
        if not isinstance(completion, streamfold.Response):  # pragma: no cover - a failure
            raise
        return completion, acc
    return acc.completion(), acc


def sdk_events(events: list[dict[str, Any]]) -> list[Any]:
    """The events as the openai SDK builds them from the wire (unchecked construction)."""
    return [construct_type(type_=ResponseStreamEvent, value=e) for e in events]


# ---------------------------------------------------------------------------------------------
# the streams, each folded to its response


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_each_stream_folds_into_its_response(name: str) -> None:
    """Every stream folds (from dicts) into exactly the response JSON written by hand."""
    stream = STREAMS[name]
    response, acc = fold(stream.events)
    assert streamfold.to_dict(response) == stream.expected
    assert acc.is_complete is stream.complete
    assert response.is_complete is stream.complete
    assert acc.disagreements == ()


@pytest.mark.parametrize("form", ["json", "bytes", "sse", "sdk"])
@pytest.mark.parametrize("name", sorted(STREAMS))
def test_each_stream_folds_the_same_from_every_input_form(name: str, form: str) -> None:
    """JSON text, bytes, ``data:`` lines and the SDK's event objects fold as the dicts do."""
    stream = STREAMS[name]
    if form == "json":
        events: list[Any] = [json.dumps(e) for e in stream.events]
    elif form == "bytes":
        events = [json.dumps(e).encode() for e in stream.events]
    elif form == "sse":
        events = [f"data: {json.dumps(e)}" for e in stream.events] + ["data: [DONE]"]
    else:
        events = sdk_events(stream.events)
    response, acc = fold(events)
    assert streamfold.to_dict(response) == stream.expected
    assert acc.chunks == len(stream.events)  # [DONE] is not an event


@pytest.mark.parametrize("stream", [ERROR_EVENT, FAILED], ids=["error", "failed"])
def test_server_errors_raise_stream_error_with_everything_folded(stream: ResponseStream) -> None:
    """``error`` and ``response.failed`` raise StreamError naming the event, with the fold."""
    acc = Acc()
    for event in stream.events[:-1]:
        acc.add(event)
    with pytest.raises(streamfold.StreamError) as info:
        acc.add(stream.events[-1])
    last = len(stream.events) - 1
    assert info.value.position == last
    assert str(info.value).startswith(f"event {last}: the server reported an error: ")
    assert info.value.error == stream.error
    assert info.value.completion is not None
    assert streamfold.to_dict(info.value.completion) == stream.expected
    with pytest.raises(streamfold.UsageError, match="the stream reported an error"):
        acc.add(TEXT.events[0])
    assert streamfold.to_dict(acc.completion()) == stream.expected


def test_incomplete_response_is_returned_with_its_details() -> None:
    """``response.incomplete`` is complete: status incomplete, with incomplete_details."""
    response, acc = fold(STREAMS["incomplete"].events)
    assert acc.is_complete
    assert response.status == "incomplete"
    assert response.incomplete_details == {"reason": "max_output_tokens"}
    assert response.output_text == "Once upon a"


def test_strict_completion_of_a_cut_stream_raises_with_what_arrived() -> None:
    """``completion(strict=True)`` without a terminal event raises IncompleteStreamError."""
    acc = Acc()
    for event in CUT.events:
        acc.add(event)
    with pytest.raises(streamfold.IncompleteStreamError) as info:
        acc.completion(strict=True)
    assert streamfold.to_dict(info.value.completion) == CUT.expected
    assert not acc.is_complete


def test_add_after_completion_is_a_usage_error() -> None:
    """``add()`` after ``completion()`` raises UsageError."""
    acc = Acc()
    acc.add(TEXT.events[0])
    acc.completion()
    with pytest.raises(streamfold.UsageError, match=r"event 1: add\(\) after completion"):
        acc.add(TEXT.events[1])


def test_key_is_the_response_id_and_snapshot_repeats() -> None:
    """``key`` is the response id once known; ``snapshot()`` may be called any number of times."""
    acc = Acc()
    assert acc.key is None
    for event in TEXT.events[:6]:
        acc.add(event)
    assert acc.key == START["id"]
    assert acc.snapshot() == acc.snapshot()
    assert acc.snapshot().output_text == "Hi there! "
    assert "ResponseAccumulator events=6" in repr(acc)


# ---------------------------------------------------------------------------------------------
# malformed events: InvalidChunkError naming the event and the field, nothing applied


def _delta(**fields: Any) -> dict[str, Any]:
    return {
        "type": "response.output_text.delta",
        "item_id": "msg_67ccd2bf17f0819081ff3bb2cf6508e6",
        "output_index": 0,
        "content_index": 0,
        "delta": "x",
        **fields,
    }


@pytest.mark.parametrize(
    ("event", "message", "path"),
    [
        (_delta(delta=3), "event 6: delta: expected a string, got an int (3)", "delta"),
        (_delta(delta=None), "event 6: delta: expected a string, got null", "delta"),
        (
            _delta(output_index="0"),
            "event 6: output_index: expected an int, got '0'",
            "output_index",
        ),
        (
            _delta(output_index=None, item_id=None),
            "event 6: output_index: missing, and no item_id names the item",
            "output_index",
        ),
        (_delta(item_id=7), "event 6: item_id: expected a string, got an int (7)", "item_id"),
        (
            _delta(output_index=-1),
            "event 6: output_index: expected a non-negative int, got an int (-1)",
            "output_index",
        ),
        (
            _delta(content_index=-2),
            "event 6: content_index: expected a non-negative int, got an int (-2)",
            "content_index",
        ),
        (_delta(logprobs="no"), "event 6: logprobs: expected a list, got 'no'", "logprobs"),
        (
            _delta(sequence_number="9"),
            "event 6: sequence_number: expected an int, got '9'",
            "sequence_number",
        ),
        ({"type": 5}, "event 6: type: expected a string, got an int (5)", "type"),
        ({"delta": "x"}, "event 6: type: expected a string, got null", "type"),
        (
            {"type": "response.output_item.added", "output_index": 1, "item": "fc"},
            "event 6: item: expected an object, got 'fc'",
            "item",
        ),
        (
            {"type": "response.output_item.added", "item": {"type": "message"}},
            "event 6: output_index: missing, and the item has no id",
            "output_index",
        ),
        (
            {"type": "response.completed", "response": {"output": [{"id": 3}]}},
            "event 6: response.output[0].id: expected a string, got an int (3)",
            "response.output[0].id",
        ),
        (
            {
                "type": "response.output_item.done",
                "output_index": 0,
                "item": {"type": "message", "content": [{"type": 3}]},
            },
            "event 6: item.content[0].type: expected a string, got an int (3)",
            "item.content[0].type",
        ),
        (
            {
                "type": "response.content_part.added",
                "output_index": 0,
                "content_index": 0,
                "part": {"type": "output_text", "annotations": [1]},
            },
            "event 6: part.annotations[0]: expected an object, got an int (1)",
            "part.annotations[0]",
        ),
        (
            {"type": "response.completed", "response": {"usage": 3}},
            "event 6: response.usage: expected an object, got an int (3)",
            "response.usage",
        ),
        ('{"type": "response.output_text.delta", "de', "event 6: invalid JSON", ""),
        ("[1, 2]", "event 6: expected a JSON object, got a list", ""),
    ],
)
def test_malformed_events_name_the_position_and_field(event: Any, message: str, path: str) -> None:
    """A bad event raises InvalidChunkError naming it; it is not applied, the fold goes on."""
    acc = Acc()
    for good in TEXT.events[:6]:
        acc.add(good)
    before = acc.snapshot()
    with pytest.raises(streamfold.InvalidChunkError) as info:
        acc.add(event)
    assert str(info.value).startswith(message)
    assert info.value.path == path
    assert info.value.position == 6
    assert info.value.completion == before
    assert acc.snapshot() == before
    assert acc.chunks == 7
    for good in TEXT.events[6:]:
        if good.get("sequence_number") == 6:  # a bad event used up its sequence number
            good = {**good, "sequence_number": None}
        acc.add(good)
    assert streamfold.to_dict(acc.completion()) == TEXT.expected


def test_no_bare_python_error_escapes_from_mangled_events() -> None:
    """Events with every field replaced by odd values raise InvalidChunkError or fold."""
    rng = random.Random(7)
    odd: list[Any] = [None, 3, -1, "s", [], {}, [1], {"a": 1}, 2.5, True]
    for stream in STREAMS.values():
        for event in stream.events:
            for key in event:
                mangled = {**event, key: rng.choice(odd)}
                acc = Acc()
                try:
                    acc.add(mangled)
                    acc.completion()
                except (streamfold.InvalidChunkError, streamfold.StreamError):
                    pass


def test_no_bare_python_error_escapes_from_mangled_events_in_context() -> None:
    """Each event of every stream with one field replaced by each odd value, folded where it
    belongs (after the events before it, the rest after it): every event is either folded or
    refused with a streamfold error, and so is the completion. (A negative annotation_index
    once raised a bare IndexError when the response was built.)"""
    odd: list[Any] = [None, 3, -1, "s", [], {}, [1], {"a": 1}, 2.5, True]
    for stream in STREAMS.values():
        for k, event in enumerate(stream.events):
            for key, value in itertools.product(event, odd):
                mangled = {**event, key: value}
                acc = Acc()
                for each in [*stream.events[:k], mangled, *stream.events[k + 1 :]]:
                    try:
                        acc.add(each)
                    except streamfold.StreamfoldError:
                        if acc.is_complete:
                            break
                with contextlib.suppress(streamfold.StreamfoldError):
                    streamfold.to_dict(acc.completion())


@pytest.mark.parametrize("item", [5, None, "message", [], True])
def test_a_terminal_output_item_that_is_no_object_is_refused_naming_it(item: Any) -> None:
    """``response.output`` of the terminal event must hold objects: anything else is refused,
    naming ``response.output[i]`` (it used to be folded into a Response that ``to_dict`` then
    failed on with a bare AttributeError), and the fold so far is kept."""
    events = [copy.deepcopy(e) for e in TEXT.events]
    done = events[-1]
    assert done["type"] == "response.completed"
    done["response"]["output"] = [*done["response"]["output"], item]
    acc = Acc()
    for event in events[:-1]:
        acc.add(event)
    before = acc.snapshot()
    with pytest.raises(streamfold.InvalidChunkError) as info:
        acc.add(done)
    assert info.value.path == f"response.output[{len(done['response']['output']) - 1}]"
    assert info.value.completion == before
    assert streamfold.to_dict(acc.completion())["output"] == streamfold.to_dict(before)["output"]


def test_a_negative_annotation_index_is_refused_naming_it() -> None:
    """An annotation event whose annotation_index is negative is refused (it named no place in
    the list, and building the response raised IndexError); the rest of the stream folds."""
    events = [dict(e) for e in WEB_SEARCH.events]
    at = next(k for k, e in enumerate(events) if e["type"].endswith("annotation.added"))
    acc = Acc()
    for event in events[:at]:
        acc.add(event)
    before = acc.snapshot()
    with pytest.raises(streamfold.InvalidChunkError) as info:
        acc.add({**events[at], "annotation_index": -1})
    assert info.value.path == "annotation_index"
    assert info.value.position == at
    assert info.value.completion == before
    for event in events[at + 1 :]:
        acc.add(event)
    response = acc.completion()
    assert response.status == "completed"


# ---------------------------------------------------------------------------------------------
# what the fold tolerates and keeps


def test_unknown_event_types_are_counted_and_unknown_keys_kept() -> None:
    """Unknown events are counted by type, never fatal; unknown keys stay on items and parts."""
    events = numbered(
        [
            lifecycle("response.created", x_gateway={"region": "eu"}),
            {"type": "response.future_thing", "output_index": 0},
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {"id": "m", "type": "message", "role": "assistant", "x_item": 1},
            },
            {
                "type": "response.content_part.added",
                "item_id": "m",
                "output_index": 0,
                "content_index": 0,
                "part": {"type": "output_text", "annotations": [], "text": "", "x_part": True},
            },
            {
                "type": "response.output_text.delta",
                "item_id": "m",
                "content_index": 0,
                "delta": "a",
            },
            {"type": "rate_limits.updated", "rate_limits": []},
            {"type": "rate_limits.updated", "rate_limits": []},
        ]
    )
    response, acc = fold(events)
    assert acc.unknown_events == {"response.future_thing": 1, "rate_limits.updated": 2}
    assert response.extra["x_gateway"] == {"region": "eu"}
    assert response.output == (
        {
            "id": "m",
            "type": "message",
            "role": "assistant",
            "x_item": 1,
            "content": [{"type": "output_text", "annotations": [], "text": "a", "x_part": True}],
        },
    )


def test_an_event_naming_a_known_item_id_reaches_it_without_output_index() -> None:
    """item_id alone finds the item; an unannounced item is created from its deltas."""
    events = numbered(
        [
            {"type": "response.function_call_arguments.delta", "item_id": "fc_9", "delta": '{"a"'},
            {
                "type": "response.output_item.added",
                "output_index": 2,
                "item": {"id": "fc_9", "type": "function_call", "call_id": "c", "name": "f"},
            },
            {"type": "response.function_call_arguments.delta", "item_id": "fc_9", "delta": ":1}"},
            {
                "type": "response.output_text.delta",
                "output_index": 0,
                "content_index": 1,
                "delta": "new",
            },
        ]
    )
    response, _ = fold(events)
    assert response.output == (
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "annotations": [], "text": "new"}],
        },
        {
            "id": "fc_9",
            "type": "function_call",
            "call_id": "c",
            "name": "f",
            "arguments": '{"a":1}',
        },
    )


def test_built_in_tool_items_are_kept_whole_and_their_status_events_set_the_status() -> None:
    """Code interpreter code deltas fold into ``code``; status events update the status."""
    at = {"item_id": "ci_1", "output_index": 0}
    events = numbered(
        [
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {
                    "id": "ci_1",
                    "type": "code_interpreter_call",
                    "status": "in_progress",
                    "container_id": "cntr_1",
                    "code": "",
                    "outputs": None,
                },
            },
            {"type": "response.code_interpreter_call.in_progress", **at},
            {"type": "response.code_interpreter_call_code.delta", **at, "delta": "print("},
            {"type": "response.code_interpreter_call_code.delta", **at, "delta": "1)"},
            {"type": "response.code_interpreter_call.interpreting", **at},
            {
                "type": "response.image_generation_call.partial_image",
                "item_id": "ig_1",
                "output_index": 1,
                "partial_image_index": 0,
                "partial_image_b64": "iVBORw0KGgo=",
            },
        ]
    )
    response, _ = fold(events)
    assert response.output == (
        {
            "id": "ci_1",
            "type": "code_interpreter_call",
            "status": "interpreting",
            "container_id": "cntr_1",
            "code": "print(1)",
            "outputs": None,
        },
        {"id": "ig_1", "type": "image_generation_call"},
    )


def test_custom_tool_and_mcp_inputs_fold_and_their_done_values_win() -> None:
    """custom_tool_call ``input`` and mcp_call ``arguments`` fold; done values are final."""
    events = numbered(
        [
            {"type": "response.custom_tool_call_input.delta", "output_index": 0, "delta": "ls "},
            {"type": "response.custom_tool_call_input.delta", "output_index": 0, "delta": "-l"},
            {"type": "response.custom_tool_call_input.done", "output_index": 0, "input": "ls -l"},
            {"type": "response.mcp_call_arguments.delta", "output_index": 1, "delta": "{}"},
            {"type": "response.mcp_call_arguments.done", "output_index": 1, "arguments": '{"a":1}'},
        ]
    )
    response, acc = fold(events)
    assert response.output == (
        {"type": "custom_tool_call", "input": "ls -l"},
        {"type": "mcp_call", "arguments": '{"a":1}'},
    )
    assert acc.disagreements == (
        streamfold.Disagreement("output[1].arguments", "{}", '{"a":1}', "done"),
    )


def test_reasoning_text_and_logprobs_and_annotations_fold() -> None:
    """reasoning_text deltas, logprobs on deltas and annotations at their index fold."""
    lp = [{"token": "a", "logprob": -0.5, "bytes": [97], "top_logprobs": []}]
    lp2 = [{"token": "b", "logprob": -0.1, "bytes": [98], "top_logprobs": []}]
    ann = {"type": "file_citation", "file_id": "f", "filename": "a.txt", "index": 0}
    ann2 = {"type": "file_citation", "file_id": "g", "filename": "b.txt", "index": 1}
    events = numbered(
        [
            {
                "type": "response.reasoning_text.delta",
                "output_index": 0,
                "content_index": 0,
                "delta": "hm",
            },
            {
                "type": "response.reasoning_text.done",
                "output_index": 0,
                "content_index": 0,
                "text": "hm",
            },
            {"type": "response.output_text.delta", "output_index": 1, "delta": "a", "logprobs": lp},
            {
                "type": "response.output_text.delta",
                "output_index": 1,
                "delta": "b",
                "logprobs": lp2,
            },
            {
                "type": "response.output_text.annotation.added",
                "output_index": 1,
                "annotation_index": 1,
                "annotation": ann2,
            },
            {
                "type": "response.output_text.annotation.added",
                "output_index": 1,
                "annotation_index": 0,
                "annotation": ann,
            },
        ]
    )
    response, acc = fold(events)
    assert response.output == (
        {"type": "reasoning", "content": [{"type": "reasoning_text", "text": "hm"}]},
        {
            "type": "message",
            "role": "assistant",
            "content": [
                {
                    "type": "output_text",
                    "annotations": [ann, ann2],
                    "text": "ab",
                    "logprobs": [*lp, *lp2],
                }
            ],
        },
    )
    assert acc.disagreements == ()


def test_a_done_text_that_differs_from_the_deltas_wins_and_is_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The done value is used; the difference is a Disagreement and one logged warning."""
    events = [*TEXT.events[:7], {**TEXT.events[7], "text": "Hi there! How can I help you?"}]
    acc = Acc()
    for event in events:
        acc.add(event)
    path = "output[0].content[0].text"
    expected = (
        streamfold.Disagreement(
            path, "Hi there! How can I help?", "Hi there! How can I help you?", "done"
        ),
    )
    assert acc.disagreements == expected
    with caplog.at_level(logging.WARNING, logger="streamfold"):
        response = acc.completion()
    assert response.output_text == "Hi there! How can I help you?"
    assert acc.disagreements == expected
    assert [r.getMessage() for r in caplog.records] == [
        f"response {START['id']}: 1 value(s) the stream sent differ from the folded deltas;"
        f" the sent values are used (first: {path})"
    ]


def test_the_terminal_output_wins_when_not_empty_and_a_difference_is_reported() -> None:
    """A non-empty terminal ``output`` is the output; where it differs from the fold, said so."""
    other = {"id": "msg_z", "type": "message", "role": "assistant", "content": []}
    events = [*TEXT.events[:-1], {**TEXT.events[-1], "response": {**START, "output": [other]}}]
    response, acc = fold(events)
    assert response.output == (other,)
    (dis,) = acc.disagreements
    assert dis.path == "output[0]"
    assert dis.sent == other
    assert dis.folded == TEXT.expected["output"][0]
    assert dis.source == "terminal"


# ---------------------------------------------------------------------------------------------
# ordering by sequence_number


def test_out_of_order_events_are_held_and_duplicates_dropped() -> None:
    """The out_of_order stream folds as if ordered; its two repeats are dropped."""
    response, acc = fold(STREAMS["out_of_order"].events)
    assert streamfold.to_dict(response) == TEXT.expected
    assert acc.duplicates == 2
    assert acc.chunks == len(STREAMS["out_of_order"].events)


def test_held_events_wait_for_the_gap_and_are_left_out_of_snapshots() -> None:
    """An event after a gap is held (not in snapshots) until the gap fills."""
    acc = Acc()
    for event in TEXT.events[:4]:
        acc.add(event)
    acc.add(TEXT.events[5])
    assert acc.snapshot().output_text == ""
    acc.add(TEXT.events[4])
    assert acc.snapshot().output_text == "Hi there! "


def test_a_gap_that_never_fills_is_given_up_after_the_hold_window() -> None:
    """With a missing sequence number, held events are applied once HOLD of them wait."""
    deltas = [{**_delta(delta=str(i % 10)), "sequence_number": 7 + i} for i in range(HOLD + 1)]
    acc = Acc()
    for event in TEXT.events[:5]:
        acc.add(event)
    for event in deltas[:HOLD]:
        acc.add(event)
    assert acc.snapshot().output_text == "Hi"
    acc.add(deltas[HOLD])
    assert acc.snapshot().output_text == "Hi" + "".join(str(i % 10) for i in range(HOLD + 1))


def test_completion_applies_the_events_still_held() -> None:
    """Events held at the end of the stream are applied, in order, by completion()."""
    events = [TEXT.events[i] for i in (0, 1, 2, 3, 6, 5)]
    response, _ = fold(events)
    assert response.output_text == " there! How can I help?"


def test_events_older_than_the_first_are_applied_as_they_come() -> None:
    """An event numbered before the first one seen is applied late, once."""
    events = [TEXT.events[i] for i in (2, 0, 0, 3)]
    response, acc = fold(events)
    assert response.id == START["id"]
    assert acc.duplicates == 1


# ---------------------------------------------------------------------------------------------
# typed events


def _events(events: list[Any]) -> tuple[list[Any], Acc]:
    acc = Acc()
    out: list[Any] = []
    for event in events:
        out.extend(acc.add_events(event))
    out.extend(acc.end_events())
    return out, acc


def test_text_stream_events() -> None:
    """A text stream: started, content deltas with the item index, done, finished, usage."""
    out, _ = _events(TEXT.events)
    assert out == [
        streamfold.ChoiceStarted(choice_index=0, role="assistant"),
        streamfold.ContentDelta(choice_index=0, delta="Hi", item=0),
        streamfold.ContentDelta(choice_index=0, delta=" there! ", item=0),
        streamfold.ContentDelta(choice_index=0, delta="How can I help?", item=0),
        streamfold.ContentDone(choice_index=0, content="Hi there! How can I help?", item=0),
        streamfold.ChoiceFinished(choice_index=0, finish_reason="completed"),
        streamfold.UsageReport(usage=USAGE),
    ]


def test_parallel_call_events() -> None:
    """Function calls: started, argument deltas, done with the parsed arguments, per call."""
    out, _ = _events(PARALLEL_CALLS.events)
    kinds = [type(e).__name__ for e in out]
    assert kinds == [
        "ChoiceStarted",
        "ToolCallStarted",
        "ToolCallArgumentsDelta",
        "ToolCallArgumentsDelta",
        "ToolCallArgumentsDelta",
        "ToolCallDone",
        "ToolCallStarted",
        "ToolCallArgumentsDelta",
        "ToolCallArgumentsDelta",
        "ToolCallDone",
        "ChoiceFinished",
        "UsageReport",
    ]
    assert out[1] == streamfold.ToolCallStarted(
        choice_index=0, index=0, id="call_1", name="get_weather"
    )
    assert out[9] == streamfold.ToolCallDone(
        choice_index=0,
        index=1,
        id="call_2",
        name="get_weather",
        arguments='{"location":"Tokyo"}',
        parsed={"location": "Tokyo"},
    )


def test_reasoning_refusal_and_error_events() -> None:
    """Reasoning summary deltas and done, refusal deltas and done, an error as ErrorEvent."""
    out, _ = _events(REASONING.events)
    reasoning = [e for e in out if isinstance(e, streamfold.ReasoningDone)]
    assert reasoning == [
        streamfold.ReasoningDone(
            choice_index=0,
            field="reasoning_summary",
            reasoning="**Planning** Count the letters.",
            item=0,
        ),
        streamfold.ReasoningDone(
            choice_index=0, field="reasoning_summary", reasoning="Three r's.", item=0
        ),
    ]
    assert out[1] == streamfold.ReasoningDelta(
        choice_index=0, field="reasoning_summary", delta="**Planning** ", item=0
    )
    out, _ = _events(REFUSAL.events)
    assert out[1:4] == [
        streamfold.RefusalDelta(choice_index=0, delta="I can't ", item=0),
        streamfold.RefusalDelta(choice_index=0, delta="help with that.", item=0),
        streamfold.RefusalDone(choice_index=0, refusal="I can't help with that.", item=0),
    ]
    out, _ = _events(ERROR_EVENT.events)
    assert isinstance(out[-1], streamfold.ErrorEvent)
    assert out[-2] == streamfold.ContentDone(choice_index=0, content="Hi", item=0)
    assert out[-1].error == ERROR_EVENT.error
    assert isinstance(out[-1].exception, streamfold.StreamError)


def test_end_events_reports_the_dones_of_a_cut_stream_once() -> None:
    """A cut stream's open text is done at end_events(), once; no ChoiceFinished."""
    acc = Acc()
    for event in CUT.events:
        acc.add_events(event)
    assert acc.end_events() == [
        streamfold.ContentDone(choice_index=0, content="Hi there! ", item=0)
    ]
    assert acc.end_events() == []


def test_web_search_stream_events_fire_content_done_at_the_terminal() -> None:
    """Without item done events, the terminal event reports the content done."""
    out, _ = _events(WEB_SEARCH.events)
    assert out[-2:] == [
        streamfold.ContentDone(
            choice_index=0, content="The Moon's gravity pulls the oceans into bulges.", item=1
        ),
        streamfold.ChoiceFinished(choice_index=0, finish_reason="completed"),
    ]


def test_event_kind_for_the_logs() -> None:
    """Terminal and error events close a stream; output events are content; others idle."""
    assert (event_kind({"type": "response.completed"}), _logs.CLOSE) == (_logs.CLOSE, 1)
    assert event_kind({"type": "response.incomplete"}) == _logs.CLOSE
    assert event_kind({"type": "response.failed"}) == _logs.CLOSE
    assert event_kind({"type": "error"}) == _logs.CLOSE
    assert event_kind({"type": "response.output_text.delta"}) == _logs.CHOICES
    assert event_kind({"type": "response.output_item.added"}) == _logs.CHOICES
    assert event_kind({"type": "response.created"}) == _logs.IDLE
    assert event_kind({"type": "rate_limits.updated"}) == _logs.IDLE
    assert event_kind(sdk_events(TEXT.events[-1:])[0]) == _logs.CLOSE


# ---------------------------------------------------------------------------------------------
# the way back, and properties

_TEXT = st.text(max_size=24)
_LOGPROB = st.fixed_dictionaries(
    {
        "token": _TEXT,
        "logprob": st.floats(-20, 0),
        "bytes": st.lists(st.integers(0, 255), max_size=3),
        "top_logprobs": st.just([]),
    }
)
_ANNOTATION = st.fixed_dictionaries(
    {
        "type": st.just("url_citation"),
        "start_index": st.integers(0, 50),
        "end_index": st.integers(0, 50),
        "title": _TEXT,
        "url": _TEXT,
    }
)
_OUTPUT_TEXT = st.fixed_dictionaries(
    {
        "type": st.just("output_text"),
        "annotations": st.lists(_ANNOTATION, max_size=2),
        "text": _TEXT,
    },
    optional={"logprobs": st.lists(_LOGPROB, max_size=4)},
)
_REFUSAL = st.fixed_dictionaries({"type": st.just("refusal"), "refusal": _TEXT})
_MESSAGE = st.fixed_dictionaries(
    {
        "type": st.just("message"),
        "status": st.sampled_from(["completed", "incomplete"]),
        "role": st.just("assistant"),
        "content": st.lists(st.one_of(_OUTPUT_TEXT, _REFUSAL), max_size=3),
    },
    optional={"x_unknown": st.integers()},
)
_REASONING = st.fixed_dictionaries(
    {
        "type": st.just("reasoning"),
        "summary": st.lists(
            st.fixed_dictionaries({"type": st.just("summary_text"), "text": _TEXT}), max_size=3
        ),
    },
    optional={
        "encrypted_content": _TEXT,
        "content": st.lists(
            st.fixed_dictionaries({"type": st.just("reasoning_text"), "text": _TEXT}), max_size=2
        ),
    },
)
_CALL = st.fixed_dictionaries(
    {
        "type": st.just("function_call"),
        "status": st.just("completed"),
        "call_id": _TEXT,
        "name": _TEXT,
        "arguments": _TEXT,
    }
)
_CUSTOM = st.fixed_dictionaries(
    {"type": st.just("custom_tool_call"), "call_id": _TEXT, "name": _TEXT, "input": _TEXT}
)
_WEB = st.fixed_dictionaries(
    {
        "type": st.just("web_search_call"),
        "status": st.just("completed"),
        "action": st.fixed_dictionaries({"type": st.just("search"), "query": _TEXT}),
    }
)
_ITEMS = st.lists(st.one_of(_MESSAGE, _REASONING, _CALL, _CUSTOM, _WEB), max_size=5).map(
    lambda items: tuple({"id": f"item_{i}", **item} for i, item in enumerate(items))
)
RESPONSES = st.builds(
    streamfold.Response,
    id=st.just("resp_1"),
    created_at=st.integers(1_700_000_000, 1_800_000_000),
    status=st.sampled_from(["completed", "incomplete", "in_progress", None]),
    model=st.sampled_from(["gpt-4.1", "o4-mini", None]),
    output=_ITEMS,
    usage=st.one_of(
        st.none(),
        st.fixed_dictionaries(
            {"input_tokens": st.integers(0, 9), "output_tokens": st.integers(0, 9)}
        ),
    ),
    incomplete_details=st.one_of(st.none(), st.just({"reason": "max_output_tokens"})),
    extra=st.fixed_dictionaries(
        {}, optional={"metadata": st.just({"k": "v"}), "tools": st.just([])}
    ),
)


@settings(deadline=None, max_examples=200)
@given(RESPONSES, st.integers(1, 6), st.integers(0, 3))
def test_any_response_round_trips_through_its_events(
    response: streamfold.Response, piece_size: int, seed: int
) -> None:
    """to_events -> fold gives the same response, with no disagreement, with or without the
    terminal event's output; and through to_dict / from_dict."""
    events = list(to_events(response, piece_size=piece_size, seed=seed))
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    folded, acc = fold(events)
    assert folded == response
    assert acc.disagreements == ()
    gateway = [
        {**e, "response": {**e["response"], "output": []}} if "response" in e else e for e in events
    ]
    assert fold(gateway)[0] == response
    again = streamfold.from_dict(streamfold.Response, streamfold.to_dict(response))
    assert again == response
    assert streamfold.to_json(again) == streamfold.to_json(response)
    assert fold(list(to_events(again, piece_size=piece_size, seed=seed)))[0] == response


@settings(deadline=None, max_examples=150)
@given(RESPONSES, st.data())
def test_segments_folded_apart_and_merged_equal_the_whole_fold(
    response: streamfold.Response, data: st.DataObject
) -> None:
    """fold(A) merged with fold(B) (and C) equals fold(A+B+C), for any cut points."""
    events = list(to_events(response, piece_size=3))
    if data.draw(st.booleans()):  # a gateway's empty terminal output: the deltas must merge
        events = [
            {**e, "response": {**e["response"], "output": []}} if "response" in e else e
            for e in events
        ]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(events)), min_size=1, max_size=3)))
    bounds = [0, *cuts, len(events)]
    parts = []
    for start, end in itertools.pairwise(bounds):
        part = Acc()
        part.mark_segment()
        for event in events[start:end]:
            part.add(event)
        parts.append(part)
    merged = parts[0]
    for part in parts[1:]:
        merged.merge(part)
    whole, acc = fold(events)
    assert merged.completion() == whole == response
    assert merged.chunks == acc.chunks
    assert merged.is_complete is acc.is_complete


@settings(deadline=None, max_examples=100)
@given(RESPONSES, st.randoms(use_true_random=False))
def test_events_shuffled_within_the_hold_window_fold_the_same(
    response: streamfold.Response, rng: random.Random
) -> None:
    """Events permuted in blocks of 16 (the first one first) fold as if in order."""
    events = list(to_events(response, piece_size=2))
    shuffled = events[:1]
    for at in range(1, len(events), 16):
        block = events[at : at + 16]
        rng.shuffle(block)
        shuffled.extend(block)
    assert fold(shuffled)[0] == response


def test_merge_joins_an_item_known_by_id_in_the_later_segment() -> None:
    """A later segment's events naming only an item_id reach the item of the earlier one."""
    first, second = Acc(), Acc()
    second.mark_segment()
    for event in PARALLEL_CALLS.events[:4]:
        first.add(event)
    for event in PARALLEL_CALLS.events[4:6]:
        second.add({k: v for k, v in event.items() if k != "output_index"})
    first.merge(second)
    assert first.snapshot().output[0]["arguments"] == '{"location":"Paris"}'


def test_to_events_is_deterministic_by_seed_and_checks_piece_size() -> None:
    """The same seed gives the same events; piece_size below 1 is a ValueError."""
    response = fold(REASONING.events)[0]
    assert list(to_events(response, seed=1)) == list(to_events(response, seed=1))
    assert list(to_events(response, seed=1)) != list(to_events(response, seed=2))
    with pytest.raises(ValueError, match="piece_size"):
        list(to_events(response, piece_size=0))


def test_a_failed_response_streams_back_as_response_failed() -> None:
    """A failed response's events end with response.failed, which raises with the response."""
    response = streamfold.from_dict(streamfold.Response, FAILED.expected)
    events = list(to_events(response))
    assert events[-1]["type"] == "response.failed"
    acc = Acc()
    for event in events[:-1]:
        acc.add(event)
    with pytest.raises(streamfold.StreamError) as info:
        acc.add(events[-1])
    assert info.value.completion == response


# ---------------------------------------------------------------------------------------------
# the openai SDK: events in, Response out and back


def test_to_openai_and_from_openai_round_trip_a_response() -> None:
    """to_openai gives the SDK's Response (validated), from_openai the same Response back."""
    response, _ = fold(REASONING.events)
    data = copy.deepcopy(streamfold.to_dict(response))
    data["usage"]["input_tokens_details"]["cache_write_tokens"] = 0  # this SDK's schema wants it
    response = streamfold.from_dict(streamfold.Response, data)
    sdk = streamfold.to_openai(response)
    assert isinstance(sdk, SdkResponse)
    assert sdk.output_text == response.output_text == "3"
    assert sdk.output[0].type == "reasoning"
    back = streamfold.from_openai(sdk)
    assert back == response
    assert streamfold.to_dict(back) == streamfold.to_dict(response)


def test_to_openai_names_the_field_that_does_not_fit() -> None:
    """A response the SDK's schema refuses raises InvalidChunkError naming the field."""
    response = fold(CUT.events)[0]
    with pytest.raises(streamfold.InvalidChunkError) as info:
        streamfold.to_openai(attrs.evolve(response, output=({"type": 3},)))
    assert info.value.path.startswith("output.0")
    unchecked = streamfold.to_openai(response, validate=False)
    assert unchecked.id == response.id


def test_sdk_event_objects_are_read_without_invented_keys() -> None:
    """The SDK's event objects fold to exactly the JSON sent: no null keys the server omitted."""
    events = sdk_events(WEB_SEARCH.events)
    response, _ = fold(events)
    assert streamfold.to_dict(response) == WEB_SEARCH.expected


@pytest.mark.parametrize(
    ("path", "stream"),
    [("responses_tools.sse", PARALLEL_CALLS), ("responses_reasoning.sse", REASONING)],
)
def test_the_example_sse_captures_fold_into_their_responses(
    path: str, stream: ResponseStream
) -> None:
    """examples/responses_*.sse (``event:`` + ``data:`` lines) fold into the expected response."""
    root = Path(__file__).resolve().parent.parent
    lines = (root / "examples" / path).read_text(encoding="utf-8").splitlines()
    names = [line[7:] for line in lines if line.startswith("event: ")]
    data = [line for line in lines if line.startswith("data: ")]
    assert names == [e["type"] for e in stream.events]
    response, _ = fold(data)
    assert streamfold.to_dict(response) == stream.expected

"""Partial folds: any stream cut into segments, folded apart and merged in any order, equals the
plain fold; ranges are checked; partials pickle and stay unchanged when merged."""

from __future__ import annotations

import itertools
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import streamfold

ENV = {"object": "chat.completion.chunk", "created": 1741570283, "model": "m"}

small_text = st.sampled_from(["", "a", "bc", "é", "日本", "😀", '{"k": ', "1}", " "])


@st.composite
def tool_fragment(draw: st.DrawFn) -> dict[str, Any]:
    """A tool-call fragment in any of the shapes servers send (ids repeated, missing, nested)."""
    frag: dict[str, Any] = {}
    index = draw(st.sampled_from([None, 0, 0, 1, 2]))
    if index is not None:
        frag["index"] = index
    call_id = draw(st.sampled_from([None, None, "call_a", "call_b", "call_c", ""]))
    function: dict[str, Any] = {}
    if call_id is not None:
        if draw(st.booleans()):
            frag["id"] = call_id
        else:
            function["id"] = call_id  # older llama.cpp
    if draw(st.booleans()):
        frag["type"] = draw(st.sampled_from(["function", ""]))
    if draw(st.booleans()):
        function["name"] = draw(st.sampled_from(["get", "put", ""]))
    if draw(st.booleans()):
        function["arguments"] = draw(small_text)
    if len(function) > 0 or draw(st.booleans()):
        frag["function"] = function
    if draw(st.integers(0, 5)) == 0:
        frag["extra_content"] = {"google": {"thought_signature": draw(small_text)}}
    return frag


@st.composite
def wild_delta(draw: st.DrawFn) -> dict[str, Any] | None:
    """A delta mixing known fields, provider extensions and labels."""
    if draw(st.integers(0, 12)) == 0:
        return None
    delta: dict[str, Any] = {}
    for key, strategy in (
        ("role", st.sampled_from(["assistant", "", None])),
        ("content", st.one_of(st.none(), small_text)),
        ("refusal", st.one_of(st.none(), small_text)),
        ("reasoning_content", st.one_of(st.none(), small_text)),
        ("reasoning", small_text),
        ("channel", st.sampled_from(["analysis", "final"])),
        ("token_id", st.integers(0, 100)),
    ):
        if draw(st.integers(0, 3)) == 0:
            delta[key] = draw(strategy)
    if draw(st.integers(0, 2)) == 0:
        delta["tool_calls"] = draw(st.lists(tool_fragment(), max_size=3))
    if draw(st.integers(0, 6)) == 0:
        delta["function_call"] = {"name": "legacy", "arguments": draw(small_text)}
    if draw(st.integers(0, 5)) == 0:
        delta["reasoning_details"] = [
            {
                "type": draw(st.sampled_from(["reasoning.text", "reasoning.summary"])),
                "index": draw(st.integers(0, 1)),
                "text": draw(small_text),
                "signature": draw(st.sampled_from(["", None, "sig"])),
                "format": "anthropic-claude-v1",
            }
        ]
    if draw(st.integers(0, 8)) == 0:
        delta["reasoning_details"] = [
            {"type": "reasoning.encrypted", "data": draw(small_text), "index": 2}
        ]
    if draw(st.integers(0, 6)) == 0:
        delta["content"] = [
            draw(
                st.sampled_from(
                    [
                        {"type": "thinking", "thinking": [{"type": "text", "text": "hm"}]},
                        {"type": "text", "text": "ok"},
                        "plain",
                    ]
                )
            )
        ]
    if draw(st.integers(0, 8)) == 0:
        delta["audio"] = {"id": "audio_1", "data": draw(small_text), "transcript": "t"}
    return delta


@st.composite
def wild_chunk(draw: st.DrawFn) -> dict[str, Any]:
    """One chunk: envelope quirks, interleaved choices, logprobs, usage, unknown keys."""
    chunk: dict[str, Any] = {
        **ENV,
        "id": draw(st.sampled_from(["", "chatcmpl-1", "chatcmpl-2"])),
        "created": draw(st.sampled_from([0, 1741570283, 1741570284])),
    }
    if draw(st.booleans()):
        chunk["system_fingerprint"] = draw(st.sampled_from([None, "fp_1", "fp_2"]))
    if draw(st.integers(0, 4)) == 0:
        chunk["usage"] = {
            "prompt_tokens": draw(st.integers(0, 9)),
            "completion_tokens": draw(st.integers(0, 9)),
            "total_tokens": draw(st.integers(0, 20)),
            "cost": 0.5,
        }
    if draw(st.integers(0, 4)) == 0:
        chunk["x_groq"] = {"id": draw(st.sampled_from(["req_1", "req_2"]))}
    choices = []
    for _ in range(draw(st.integers(0, 2))):
        choice: dict[str, Any] = {
            "index": draw(st.integers(0, 2)),
            "delta": draw(wild_delta()),
            "finish_reason": draw(st.sampled_from([None, None, "stop", "length", "tool_calls"])),
        }
        if draw(st.integers(0, 3)) == 0:
            token = {"token": "t", "logprob": -0.5, "bytes": [116], "top_logprobs": []}
            choice["logprobs"] = {"content": [token], "refusal": None}
        if draw(st.integers(0, 5)) == 0:
            choice["content_filter_results"] = {"hate": {"filtered": False}}
        choices.append(choice)
    chunk["choices"] = choices
    return chunk


@st.composite
def cut_stream(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[int]]:
    chunks = draw(st.lists(wild_chunk(), min_size=1, max_size=14))
    cuts = sorted(set(draw(st.lists(st.integers(0, len(chunks)), max_size=5))))
    return chunks, cuts


def _segments(chunks: list[Any], cuts: list[int]) -> list[streamfold.PartialFold]:
    bounds = [0, *cuts, len(chunks)]
    return [
        streamfold.PartialFold.fold(chunks[a:b], start=a) for a, b in itertools.pairwise(bounds)
    ]


@settings(deadline=None, max_examples=400)
@given(cut_stream(), st.randoms(use_true_random=False))
def test_segments_merged_in_any_order_equal_the_plain_fold(
    case: tuple[list[dict[str, Any]], list[int]], rnd: Any
) -> None:
    """Any stream, cut anywhere, folded per segment and merged in any order equals the fold."""
    chunks, cuts = case
    expected = streamfold.accumulate(chunks)
    parts = _segments(chunks, cuts)
    rnd.shuffle(parts)
    assert streamfold.merge_partials(parts).completion() == expected
    # a tree of merges of adjacent ranges, taken in a random order, gives the same answer
    pool = sorted(parts, key=lambda p: (p.start, p.end))
    while len(pool) > 1:
        i = rnd.randrange(len(pool) - 1)
        pool[i : i + 2] = [pool[i + 1].merge(pool[i])]
    assert pool[0].completion() == expected
    assert streamfold.to_dict(pool[0].completion()) == streamfold.to_dict(expected)
    normalized = streamfold.accumulate(chunks, normalize_finish_reason=True)
    assert pool[0].completion(normalize_finish_reason=True) == normalized


def _call(index: int | None = None, **fields: Any) -> dict[str, Any]:
    frag = dict(fields)
    if index is not None:
        frag["index"] = index
    return {**ENV, "id": "c", "choices": [{"index": 0, "delta": {"tool_calls": [frag]}}]}


def test_call_announced_in_one_segment_continues_in_the_next() -> None:
    """A call whose id and name came in segment A and whose arguments go on in B is one call."""
    chunks = [
        _call(0, id="call_1", type="function", function={"name": "get", "arguments": ""}),
        _call(0, function={"arguments": '{"city": '}),
        _call(0, function={"arguments": '"Oslo"}'}),
    ]
    a = streamfold.PartialFold.fold(chunks[:1], start=0)
    b = streamfold.PartialFold.fold(chunks[1:], start=1)
    folded = b.merge(a).completion()
    assert isinstance(folded, streamfold.ChatCompletion)
    calls = folded.choices[0].message.tool_calls
    assert calls is not None
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        ("call_1", "get", '{"city": "Oslo"}')
    ]


def test_ollama_calls_at_index_zero_across_a_cut() -> None:
    """Two calls at index 0 with their own ids stay two calls when a cut falls between them,
    and an id-less continuation after the cut joins the second call."""
    chunks = [
        _call(0, id="call_a", function={"name": "f", "arguments": '{"x": 1}'}),
        _call(0, id="call_b", function={"name": "g", "arguments": '{"y":'}),
        _call(0, function={"arguments": " 2}"}),
    ]
    for cut in range(4):
        merged = streamfold.merge_partials(_segments(chunks, [cut])).completion()
        assert isinstance(merged, streamfold.ChatCompletion)
        calls = merged.choices[0].message.tool_calls
        assert calls is not None
        assert [(c.id, c.function.arguments) for c in calls] == [
            ("call_a", '{"x": 1}'),
            ("call_b", '{"y": 2}'),
        ]


def _gemini_stream() -> list[dict[str, Any]]:
    """Gemini's shape: a tool call (announced, arguments in pieces), then finish_reason "stop",
    then the usage chunk; a second choice answers in text and also stops."""

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return {**ENV, "id": "g", "choices": choices, **extra}

    def choice(index: int, finish: str | None = None, **delta: Any) -> dict[str, Any]:
        return {"index": index, "delta": delta, "finish_reason": finish}

    announce = {"index": 0, "id": "call_1", "type": "function"}
    announce["function"] = {"name": "get_weather", "arguments": ""}
    return [
        chunk([choice(0, role="assistant"), choice(1, role="assistant", content="")]),
        chunk([choice(0, tool_calls=[announce])]),
        chunk([choice(0, tool_calls=[{"index": 0, "function": {"arguments": '{"city": '}}])]),
        chunk([choice(1, content="It is ")]),
        chunk([choice(0, tool_calls=[{"index": 0, "function": {"arguments": '"Lyon"}'}}])]),
        chunk([choice(1, content="sunny.")]),
        chunk([choice(0, "stop")]),
        chunk([choice(1, "stop")]),
        chunk([], usage={"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}),
    ]


def _finishes(completion: streamfold.ChatCompletion | streamfold.TextCompletion) -> list[Any]:
    return [choice.finish_reason for choice in completion.choices]


def test_gemini_segments_merged_normalize_when_the_completion_is_built() -> None:
    """A Gemini-style stream (a tool call, then "stop"), cut anywhere into segments folded
    apart and merged: completion(normalize_finish_reason=True) equals accumulate(...,
    normalize_finish_reason=True) and reports "tool_calls" for the choice that called a tool
    only; by default "stop" is kept, as accumulate keeps it."""
    chunks = _gemini_stream()
    normalized = streamfold.accumulate(chunks, normalize_finish_reason=True)
    plain = streamfold.accumulate(chunks)
    assert _finishes(normalized) == ["tool_calls", "stop"]
    assert _finishes(plain) == ["stop", "stop"]
    cuts = [
        list(cut)
        for size in range(4)
        for cut in itertools.combinations(range(1, len(chunks)), size)
    ]
    for cut in cuts:
        parts = _segments(chunks, cut)
        merged = streamfold.merge_partials(parts[::-1])
        assert merged.completion(normalize_finish_reason=True) == normalized, cut
        assert merged.completion() == plain, cut
        assert merged.completion(normalize_finish_reason=False) == plain, cut
        pairwise = parts[0]
        for part in parts[1:]:
            pairwise = pairwise.merge(part)
        assert pairwise.completion(normalize_finish_reason=True) == normalized, cut
    # strict and normalize together; the choice is the completion's, not the partial's
    whole = streamfold.PartialFold.fold(chunks, start=0)
    assert whole.completion(strict=True, normalize_finish_reason=True) == normalized
    assert whole.completion(strict=True) == plain
    assert whole == streamfold.merge_partials(_segments(chunks, [3]))


def test_overlapping_and_missing_ranges_are_reported() -> None:
    """Overlapping ranges and missing positions raise PartialMergeError, naming the ranges."""
    chunks = [_call(0, id="call_1", function={"arguments": "{}"})]
    a = streamfold.PartialFold.fold(chunks, start=0)  # [0, 1)
    overlapping = streamfold.PartialFold.fold(chunks, start=0, end=2)
    later = streamfold.PartialFold.fold(chunks, start=5)
    with pytest.raises(streamfold.PartialMergeError, match="overlap") as info:
        a.merge(overlapping)
    assert info.value.ranges == [(0, 1), (0, 2)]
    with pytest.raises(streamfold.PartialMergeError, match=r"\[1, 5\) missing"):
        streamfold.merge_partials([later, a])
    merged = a.merge(later, gaps=True)  # log lines of other streams between them: allowed
    assert (merged.start, merged.end) == (0, 6)
    with pytest.raises(streamfold.PartialMergeError):
        streamfold.merge_partials([])


def test_partials_pickle_and_stay_unchanged_by_merges() -> None:
    """A partial survives pickling, and merging leaves both inputs as they were."""
    chunks = [
        {**ENV, "id": "c", "choices": [{"index": 0, "delta": {"content": "Hel"}}]},
        {**ENV, "id": "c", "choices": [{"index": 0, "delta": {"content": "lo"}}]},
    ]
    a = streamfold.PartialFold.fold(chunks[:1], start=0)
    b = streamfold.PartialFold.fold(chunks[1:], start=1)
    a2 = pickle.loads(pickle.dumps(a))
    merged = a2.merge(b)
    before, after = a.completion(), merged.completion()
    assert isinstance(before, streamfold.ChatCompletion)
    assert isinstance(after, streamfold.ChatCompletion)
    assert (before.choices[0].message.content, b.chunks) == ("Hel", 1)
    assert after.choices[0].message.content == "Hello"
    assert a2 == a
    assert merged.chunks == 2

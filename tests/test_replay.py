"""The way back: to_chunks / to_sse give realistic streams that fold back to the completion."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import streamfold

# ---------------------------------------------------------------------------------------------
# a strategy for completions the fold can produce

# real text: ASCII, accents, CJK, emoji (with modifiers and ZWJ sequences), no lone surrogates
_CHARS = st.one_of(
    st.characters(codec="utf-8"),
    st.sampled_from(list('東京日本語中文한국어éçñü😀🎉👍🏽👩‍💻 \n\t"\\{}')),
)
texts = st.text(_CHARS, min_size=1, max_size=40)
maybe_text = st.none() | texts
words = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
floats = st.floats(-50, 0, allow_nan=False)
byte_lists = st.none() | st.lists(st.integers(0, 255), max_size=6).map(tuple)


@st.composite
def token_logprobs(draw: st.DrawFn, text: str | None) -> tuple[streamfold.TokenLogprob, ...]:
    """Entries that spell ``text`` token by token, or unrelated ones."""
    if text and draw(st.booleans()):
        cuts = sorted(draw(st.sets(st.integers(1, max(1, len(text) - 1)), max_size=8)))
        tokens = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        tokens = [t for t in tokens if t]
    else:
        tokens = draw(st.lists(texts, max_size=5))
    entry = st.builds(streamfold.TopLogprob, token=texts, logprob=floats, bytes=byte_lists)
    return tuple(
        streamfold.TokenLogprob(
            token=token,
            logprob=draw(floats),
            bytes=draw(byte_lists),
            top_logprobs=tuple(draw(st.lists(entry, max_size=3))),
        )
        for token in tokens
    )


@st.composite
def tool_calls(draw: st.DrawFn) -> tuple[streamfold.ToolCall, ...] | None:
    """0 to 3 calls with distinct ids (or none at all), arguments that may be empty."""
    count = draw(st.integers(0, 3))
    if not count:
        return None
    ids = draw(
        st.lists(words.map(lambda w: "call_" + w), min_size=count, max_size=count, unique=True)
    )
    return tuple(
        streamfold.ToolCall(
            id=call_id if draw(st.integers(0, 5)) else None,
            type=draw(st.sampled_from(["function", "function", "custom"])),
            function=streamfold.FunctionCall(
                name=draw(st.just("") | words),
                arguments=draw(st.just("") | st.just('{"a": 1}') | texts),
                extra=draw(st.just({}) | st.just({"strict": True})),
            ),
            extra=draw(
                st.just({}) | st.just({"extra_content": {"google": {"thought_signature": "c2ln"}}})
            ),
        )
        for call_id in ids
    )


@st.composite
def choices(draw: st.DrawFn, index: int) -> streamfold.Choice:
    """One choice: text, refusal, tools, logprobs, audio, annotations, provider extras."""
    content = draw(maybe_text)
    refusal = draw(st.none() | texts) if draw(st.integers(0, 3)) == 0 else None
    logprobs = None
    if draw(st.booleans()):
        logprobs = streamfold.ChoiceLogprobs(
            content=draw(st.none() | token_logprobs(content)),
            refusal=draw(st.none() | token_logprobs(refusal)),
        )
    extra = draw(st.just({}) | st.builds(lambda t: {"reasoning_content": t}, texts))
    audio = None
    if draw(st.integers(0, 5)) == 0:
        audio = streamfold.ChatCompletionAudio(
            id="audio_1",
            data=draw(st.just("") | words),
            expires_at=1700000000,
            transcript=draw(st.just("") | texts),
        )
    annotations: tuple[streamfold.Annotation, ...] = ()
    if draw(st.integers(0, 5)) == 0:
        citation = {
            "url_citation": {"url": "https://example.com", "start_index": 0, "end_index": 3}
        }
        annotations = (streamfold.Annotation(type="url_citation", extra=citation),)
    return streamfold.Choice(
        index=index,
        message=streamfold.ChatCompletionMessage(
            content=content,
            refusal=refusal,
            tool_calls=draw(tool_calls()),
            audio=audio,
            annotations=annotations,
            extra=extra,
        ),
        logprobs=logprobs,
        finish_reason=draw(
            st.sampled_from([None, "stop", "length", "tool_calls", "content_filter"])
        ),
        extra=draw(
            st.just({}) | st.just({"content_filter_results": {"hate": {"filtered": False}}})
        ),
    )


@st.composite
def completions(draw: st.DrawFn) -> streamfold.ChatCompletion:
    """1 to 3 choices (sparse indexes), usage or none, envelope fields or none."""
    indexes = sorted(draw(st.sets(st.integers(0, 4), min_size=1, max_size=3)))
    usage = None
    if draw(st.booleans()):
        usage = streamfold.CompletionUsage(
            prompt_tokens=draw(st.integers(0, 10**6)),
            completion_tokens=draw(st.integers(0, 10**6)),
            total_tokens=draw(st.integers(0, 2 * 10**6)),
        )
    return streamfold.ChatCompletion(
        id=draw(st.none() | words.map(lambda w: "chatcmpl-" + w)),
        created=draw(st.none() | st.integers(1, 2**40)),
        model=draw(st.none() | words),
        choices=tuple(draw(choices(i)) for i in indexes),
        usage=usage,
        service_tier=draw(st.none() | st.just("default")),
        system_fingerprint=draw(st.none() | words),
        extra=draw(st.just({}) | st.just({"provider": "Example", "x_meta": {"region": "eu"}})),
    )


@settings(deadline=None, max_examples=200)
@given(
    completion=completions(),
    piece_size=st.integers(1, 8),
    seed=st.integers(0, 2**32),
)
def test_any_completion_folds_back_to_itself(
    completion: streamfold.ChatCompletion, piece_size: int, seed: int
) -> None:
    """Property: to_chunks, to_sse, then from_sse (or accumulate) give the same completion."""
    chunks = list(streamfold.to_chunks(completion, piece_size=piece_size, seed=seed))
    assert streamfold.accumulate(chunks) == completion
    assert streamfold.from_sse(b"".join(streamfold.to_sse(chunks))) == completion
    assert streamfold.accumulate(streamfold.to_chunks(streamfold.to_dict(completion))) == completion


# ---------------------------------------------------------------------------------------------
# the shape of the stream


def _message(content: str | None = None, **kw: Any) -> streamfold.ChatCompletionMessage:
    return streamfold.ChatCompletionMessage(content=content, **kw)


def _completion(*choices: streamfold.Choice, **kw: Any) -> streamfold.ChatCompletion:
    defaults: dict[str, Any] = {"id": "chatcmpl-r", "created": 1700000000, "model": "gpt-4o"}
    return streamfold.ChatCompletion(choices=choices, **{**defaults, **kw})


TEXT = "Streaming is the way servers answer: one piece after another, 東京 😀."


def test_role_first_then_text_pieces_then_finish_then_usage() -> None:
    """The order a server uses, with the envelope on every chunk."""
    usage = streamfold.CompletionUsage(prompt_tokens=3, completion_tokens=9, total_tokens=12)
    completion = _completion(
        streamfold.Choice(index=0, message=_message(TEXT), finish_reason="stop"), usage=usage
    )
    chunks = list(streamfold.to_chunks(completion, piece_size=3))
    assert all(c["id"] == "chatcmpl-r" and c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    pieces = [c["choices"][0]["delta"]["content"] for c in chunks[1:-2]]
    assert "".join(pieces) == TEXT
    assert all(1 <= len(p) <= 5 for p in pieces)
    assert len(pieces) > len(TEXT) // 5
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-2]["choices"][0]["delta"] == {}
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == streamfold.to_dict(usage)
    assert all(c["usage"] is None for c in chunks[:-1])


def test_piece_size_one_gives_one_character_per_chunk() -> None:
    """piece_size=1: every content chunk carries one character."""
    completion = _completion(streamfold.Choice(index=0, message=_message("abc😀")))
    chunks = list(streamfold.to_chunks(completion, piece_size=1))
    assert [c["choices"][0]["delta"].get("content") for c in chunks] == ["", "a", "b", "c", "😀"]


def test_same_seed_same_chunks_other_seed_other_cut() -> None:
    """Deterministic for a seed; the seed changes the cut."""
    completion = _completion(streamfold.Choice(index=0, message=_message(TEXT * 3)))
    one = list(streamfold.to_chunks(completion, seed=7))
    assert one == list(streamfold.to_chunks(completion, seed=7))
    assert one != list(streamfold.to_chunks(completion, seed=8))
    assert b"".join(streamfold.to_sse(one)) == b"".join(streamfold.to_sse(iter(one)))


def test_tool_calls_are_announced_then_streamed_in_fragments() -> None:
    """id, type and name come first with empty arguments; fragments carry only index and text."""
    calls = tuple(
        streamfold.ToolCall(
            id=f"call_{i}",
            function=streamfold.FunctionCall(name="get_weather", arguments=json.dumps({"city": c})),
        )
        for i, c in enumerate(["Paris", "Bogotá"])
    )
    completion = _completion(
        streamfold.Choice(index=0, message=_message(tool_calls=calls), finish_reason="tool_calls")
    )
    chunks = list(streamfold.to_chunks(completion, piece_size=2))
    fragments = [f for c in chunks for f in c["choices"][0]["delta"].get("tool_calls", [])]
    heads = [f for f in fragments if "id" in f]
    assert heads == [
        {
            "index": i,
            "id": f"call_{i}",
            "type": "function",
            "function": {"name": "get_weather", "arguments": ""},
        }
        for i in range(2)
    ]
    for i, city in enumerate(["Paris", "Bogotá"]):
        mine = [f for f in fragments if f["index"] == i and "id" not in f]
        assert all(set(f) == {"index", "function"} for f in mine)
        assert len(mine) > 3
        assert "".join(f["function"]["arguments"] for f in mine) == json.dumps({"city": city})
    assert streamfold.accumulate(chunks) == completion


def test_logprobs_ride_on_their_tokens() -> None:
    """When the tokens spell the text, each chunk carries one token and its entry."""
    tokens = ["Hel", "lo", " world"]
    entries = tuple(
        streamfold.TokenLogprob(
            token=t,
            logprob=-0.5,
            bytes=tuple(t.encode()),
            top_logprobs=(streamfold.TopLogprob(token=t, logprob=-0.5),),
        )
        for t in tokens
    )
    completion = _completion(
        streamfold.Choice(
            index=0,
            message=_message("Hello world"),
            logprobs=streamfold.ChoiceLogprobs(content=entries),
            finish_reason="stop",
        )
    )
    chunks = list(streamfold.to_chunks(completion))
    texts = [(c["choices"][0]["delta"].get("content"), c["choices"][0]["logprobs"]) for c in chunks]
    body = texts[1:4]
    assert [t for t, _ in body] == tokens
    assert [lp["content"][0]["token"] for _, lp in body] == tokens
    assert streamfold.accumulate(chunks) == completion


def test_choices_are_interleaved_each_with_role_and_finish() -> None:
    """n > 1: chunks of the choices mix; each choice has its role chunk and finish chunk."""
    completion = _completion(
        *(
            streamfold.Choice(index=i, message=_message(TEXT), finish_reason="stop")
            for i in range(3)
        )
    )
    chunks = list(streamfold.to_chunks(completion))
    order = [c["choices"][0]["index"] for c in chunks]
    switches = sum(a != b for a, b in itertools.pairwise(order))
    assert switches > 10
    for i in range(3):
        mine = [c["choices"][0] for c in chunks if c["choices"][0]["index"] == i]
        assert mine[0]["delta"]["role"] == "assistant"
        assert mine[-1]["finish_reason"] == "stop"
        assert all(m["finish_reason"] is None for m in mine[:-1])
    assert streamfold.accumulate(chunks) == completion


def test_refusal_and_reasoning_are_streamed_too() -> None:
    """Refusal pieces, and provider reasoning text before the content."""
    completion = _completion(
        streamfold.Choice(
            index=0,
            message=_message(
                None,
                refusal="I can't help with that.",
                extra={"reasoning_content": "The user asks for something unsafe."},
            ),
            finish_reason="stop",
        )
    )
    chunks = list(streamfold.to_chunks(completion))
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert sum("refusal" in d for d in deltas) > 2
    first_reasoning = next(i for i, d in enumerate(deltas) if "reasoning_content" in d)
    first_refusal = next(i for i, d in enumerate(deltas) if "refusal" in d)
    assert first_reasoning < first_refusal
    assert streamfold.accumulate(chunks) == completion


def test_text_completion_round_trip() -> None:
    """The legacy completions API: text pieces and parallel logprob lists."""
    completion = streamfold.TextCompletion(
        id="cmpl-1",
        created=1700000000,
        model="gpt-3.5-turbo-instruct",
        choices=(
            streamfold.TextChoice(
                index=0,
                text="Hello there",
                logprobs=streamfold.TextLogprobs(
                    tokens=("Hello", " there"),
                    token_logprobs=(-0.1, -0.2),
                    top_logprobs=({"Hello": -0.1}, {" there": -0.2}),
                    text_offset=(0, 5),
                ),
                finish_reason="stop",
            ),
            streamfold.TextChoice(index=1, text="Other text, cut anywhere", finish_reason="length"),
        ),
        usage=streamfold.CompletionUsage(prompt_tokens=1, completion_tokens=2, total_tokens=3),
    )
    chunks = list(streamfold.to_chunks(completion, seed=3))
    assert all(c["object"] == "text_completion" for c in chunks)
    assert streamfold.accumulate_text(chunks) == completion
    assert streamfold.from_sse(b"".join(streamfold.to_sse(chunks))) == completion


def test_to_sse_frames_each_chunk_and_ends_with_done() -> None:
    """`data: {json}` events, a blank line after each, `data: [DONE]` last; typed chunks too."""
    typed = streamfold.from_dict(
        streamfold.ChatCompletionChunk, {"id": "c", "choices": [{"index": 0, "delta": {}}]}
    )
    events = list(streamfold.to_sse([{"id": "a"}, typed]))
    assert events[0] == b'data: {"id":"a"}\n\n'
    assert events[1].startswith(b'data: {"id":"c"')
    assert events[-1] == b"data: [DONE]\n\n"


def test_plain_data_is_accepted_and_checked() -> None:
    """A stored completion as JSON data works; data that is no completion is a clear error."""
    completion = _completion(streamfold.Choice(index=0, message=_message("hi")))
    plain = json.loads(streamfold.to_json(completion))
    assert streamfold.accumulate(streamfold.to_chunks(plain)) == completion
    with pytest.raises(streamfold.InvalidChunkError):
        list(streamfold.to_chunks({"choices": "nope"}))
    with pytest.raises(streamfold.UsageError):
        list(streamfold.to_chunks("not a completion"))  # type: ignore[arg-type]
    with pytest.raises(streamfold.UsageError):
        list(streamfold.to_chunks(completion, piece_size=0))


def test_empty_completion_still_sends_its_envelope() -> None:
    """No choices: one chunk with `choices: []` carries the id and model."""
    completion = _completion()
    chunks = list(streamfold.to_chunks(completion))
    assert chunks == [
        {
            "id": "chatcmpl-r",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "gpt-4o",
            "choices": [],
        }
    ]
    assert streamfold.accumulate(chunks) == completion

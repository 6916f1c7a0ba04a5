"""Property tests: any completion, split into chunks any way, folds back to itself; bad input only
ever raises streamfold's own errors."""

from __future__ import annotations

import contextlib
import itertools
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import streamfold

# Unicode text that exercises splitting: accents, CJK, emoji (including multi-codepoint ones).
# Pieces are joined into text, then the text is cut at any character, so a multi-codepoint emoji
# may be split between two chunks, as servers do.
PIECES = st.sampled_from(
    [*'abc xyz,.!?"\\\n\t', *"éàüñç", *"日本語中文한국", "😀", "👍🏽", "🇫🇷", "e\u0301", "\u200d"]
)
texts = st.lists(PIECES, min_size=1, max_size=20).map("".join)
ids = st.text("abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=12)
fragment_cuts = st.lists(st.integers(min_value=0, max_value=40), max_size=4)


def _top(token: str, logprob: float) -> dict[str, Any]:
    return {"token": token, "logprob": logprob, "bytes": list(token.encode())}


@st.composite
def token_logprobs(draw: st.DrawFn) -> dict[str, Any]:
    token = draw(texts)
    logprob = draw(st.floats(min_value=-20, max_value=0, allow_nan=False))
    tops = draw(st.lists(st.tuples(texts, st.floats(-20, 0, allow_nan=False)), max_size=3))
    return {
        "token": token,
        "logprob": logprob,
        "bytes": list(token.encode()),
        "top_logprobs": [_top(t, lp) for t, lp in tops],
    }


@st.composite
def tool_calls(draw: st.DrawFn, choice: int) -> list[dict[str, Any]]:
    n = draw(st.integers(min_value=0, max_value=3))
    calls = []
    for i in range(n):
        args = draw(st.one_of(st.just(""), texts.map(lambda t: json.dumps({"q": t}))))
        calls.append(
            {
                "id": f"call_{choice}_{i}_{draw(ids)}",
                "type": "function",
                "function": {"name": draw(ids), "arguments": args},
            }
        )
    return calls


@st.composite
def completions(draw: st.DrawFn) -> dict[str, Any]:
    """A non-streamed chat.completion as the API returns it (plain JSON)."""
    choices = []
    for index in range(draw(st.integers(min_value=1, max_value=3))):
        calls = draw(tool_calls(index))
        content = draw(st.one_of(st.none(), texts))
        refusal = draw(st.one_of(st.none(), texts)) if not calls else None
        message: dict[str, Any] = {
            "role": "assistant",
            "content": content,
            "refusal": refusal,
            "annotations": [],
        }
        if calls:
            message["tool_calls"] = calls
        logprobs = None
        if draw(st.booleans()):
            logprobs = {
                "content": draw(st.lists(token_logprobs(), max_size=4)),
                "refusal": draw(st.one_of(st.none(), st.lists(token_logprobs(), max_size=2))),
            }
        finish = (
            "tool_calls" if calls else draw(st.sampled_from(["stop", "length", "content_filter"]))
        )
        choices.append(
            {"index": index, "message": message, "logprobs": logprobs, "finish_reason": finish}
        )
    usage = None
    if draw(st.booleans()):
        p, c = draw(st.integers(0, 10_000)), draw(st.integers(0, 10_000))
        usage = {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
    return {
        "id": "chatcmpl-" + draw(ids),
        "object": "chat.completion",
        "created": draw(st.integers(min_value=1, max_value=2**31)),
        "model": draw(st.sampled_from(["gpt-4o", "deepseek-chat", "llama-3.3-70b"])),
        "choices": choices,
        "usage": usage,
        "service_tier": draw(st.sampled_from([None, "default"])),
        "system_fingerprint": draw(st.sampled_from([None, "fp_44709d6fcb"])),
    }


def _split(draw: st.DrawFn, text: str) -> list[str]:
    """Cut ``text`` at arbitrary character positions, sometimes adding empty fragments."""
    cuts = sorted({min(c, len(text)) for c in draw(fragment_cuts)})
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@st.composite
def streams(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A completion and one of the many chunk streams that fold back to it."""
    completion = draw(completions())
    queues: list[list[dict[str, Any]]] = []  # per choice, its deltas in order
    for choice in completion["choices"]:
        index = choice["index"]
        msg = choice["message"]
        parts: list[dict[str, Any]] = [
            {"index": index, "delta": {"role": "assistant", "content": ""}, "logprobs": None}
        ]
        entries = list((choice["logprobs"] or {}).get("content") or [])
        for piece in _split(draw, msg["content"]) if msg["content"] else []:
            delta: dict[str, Any] = {"content": piece}
            if draw(st.booleans()):
                delta["role"] = "assistant"  # some servers repeat the role on every chunk
            logprobs = None
            if len(entries) > 0 and draw(st.booleans()):
                take = draw(st.integers(1, len(entries)))
                logprobs = {"content": entries[:take], "refusal": None}
                entries = entries[take:]
            parts.append({"index": index, "delta": delta, "logprobs": logprobs})
        parts.extend(
            {"index": index, "delta": {"refusal": piece}, "logprobs": None}
            for piece in (_split(draw, msg["refusal"]) if msg["refusal"] else [])
        )
        for position, call in enumerate(msg.get("tool_calls") or []):
            head = {
                "index": position,
                "id": call["id"],
                "type": "function",
                "function": {"name": call["function"]["name"], "arguments": ""},
            }
            parts.append({"index": index, "delta": {"tool_calls": [head]}, "logprobs": None})
            for piece in _split(draw, call["function"]["arguments"]):
                frag: dict[str, Any] = {"index": position, "function": {"arguments": piece}}
                if draw(st.booleans()):
                    frag["id"] = call["id"]  # TGI and LiteLLM repeat the id on every fragment
                parts.append({"index": index, "delta": {"tool_calls": [frag]}, "logprobs": None})
        lp = choice["logprobs"]
        last: dict[str, Any] = {"index": index, "delta": {}, "logprobs": None}
        if lp is not None:
            last["logprobs"] = {"content": entries, "refusal": lp["refusal"]}
        parts.append(last)
        parts.append({"index": index, "delta": {}, "finish_reason": choice["finish_reason"]})
        queues.append(parts)

    # Interleave the choices' queues in a random order that keeps each queue's own order; now
    # and then put the next pieces of two choices (or two tool-call fragments) in one chunk.
    envelope = {
        "id": completion["id"],
        "object": "chat.completion.chunk",
        "created": completion["created"],
        "model": completion["model"],
        "service_tier": completion["service_tier"],
        "system_fingerprint": completion["system_fingerprint"],
    }
    chunks: list[dict[str, Any]] = []
    while any(queues):
        live = [q for q in queues if q]
        q = draw(st.sampled_from(live))
        choice_part = q.pop(0)
        calls = choice_part["delta"].get("tool_calls")
        if calls and q and q[0]["delta"].get("tool_calls") and draw(st.booleans()):
            # two tool-call fragments of the same choice in one delta
            calls.extend(q.pop(0)["delta"]["tool_calls"])
        group = [choice_part]
        others = [o for o in live if o is not q and o]
        if len(others) > 0 and draw(st.booleans()):
            group.append(draw(st.sampled_from(others)).pop(0))
        chunks.append({**envelope, "choices": group})
    if completion["usage"] is not None:
        chunks.append({**envelope, "choices": [], "usage": completion["usage"]})
    return completion, chunks


@settings(deadline=None, max_examples=300)
@given(streams())
def test_any_split_folds_back_to_the_completion(case: tuple[dict[str, Any], list[Any]]) -> None:
    """Any completion, split into chunks any way and interleaved, folds back to exactly it."""
    expected, chunks = case
    folded = streamfold.accumulate(chunks)
    assert streamfold.to_dict(folded) == expected
    assert folded == streamfold.from_dict(streamfold.ChatCompletion, expected)


@settings(deadline=None, max_examples=100)
@given(streams())
def test_json_text_and_dicts_fold_alike(case: tuple[dict[str, Any], list[Any]]) -> None:
    """The JSON text of each chunk folds to the same completion as the parsed chunk."""
    _, chunks = case
    as_text = [json.dumps(c, ensure_ascii=False) for c in chunks]
    as_bytes = [t.encode() for t in as_text]
    folded = streamfold.accumulate(chunks)
    assert streamfold.accumulate(as_text) == folded
    assert streamfold.accumulate(as_bytes) == folded


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "choices",
                    "index",
                    "delta",
                    "content",
                    "tool_calls",
                    "function",
                    "arguments",
                    "name",
                    "logprobs",
                    "token",
                    "logprob",
                    "top_logprobs",
                    "bytes",
                    "usage",
                    "prompt_tokens",
                    "finish_reason",
                    "role",
                    "error",
                    "object",
                    "x",
                    "refusal",
                    "audio",
                    "data",
                    "created",
                    "model",
                    "prompt_tokens_details",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=25,
)


@settings(deadline=None, max_examples=500)
@given(st.lists(json_values, min_size=1, max_size=5))
def test_any_json_value_folds_or_raises_streamfold_errors(values: list[Any]) -> None:
    """Any JSON value given as a chunk either folds or raises a StreamfoldError, nothing else."""
    acc = streamfold.Accumulator()
    bad: streamfold.InvalidChunkError | None
    for value in values:
        try:
            acc.add(value)
        except streamfold.InvalidChunkError as exc:
            bad = exc
        except streamfold.StreamError:
            break
        else:
            bad = None
        if bad is not None:
            assert bad.position is not None
            assert bad.completion is not None
        # the JSON text of the same value is accepted or refused the same way
        with contextlib.suppress(streamfold.InvalidChunkError, streamfold.StreamError):
            streamfold.Accumulator().add(json.dumps(value))
    snapshot = acc.snapshot()
    streamfold.to_json(snapshot)  # whatever folded can be written out


@settings(deadline=None, max_examples=150)
@given(streams(), st.integers(min_value=1, max_value=9), st.integers(min_value=0, max_value=99))
def test_to_chunks_of_any_completion_folds_back(
    case: tuple[dict[str, Any], list[Any]], piece_size: int, seed: int
) -> None:
    """The way back: to_chunks of any completion, at any piece size and seed, folds to it."""
    expected, _ = case
    chunks = list(streamfold.to_chunks(expected, piece_size=piece_size, seed=seed))
    assert streamfold.to_dict(streamfold.accumulate(chunks)) == expected
    body = b"".join(streamfold.to_sse(chunks))
    assert streamfold.to_dict(streamfold.from_sse(body)) == expected


FINISHES = st.sampled_from([None, None, "stop", "tool_calls", "length"])


@settings(deadline=None, max_examples=200)
@given(streams(), st.data())
def test_done_events_carry_the_completions_final_state(
    case: tuple[dict[str, Any], list[Any]], data: st.DataObject
) -> None:
    """For any stream, finish_reason on any chunks: the done events equal the completion's."""
    _, chunks = case
    for part in chunks:  # proxies repeat finish_reason anywhere, from the first chunk on
        for choice in part["choices"]:
            finish = data.draw(FINISHES)
            if finish is not None:
                choice["finish_reason"] = finish
    acc = streamfold.Accumulator()
    events = [e for part in chunks for e in acc.add_events(part)] + acc.end_events()
    completion = streamfold.accumulate(chunks)
    assert isinstance(completion, streamfold.ChatCompletion)
    for choice in completion.choices:
        mine = [e for e in events if getattr(e, "choice_index", None) == choice.index]
        calls = choice.message.tool_calls or ()
        done = [e for e in mine if isinstance(e, streamfold.ToolCallDone)]
        assert sorted((e.index, e.id, e.arguments) for e in done) == [
            (i, c.id, c.function.arguments) for i, c in enumerate(calls)
        ]
        assert [e.content for e in mine if isinstance(e, streamfold.ContentDone)] == (
            [choice.message.content] if choice.message.content else []
        )
        finished = [e.finish_reason for e in mine if isinstance(e, streamfold.ChoiceFinished)]
        assert finished == ([choice.finish_reason] if choice.finish_reason else [])
        # nothing of the choice is reported after it finished
        if finished:
            assert isinstance(mine[-1], streamfold.ChoiceFinished)

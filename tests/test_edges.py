"""Issue 11, the core's edges: empty lists that change nothing, bodies with no event, chunks of
other APIs, misused inputs, field-rule validation and OpenAI's padding.

The OpenRouter streams below are written by hand in the shape OpenRouter sends them (Claude Sonnet
4.5 with a signed reasoning item, GLM-4.6 with a tool call, MiniMax M2): items first, then trailing
deltas with ``"reasoning_details": []``. The expected values are written by hand too.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import streamfold
from provider_streams import Chunk, Fold, calls, chat, msg, plain

# ---------------------------------------------------------------------------------------------
# OpenRouter streams: reasoning items, then `reasoning_details: []` on every later delta

OR_CREATED = 1764853012
SONNET_SIG = "EqQBCkgIChABGAIiQNq1qL0c8jvKx3ZpW2uR9sT4yB6nM0aD5fH7gJ1kE3oP8iU2wQ9rV6tY4xZ1cN5bA"


def _or_chunk(
    delta: dict[str, Any],
    *,
    gen: str,
    model: str,
    provider: str,
    finish: str | None = None,
    native: str | None = None,
    usage: dict[str, Any] | None = None,
) -> Chunk:
    chunk: Chunk = {
        "id": gen,
        "provider": provider,
        "model": model,
        "object": "chat.completion.chunk",
        "created": OR_CREATED,
        "choices": [
            {
                "index": 0,
                "delta": delta,
                "finish_reason": finish,
                "native_finish_reason": native,
                "logprobs": None,
            }
        ],
    }
    if usage is not None:
        chunk["usage"] = usage
    return chunk


def _usage(prompt: int, completion: int, reasoning: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "cost": 0.0012,
        "is_byok": False,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning, "image_tokens": 0},
    }


def _sonnet_stream() -> list[Chunk]:
    """anthropic/claude-sonnet-4.5: thinking text, then its signature, then the answer."""

    def chunk(delta: dict[str, Any], **kw: Any) -> Chunk:
        return _or_chunk(
            {"role": "assistant", "content": "", **delta},
            gen="gen-1764853012-sQ4vHn8cXw2LrT7pKm3B",
            model="anthropic/claude-sonnet-4.5",
            provider="Google",
            **kw,
        )

    def item(text: str, signature: str | None) -> dict[str, Any]:
        return {
            "type": "reasoning.text",
            "text": text,
            "signature": signature,
            "format": "anthropic-claude-v1",
            "index": 0,
        }

    return [
        chunk({"reasoning": "The user asks", "reasoning_details": [item("The user asks", None)]}),
        chunk(
            {
                "reasoning": " for 17 * 23.",
                "reasoning_details": [item(" for 17 * 23.", None)],
            }
        ),
        chunk({"reasoning": "", "reasoning_details": [item("", SONNET_SIG)]}),
        chunk({"content": "17 * 23", "reasoning_details": []}),
        chunk({"content": " = 391.", "reasoning_details": []}),
        chunk({"reasoning_details": []}, finish="stop", native="end_turn"),
        chunk(
            {"reasoning_details": []}, finish="stop", native="end_turn", usage=_usage(31, 58, 40)
        ),
    ]


SONNET_DETAILS = [
    {
        "type": "reasoning.text",
        "text": "The user asks for 17 * 23.",
        "signature": SONNET_SIG,
        "format": "anthropic-claude-v1",
        "index": 0,
    }
]


def _glm_stream() -> list[Chunk]:
    """z-ai/glm-4.6: reasoning, then a tool call whose chunks carry `reasoning_details: []`."""

    def chunk(delta: dict[str, Any], **kw: Any) -> Chunk:
        return _or_chunk(
            {"role": "assistant", "content": "", **delta},
            gen="gen-1764853101-Gk2mZp7QwRt9YvLx4HcD",
            model="z-ai/glm-4.6",
            provider="Z.AI",
            **kw,
        )

    def item(text: str) -> dict[str, Any]:
        return {"type": "reasoning.text", "text": text, "format": "unknown", "index": 0}

    call_start = {
        "index": 0,
        "id": "call_3f9a1c7e2b5d4e8f",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    return [
        chunk({"reasoning": "Need the", "reasoning_details": [item("Need the")]}),
        chunk({"reasoning": " weather tool.", "reasoning_details": [item(" weather tool.")]}),
        chunk({"tool_calls": [call_start], "reasoning_details": []}),
        chunk(
            {
                "tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}],
                "reasoning_details": [],
            }
        ),
        chunk(
            {
                "tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}],
                "reasoning_details": [],
            }
        ),
        chunk({"reasoning_details": []}, finish="tool_calls", native="tool_calls"),
        chunk({"reasoning_details": []}, usage=_usage(210, 35, 12)),
    ]


GLM_DETAILS = [
    {"type": "reasoning.text", "text": "Need the weather tool.", "format": "unknown", "index": 0}
]


def _minimax_stream() -> list[Chunk]:
    """minimax/minimax-m2: reasoning items on the first deltas, `[]` on the answer's."""

    def chunk(delta: dict[str, Any], **kw: Any) -> Chunk:
        return _or_chunk(
            {"role": "assistant", "content": "", **delta},
            gen="gen-1764853188-Mx8bQ2nVt5KzWp1RjL6F",
            model="minimax/minimax-m2",
            provider="Minimax",
            **kw,
        )

    def item(text: str) -> dict[str, Any]:
        return {
            "type": "reasoning.text",
            "text": text,
            "format": "MiniMax-response-v1",
            "index": 0,
        }

    return [
        chunk({"reasoning": "Greet", "reasoning_details": [item("Greet")]}),
        chunk({"reasoning": " briefly.", "reasoning_details": [item(" briefly.")]}),
        *(chunk({"content": word, "reasoning_details": []}) for word in ["Hello", "!", " Hi."]),
        chunk({"reasoning_details": []}, finish="stop", native="stop", usage=_usage(12, 20, 9)),
    ]


MINIMAX_DETAILS = [
    {
        "type": "reasoning.text",
        "text": "Greet briefly.",
        "format": "MiniMax-response-v1",
        "index": 0,
    }
]

STREAMS = {
    "sonnet-4.5": (_sonnet_stream, SONNET_DETAILS),
    "glm-4.6": (_glm_stream, GLM_DETAILS),
    "minimax-m2": (_minimax_stream, MINIMAX_DETAILS),
}


def _sse(chunks: list[Chunk]) -> bytes:
    lines = [b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks]
    return b"".join(lines) + b"data: [DONE]\n\n"


def _long(chunks: list[Chunk]) -> list[Chunk]:
    """The stream with its first answer delta repeated, so that SSE templates are learned."""
    at = next(
        i
        for i, c in enumerate(chunks)
        if c["choices"][0]["delta"].get("reasoning_details") == []
        and (c["choices"][0]["delta"].get("content") or c["choices"][0]["delta"].get("tool_calls"))
    )
    return [*chunks[: at + 1], *[chunks[at]] * 40, *chunks[at + 1 :]]


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_empty_reasoning_details_after_items_change_nothing(fold: Fold, name: str) -> None:
    """Trailing `reasoning_details: []` deltas keep the merged items (every adapter)."""
    make, expected = STREAMS[name]
    message = msg(fold(make()))
    assert message.extra["reasoning_details"] == expected
    assert plain(chat(fold(make())))["choices"][0]["message"]["reasoning_details"] == expected


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_empty_reasoning_details_on_the_sse_fast_path(name: str) -> None:
    """from_sse, templates learned on the `[]` deltas, keeps the items; equals accumulate."""
    make, expected = STREAMS[name]
    for chunks in (make(), _long(make())):
        folded = streamfold.from_sse(_sse(chunks))
        assert msg(folded).extra["reasoning_details"] == expected
        assert folded == streamfold.accumulate(chunks)


def test_glm_tool_call_survives_empty_reasoning_details() -> None:
    """GLM-4.6's tool call is folded whole beside its reasoning items."""
    (call,) = calls(streamfold.accumulate(_glm_stream()))
    assert call.id == "call_3f9a1c7e2b5d4e8f"
    assert call.function.arguments == '{"city": "Oslo"}'


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_empty_reasoning_details_in_partial_merges(name: str) -> None:
    """Cut anywhere, a segment of only `[]` deltas merged after the items changes nothing."""
    make, expected = STREAMS[name]
    chunks = make()
    whole = streamfold.accumulate(chunks)
    for cut in range(1, len(chunks)):
        first = streamfold.PartialFold.fold(chunks[:cut], start=0)
        second = streamfold.PartialFold.fold(chunks[cut:], start=cut)
        merged = first.merge(second).completion()
        assert msg(merged).extra["reasoning_details"] == expected, cut
        assert merged == whole


def _chunk(delta: dict[str, Any], **top: Any) -> Chunk:
    choice = {"index": 0, "delta": delta, **top.pop("choice", {})}
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [choice],
        **top,
    }


def test_any_empty_list_extra_changes_nothing_at_every_level(fold: Fold) -> None:
    """Chunk, choice and delta lists of any unknown name: a later `[]` keeps what arrived."""
    cite = ["https://example.org/a"]
    chunks = [
        _chunk(
            {"role": "assistant", "content": "a", "x_items": [{"index": 0, "text": "t"}]},
            citations=cite,
            choice={"x_marks": [1, 2]},
        ),
        _chunk({"content": "b", "x_items": []}, citations=[], choice={"x_marks": []}),
        _chunk({"x_items": ()}, citations=(), choice={"x_marks": (), "finish_reason": "stop"}),
    ]
    completion = chat(fold(chunks))
    assert completion.extra["citations"] == cite
    assert completion.choices[0].extra["x_marks"] == [1, 2]
    assert completion.choices[0].message.extra["x_items"] == [{"index": 0, "text": "t"}]
    for cut in range(1, 3):
        merged = streamfold.merge_partials(
            [
                streamfold.PartialFold.fold(chunks[:cut], start=0),
                streamfold.PartialFold.fold(chunks[cut:], start=cut),
            ]
        ).completion()
        assert merged == completion


def test_an_empty_list_alone_is_kept_and_later_items_replace_it(fold: Fold) -> None:
    """`[]` with nothing before it is kept as sent; items after it fold as usual."""
    only = [_chunk({"content": "a", "reasoning_details": []})]
    assert msg(fold(only)).extra == {"reasoning_details": []}
    item = {"type": "reasoning.text", "text": "x", "index": 0}
    later = [*only, _chunk({"reasoning_details": [item]})]
    assert msg(fold(later)).extra == {"reasoning_details": [item]}


# ---------------------------------------------------------------------------------------------
# field_rules are checked


@pytest.mark.parametrize(
    ("rules", "words"),
    [
        ({"x": "sum"}, ["'x'", "unknown rule 'sum'", "'concat'"]),
        ({"x": None}, ["'x'", "unknown rule None"]),
        ({"content": "first"}, ["'content'", "folds by its own rule"]),
        ({"tool_calls": "extend"}, ["'tool_calls'"]),
        ({"finish_reason": "first"}, ["'finish_reason'"]),
        ({"arguments": "last"}, ["'arguments'"]),
        ({"usage": "first"}, ["'usage'"]),
        ({"obfuscation": "concat"}, ["keep_obfuscation=True"]),
        ([("x", "last")], ["must map field names"]),
        ({1: "last"}, ["field names are strings"]),
    ],
)
def test_field_rules_are_checked_on_every_path(rules: Any, words: list[str]) -> None:
    """Unknown rule names and fields the fold reads itself raise UsageError, on every path."""
    chunks = [_chunk({"content": "a", "x": "b"})]
    calls_: list[Any] = [
        lambda: streamfold.Accumulator(field_rules=rules),
        lambda: streamfold.accumulate(chunks, field_rules=rules),
        lambda: streamfold.wrap(chunks, field_rules=rules),
        lambda: streamfold.from_sse(_sse(chunks), field_rules=rules),
        lambda: streamfold.PartialFold.fold(chunks, start=0, field_rules=rules),
    ]
    for call in calls_:
        with pytest.raises(streamfold.UsageError) as caught:
            call()
        for word in words:
            assert word in str(caught.value)


def test_valid_field_rules_still_fold() -> None:
    """A rule for a field the fold does not name still applies; the padding's with keep."""
    chunks = [_chunk({"content": "a", "x": "b"}), _chunk({"x": "c"})]
    assert msg(streamfold.accumulate(chunks, field_rules={"x": "first"})).extra == {"x": "b"}
    padded = [{**c, "obfuscation": p} for c, p in zip(chunks, ["Q1", "r2"], strict=True)]
    kept = streamfold.accumulate(
        padded, field_rules={"obfuscation": "concat"}, keep_obfuscation=True
    )
    assert chat(kept).extra == {"obfuscation": "Q1r2"}


# ---------------------------------------------------------------------------------------------
# OpenAI's padding is not part of the completion


def _openai_stream() -> list[Chunk]:
    """gpt-4o-mini with stream_options.include_usage: `obfuscation` on every chunk."""
    env = {
        "id": "chatcmpl-CJ8s2bQ0yZxW4vT7uR5pN3mL1kJ9h",
        "object": "chat.completion.chunk",
        "created": 1764853230,
        "model": "gpt-4o-mini-2024-07-18",
        "service_tier": "default",
        "system_fingerprint": "fp_51db84afab",
    }

    def chunk(delta: dict[str, Any] | None, pad: str, finish: str | None = None) -> Chunk:
        choices = (
            []
            if delta is None
            else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        )
        return {**env, "choices": choices, "usage": None, "obfuscation": pad}

    words = [chunk({"content": f" word{i}"}, f"pX{i}q") for i in range(30)]
    last = chunk(None, "9y")
    last["usage"] = {"prompt_tokens": 9, "completion_tokens": 31, "total_tokens": 40}
    return [
        chunk({"role": "assistant", "content": "", "refusal": None}, "Zk3aB"),
        *words,
        chunk({}, "m2", "stop"),
        last,
    ]


def test_obfuscation_is_dropped_by_default(fold: Fold) -> None:
    """The folded completion has no `obfuscation` (every adapter); to_dict is the API's shape."""
    completion = chat(fold(_openai_stream()))
    assert completion.extra == {}
    data = plain(completion)
    assert "obfuscation" not in data
    assert set(data) == {
        "id",
        "object",
        "created",
        "model",
        "choices",
        "usage",
        "service_tier",
        "system_fingerprint",
    }


def test_obfuscation_is_kept_on_request(fold: Fold) -> None:
    """keep_obfuscation=True keeps the latest padding, as before (every adapter)."""
    completion = chat(fold(_openai_stream(), keep_obfuscation=True))
    assert completion.extra == {"obfuscation": "9y"}


def test_obfuscation_on_the_sse_fast_path_and_partial_folds() -> None:
    """from_sse (templates hit) and partial merges drop it by default and keep it on request."""
    chunks = _openai_stream()
    body = _sse(chunks)
    dropped = streamfold.from_sse(body)
    assert chat(dropped).extra == {}
    assert dropped == streamfold.accumulate(chunks)
    kept = streamfold.from_sse(body, keep_obfuscation=True)
    assert chat(kept).extra == {"obfuscation": "9y"}
    assert kept == streamfold.accumulate(chunks, keep_obfuscation=True)
    for keep, extra in ((False, {}), (True, {"obfuscation": "9y"})):
        parts = [
            streamfold.PartialFold.fold(chunks[:10], start=0, keep_obfuscation=keep),
            streamfold.PartialFold.fold(chunks[10:], start=10, keep_obfuscation=keep),
        ]
        assert chat(streamfold.merge_partials(parts).completion()).extra == extra
        assert chat(parts[1].completion()).extra == extra


def test_obfuscation_with_a_moderation_chunk_is_dropped_too() -> None:
    """The general unknown-key path (a moderation chunk beside the padding) drops it as well."""
    moderation = {"input": {"flagged": False}, "output": {"flagged": False}}
    chunks = [*_openai_stream(), {**_openai_stream()[-1], "moderation": moderation}]
    assert chat(streamfold.accumulate(chunks)).extra == {"moderation": moderation}


# ---------------------------------------------------------------------------------------------
# from_sse on a body with no `data:` event at all


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"<html>502 Bad Gateway</html>", ["502 Bad Gateway", "HTML", "not an SSE stream"]),
        (b"", ["the body is empty"]),
        (b"\r\n  \n", ["the body is empty"]),
        (b'{"id": "chatcmpl-1", "object": "chat.completion", "choices": []}', ["stream=True"]),
        (b'{"choices": [{"delta": {}}]}\n{"choices": []}\n', ["JSON lines", "read_log"]),
        (b": keep-alive\n\n: keep-alive\n\n", ["no 'data:' event"]),
    ],
)
def test_a_body_with_no_data_event_is_refused(body: bytes, words: list[str]) -> None:
    """No `data:` event: InvalidChunkError saying what the body is (bytes, str, in pieces)."""
    for source in (body, body.decode(), [body[:5], body[5:]]):
        with pytest.raises(streamfold.InvalidChunkError) as caught:
            streamfold.from_sse(source)
        for word in words:
            assert word in str(caught.value)
        assert isinstance(caught.value, streamfold.InvalidLineError)
        assert caught.value.completion == streamfold.accumulate([])


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"error": {"message": "Invalid API key"}}', {"message": "Invalid API key"}),
        (
            b'{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit"}}\n',
            {"message": "Rate limit reached", "type": "requests", "code": "rate_limit"},
        ),
        (
            b'{"object": "error", "message": "model not found", "code": 404}',
            {"object": "error", "message": "model not found", "code": 404},
        ),
    ],
)
def test_a_json_error_body_raises_stream_error(body: bytes, error: dict[str, Any]) -> None:
    """A 4xx JSON error body raises StreamError whose `.error` is the payload."""
    with pytest.raises(streamfold.StreamError) as caught:
        streamfold.from_sse(body)
    assert caught.value.error == error
    assert str(error["message"]) in str(caught.value)


@pytest.mark.anyio
async def test_afrom_sse_refuses_a_body_with_no_event_too() -> None:
    """afrom_sse: the same errors as from_sse (asyncio and trio)."""

    async def pieces(body: bytes) -> Any:
        yield body

    with pytest.raises(streamfold.InvalidChunkError, match="HTML"):
        await streamfold.afrom_sse(pieces(b"<html>502 Bad Gateway</html>"))
    with pytest.raises(streamfold.StreamError, match="Invalid API key"):
        await streamfold.afrom_sse(pieces(b'{"error": {"message": "Invalid API key"}}'))


def test_a_str_that_looks_like_a_path_gets_a_hint(tmp_path: Any) -> None:
    """A str that is a file name: the error says to pass a Path or an open file (or read_log)."""
    capture = tmp_path / "capture.sse"
    capture.write_bytes(_sse(_sonnet_stream()))
    for name in ("/path/capture.sse", str(capture), "capture.sse", "logs\\\\run.jsonl"):
        with pytest.raises(streamfold.InvalidChunkError) as caught:
            streamfold.from_sse(name)
        message = str(caught.value)
        assert "pathlib.Path" in message, name
        assert "read_log" in message, name
    assert streamfold.from_sse(capture) == streamfold.accumulate(_sonnet_stream())


def test_a_file_with_no_event_is_named_in_the_error(tmp_path: Any) -> None:
    """A captured error page read from a path: the message starts with the file's name."""
    page = tmp_path / "cut.sse"
    page.write_bytes(b"<html><body><h1>504 Gateway Time-out</h1></body></html>\n")
    with pytest.raises(streamfold.InvalidLineError) as caught:
        streamfold.from_sse(page)
    assert str(caught.value).startswith(f"{page}: ")
    assert caught.value.source == str(page)


def test_bodies_with_an_event_still_fold() -> None:
    """`data: [DONE]` alone, or a named event of another API, keep their behaviour."""
    assert streamfold.from_sse(b"data: [DONE]\n\n") == streamfold.accumulate([])
    with pytest.raises(streamfold.InvalidChunkError, match="another API"):
        streamfold.from_sse(b"event: response.created\ndata: {}\n\n")


# ---------------------------------------------------------------------------------------------
# chunks of other streaming APIs: refused, naming the API, until those dialects are folded

RESPONSES_EVENTS: list[Chunk] = [
    {
        "type": "response.created",
        "sequence_number": 0,
        "response": {
            "id": "resp_67ccd2bed1ec8190",
            "object": "response",
            "created_at": 1741476542,
            "status": "in_progress",
            "model": "gpt-4.1-2025-04-14",
            "output": [],
            "usage": None,
        },
    },
    {
        "type": "response.output_item.added",
        "sequence_number": 1,
        "output_index": 0,
        "item": {
            "id": "msg_67ccd2bf17f0",
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        },
    },
    {
        "type": "response.content_part.added",
        "sequence_number": 2,
        "item_id": "msg_67ccd2bf17f0",
        "output_index": 0,
        "content_index": 0,
        "part": {"type": "output_text", "text": "", "annotations": []},
    },
    {
        "type": "response.output_text.delta",
        "sequence_number": 3,
        "item_id": "msg_67ccd2bf17f0",
        "output_index": 0,
        "content_index": 0,
        "delta": "Hi",
    },
]

ANTHROPIC_EVENTS: list[Chunk] = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": "claude-sonnet-4-5",
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 25, "output_tokens": 1},
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
    {"type": "content_block_stop", "index": 0},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 15},
    },
    {"type": "message_stop"},
]

_HELLO: list[Chunk] = [
    {
        "id": "chatcmpl-9x",
        "object": "chat.completion.chunk",
        "created": 1764853012,
        "model": "gpt-4.1",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hello"}}],
    },
    {
        "id": "chatcmpl-9x",
        "object": "chat.completion.chunk",
        "created": 1764853012,
        "model": "gpt-4.1",
        "choices": [{"index": 0, "delta": {"content": ", Ada"}, "finish_reason": "stop"}],
    },
]


@pytest.mark.parametrize(
    ("events", "api"),
    [(RESPONSES_EVENTS, "OpenAI Responses API"), (ANTHROPIC_EVENTS, "Anthropic's Messages API")],
    ids=["responses", "anthropic"],
)
def test_events_of_another_api_are_refused_naming_it(
    fold: Fold, events: list[Chunk], api: str
) -> None:
    """Each event of the stream is refused at its own position, naming the API and `type`."""
    for position, event in enumerate(events):
        with pytest.raises(streamfold.InvalidChunkError) as caught:
            fold([*_HELLO, event])
        err = caught.value
        assert api in str(err), event
        assert repr(event["type"]) in str(err)
        assert err.path == "type"
        assert err.position == len(_HELLO)
        # what arrived before is kept, and the refused event was not applied
        assert err.completion == streamfold.accumulate(_HELLO), position
        assert isinstance(err.completion, streamfold.ChatCompletion)
        assert err.completion.extra == {}


def test_other_api_events_fold_through_from_sse_and_read_log() -> None:
    """SSE bodies (with or without `event:` lines) and JSON-lines logs of those APIs fold into
    that API's object, the one accumulate() makes of the events."""
    for events in (RESPONSES_EVENTS, ANTHROPIC_EVENTS):
        folded = streamfold.accumulate(events)
        assert isinstance(folded, (streamfold.Response, streamfold.AnthropicMessage))
        bare = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
        assert streamfold.from_sse(bare) == folded
        named = b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)
        assert streamfold.from_sse(named) == folded
        results = list(streamfold.read_log("".join(json.dumps(e) + "\n" for e in events)))
        assert [r.completion for r in results] == [folded]
        assert results[0].ok


def test_error_events_of_other_apis_are_stream_errors(fold: Fold) -> None:
    """Anthropic's `error` event and the Responses API's flat one are server errors."""
    anthropic_error = {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }
    responses_error = {
        "type": "error",
        "code": "server_error",
        "message": "The server had an error while processing your request.",
        "param": None,
        "sequence_number": 4,
    }
    for event, message in ((anthropic_error, "Overloaded"), (responses_error, "server had")):
        with pytest.raises(streamfold.StreamError, match=message) as caught:
            fold([*_HELLO, event])
        assert caught.value.position == len(_HELLO)
        assert msg(caught.value.completion).content == "Hello, Ada"
    # alone, the Responses API's error event starts a Responses stream: its core reports the
    # error's fields (the event's own type and number aside) and what it folded, a Response
    with pytest.raises(streamfold.StreamError) as caught:
        fold([responses_error])
    assert caught.value.error == {
        k: v for k, v in responses_error.items() if k not in ("type", "sequence_number")
    }
    assert isinstance(caught.value.completion, streamfold.Response)


def test_a_chunk_with_a_type_and_choices_still_folds(fold: Fold) -> None:
    """Only a `type` with no `choices` is another API's event: a proxy's label stays an extra."""
    labelled = [{**chunk, "type": "chat.completion.chunk"} for chunk in _HELLO]
    folded = fold(labelled)
    assert msg(folded).content == "Hello, Ada"
    assert folded.extra == {"type": "chat.completion.chunk"}


# ---------------------------------------------------------------------------------------------
# misused inputs: one chunk, one body, SSE lines


def test_one_chunk_instead_of_an_iterable_gets_a_hint() -> None:
    """accumulate(chunk) iterated the dict's keys; it now says to pass an iterable of chunks."""
    import openai.types.chat as oc

    sdk_chunk = oc.ChatCompletionChunk.model_validate(_HELLO[0])
    for call in (streamfold.accumulate, streamfold.wrap, streamfold.accumulate_text):
        for one in (_HELLO[0], sdk_chunk):
            with pytest.raises(streamfold.UsageError, match="pass an iterable of chunks"):
                call(one)
        for body in (_sse(_HELLO), _sse(_HELLO).decode()):
            with pytest.raises(streamfold.UsageError, match="from_sse"):
                call(body)


@pytest.mark.anyio
async def test_one_chunk_instead_of_an_async_iterable_gets_a_hint() -> None:
    """The async adapters give the same hints (asyncio and trio)."""
    one: Any = _HELLO[0]  # the misuse under test: not an async iterable
    body: Any = _sse(_HELLO)
    for call in (streamfold.aaccumulate, streamfold.aaccumulate_text):
        with pytest.raises(streamfold.UsageError, match="pass an iterable of chunks"):
            await call(one)
        with pytest.raises(streamfold.UsageError, match="from_sse"):
            await call(body)
    with pytest.raises(streamfold.UsageError, match="pass an iterable of chunks"):
        streamfold.awrap(one)


def test_a_whole_sse_body_as_one_chunk_gets_a_hint(fold: Fold) -> None:
    """accumulate([body]): the JSON error says the text is a body of events, for from_sse."""
    for body in (_sse(_HELLO), _sse(_HELLO).decode(), b"event: x\ndata: {}\n\n"):
        with pytest.raises(streamfold.InvalidChunkError, match=r"use streamfold\.from_sse") as c:
            fold([body])
        assert c.value.position == 0
    with pytest.raises(streamfold.InvalidChunkError) as caught:
        fold(["not json"])
    assert "from_sse" not in str(caught.value)


def test_sse_data_lines_fold_and_done_is_skipped(fold: Fold) -> None:
    """`data: {...}` lines (str or bytes, as a log keeps them) fold; `data: [DONE]` is skipped."""
    expected = streamfold.accumulate(_HELLO)
    as_str = [f"data: {json.dumps(c)}" for c in _HELLO] + ["data: [DONE]"]
    as_bytes = [f"data:{json.dumps(c)}\n".encode() for c in _HELLO] + [b"data: [DONE]\n"]
    mixed: list[Any] = [as_str[0], bytearray(as_bytes[1]), memoryview(b"  data: [DONE]  ")]
    for chunks in (as_str, as_bytes, mixed):
        assert fold(chunks) == expected
    acc = streamfold.Accumulator()
    for line in as_str:
        acc.add(line)
    assert acc.chunks == len(_HELLO)  # the end marker is not a chunk
    with pytest.raises(streamfold.InvalidChunkError, match="invalid JSON"):
        fold(["data: {cut"])

"""The typed model and its converter: lossless round trips, JSON, and conversion errors."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

import streamfold
from streamfold import (
    Annotation,
    ChatCompletion,
    ChatCompletionAudio,
    ChatCompletionChunk,
    ChatCompletionMessage,
    Choice,
    ChoiceDelta,
    ChoiceDeltaAudio,
    ChoiceDeltaFunctionCall,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
    ChoiceLogprobs,
    ChunkChoice,
    CompletionTokensDetails,
    CompletionUsage,
    FunctionCall,
    InvalidChunkError,
    PromptTokensDetails,
    TextChoice,
    TextChunkChoice,
    TextCompletion,
    TextCompletionChunk,
    TextLogprobs,
    TokenLogprob,
    TokenLogprobs,
    ToolCall,
    TopLogprob,
)

TOP = TopLogprob(token="é", logprob=-0.75, bytes=(195, 169), extra={"x_top": [1, {"a": None}]})
TOKEN = TokenLogprob(
    token="café",
    logprob=-0.125,
    bytes=(99, 97, 102, 195, 169),
    top_logprobs=(TOP, TopLogprob(token="cafe", logprob=-2.5)),
    extra={"x_token": "t"},
)
LOGPROBS = ChoiceLogprobs(
    content=TokenLogprobs([TOKEN]),
    refusal=TokenLogprobs([TokenLogprob(token="No", logprob=-0.01, bytes=(78, 111))]),
    extra={"x_logprobs": {"k": 1}},
)
PROMPT_DETAILS = PromptTokensDetails(
    audio_tokens=3, cached_tokens=1024, extra={"cache_write_tokens": 7}
)
COMPLETION_DETAILS = CompletionTokensDetails(
    accepted_prediction_tokens=1,
    audio_tokens=2,
    reasoning_tokens=64,
    rejected_prediction_tokens=4,
    extra={"text_tokens": 5},
)
USAGE = CompletionUsage(
    prompt_tokens=1200,
    completion_tokens=150,
    total_tokens=1350,
    prompt_tokens_details=PROMPT_DETAILS,
    completion_tokens_details=COMPLETION_DETAILS,
    extra={"cost": 0.00125},
)
DELTA_FUNCTION = ChoiceDeltaToolCallFunction(
    name="get_weather", arguments='{"city": "Zü', extra={"x_fn": True}
)
DELTA_CALL = ChoiceDeltaToolCall(
    index=2, id="call_X", type="function", function=DELTA_FUNCTION, extra={"x_call": 1}
)
DELTA_FUNCTION_CALL = ChoiceDeltaFunctionCall(name="legacy", arguments="{", extra={"x": "y"})
DELTA_AUDIO = ChoiceDeltaAudio(
    id="audio_1", data="UklGRg==", transcript="Hi", expires_at=1729018505, extra={"format": "wav"}
)
DELTA = ChoiceDelta(
    role="assistant",
    content="Bonjour 👋",
    refusal="",
    tool_calls=(DELTA_CALL,),
    function_call=DELTA_FUNCTION_CALL,
    audio=DELTA_AUDIO,
    extra={"reasoning_content": "hmm"},
)
CHUNK_CHOICE = ChunkChoice(
    index=1, delta=DELTA, logprobs=LOGPROBS, finish_reason="stop", extra={"native": "end"}
)
CHUNK = ChatCompletionChunk(
    id="chatcmpl-1",
    created=1741569952,
    model="gpt-4o",
    service_tier="default",
    system_fingerprint="fp_1",
    choices=(CHUNK_CHOICE,),
    usage=USAGE,
    extra={"provider": "OpenAI", "obfuscation": "abc"},
)
FUNCTION = FunctionCall(name="get_weather", arguments='{"city":"Zürich"}', extra={"x_fn": 0})
TOOL_CALL = ToolCall(id="call_X", type="function", function=FUNCTION, extra={"x_call": [1]})
AUDIO = ChatCompletionAudio(
    id="audio_1", data="UklGRg==", expires_at=1729018505, transcript="Hi", extra={"x": 1}
)
ANNOTATION = Annotation(
    type="url_citation",
    extra={"url_citation": {"url": "https://example.com", "start_index": 0, "end_index": 5}},
)
MESSAGE = ChatCompletionMessage(
    role="assistant",
    content="Voilà",
    refusal=None,
    annotations=(ANNOTATION,),
    tool_calls=(TOOL_CALL,),
    function_call=FUNCTION,
    audio=AUDIO,
    extra={"reasoning_content": "because"},
)
CHOICE = Choice(
    index=0, message=MESSAGE, logprobs=LOGPROBS, finish_reason="tool_calls", extra={"n": 1}
)
COMPLETION = ChatCompletion(
    id="chatcmpl-1",
    created=1741569952,
    model="gpt-4o",
    choices=(CHOICE,),
    usage=USAGE,
    service_tier="default",
    system_fingerprint="fp_1",
    extra={"provider": "OpenAI"},
)
TEXT_LOGPROBS = TextLogprobs(
    tokens=("Hel", "lo"),
    token_logprobs=(-0.5, None),
    top_logprobs=({"Hel": -0.5, "Hi": -1.5}, None),
    text_offset=(0, 3),
    extra={"x": "y"},
)
TEXT_CHUNK_CHOICE = TextChunkChoice(
    index=0, text="Hel", logprobs=TEXT_LOGPROBS, finish_reason=None, extra={"k": "v"}
)
TEXT_CHUNK = TextCompletionChunk(
    id="cmpl-1",
    created=1700000000,
    model="gpt-3.5-turbo-instruct",
    system_fingerprint="fp_t",
    choices=(TEXT_CHUNK_CHOICE,),
    usage=USAGE,
    extra={"provider": "x"},
)
TEXT_CHOICE = TextChoice(
    index=0, text="Hello", logprobs=TEXT_LOGPROBS, finish_reason="length", extra={"k": 1}
)
TEXT_COMPLETION = TextCompletion(
    id="cmpl-1",
    created=1700000000,
    model="gpt-3.5-turbo-instruct",
    choices=(TEXT_CHOICE,),
    usage=USAGE,
    system_fingerprint="fp_t",
    extra={"warning": "deprecated"},
)

RESPONSE = streamfold.Response(
    id="resp_1",
    created_at=1741476542,
    status="completed",
    model="gpt-4.1-2025-04-14",
    output=(
        {
            "type": "message",
            "id": "msg_1",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hi.", "annotations": []}],
        },
    ),
    usage={"input_tokens": 9, "output_tokens": 3, "total_tokens": 12},
    extra={"parallel_tool_calls": True, "metadata": {}},
)
ANTHROPIC_MESSAGE = streamfold.AnthropicMessage(
    id="msg_01",
    model="claude-sonnet-4-5",
    content=(
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Oslo"}},
    ),
    stop_reason="tool_use",
    usage={"input_tokens": 20, "output_tokens": 11},
    extra={"container": None},
)

EXAMPLES: list[Any] = [
    RESPONSE,
    ANTHROPIC_MESSAGE,
    streamfold.Response(),
    streamfold.AnthropicMessage(),
    TOP,
    TOKEN,
    LOGPROBS,
    PROMPT_DETAILS,
    COMPLETION_DETAILS,
    USAGE,
    DELTA_FUNCTION,
    DELTA_CALL,
    DELTA_FUNCTION_CALL,
    DELTA_AUDIO,
    DELTA,
    CHUNK_CHOICE,
    CHUNK,
    FUNCTION,
    TOOL_CALL,
    AUDIO,
    ANNOTATION,
    MESSAGE,
    CHOICE,
    COMPLETION,
    TEXT_LOGPROBS,
    TEXT_CHUNK_CHOICE,
    TEXT_CHUNK,
    TEXT_CHOICE,
    TEXT_COMPLETION,
    ChatCompletion(),
    ChatCompletionChunk(),
    ChatCompletionMessage(),
    ChoiceLogprobs(),
]
IDS = [f"{type(x).__name__}-{i}" for i, x in enumerate(EXAMPLES)]


def test_every_public_model_type_has_an_example() -> None:
    """The round-trip examples cover every attrs model class streamfold exports."""
    public = {
        getattr(streamfold, name)
        for name in streamfold.__all__
        if isinstance(getattr(streamfold, name), type)
        and attrs.has(getattr(streamfold, name))
        and getattr(streamfold, name).__module__ == "streamfold._model"
    }
    assert len(public) >= 25
    assert public <= {type(x) for x in EXAMPLES}


@pytest.mark.parametrize("obj", EXAMPLES, ids=IDS)
def test_from_dict_of_to_dict_is_the_same_object(obj: Any) -> None:
    """from_dict(type(x), to_dict(x)) == x, extras included."""
    data = streamfold.to_dict(obj)
    assert isinstance(data, dict)
    back = streamfold.from_dict(type(obj), data)
    assert back == obj
    assert back.extra == obj.extra


@pytest.mark.parametrize("obj", EXAMPLES, ids=IDS)
def test_to_dict_is_plain_json(obj: Any) -> None:
    """to_dict gives plain JSON data: the json module writes it and reads back the same."""
    data = streamfold.to_dict(obj)
    assert json.loads(json.dumps(data)) == data


@pytest.mark.parametrize("obj", EXAMPLES, ids=IDS)
def test_from_json_of_to_json_is_the_same_object(obj: Any) -> None:
    """from_json(type(x), to_json(x)) == x, from str and from bytes, compact and pretty."""
    text = streamfold.to_json(obj)
    assert isinstance(text, str)
    assert streamfold.from_json(type(obj), text) == obj
    assert streamfold.from_json(type(obj), text.encode("utf-8")) == obj
    assert streamfold.from_json(type(obj), streamfold.to_json(obj, pretty=True)) == obj


def test_token_logprobs_round_trip() -> None:
    """A TokenLogprobs sequence converts to a list of entries and back."""
    seq = TokenLogprobs([TOKEN, TokenLogprob(token="!", logprob=-3.0)])
    data = streamfold.to_dict(seq)
    assert [entry["token"] for entry in data] == ["café", "!"]
    assert streamfold.from_dict(TokenLogprobs, data) == seq


def test_to_dict_writes_extras_at_their_level() -> None:
    """Unknown keys come back out beside the named fields of the object that held them."""
    assert streamfold.to_dict(TOOL_CALL) == {
        "id": "call_X",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Zürich"}', "x_fn": 0},
        "x_call": [1],
    }
    assert streamfold.to_dict(PROMPT_DETAILS) == {
        "audio_tokens": 3,
        "cached_tokens": 1024,
        "cache_write_tokens": 7,
    }


def test_from_dict_moves_unknown_keys_into_extra() -> None:
    """from_dict keeps every key the class does not name in .extra, at its own level."""
    call = streamfold.from_dict(
        ToolCall,
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "f", "arguments": "{}", "strict": True},
            "x_meta": {"trace": "abc"},
        },
    )
    assert call.extra == {"x_meta": {"trace": "abc"}}
    assert call.function.extra == {"strict": True}
    assert call.function.name == "f"


def test_completion_json_has_the_non_streamed_shape() -> None:
    """to_json of a completion is the API's chat.completion: no index on tool calls, nulls kept."""
    completion = ChatCompletion(
        id="chatcmpl-9",
        created=1741569952,
        model="gpt-4o",
        choices=(
            Choice(
                index=0,
                message=ChatCompletionMessage(
                    content=None,
                    tool_calls=(
                        ToolCall(id="call_1", function=FunctionCall(name="f", arguments="{}")),
                    ),
                ),
                finish_reason="tool_calls",
            ),
        ),
        usage=CompletionUsage(prompt_tokens=1, completion_tokens=2, total_tokens=3),
        service_tier="default",
        system_fingerprint="fp_9",
    )
    assert json.loads(streamfold.to_json(completion)) == {
        "id": "chatcmpl-9",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "refusal": None,
                    "annotations": [],
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
        "service_tier": "default",
        "system_fingerprint": "fp_9",
    }


def test_chunk_to_dict_has_the_streamed_shape() -> None:
    """to_dict of a chunk writes object "chat.completion.chunk" and tool-call fragment indexes."""
    data = streamfold.to_dict(
        ChatCompletionChunk(
            id="chatcmpl-1",
            created=1,
            model="m",
            choices=(ChunkChoice(delta=ChoiceDelta(tool_calls=(ChoiceDeltaToolCall(index=3),))),),
        )
    )
    assert data["object"] == "chat.completion.chunk"
    assert data["choices"][0]["delta"]["tool_calls"] == [{"index": 3}]
    assert data["choices"][0]["index"] == 0


BAD_DATA: list[tuple[type, Any]] = [
    (ChatCompletion, [1, 2]),
    (ChatCompletion, "chat.completion"),
    (ChatCompletion, None),
    (ChatCompletionChunk, 5),
    (FunctionCall, {"name": "f"}),
    (ToolCall, {"id": "call_1"}),
    (TopLogprob, {"token": "a", "logprob": "not a number"}),
    (TokenLogprob, {"logprob": -1.0}),
    (ChatCompletion, {"choices": [{"index": "zero", "message": {}}]}),
    (ChatCompletion, {"choices": [{"index": 0, "message": "hello"}]}),
    (ChatCompletionChunk, {"choices": [{"delta": {"tool_calls": [7]}}]}),
    (CompletionUsage, {"prompt_tokens": "many"}),
]


@pytest.mark.parametrize(
    ("cls", "data"), BAD_DATA, ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(BAD_DATA)]
)
def test_from_dict_errors_are_invalid_chunk_errors(cls: type, data: Any) -> None:
    """Data that does not fit the class raises InvalidChunkError (a ValueError), nothing else."""
    with pytest.raises(InvalidChunkError) as info:
        streamfold.from_dict(cls, data)
    assert isinstance(info.value, ValueError)
    assert cls.__name__ in str(info.value)


@pytest.mark.parametrize(
    ("cls", "data", "path", "what"),
    [
        (ChatCompletion, {"choices": [{"index": "zero", "message": {}}]}, "choices[0].index",
         "invalid value for type, expected int"),
        (ChatCompletionChunk, {"choices": [{"delta": {"tool_calls": [7]}}]},
         "choices[0].delta.tool_calls[0]", "expected ChoiceDeltaToolCall"),
        (TokenLogprob, {"logprob": -1.0}, "token", "required field missing"),
        (streamfold.Response, {"object": "response", "output": [5]}, "output[0]",
         "expected a mapping"),
    ],
)  # fmt: skip
def test_from_dict_errors_name_the_field(cls: type, data: Any, path: str, what: str) -> None:
    """The error names the path of the field that does not fit (``choices[0].index``), in its
    message and as ``.path``, not a bare Python error's text."""
    with pytest.raises(InvalidChunkError) as info:
        streamfold.from_dict(cls, data)
    assert info.value.path == path
    assert str(info.value).startswith(f"cannot build {cls.__name__}: {path}: ")
    assert what in str(info.value)
    assert "Error:" not in str(info.value)  # (no "AttributeError: ..." from inside)


@pytest.mark.parametrize("text", ["{not json", b"\xff\xfe", "", b"[1,"], ids=repr)
def test_from_json_of_bad_json_is_an_invalid_chunk_error(text: str | bytes) -> None:
    """Text that is not JSON raises InvalidChunkError from from_json."""
    with pytest.raises(InvalidChunkError):
        streamfold.from_json(ChatCompletion, text)


def test_from_json_of_json_that_does_not_fit_is_an_invalid_chunk_error() -> None:
    """Valid JSON of the wrong shape raises InvalidChunkError from from_json too."""
    with pytest.raises(InvalidChunkError):
        streamfold.from_json(ChatCompletion, '["not", "a", "completion"]')


def test_null_for_a_never_null_field_means_its_default() -> None:
    """``"annotations": null`` (sent by some SDK versions) reads as no annotations, not an error."""
    message = streamfold.from_dict(
        streamfold.ChatCompletionMessage,
        {"role": "assistant", "content": "Hi", "refusal": None, "annotations": None},
    )
    assert message.annotations == ()
    assert message.content == "Hi"
    call = streamfold.from_dict(
        streamfold.ToolCall,
        {"id": "call_1", "type": None, "function": {"name": "f", "arguments": "{}"}},
    )
    assert call.type == "function"

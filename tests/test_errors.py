"""The errors of issue 2: InvalidChunkError, StreamError, IncompleteStreamError, UsageError.

Bad input may only ever raise a ``StreamfoldError``; a malformed chunk is not applied and the
accumulator stays usable.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import streamfold
from streamfold import (
    Accumulator,
    IncompleteStreamError,
    InvalidChunkError,
    StreamError,
    StreamfoldError,
    UsageError,
)
from streams import (
    Chunk,
    Fold,
    as_chat,
    call_args,
    call_start,
    choice,
    chunk,
    finish_chunk,
    message,
    role_chunk,
    role_delta,
    text_chunk,
    token,
    tools_chunk,
    tools_role_chunk,
    usage_dict,
)

# ---------------------------------------------------------------------------------------------
# InvalidChunkError


def test_invalid_chunk_message_names_position_and_path() -> None:
    """chunk 17 with a bad second tool-call index: the message, .position and .path as specified."""
    acc = Accumulator()
    acc.add(tools_role_chunk(call_start(0, "call_a", "f")))
    for _ in range(16):
        acc.add(tools_chunk([call_args(0, "x")]))
    bad = tools_chunk([call_args(0, "GOOD"), {"index": "x", "function": {"arguments": "BAD"}}])
    with pytest.raises(InvalidChunkError) as info:
        acc.add(bad)
    err = info.value
    assert str(err) == "chunk 17: choices[0].delta.tool_calls[1].index: expected an int, got 'x'"
    assert err.position == 17
    assert err.path == "choices[0].delta.tool_calls[1].index"
    assert isinstance(err, ValueError)
    assert isinstance(err, StreamfoldError)
    calls = message(err.completion).tool_calls
    assert calls is not None
    assert calls[0].function.arguments == "x" * 16


def test_invalid_chunk_good_first_fragment_not_applied_and_accumulator_usable() -> None:
    """A chunk whose first tool-call fragment is good and second bad changes nothing; go on."""
    acc = Accumulator()
    acc.add(tools_role_chunk(call_start(0, "call_a", "f")))
    acc.add(tools_chunk([call_args(0, '{"a":')]))
    bad = tools_chunk([call_args(0, "GOOD"), {"index": 1, "id": 5, "function": {"name": "g"}}])
    with pytest.raises(InvalidChunkError):
        acc.add(bad)
    acc.add(tools_chunk([call_args(0, "1}")]))
    acc.add(finish_chunk("tool_calls"))
    completion = acc.completion()
    calls = message(completion).tool_calls
    assert calls is not None
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        ("call_a", "f", '{"a":1}')
    ]
    assert as_chat(completion).choices[0].finish_reason == "tool_calls"


def test_invalid_chunk_good_first_choice_not_applied() -> None:
    """A chunk whose choice 0 is good and choice 1 is bad applies neither choice."""
    acc = Accumulator()
    acc.add(role_chunk(0))
    acc.add(text_chunk("Hello", 0))
    bad = chunk(
        [
            choice({"content": " GOOD"}, index=0, finish_reason="stop"),
            choice({"content": 42}, index=1),
        ]
    )
    with pytest.raises(InvalidChunkError) as info:
        acc.add(bad)
    assert info.value.path == "choices[1].delta.content"
    assert info.value.position == 2
    snapshot = as_chat(acc.snapshot())
    assert [(c.index, c.message.content, c.finish_reason) for c in snapshot.choices] == [
        (0, "Hello", None)
    ]
    acc.add(text_chunk(" world", 0))
    acc.add(finish_chunk("stop", 0))
    final = as_chat(acc.completion())
    assert [(c.index, c.message.content, c.finish_reason) for c in final.choices] == [
        (0, "Hello world", "stop")
    ]


def test_invalid_chunk_top_level_values_not_applied() -> None:
    """A first chunk with a good envelope and usage but a bad choice sets none of them."""
    acc = Accumulator()
    bad = chunk(
        [choice({"role": "assistant", "content": "GOOD"}), {**choice({}), "index": "1"}],
        id="chatcmpl-BAD",
        model="bad-model",
        created=1111,
        system_fingerprint="fp_bad",
        service_tier="flex",
        usage=usage_dict(99, 99),
    )
    with pytest.raises(InvalidChunkError) as info:
        acc.add(bad)
    assert info.value.position == 0
    assert info.value.path == "choices[1].index"
    for c in [role_chunk(), text_chunk("ok"), finish_chunk()]:
        acc.add(c)
    completion = as_chat(acc.completion())
    assert completion.id == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    assert completion.model == "gpt-4o-2024-08-06"
    assert completion.created == 1741569952
    assert completion.system_fingerprint == "fp_eb9dce56a8"
    assert completion.service_tier == "default"
    assert completion.usage is None
    assert completion.choices[0].message.content == "ok"


def test_caller_may_skip_bad_chunks() -> None:
    """Skipping every InvalidChunkError folds exactly the good chunks."""
    stream: list[Any] = [
        role_chunk(),
        text_chunk("A"),
        "{not json",
        text_chunk("B", logprobs={"content": "oops", "refusal": None}),
        text_chunk("C"),
        [1, 2, 3],
        chunk([choice({"tool_calls": [{"index": 0, "function": "f"}]})]),
        text_chunk("D"),
        finish_chunk(),
    ]
    acc = Accumulator()
    skipped: list[tuple[int, int | None]] = []
    for position, item in enumerate(stream):
        try:
            acc.add(item)
        except InvalidChunkError as err:
            skipped.append((position, err.position))
    assert skipped == [(2, 2), (3, 3), (5, 5), (6, 6)]
    completion = as_chat(acc.completion())
    assert completion.choices[0].message.content == "ACD"
    assert completion.choices[0].message.tool_calls is None
    assert completion.choices[0].logprobs is None


def _prefix() -> list[Chunk]:
    return [role_chunk(), text_chunk("Hello")]


def _with(base: Chunk, path: tuple[Any, ...], value: Any) -> Chunk:
    out = copy.deepcopy(base)
    target: Any = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


def _rich_delta_chunk() -> Chunk:
    """One chunk using every field of a choice: text, tool call, function call, audio, logprobs."""
    delta = {
        "content": " there",
        "refusal": None,
        "tool_calls": [call_start(0, "call_1", "get_weather", "{}")],
        "function_call": {"name": "legacy", "arguments": "{}"},
        "audio": {"id": "audio_1", "data": "AAAA", "transcript": "hi", "expires_at": 1729018505},
    }
    logprobs = {"content": [token(" there", -0.1, [(" there", -0.1)])], "refusal": None}
    return chunk([choice(delta, logprobs=logprobs)], usage=usage_dict(3, 2))


_D = ("choices", 0, "delta")
_TC = (*_D, "tool_calls", 0)
_LP = ("choices", 0, "logprobs", "content", 0)
_U = ("usage",)
_TCP = "choices[0].delta.tool_calls[0]"
_LPP = "choices[0].logprobs.content[0]"
_UCD = "usage.completion_tokens_details"
_UPD = "usage.prompt_tokens_details"

BAD_FIELDS: list[tuple[tuple[Any, ...], Any, str]] = [
    (("system_fingerprint",), 5, "system_fingerprint"),
    (("service_tier",), ["default"], "service_tier"),
    (("choices",), "abc", "choices"),
    (("choices",), {"index": 0}, "choices"),
    (("choices", 0), "x", "choices[0]"),
    (("choices", 0), None, "choices[0]"),
    (("choices", 0), [1], "choices[0]"),
    (("choices", 0, "index"), "0", "choices[0].index"),
    (("choices", 0, "index"), True, "choices[0].index"),
    (("choices", 0, "index"), 0.5, "choices[0].index"),
    (("choices", 0, "finish_reason"), 1, "choices[0].finish_reason"),
    (("choices", 0, "finish_reason"), ["stop"], "choices[0].finish_reason"),
    (_D, ["content"], "choices[0].delta"),
    (_D, "text", "choices[0].delta"),
    ((*_D, "role"), 7, "choices[0].delta.role"),
    ((*_D, "content"), 5, "choices[0].delta.content"),
    ((*_D, "content"), {"text": "a"}, "choices[0].delta.content"),
    ((*_D, "content"), False, "choices[0].delta.content"),
    ((*_D, "refusal"), 5, "choices[0].delta.refusal"),
    ((*_D, "tool_calls"), {"index": 0}, "choices[0].delta.tool_calls"),
    ((*_D, "tool_calls"), "call", "choices[0].delta.tool_calls"),
    (_TC, "x", "choices[0].delta.tool_calls[0]"),
    (_TC, None, "choices[0].delta.tool_calls[0]"),
    ((*_TC, "index"), "x", "choices[0].delta.tool_calls[0].index"),
    ((*_TC, "index"), False, "choices[0].delta.tool_calls[0].index"),
    ((*_TC, "id"), 5, "choices[0].delta.tool_calls[0].id"),
    ((*_TC, "type"), ["function"], "choices[0].delta.tool_calls[0].type"),
    ((*_TC, "function"), "f", "choices[0].delta.tool_calls[0].function"),
    ((*_TC, "function"), [], "choices[0].delta.tool_calls[0].function"),
    ((*_TC, "function", "name"), 5, "choices[0].delta.tool_calls[0].function.name"),
    ((*_TC, "function", "arguments"), {"a": 1}, _TCP + ".function.arguments"),
    ((*_D, "function_call"), "f", "choices[0].delta.function_call"),
    ((*_D, "function_call", "name"), 1, "choices[0].delta.function_call.name"),
    ((*_D, "function_call", "arguments"), 5, "choices[0].delta.function_call.arguments"),
    ((*_D, "audio"), "x", "choices[0].delta.audio"),
    ((*_D, "audio", "id"), 1, "choices[0].delta.audio.id"),
    ((*_D, "audio", "data"), 5, "choices[0].delta.audio.data"),
    ((*_D, "audio", "transcript"), [], "choices[0].delta.audio.transcript"),
    ((*_D, "audio", "expires_at"), "soon", "choices[0].delta.audio.expires_at"),
    ((*_D, "audio", "expires_at"), True, "choices[0].delta.audio.expires_at"),
    (("choices", 0, "logprobs"), "x", "choices[0].logprobs"),
    (("choices", 0, "logprobs"), [], "choices[0].logprobs"),
    (("choices", 0, "logprobs", "content"), "x", "choices[0].logprobs.content"),
    (("choices", 0, "logprobs", "refusal"), 5, "choices[0].logprobs.refusal"),
    (_LP, "x", "choices[0].logprobs.content[0]"),
    ((*_LP, "token"), 5, "choices[0].logprobs.content[0].token"),
    ((*_LP, "logprob"), "x", "choices[0].logprobs.content[0].logprob"),
    ((*_LP, "logprob"), None, "choices[0].logprobs.content[0].logprob"),
    ((*_LP, "logprob"), True, "choices[0].logprobs.content[0].logprob"),
    ((*_LP, "bytes"), "abc", "choices[0].logprobs.content[0].bytes"),
    # the items of ``bytes`` are kept as sent, unchecked (see _check_bytes in _fold.py)
    ((*_LP, "top_logprobs"), "x", "choices[0].logprobs.content[0].top_logprobs"),
    # falsy values of the wrong type too
    ((*_LP, "top_logprobs"), "", "choices[0].logprobs.content[0].top_logprobs"),
    ((*_LP, "top_logprobs"), 0, "choices[0].logprobs.content[0].top_logprobs"),
    ((*_LP, "top_logprobs"), {}, "choices[0].logprobs.content[0].top_logprobs"),
    ((*_LP, "top_logprobs", 0), 3, "choices[0].logprobs.content[0].top_logprobs[0]"),
    ((*_LP, "top_logprobs", 0, "token"), None, _LPP + ".top_logprobs[0].token"),
    ((*_LP, "top_logprobs", 0, "logprob"), "x", _LPP + ".top_logprobs[0].logprob"),
    (_U, "x", "usage"),
    (_U, [1, 2], "usage"),
    ((*_U, "prompt_tokens"), "3", "usage.prompt_tokens"),
    ((*_U, "completion_tokens"), 1.5, "usage.completion_tokens"),
    ((*_U, "total_tokens"), True, "usage.total_tokens"),
    ((*_U, "prompt_tokens_details"), "x", "usage.prompt_tokens_details"),
    ((*_U, "prompt_tokens_details", "cached_tokens"), "0", _UPD + ".cached_tokens"),
    ((*_U, "completion_tokens_details", "reasoning_tokens"), [], _UCD + ".reasoning_tokens"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("where", "value", "path"), BAD_FIELDS, ids=[f"{p}={v!r}" for _, v, p in BAD_FIELDS]
)
def test_invalid_field_raises_with_path_and_is_not_applied(
    fold: Fold, where: tuple[Any, ...], value: Any, path: str
) -> None:
    """A field of the wrong type raises InvalidChunkError naming chunk 2 and the field's path."""
    bad = _with(_rich_delta_chunk(), where, value)
    with pytest.raises(InvalidChunkError) as info:
        fold([*_prefix(), bad, text_chunk(" after"), finish_chunk()])
    err = info.value
    assert err.position == 2
    assert err.path == path
    assert str(err).startswith(f"chunk 2: {path}: expected ")
    completion = as_chat(err.completion)
    assert completion.choices[0].message.content == "Hello"
    assert completion.choices[0].message.tool_calls is None
    assert completion.usage is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", 5), ("created", "1741569952"), ("created", True), ("model", ["gpt-4o"])],
)
@pytest.mark.parametrize("position", [0, 2])
def test_invalid_envelope_field_raises(field: str, value: Any, position: int) -> None:
    """A wrong-typed id / created / model is an InvalidChunkError, on the first or a later chunk."""
    acc = Accumulator()
    for c in _prefix()[:position]:
        acc.add(c)
    with pytest.raises(InvalidChunkError) as info:
        acc.add(text_chunk(" bad", **{field: value}))
    assert info.value.position == position
    assert info.value.path == field
    assert str(info.value).startswith(f"chunk {position}: {field}: expected ")


@pytest.mark.parametrize("value", [{}, 0, False, ""], ids=["object", "zero", "false", "string"])
def test_choices_of_a_wrong_falsy_type_is_invalid(value: Any) -> None:
    """choices that is an empty object, 0, false or "" is the wrong type, not an empty list."""
    acc = Accumulator()
    acc.add(role_chunk())
    with pytest.raises(InvalidChunkError) as info:
        acc.add({**chunk([]), "choices": value})
    assert info.value.path == "choices"


@pytest.mark.parametrize(
    "raw",
    [None, 5, 1.5, True, [], [{}], "", "not json", "[1, 2]", "null", '"text"', b"\xff\xfe", b"{"],
    ids=repr,
)
def test_a_chunk_that_is_not_an_object_is_invalid(raw: Any) -> None:
    """A chunk that is not a JSON object (or not JSON at all) is an InvalidChunkError at path ""."""
    acc = Accumulator()
    acc.add(role_chunk())
    with pytest.raises(InvalidChunkError) as info:
        acc.add(raw)
    assert info.value.position == 1
    assert info.value.path == ""
    assert str(info.value).startswith("chunk 1: ")
    acc.add(text_chunk("still usable"))
    assert message(acc.completion()).content == "still usable"


# ---------------------------------------------------------------------------------------------
# nothing but StreamfoldError escapes, whatever the shape


GARBAGE: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2**70,
    1.5,
    "",
    "x",
    [],
    [None],
    [1, "a", None],
    [[[]]],
    {},
    {"a": {"b": [1, {"c": None}]}},
    {"index": "x"},
    [{"index": "x"}],
    [{"index": [], "type": "reasoning.text", "text": "t"}],
    [{"index": {}, "text": "t"}],
    [{"index": 0, "type": ["x"], "text": ["t"]}],
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield (*prefix, key)
            yield from _paths(sub, (*prefix, key))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield (*prefix, i)
            yield from _paths(sub, (*prefix, i))


def _dicts(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        yield prefix
        for key, sub in value.items():
            yield from _dicts(sub, (*prefix, key))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _dicts(sub, (*prefix, i))


def _mutations(base: Chunk) -> Iterator[tuple[str, Chunk]]:
    for path in _paths(base):
        for value in GARBAGE:
            yield f"{path} = {value!r}", _with(base, path, value)
    for path in _dicts(base):
        for value in GARBAGE:
            yield f"{path} + x_unknown = {value!r}", _with(base, (*path, "x_unknown"), value)
            if path == _D:
                yield (
                    f"{path} + reasoning_details = {value!r}",
                    _with(base, (*path, "reasoning_details"), value),
                )


def _check_only_streamfold_errors(build: Callable[[], Accumulator], base: Chunk) -> list[str]:
    problems: list[str] = []
    for what, bad in _mutations(base):
        acc = build()
        before = streamfold.to_dict(acc.snapshot())
        try:
            acc.add(bad)
        except InvalidChunkError:
            if streamfold.to_dict(acc.snapshot()) != before:
                problems.append(f"{what}: InvalidChunkError but the chunk was applied")
        except StreamfoldError as err:
            problems.append(f"{what}: {type(err).__name__} for a chunk without error: {err}")
        except Exception as err:
            problems.append(f"{what}: add() raised {type(err).__name__}: {err}")
            continue
        try:
            json.dumps(streamfold.to_dict(acc.completion()))
        except Exception as err:
            problems.append(f"{what}: completion() raised {type(err).__name__}: {err}")
    return problems


def test_garbage_anywhere_in_a_first_chunk_raises_only_streamfold_errors() -> None:
    """Any field of a rich first chunk set to garbage: it folds, or raises and is not applied."""
    assert _check_only_streamfold_errors(Accumulator, _rich_delta_chunk()) == []


def test_garbage_anywhere_in_a_later_chunk_raises_only_streamfold_errors() -> None:
    """The same garbage in a chunk after two good ones: fold, or InvalidChunkError unapplied."""

    def started() -> Accumulator:
        acc = Accumulator()
        for c in _prefix():
            acc.add(c)
        return acc

    assert _check_only_streamfold_errors(started, _rich_delta_chunk()) == []


def test_garbage_in_a_two_choice_chunk_raises_only_streamfold_errors() -> None:
    """Garbage in either choice of an n=2 chunk: fold, or InvalidChunkError with nothing applied."""
    base = chunk(
        [
            choice({**role_delta(), "content": "a"}, index=0),
            choice({**role_delta(), "content": "b"}, index=1, finish_reason="stop"),
        ]
    )
    assert _check_only_streamfold_errors(Accumulator, base) == []


# ---------------------------------------------------------------------------------------------
# StreamError


OPENROUTER_ERROR = {
    "code": "server_error",
    "message": "Provider disconnected unexpectedly",
    "metadata": {"provider_name": "OpenAI", "raw": None},
}


@pytest.mark.parametrize(
    "payload",
    [OPENROUTER_ERROR, "upstream overloaded", {"message": "rate limited", "code": 429}],
    ids=["object", "string", "code"],
)
def test_stream_error_folds_the_error_chunk_then_raises(fold: Fold, payload: Any) -> None:
    """The error chunk's choices and usage are folded first; .error is the payload as sent."""
    sent = copy.deepcopy(payload)
    chunks = [
        role_chunk(usage=None),
        text_chunk("Partial", usage=None),
        chunk(
            [choice({"content": " answer"}, finish_reason="error")],
            usage=usage_dict(11, 2),
            error=sent,
        ),
        text_chunk(" never folded", usage=None),
        finish_chunk("stop", usage=None),
    ]
    with pytest.raises(StreamError) as info:
        fold(chunks)
    err = info.value
    assert err.error == payload
    assert err.position == 2
    assert isinstance(err, StreamfoldError)
    assert not isinstance(err, InvalidChunkError)
    completion = as_chat(err.completion)
    assert completion.choices[0].message.content == "Partial answer"
    assert completion.choices[0].finish_reason == "error"
    assert completion.usage is not None
    assert completion.usage.total_tokens == 13


def test_add_after_stream_error_is_a_usage_error() -> None:
    """After a StreamError, add() is refused with a UsageError; the completion stays available."""
    acc = Accumulator()
    acc.add(role_chunk())
    acc.add(text_chunk("Hi"))
    with pytest.raises(StreamError) as info:
        acc.add(chunk([choice({}, finish_reason="error")], error=OPENROUTER_ERROR))
    with pytest.raises(UsageError):
        acc.add(text_chunk(" more"))
    assert message(info.value.completion).content == "Hi"
    assert message(acc.completion()).content == "Hi"


def test_error_null_is_not_an_error(fold: Fold) -> None:
    """A chunk with "error": null folds like any other chunk."""
    chunks = [role_chunk(error=None), text_chunk("fine", error=None), finish_chunk(error=None)]
    completion = as_chat(fold(chunks))
    assert completion.choices[0].message.content == "fine"
    assert completion.choices[0].finish_reason == "stop"


# ---------------------------------------------------------------------------------------------
# streams that end early


@pytest.mark.parametrize(
    "chunks",
    [
        [role_chunk(), text_chunk("cut off")],
        [role_chunk(0), role_chunk(1), text_chunk("cut", 0), finish_chunk(index=1)],
        [],
    ],
    ids=["one-choice", "one-of-two-unfinished", "empty"],
)  # fmt: skip
def test_strict_raises_incomplete_stream_error(fold: Fold, chunks: list[Chunk]) -> None:
    """strict=True and a choice without finish_reason: IncompleteStreamError, not a StreamError."""
    with pytest.raises(IncompleteStreamError) as info:
        fold(chunks, strict=True)
    err = info.value
    assert isinstance(err, StreamfoldError)
    assert not isinstance(err, StreamError)
    if chunks:
        assert message(err.completion).content in ("cut off", "cut")


def test_unfinished_stream_is_returned_as_it_is(fold: Fold) -> None:
    """Without strict, a stream that ends early folds with finish_reason null."""
    completion = as_chat(fold([role_chunk(), text_chunk("cut off")]))
    assert completion.choices[0].message.content == "cut off"
    assert completion.choices[0].finish_reason is None
    assert streamfold.to_dict(completion)["choices"][0]["finish_reason"] is None


def test_is_complete_only_when_every_choice_finished() -> None:
    """is_complete is false before any choice, while one of two is open, true once both finish."""
    acc = Accumulator()
    assert acc.is_complete is False
    acc.add(role_chunk(0))
    acc.add(role_chunk(1))
    acc.add(finish_chunk("stop", 0))
    assert acc.is_complete is False
    acc.add(finish_chunk("length", 1))
    assert acc.is_complete is True
    acc.add(chunk([], usage=usage_dict(1, 1)))
    assert acc.is_complete is True


# ---------------------------------------------------------------------------------------------
# UsageError


def test_add_after_completion_is_a_usage_error() -> None:
    """completion() ends the fold: a later add() raises UsageError and changes nothing."""
    acc = Accumulator()
    acc.add(role_chunk())
    acc.add(text_chunk("Hi"))
    first = acc.completion()
    with pytest.raises(UsageError) as info:
        acc.add(text_chunk(" again"))
    assert isinstance(info.value, StreamfoldError)
    assert info.value.position == 2
    assert message(info.value.completion).content == "Hi"
    assert message(acc.completion()).content == "Hi"
    assert acc.completion() is first


def test_snapshot_any_number_of_times_then_keep_adding() -> None:
    """snapshot() does not end the fold: each snapshot holds what arrived, add() still works."""
    acc = Accumulator()
    acc.add(role_chunk())
    acc.add(text_chunk("a"))
    assert message(acc.snapshot()).content == "a"
    assert message(acc.snapshot()).content == "a"
    acc.add(text_chunk("b"))
    assert message(acc.snapshot()).content == "ab"
    acc.add(finish_chunk())
    assert message(acc.completion()).content == "ab"

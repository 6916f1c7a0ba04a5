"""The adapters of issue 2: wrap / awrap pass-through, closing, cancel-safety, input forms."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from openai.types.chat import ChatCompletionChunk as OpenAIChunk

import streamfold
from streamfold import InvalidChunkError, StreamError, UsageError
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
    text_chunk,
    text_stream,
    token,
    tools_chunk,
    usage_chunk,
)


def _stream() -> list[Chunk]:
    return [*text_stream(["Hel", "lo"], include_usage=True), usage_chunk(5, 2)]


def _source(chunks: list[Any], log: list[str]) -> Iterator[Any]:
    """A generator source that records how far it got and when it was closed."""
    try:
        for c in chunks:
            log.append("yield")
            yield c
    finally:
        log.append("closed")


async def _asource(chunks: list[Any], log: list[str]) -> AsyncIterator[Any]:
    """An async generator source that records when it was closed."""
    try:
        for c in chunks:
            await anyio.lowlevel.checkpoint()
            yield c
    finally:
        log.append("closed")


def _drain(wrapped: Iterable[Any], seen: list[Any]) -> None:
    """Consume ``wrapped``, keeping each chunk as it arrives (they survive an exception)."""
    for c in wrapped:
        seen.append(c)  # noqa: PERF402 - the chunks seen before an error must be kept


async def _adrain(wrapped: AsyncIterable[Any], seen: list[Any]) -> None:
    """Async twin of ``_drain``."""
    async for c in wrapped:
        seen.append(c)  # noqa: PERF401 - the chunks seen before an error must be kept


# ---------------------------------------------------------------------------------------------
# wrap


def test_wrap_yields_the_same_chunk_objects_unchanged() -> None:
    """Every chunk comes out of wrap as the very object that went in, and is not modified."""
    chunks = _stream()
    before = json.dumps(chunks)
    seen = list(streamfold.wrap(chunks))
    assert len(seen) == len(chunks)
    assert all(a is b for a, b in zip(seen, chunks, strict=True))
    assert json.dumps(chunks) == before


def test_wrap_completion_is_a_usage_error_until_the_iteration_ends() -> None:
    """.completion raises UsageError before iterating and mid-iteration, then works."""
    wrapped = streamfold.wrap(_stream())
    with pytest.raises(UsageError):
        _ = wrapped.completion
    errors = 0
    for _chunk in wrapped:
        with pytest.raises(UsageError):
            _ = wrapped.completion
        errors += 1
    assert errors == len(_stream())
    completion = as_chat(wrapped.completion)
    assert completion.choices[0].message.content == "Hello"
    assert completion.usage is not None
    assert completion.usage.total_tokens == 7


def test_wrap_snapshot_and_is_complete_at_any_point() -> None:
    """snapshot() and is_complete follow the chunks that went through, before and after the end."""
    wrapped = streamfold.wrap(_stream())
    assert as_chat(wrapped.snapshot()).choices == ()
    assert wrapped.is_complete is False
    contents = []
    completes = []
    for _chunk in wrapped:
        snap = as_chat(wrapped.snapshot())
        contents.append(snap.choices[0].message.content)
        completes.append(wrapped.is_complete)
    assert contents == [None, "Hel", "Hello", "Hello", "Hello"]
    assert completes == [False, False, False, True, True]
    assert message(wrapped.snapshot()).content == "Hello"
    assert wrapped.is_complete is True


def test_wrap_completion_after_the_consumer_breaks_out() -> None:
    """Breaking out of the loop ends the iteration: .completion holds what went through."""
    wrapped = streamfold.wrap(_stream())
    for c in wrapped:
        if c["choices"] and c["choices"][0]["delta"].get("content") == "Hel":
            break
    completion = as_chat(wrapped.completion)
    assert completion.choices[0].message.content == "Hel"
    assert completion.choices[0].finish_reason is None


def test_wrap_context_manager_closes_the_source_when_the_consumer_stops_early() -> None:
    """with wrap(...) and a break: the source generator is closed and not read further."""
    log: list[str] = []
    with streamfold.wrap(_source(_stream(), log)) as wrapped:
        for _chunk in wrapped:
            if len(log) == 2:
                break
    assert log == ["yield", "yield", "closed"]
    assert message(wrapped.completion).content == "Hel"


def test_wrap_exhausted_source_is_not_read_again() -> None:
    """A source read to its end is closed once, and .completion holds everything."""
    log: list[str] = []
    with streamfold.wrap(_source(_stream(), log)) as wrapped:
        seen = list(wrapped)
    assert len(seen) == 5
    assert log == ["yield"] * 5 + ["closed"]
    assert message(wrapped.completion).content == "Hello"


def test_wrap_completion_after_an_invalid_chunk_mid_stream() -> None:
    """An InvalidChunkError mid-stream ends the iteration; .completion holds what was folded."""
    log: list[str] = []
    chunks: list[Any] = [role_chunk(), text_chunk("Hel"), "{broken", text_chunk("lo")]
    seen: list[Any] = []
    wrapped = streamfold.wrap(_source(chunks, log))
    with pytest.raises(InvalidChunkError) as info:
        _drain(wrapped, seen)
    assert info.value.position == 2
    assert seen == chunks[:2]
    assert log == ["yield", "yield", "yield", "closed"]
    assert message(wrapped.completion).content == "Hel"


def _dropping(chunks: list[Any]) -> Iterator[Any]:
    """A source whose connection drops after ``chunks``."""
    yield from chunks
    raise ConnectionError("peer closed connection")


async def _adropping(chunks: list[Any]) -> AsyncIterator[Any]:
    for c in chunks:
        await anyio.lowlevel.checkpoint()
        yield c
    raise ConnectionError("peer closed connection")


def test_wrap_keeps_what_arrived_when_the_source_fails() -> None:
    """An exception of the source itself (a dropped connection) passes through unchanged;
    ``.completion`` then holds what arrived before it, as the README says."""
    wrapped = streamfold.wrap(_dropping([role_chunk(), text_chunk("Hel"), text_chunk("lo")]))
    seen: list[Any] = []
    with pytest.raises(ConnectionError, match="peer closed"), wrapped:
        _drain(wrapped, seen)
    assert len(seen) == 3
    assert message(wrapped.completion).content == "Hello"
    assert not wrapped.is_complete


@pytest.mark.anyio
async def test_awrap_keeps_what_arrived_when_the_source_fails(anyio_backend: str) -> None:
    """The async twin, on asyncio and trio."""
    wrapped = streamfold.awrap(_adropping([role_chunk(), text_chunk("Hel"), text_chunk("lo")]))
    seen: list[Any] = []
    with pytest.raises(ConnectionError, match="peer closed"):
        async with wrapped:
            await _adrain(wrapped, seen)
    assert len(seen) == 3
    assert message(wrapped.completion).content == "Hello"


def test_wrap_raises_stream_error_in_place_of_the_error_chunk() -> None:
    """The chunk carrying an error is not yielded; StreamError is raised where it would be."""
    error_chunk = chunk([choice({}, finish_reason="error")], error={"message": "boom"})
    chunks = [role_chunk(), text_chunk("Hi"), error_chunk, text_chunk(" never")]
    seen: list[Any] = []
    wrapped = streamfold.wrap(chunks)
    with pytest.raises(StreamError) as info:
        _drain(wrapped, seen)
    assert seen == chunks[:2]
    assert info.value.error == {"message": "boom"}
    completion = as_chat(wrapped.completion)
    assert completion.choices[0].message.content == "Hi"
    assert completion.choices[0].finish_reason == "error"


# ---------------------------------------------------------------------------------------------
# awrap


@pytest.mark.anyio
async def test_awrap_yields_the_same_chunk_objects(anyio_backend: str) -> None:
    """awrap passes every chunk object through unchanged, and folds them."""
    chunks = _stream()
    log: list[str] = []
    seen: list[Any] = []
    async with streamfold.awrap(_asource(chunks, log)) as wrapped:
        await _adrain(wrapped, seen)
    assert len(seen) == len(chunks)
    assert all(a is b for a, b in zip(seen, chunks, strict=True))
    assert message(wrapped.completion).content == "Hello"


@pytest.mark.anyio
async def test_awrap_completion_is_a_usage_error_while_iterating(anyio_backend: str) -> None:
    """.completion raises UsageError before and during the iteration; snapshot() works."""
    log: list[str] = []
    async with streamfold.awrap(_asource(_stream(), log)) as wrapped:
        with pytest.raises(UsageError):
            _ = wrapped.completion
        contents = []
        async for _chunk in wrapped:
            with pytest.raises(UsageError):
                _ = wrapped.completion
            contents.append(message(wrapped.snapshot()).content)
    assert contents == [None, "Hel", "Hello", "Hello", "Hello"]
    assert wrapped.is_complete is True
    assert message(wrapped.completion).content == "Hello"


@pytest.mark.anyio
async def test_awrap_break_then_completion_and_source_closed(anyio_backend: str) -> None:
    """async with + break: the async source is closed and .completion holds what went through."""
    log: list[str] = []
    async with streamfold.awrap(_asource(_stream(), log)) as wrapped:
        async for c in wrapped:
            if c["choices"] and c["choices"][0]["delta"].get("content") == "Hel":
                break
    assert log == ["closed"]
    completion = as_chat(wrapped.completion)
    assert completion.choices[0].message.content == "Hel"
    assert completion.choices[0].finish_reason is None
    assert wrapped.is_complete is False


@pytest.mark.anyio
async def test_awrap_raises_stream_error_in_place_of_the_error_chunk(anyio_backend: str) -> None:
    """The async wrapper raises StreamError instead of yielding the error chunk."""
    error_chunk = chunk([choice({}, finish_reason="error")], error={"message": "boom"})
    chunks = [role_chunk(), text_chunk("Hi"), error_chunk, text_chunk(" never")]
    log: list[str] = []
    seen: list[Any] = []
    async with streamfold.awrap(_asource(chunks, log)) as wrapped:
        with pytest.raises(StreamError):
            await _adrain(wrapped, seen)
    assert seen == chunks[:2]
    assert log == ["closed"]
    completion = as_chat(wrapped.completion)
    assert completion.choices[0].message.content == "Hi"
    assert completion.choices[0].finish_reason == "error"


@pytest.mark.anyio
@pytest.mark.parametrize("use_context", [True, False], ids=["async-with", "bare-async-for"])
async def test_awrap_cancelled_while_the_source_is_blocked(
    anyio_backend: str, use_context: bool
) -> None:
    """Cancelling the consumer while the source awaits: source closed, .completion holds it all."""
    log: list[str] = []
    blocked = anyio.Event()

    async def source() -> AsyncIterator[Chunk]:
        try:
            yield role_chunk()
            yield text_chunk("Hel")
            yield text_chunk("lo")
            blocked.set()
            await anyio.sleep_forever()
            yield finish_chunk()
        finally:
            log.append("closed")

    wrapped = streamfold.awrap(source())
    seen: list[Chunk] = []
    scope = anyio.CancelScope()

    async def consume() -> None:
        with scope:
            if use_context:
                async with wrapped:
                    await _adrain(wrapped, seen)
            else:
                await _adrain(wrapped, seen)

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        await blocked.wait()
        scope.cancel()

    assert scope.cancelled_caught
    assert len(seen) == 3
    assert log == ["closed"]
    completion = as_chat(wrapped.completion)
    assert completion.choices[0].message.content == "Hello"
    assert completion.choices[0].finish_reason is None


@pytest.mark.anyio
async def test_aaccumulate_folds_an_async_source(anyio_backend: str) -> None:
    """aaccumulate reads an async source to its end and returns the completion."""
    log: list[str] = []
    completion = as_chat(await streamfold.aaccumulate(_asource(_stream(), log)))
    assert completion.choices[0].message.content == "Hello"
    assert completion.usage is not None
    assert completion.usage.total_tokens == 7


# ---------------------------------------------------------------------------------------------
# input forms: dicts, JSON str / bytes, openai SDK objects, streamfold's own chunks


def _mixed_stream() -> list[Chunk]:
    """Text with logprobs, then a tool call, then usage: every part of a chunk in use."""
    u: dict[str, Any] = {"usage": None}
    lp0 = {"content": [token("Let", -0.1, [("Let", -0.1)])], "refusal": None}
    lp1 = {"content": [token(" me", -0.2, [(" me", -0.2)])], "refusal": None}
    return [
        role_chunk(logprobs={"content": [], "refusal": None}, **u),
        text_chunk("Let", logprobs=lp0, **u),
        text_chunk(" me", logprobs=lp1, **u),
        tools_chunk([call_start(0, "call_Q1", "lookup")], **u),
        tools_chunk([call_args(0, '{"q":')], **u),
        tools_chunk([call_args(0, '"ß"}')], **u),
        finish_chunk("tool_calls", **u),
        usage_chunk(20, 9),
    ]


MIXED_EXPECTED: dict[str, Any] = {
    "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    "object": "chat.completion",
    "created": 1741569952,
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Let me",
                "refusal": None,
                "annotations": [],
                "tool_calls": [
                    {
                        "id": "call_Q1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": '{"q":"ß"}'},
                    }
                ],
            },
            "logprobs": {
                "content": [
                    {
                        "token": "Let",
                        "logprob": -0.1,
                        "bytes": [76, 101, 116],
                        "top_logprobs": [
                            {"token": "Let", "logprob": -0.1, "bytes": [76, 101, 116]}
                        ],
                    },
                    {
                        "token": " me",
                        "logprob": -0.2,
                        "bytes": [32, 109, 101],
                        "top_logprobs": [
                            {"token": " me", "logprob": -0.2, "bytes": [32, 109, 101]}
                        ],
                    },
                ],
                "refusal": None,
            },
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {
        "prompt_tokens": 20,
        "completion_tokens": 9,
        "total_tokens": 29,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
    "service_tier": "default",
    "system_fingerprint": "fp_eb9dce56a8",
}


def _as_form(form: str, chunks: list[Chunk]) -> list[Any]:
    if form == "dict":
        return chunks
    if form == "json-str":
        return [json.dumps(c, ensure_ascii=False) for c in chunks]
    if form == "json-bytes":
        return [json.dumps(c, ensure_ascii=False).encode("utf-8") for c in chunks]
    if form == "openai":
        return [OpenAIChunk.model_validate(c) for c in chunks]
    assert form == "streamfold"
    return [streamfold.from_dict(streamfold.ChatCompletionChunk, c) for c in chunks]


FORMS = ["dict", "json-str", "json-bytes", "openai", "streamfold"]


@pytest.mark.parametrize("form", FORMS)
def test_every_input_form_folds_to_the_same_completion(fold: Fold, form: str) -> None:
    """Dicts, JSON str / bytes, openai SDK chunks and streamfold chunks fold to the same result."""
    folded = streamfold.to_dict(fold(_as_form(form, _mixed_stream())))
    assert folded == MIXED_EXPECTED
    assert folded == streamfold.to_dict(streamfold.accumulate(_mixed_stream()))


@pytest.mark.parametrize("form", ["openai", "streamfold"])
def test_wrap_passes_typed_chunks_through_unchanged(form: str) -> None:
    """wrap yields the openai SDK / streamfold chunk objects themselves."""
    chunks = _as_form(form, _mixed_stream())
    wrapped = streamfold.wrap(chunks)
    seen = list(wrapped)
    assert all(a is b for a, b in zip(seen, chunks, strict=True))
    assert streamfold.to_dict(wrapped.completion) == MIXED_EXPECTED


def test_openai_chunk_unknown_keys_are_kept() -> None:
    """Extra keys an SDK chunk holds (pydantic extras) reach the completion like dict extras."""
    chunks = [
        role_chunk(provider="OpenRouter"),
        chunk([{**choice({"content": "Hi", "reasoning": "Think"}), "native_finish_reason": None}]),
        chunk([{**choice({}, finish_reason="stop"), "native_finish_reason": "end_turn"}]),
    ]
    from_sdk = streamfold.to_dict(
        streamfold.accumulate([OpenAIChunk.model_validate(c) for c in chunks])
    )
    assert from_sdk["provider"] == "OpenRouter"
    assert from_sdk["choices"][0]["native_finish_reason"] == "end_turn"
    assert from_sdk["choices"][0]["message"]["reasoning"] == "Think"
    assert from_sdk["choices"][0]["message"]["content"] == "Hi"


# -- issue 11: the chat adapters and the legacy completions API, strict wrappers, reprs -----------

LEGACY = [
    {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "gpt-3.5-turbo-instruct",
     "choices": [{"index": 0, "text": piece, "logprobs": None, "finish_reason": finish}]}
    for piece, finish in [("Hel", None), ("lo", "stop")]
]  # fmt: skip
BACKENDS = ["sync", "asyncio", "trio"]


def _on(backend: str, sync: Any, asynchronous: Any, chunks: list[Any], **options: Any) -> Any:
    """Run a sync adapter, or its async twin on an async source on one backend."""
    if backend == "sync":
        return sync(chunks, **options)

    async def main() -> Any:
        return await asynchronous(_asource(chunks, []), **options)

    return anyio.run(main, backend=backend)


async def _awrap_completion(source: AsyncIterator[Any], **options: Any) -> Any:
    wrapped = streamfold.awrap(source, **options)
    async for _ in wrapped:
        pass
    return wrapped.completion


def _wrap_completion(chunks: Iterable[Any], **options: Any) -> Any:
    wrapped = streamfold.wrap(chunks, **options)
    for _ in wrapped:
        pass
    return wrapped.completion


@pytest.mark.parametrize("backend", BACKENDS)
def test_chat_adapters_refuse_a_legacy_stream_naming_accumulate_text(backend: str) -> None:
    """accumulate / aaccumulate / wrap / awrap of a text_completion stream: UsageError naming
    accumulate_text, with the folded TextCompletion kept; accumulate_text folds it."""
    text = streamfold.accumulate_text(LEGACY)
    assert text.choices[0].text == "Hello"
    assert _on(backend, streamfold.accumulate_text, streamfold.aaccumulate_text, LEGACY) == text
    for sync, asynchronous in [
        (streamfold.accumulate, streamfold.aaccumulate),
        (_wrap_completion, _awrap_completion),
    ]:
        with pytest.raises(UsageError, match="accumulate_text") as info:
            _on(backend, sync, asynchronous, LEGACY, strict=True)
        assert info.value.completion == text


@pytest.mark.parametrize("backend", BACKENDS)
def test_accumulate_text_refuses_a_chat_stream_and_folds_an_empty_one(backend: str) -> None:
    """accumulate_text of chat chunks: UsageError naming accumulate, the ChatCompletion kept; a
    stream without any choice folds into an empty TextCompletion with the envelope."""
    chat = _stream()
    with pytest.raises(UsageError, match=r"streamfold\.accumulate ") as info:
        _on(backend, streamfold.accumulate_text, streamfold.aaccumulate_text, chat)
    assert info.value.completion == streamfold.accumulate(chat)
    empty = _on(backend, streamfold.accumulate_text, streamfold.aaccumulate_text, [chunk([])])
    assert type(empty) is streamfold.TextCompletion
    assert (empty.id, empty.choices, empty.extra) == (
        chat[0]["id"],
        (),
        {"service_tier": "default"},
    )
    with pytest.raises(streamfold.IncompleteStreamError) as cut:
        _on(
            backend,
            streamfold.accumulate_text,
            streamfold.aaccumulate_text,
            LEGACY[:1],
            strict=True,
        )
    assert type(cut.value.completion) is streamfold.TextCompletion


def _wrap_events(chunks: list[Any], **options: Any) -> list[Any]:
    return list(streamfold.wrap(chunks, **options).events())


async def _awrap_events(source: AsyncIterator[Any], **options: Any) -> list[Any]:
    return [e async for e in streamfold.awrap(source, **options).events()]


@pytest.mark.parametrize("backend", BACKENDS)
def test_wrap_strict_raises_when_the_source_ends_before_the_finish(backend: str) -> None:
    """wrap / awrap(strict=True): a cut stream raises IncompleteStreamError once every chunk has
    passed (chunks and events alike), holding what arrived; a whole stream passes."""
    whole = _stream()
    cut = whole[:2]
    assert _on(backend, _wrap_completion, _awrap_completion, whole, strict=True).is_complete
    for sync, asynchronous in [
        (_wrap_completion, _awrap_completion),
        (_wrap_events, _awrap_events),
    ]:
        with pytest.raises(streamfold.IncompleteStreamError, match="no finish_reason") as info:
            _on(backend, sync, asynchronous, cut, strict=True)
        assert message(info.value.completion).content == "Hel"
        assert not info.value.completion.is_complete
    assert message(_on(backend, _wrap_completion, _awrap_completion, cut)).content == "Hel"


def test_wrap_strict_completion_after_breaking_out_is_incomplete() -> None:
    """wrap(strict=True): leaving the loop early is no error, but .completion then raises."""
    wrapped = streamfold.wrap(_stream(), strict=True)
    for _ in wrapped:
        break
    with pytest.raises(streamfold.IncompleteStreamError) as info:
        wrapped.completion  # noqa: B018
    assert info.value.completion == wrapped.accumulator.completion()


def test_completion_tells_whether_it_is_complete_without_changing_its_json() -> None:
    """ChatCompletion.is_complete: the accumulator's verdict, kept through to_dict / from_dict,
    and no key of its own in the JSON."""
    whole = streamfold.accumulate(_stream())
    cut = streamfold.accumulate(_stream()[:2])
    assert (whole.is_complete, cut.is_complete) == (True, False)
    assert not streamfold.ChatCompletion().is_complete
    for completion in (whole, cut):
        data = streamfold.to_dict(completion)
        assert "is_complete" not in data
        assert "complete" not in json.dumps(data)
        assert streamfold.from_dict(streamfold.ChatCompletion, data).is_complete is (
            completion.is_complete
        )
    assert streamfold.accumulate_text(LEGACY).is_complete
    assert not streamfold.accumulate_text(LEGACY[:1]).is_complete


@pytest.mark.anyio
async def test_reprs_show_the_fold_state(anyio_backend: str) -> None:
    """Folded, AsyncFolded and Accumulator reprs show chunks, choices and whether complete."""
    wrapped = streamfold.wrap(_stream())
    assert repr(wrapped) == "<Folded not started: chunks=0, choices=0, complete=False>"
    for _ in wrapped:
        pass
    assert repr(wrapped) == "<Folded ended: chunks=5, choices=1, complete=True>"
    acc = streamfold.Accumulator()
    acc.add(_stream()[0])
    assert repr(acc) == "<Accumulator chunks=1, choices=1, complete=False>"
    async with streamfold.awrap(_asource(_stream(), [])) as awrapped:
        async for _ in awrapped:
            assert repr(awrapped).startswith("<AsyncFolded iterating: chunks=1, choices=1,")
            break
    assert repr(awrapped) == "<AsyncFolded ended: chunks=1, choices=1, complete=False>"


def test_model_reprs_leave_out_an_empty_extra() -> None:
    """attrs reprs: extra={} is left out; a non-empty extra is shown."""
    plain = streamfold.FunctionCall(name="f", arguments="{}")
    assert repr(plain) == "FunctionCall(name='f', arguments='{}')"
    kept = streamfold.FunctionCall(name="f", arguments="{}", extra={"x": 1})
    assert repr(kept) == "FunctionCall(name='f', arguments='{}', extra={'x': 1})"
    assert "extra" not in repr(streamfold.accumulate(_stream()))

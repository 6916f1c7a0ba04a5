"""The public API's types as mypy --strict sees them (the module below is checked, not run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHECKED = """
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic
import openai
from anthropic.types import RawMessageStreamEvent
from openai.types.responses import ResponseStreamEvent
from typing_extensions import assert_type

import streamfold


def chat(chunks: list[dict[str, Any]], result: streamfold.LogResult) -> None:
    completion = streamfold.accumulate(chunks)
    assert_type(completion, streamfold.ChatCompletion)
    assert_type(completion.choices[0].message.content, str | None)
    assert_type(completion.is_complete, bool)
    assert_type(streamfold.accumulate_text(chunks), streamfold.TextCompletion)
    wrapped = streamfold.wrap(chunks, strict=True)
    assert_type(wrapped.snapshot(), streamfold.ChatCompletion)
    assert_type(wrapped.completion, streamfold.ChatCompletion)
    assert_type(streamfold.to_dict(completion), dict[str, Any])
    if result.completion is not None:
        assert_type(streamfold.to_dict(result.completion), dict[str, Any])


def untyped(chunks: list[Any]) -> None:
    # a list of Any matches every overload: the result is Any, which is honest
    assert_type(streamfold.accumulate(chunks), Any)
    assert_type(streamfold.wrap(chunks).completion, Any)


def sdk_streams(
    client: openai.OpenAI,
    claude: anthropic.Anthropic,
    responses: openai.Stream[ResponseStreamEvent],
    messages: anthropic.Stream[RawMessageStreamEvent],
) -> None:
    chat_stream = client.chat.completions.create(model="m", messages=[], stream=True)
    assert_type(streamfold.accumulate(chat_stream), streamfold.ChatCompletion)
    assert_type(streamfold.wrap(chat_stream).completion, streamfold.ChatCompletion)
    assert_type(streamfold.accumulate(responses), streamfold.Response)
    wrapped = streamfold.wrap(responses)
    assert_type(wrapped, streamfold.Folded[ResponseStreamEvent, streamfold.Response])
    assert_type(wrapped.completion, streamfold.Response)
    assert_type(streamfold.accumulate(messages), streamfold.AnthropicMessage)
    assert_type(streamfold.wrap(messages).snapshot(), streamfold.AnthropicMessage)
    with claude.messages.stream(model="m", max_tokens=1, messages=[]) as helper:
        assert_type(streamfold.wrap(helper).completion, streamfold.AnthropicMessage)
    folded: streamfold.Folded[dict[str, Any]] = streamfold.wrap([{"choices": []}])
    assert_type(folded.completion, streamfold.ChatCompletion)


async def async_sdk_streams(
    responses: openai.AsyncStream[ResponseStreamEvent],
    messages: anthropic.AsyncStream[RawMessageStreamEvent],
) -> None:
    assert_type(await streamfold.aaccumulate(responses), streamfold.Response)
    assert_type(await streamfold.aaccumulate(messages), streamfold.AnthropicMessage)
    async with streamfold.awrap(responses) as wrapped:
        assert_type(wrapped.snapshot(), streamfold.Response)
    assert_type(streamfold.awrap(messages).completion, streamfold.AnthropicMessage)


def errors(error: streamfold.StreamfoldError, cut: streamfold.IncompleteStreamError) -> None:
    Completion = (
        streamfold.ChatCompletion
        | streamfold.TextCompletion
        | streamfold.Response
        | streamfold.AnthropicMessage
    )
    assert_type(error.completion, Completion | None)
    assert_type(cut.completion, Completion)


def arguments(call: streamfold.ToolCall) -> None:
    assert_type(streamfold.parse_arguments(call), Any)
    value, error = streamfold.try_parse_arguments(call)
    assert_type(error, streamfold.InvalidArgumentsError | None)


async def asynchronous(chunks: AsyncIterator[dict[str, Any]]) -> None:
    assert_type(await streamfold.aaccumulate(chunks), streamfold.ChatCompletion)
    assert_type(await streamfold.aaccumulate_text(chunks), streamfold.TextCompletion)
    async with streamfold.awrap(chunks, strict=True) as wrapped:
        assert_type(wrapped.snapshot(), streamfold.ChatCompletion)
    assert_type(wrapped.completion, streamfold.ChatCompletion)
"""


def test_public_types_under_mypy_strict(tmp_path: Path) -> None:
    """Chat folds type as ChatCompletion, legacy ones as TextCompletion, typed SDK streams of the
    Responses and Messages APIs as Response / AnthropicMessage; errors, to_dict and the
    argument parsers say what they return (mypy --strict on a module of assert_type calls)."""
    module = tmp_path / "typed_use.py"
    module.write_text(CHECKED)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--python-version",
            "3.10",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(module),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr

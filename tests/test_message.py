"""to_message: the assistant message as the next request takes it back."""

from __future__ import annotations

import json
from typing import Any

import pytest

import streamfold

ENVELOPE = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
SIG_A = "CiQBjz1rX7A1Zy0signatureA=="
SIG_B = "CiQBjz1rX7B2Zy0signatureB=="


def chunk(delta: dict[str, Any], finish: str | None = None, index: int = 0) -> dict[str, Any]:
    choice = {"index": index, "delta": delta, "finish_reason": finish}
    return {**ENVELOPE, "choices": [choice]}


def call_start(index: int, call_id: str, name: str, sig: str | None) -> dict[str, Any]:
    frag: dict[str, Any] = {
        "index": index,
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": ""},
    }
    if sig is not None:  # Gemini sends the signature with the call's first fragment
        frag["extra_content"] = {"google": {"thought_signature": sig}}
    return chunk({"tool_calls": [frag]})


def args(index: int, text: str) -> dict[str, Any]:
    return chunk({"tool_calls": [{"index": index, "function": {"arguments": text}}]})


def fold(chunks: list[dict[str, Any]]) -> streamfold.ChatCompletion:
    completion = streamfold.accumulate(chunks)
    assert isinstance(completion, streamfold.ChatCompletion)
    return completion


def test_gemini_tool_calls_keep_thought_signatures() -> None:
    """Parallel Gemini tool calls go back with their extra_content (thought signatures) intact."""
    completion = fold(
        [
            chunk({"role": "assistant"}),
            call_start(0, "call_0", "get_weather", SIG_A),
            args(0, '{"city": '),
            args(0, '"Paris"}'),
            call_start(1, "call_1", "get_time", None),
            args(1, '{"tz": "CET"}'),
            chunk({}, "tool_calls"),
        ]
    )
    assert streamfold.to_message(completion) == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_0",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                "extra_content": {"google": {"thought_signature": SIG_A}},
            },
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_time", "arguments": '{"tz": "CET"}'},
            },
        ],
    }


def test_deepseek_reasoning_content_goes_back_with_the_tool_call() -> None:
    """DeepSeek's reasoning_content is sent back (after a tool call it must be) with the text."""
    completion = fold(
        [
            chunk({"role": "assistant", "content": None, "reasoning_content": "The user "}),
            chunk({"reasoning_content": "wants the weather."}),
            chunk({"content": "Let me check."}),
            call_start(0, "call_00_abc", "get_weather", None),
            args(0, '{"city": "Hangzhou"}'),
            chunk({}, "tool_calls"),
        ]
    )
    assert streamfold.to_message(completion) == {
        "role": "assistant",
        "content": "Let me check.",
        "tool_calls": [
            {
                "id": "call_00_abc",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Hangzhou"}'},
            }
        ],
        "reasoning_content": "The user wants the weather.",
    }


def test_openrouter_reasoning_fields_and_nothing_else() -> None:
    """reasoning and reasoning_details go back; annotations, index and other extras do not."""
    completion = streamfold.from_dict(
        streamfold.ChatCompletion,
        {
            "id": "gen-1",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "native_finish_reason": "STOP",
                    "message": {
                        "role": "assistant",
                        "content": "42",
                        "refusal": None,
                        "annotations": [{"type": "url_citation", "url_citation": {"url": "x"}}],
                        "reasoning": "Adding up.",
                        "reasoning_details": [
                            {"type": "reasoning.text", "text": "Adding up.", "index": 0},
                            {"type": "reasoning.encrypted", "data": "gAAAAB==", "index": 1},
                        ],
                        "provider_specific_fields": {"x": 1},
                    },
                }
            ],
        },
    )
    message = streamfold.to_message(completion)
    assert message == {
        "role": "assistant",
        "content": "42",
        "reasoning_details": [
            {"type": "reasoning.text", "text": "Adding up.", "index": 0},
            {"type": "reasoning.encrypted", "data": "gAAAAB==", "index": 1},
        ],
        "reasoning": "Adding up.",
    }
    # plain data, independent of the (frozen) completion
    assert json.loads(json.dumps(message)) == message
    message["reasoning_details"].append({"type": "reasoning.text", "text": "more"})
    assert len(completion.choices[0].message.extra["reasoning_details"]) == 2


def test_refusal_audio_and_function_call() -> None:
    """A refusal is kept; audio goes back by id only; the legacy function_call is kept whole."""
    completion = streamfold.from_dict(
        streamfold.ChatCompletion,
        {
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "refusal": "I can't help with that.",
                        "audio": {
                            "id": "audio_abc",
                            "data": "UklGRg==",
                            "expires_at": 1730000000,
                            "transcript": "Hi",
                        },
                        "function_call": {"name": "lookup", "arguments": "{}"},
                    },
                }
            ],
        },
    )
    assert streamfold.to_message(completion) == {
        "role": "assistant",
        "content": None,
        "function_call": {"name": "lookup", "arguments": "{}"},
        "refusal": "I can't help with that.",
        "audio": {"id": "audio_abc"},
    }


def test_text_only_message_is_minimal() -> None:
    """A text answer is role and content only: no tool_calls, refusal or annotations keys."""
    completion = fold([chunk({"role": "assistant", "content": "Hi!"}, "stop")])
    assert streamfold.to_message(completion) == {"role": "assistant", "content": "Hi!"}


def test_choice_selects_by_index() -> None:
    """choice= is the choice's index; with n=2 each choice gives its own message."""
    completion = fold(
        [
            chunk({"role": "assistant", "content": "A"}, "stop", index=0),
            chunk({"role": "assistant", "content": "B"}, "stop", index=1),
        ]
    )
    assert streamfold.to_message(completion, 1) == {"role": "assistant", "content": "B"}
    assert streamfold.to_message(completion, choice=0)["content"] == "A"


def test_missing_choice_is_a_usage_error() -> None:
    """A choice index the completion does not have raises UsageError naming the ones it has."""
    completion = fold([chunk({"content": "A"}, "stop", index=0)])
    with pytest.raises(streamfold.UsageError, match=r"no choice 2 \(choices: 0\)"):
        streamfold.to_message(completion, 2)
    with pytest.raises(streamfold.UsageError, match=r"choices: none"):
        streamfold.to_message(streamfold.ChatCompletion())


def test_text_completion_is_refused() -> None:
    """A legacy text completion has no message: TypeError."""
    text = streamfold.accumulate_text(
        [{"choices": [{"index": 0, "text": "hi", "finish_reason": "stop"}]}]
    )
    with pytest.raises(TypeError, match="to_message takes a streamfold ChatCompletion"):
        streamfold.to_message(text)  # type: ignore[arg-type]

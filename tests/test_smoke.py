"""The bundled example folds to the completion the non-streamed API returns."""

from __future__ import annotations

import json
from pathlib import Path

import streamfold

EXAMPLE = Path(__file__).parent.parent / "examples" / "tool_calls.jsonl"


def test_bundled_example_folds_to_two_tool_calls() -> None:
    """The README's example stream folds into two complete parallel tool calls and usage."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    completion = streamfold.accumulate(lines)
    assert isinstance(completion, streamfold.ChatCompletion)
    message = completion.choices[0].message
    assert message.content is None
    assert message.tool_calls is not None
    assert [json.loads(c.function.arguments) for c in message.tool_calls] == [
        {"location": "Paris, France"},
        {"location": "Bogotá, Colombia"},
    ]
    assert completion.usage is not None
    assert completion.usage.total_tokens == 110

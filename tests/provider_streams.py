"""Small helpers for the provider streams of ``test_providers.py``.

The streams themselves are written out in the tests, in the shape each server sends; these helpers
only narrow fold results to the expected type and check the round trip through plain data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamfold

Chunk = dict[str, Any]
Fold = Callable[..., streamfold.Completion]
FoldText = Callable[..., streamfold.Completion]  # the fold_text fixture (conftest.py)


def chat(completion: object) -> streamfold.ChatCompletion:
    """Narrow a fold result to a ChatCompletion (and fail if it is anything else)."""
    assert isinstance(completion, streamfold.ChatCompletion)
    return completion


def msg(completion: object, index: int = 0) -> streamfold.ChatCompletionMessage:
    """The message of the choice at position ``index`` of a chat completion."""
    return chat(completion).choices[index].message


def calls(completion: object, index: int = 0) -> tuple[streamfold.ToolCall, ...]:
    """The tool calls of the choice at position ``index`` (and fail if there are none)."""
    tool_calls = msg(completion, index).tool_calls
    assert tool_calls is not None
    return tool_calls


def plain(completion: object) -> dict[str, Any]:
    """``to_dict`` of a completion, checked to be a dict that builds back to the same object."""
    data = streamfold.to_dict(completion)
    assert isinstance(data, dict)
    assert streamfold.from_dict(type(completion), data) == completion
    return data

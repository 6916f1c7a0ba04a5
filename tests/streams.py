"""Builders for chunk dicts in the exact shapes the OpenAI streaming API sends.

Every helper returns fresh plain data (parsed JSON), the way a chunk arrives after ``json.loads``
of one ``data:`` line. The envelope carries the same id / created / model / service_tier /
system_fingerprint on every chunk, as the API does; with ``include_usage`` every chunk also carries
``"usage": null`` and the stream ends with a chunk whose ``choices`` is empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import streamfold

Chunk = dict[str, Any]
Fold = Callable[..., streamfold.Completion]

ID = "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
CREATED = 1741569952
MODEL = "gpt-4o-2024-08-06"
FINGERPRINT = "fp_eb9dce56a8"
TIER = "default"

_UNSET: Any = object()


def chunk(
    choices: Sequence[dict[str, Any]] = (),
    *,
    usage: Any = _UNSET,
    **envelope: Any,
) -> Chunk:
    """One ``chat.completion.chunk``; ``envelope`` overrides (or adds) top-level keys.

    ``usage`` is left out unless given: pass ``None`` for the ``"usage": null`` that every chunk
    of an ``include_usage`` stream carries.
    """
    out: Chunk = {
        "id": ID,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "service_tier": TIER,
        "system_fingerprint": FINGERPRINT,
        "choices": list(choices),
    }
    if usage is not _UNSET:
        out["usage"] = usage
    out.update(envelope)
    return out


def choice(
    delta: dict[str, Any],
    *,
    index: int = 0,
    finish_reason: str | None = None,
    logprobs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One entry of a chunk's ``choices``."""
    return {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish_reason}


def role_delta() -> dict[str, Any]:
    """The delta of the first chunk of a text answer."""
    return {"role": "assistant", "content": "", "refusal": None}


def role_chunk(index: int = 0, *, logprobs: dict[str, Any] | None = None, **kw: Any) -> Chunk:
    """The first chunk of a choice: the role, empty content, no refusal."""
    return chunk([choice(role_delta(), index=index, logprobs=logprobs)], **kw)


def text_chunk(
    text: str, index: int = 0, *, logprobs: dict[str, Any] | None = None, **kw: Any
) -> Chunk:
    """A chunk carrying one content fragment."""
    return chunk([choice({"content": text}, index=index, logprobs=logprobs)], **kw)


def finish_chunk(reason: str = "stop", index: int = 0, **kw: Any) -> Chunk:
    """The closing chunk of a choice: an empty delta and the finish reason."""
    return chunk([choice({}, index=index, finish_reason=reason)], **kw)


def usage_dict(
    prompt: int,
    completion: int,
    *,
    cached: int = 0,
    reasoning: int = 0,
) -> dict[str, Any]:
    """A usage object with its prompt and completion token details, as the API writes it."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def usage_chunk(prompt: int, completion: int, **kw: Any) -> Chunk:
    """The last chunk of an ``include_usage`` stream: no choices, the usage."""
    return chunk([], usage=usage_dict(prompt, completion), **kw)


def call_start(index: int, call_id: str, name: str, arguments: str = "") -> dict[str, Any]:
    """The first fragment of a tool call: index, id, type and the function name."""
    return {
        "index": index,
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }


def call_args(index: int, arguments: str) -> dict[str, Any]:
    """A later fragment of a tool call: only the index and a piece of the arguments."""
    return {"index": index, "function": {"arguments": arguments}}


def tools_chunk(fragments: Iterable[dict[str, Any]], index: int = 0, **kw: Any) -> Chunk:
    """A chunk whose delta carries tool-call fragments."""
    return chunk([choice({"tool_calls": list(fragments)}, index=index)], **kw)


def tools_role_chunk(first: dict[str, Any], index: int = 0, **kw: Any) -> Chunk:
    """The first chunk of a tool-call answer: role, ``content: null`` and the first fragment."""
    delta = {"role": "assistant", "content": None, "tool_calls": [first], "refusal": None}
    return chunk([choice(delta, index=index)], **kw)


def text_stream(
    pieces: Iterable[str],
    *,
    finish_reason: str = "stop",
    index: int = 0,
    include_usage: bool = False,
) -> list[Chunk]:
    """A whole single-choice text answer: role chunk, content chunks, finish chunk."""
    kw: dict[str, Any] = {"usage": None} if include_usage else {}
    out = [role_chunk(index, **kw)]
    out.extend(text_chunk(p, index, **kw) for p in pieces)
    out.append(finish_chunk(finish_reason, index, **kw))
    return out


def token(text: str, logprob: float, top: Sequence[tuple[str, float]] = ()) -> dict[str, Any]:
    """A logprobs token entry with its UTF-8 bytes and its top alternatives."""
    return {
        "token": text,
        "logprob": logprob,
        "bytes": list(text.encode("utf-8")),
        "top_logprobs": [
            {"token": t, "logprob": lp, "bytes": list(t.encode("utf-8"))} for t, lp in top
        ],
    }


def as_chat(completion: object) -> streamfold.ChatCompletion:
    """Narrow a fold result to a ChatCompletion (and fail if it is anything else)."""
    assert isinstance(completion, streamfold.ChatCompletion)
    return completion


def message(completion: object, index: int = 0) -> streamfold.ChatCompletionMessage:
    """The message of the choice at position ``index`` of a chat completion."""
    return as_chat(completion).choices[index].message

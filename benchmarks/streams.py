"""Generated benchmark streams, in the shapes OpenAI sends (shared by every benchmark).

Each scenario is a generator of chunk dicts, so long streams need not be held in memory; ``scale``
multiplies the length. Every stream ends with a finish chunk and an include_usage chunk.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

ENVELOPE: dict[str, Any] = {
    "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
    "object": "chat.completion.chunk",
    "created": 1741570283,
    "model": "gpt-4o-2024-08-06",
    "service_tier": "default",
    "system_fingerprint": "fp_eb9dce56a8",
}
WORDS = ("The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".")


def _chunk(choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> dict[str, Any]:
    chunk = dict(ENVELOPE)
    chunk["choices"] = choices
    if usage is not None:
        chunk["usage"] = usage
    return chunk


def _choice(
    delta: dict[str, Any], index: int = 0, finish: str | None = None, logprobs: Any = None
) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}


def _usage(completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": 42,
        "completion_tokens": completion_tokens,
        "total_tokens": 42 + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def text(scale: int = 1) -> Iterator[dict[str, Any]]:
    """1,000 content chunks (times ``scale``)."""
    n = 1000 * scale
    yield _chunk([_choice({"role": "assistant", "content": "", "refusal": None})])
    for i in range(n):
        yield _chunk([_choice({"content": WORDS[i % 10]})])
    yield _chunk([_choice({}, finish="stop")])
    yield _chunk([], _usage(n))


def tools(scale: int = 1) -> Iterator[dict[str, Any]]:
    """4 parallel tool calls x 250 argument fragments (times ``scale``)."""
    per_call = 250 * scale
    yield _chunk([_choice({"role": "assistant", "content": None, "refusal": None})])
    for call in range(4):
        announce = {
            "index": call,
            "id": f"call_{call:024d}",
            "type": "function",
            "function": {"name": "write_file", "arguments": ""},
        }
        yield _chunk([_choice({"tool_calls": [announce]})])
        yield _chunk([_choice({"tool_calls": [{"index": call, "function": {"arguments": '{"'}}]})])
        for i in range(per_call - 2):
            piece = "text" if i == 0 else ('": "' if i == 1 else WORDS[i % 10])
            frag = {"index": call, "function": {"arguments": piece}}
            yield _chunk([_choice({"tool_calls": [frag]})])
        yield _chunk([_choice({"tool_calls": [{"index": call, "function": {"arguments": '"}'}}]})])
    yield _chunk([_choice({}, finish="tool_calls")])
    yield _chunk([], _usage(4 * per_call))


def logprobs(scale: int = 1) -> Iterator[dict[str, Any]]:
    """500 content chunks (times ``scale``), each with its token's logprob and top 5."""
    n = 500 * scale
    yield _chunk(
        [
            _choice(
                {"role": "assistant", "content": "", "refusal": None},
                logprobs={"content": [], "refusal": None},
            )
        ]
    )
    for i in range(n):
        word = WORDS[i % 10]
        raw = list(word.encode())
        top = [
            {"token": w, "logprob": -0.25 * k - 0.01, "bytes": list(w.encode())}
            for k, w in enumerate((word, *WORDS[(i + 1) % 10 : (i + 1) % 10 + 4]))
        ][:5]
        entry = {"token": word, "logprob": -0.01, "bytes": raw, "top_logprobs": top}
        yield _chunk([_choice({"content": word}, logprobs={"content": [entry], "refusal": None})])
    yield _chunk([_choice({}, finish="stop")])
    yield _chunk([], _usage(n))


def n4(scale: int = 1) -> Iterator[dict[str, Any]]:
    """n=4: 1,000 content chunks (times ``scale``) interleaved over four choices."""
    n = 1000 * scale
    for c in range(4):
        yield _chunk([_choice({"role": "assistant", "content": "", "refusal": None}, index=c)])
    for i in range(n):
        yield _chunk([_choice({"content": WORDS[i % 10]}, index=i % 4)])
    for c in range(4):
        yield _chunk([_choice({}, index=c, finish="stop")])
    yield _chunk([], _usage(n))


SCENARIOS: dict[str, Callable[[int], Iterator[dict[str, Any]]]] = {
    "text": text,
    "tools": tools,
    "logprobs": logprobs,
    "n4": n4,
}


def sse_body(chunks: Iterator[dict[str, Any]]) -> bytes:
    """The SSE body a server sends for ``chunks``."""
    parts = [b"data: " + json.dumps(c, separators=(",", ":")).encode() + b"\n\n" for c in chunks]
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def floor(chunks: list[dict[str, Any]]) -> str:
    """The floor: a bare loop that only appends the text and joins it."""
    parts = []
    for chunk in chunks:
        for choice in chunk["choices"]:
            delta = choice["delta"]
            text = delta.get("content")
            if text:
                parts.append(text)
            parts.extend(call["function"]["arguments"] for call in delta.get("tool_calls") or ())
    return "".join(parts)

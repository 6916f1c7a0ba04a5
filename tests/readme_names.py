"""The names the README's Python snippets use without defining them, with real values.

tests/test_readme.py copies this module beside each extracted snippet: mypy --strict checks the
snippets against these types, and the test runs them against these values (a local SSE server
reached through ``OPENAI_BASE_URL``, files written in the current directory). Importing it again
gives fresh streams.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from openai import OpenAI

import streamfold

__all__ = [
    "Path",
    "async_stream",
    "body",
    "chunks",
    "completion",
    "events",
    "messages",
    "render",
    "run_tool",
    "segments",
    "store",
    "stored",
    "stream",
    "too_long",
    "tool_results",
    "url",
]

_HERE = Path.cwd()

url: str = os.environ["OPENAI_BASE_URL"] + "/chat/completions"
body: dict[str, Any] = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}

# the chunks of the bundled tool-call capture, parsed
chunks: list[Any] = list(streamfold.iter_sse((_HERE / "capture.sse").read_bytes()))


async def _agen(items: list[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


async_stream: AsyncIterator[Any] = _agen(chunks)

# an SDK stream of the local server: a turn that calls a tool
sdk_client = OpenAI(max_retries=0)  # closed by the test after each snippet
stream = sdk_client.chat.completions.create(
    model="gpt-4o",
    messages=[{"role": "user", "content": "Weather in Paris and Bogotá?"}],
    tools=[{"type": "function", "function": {"name": "get_weather"}}],
    stream=True,
)

completion: streamfold.ChatCompletion = streamfold.accumulate(chunks)
messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Paris and Bogotá?"}]
events: list[streamfold.Event] = list(streamfold.wrap(chunks).events())
segments: list[tuple[int, list[Any]]] = [(0, chunks[:3]), (3, chunks[3:])]

tool_results: list[tuple[str | None, Any]] = []
stored: dict[str, Any] = {}
rendered: list[Any] = []


def run_tool(name: str | None, arguments: Any) -> None:
    """Record the call, as an agent would run it."""
    tool_results.append((name, arguments))


def too_long(snapshot: streamfold.ChatCompletion) -> bool:
    """Stop once some text has arrived."""
    return any(choice.message.content for choice in snapshot.choices)


def store(key: Any, data: dict[str, Any]) -> None:
    """Keep a folded completion by its key."""
    stored[str(key)] = data


def render(value: Any) -> None:
    """Show a partial value."""
    rendered.append(value)

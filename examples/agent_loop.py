"""A tool-calling agent loop with streamfold between the openai client and the next turn.

Runs against a local fake server that streams recorded-style responses, so it needs no API key:

    pip install '.[openai,partial]'    # from a clone of the repository
    python examples/agent_loop.py

What it shows: text printed as it arrives, a tool's arguments growing while they stream
(``PartialJSON``), the tool run the moment its call is done (the ``ToolCallDone`` event carries the
parsed arguments), the assistant message sent back with ``to_message`` together with the tool
result, and the loop stopping on the final answer.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

import streamfold

# -- the fake server: two recorded answers, chosen by what the conversation holds ---------------

TOOL_TURN: dict[str, Any] = {
    "id": "chatcmpl-agent-1",
    "object": "chat.completion",
    "created": 1741570283,
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Let me look up the weather in Paris.",
                "refusal": None,
                "annotations": [],
                "tool_calls": [
                    {
                        "id": "call_Dn2RJJSxzDm49vlVTehseJ0k",
                        "type": "function",
                        "function": {
                            "name": "get_weather",
                            "arguments": '{"city": "Paris", "unit": "celsius"}',
                        },
                    }
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"prompt_tokens": 81, "completion_tokens": 29, "total_tokens": 110},
    "service_tier": "default",
    "system_fingerprint": "fp_eb9dce56a8",
}

FINAL_TURN: dict[str, Any] = {
    **TOOL_TURN,
    "id": "chatcmpl-agent-2",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "It is 18 °C and sunny in Paris right now.",
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 131, "completion_tokens": 14, "total_tokens": 145},
}


class FakeServer(BaseHTTPRequestHandler):
    """Answers POST /v1/chat/completions with an SSE body cut from a recorded completion."""

    requests: list[dict[str, Any]] = []  # noqa: RUF012 - shared on purpose: the test reads it

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append(body)
        answered = any(m.get("role") == "tool" for m in body["messages"])
        completion = FINAL_TURN if answered else TOOL_TURN
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        chunks = streamfold.to_chunks(completion, piece_size=3, seed=7)
        for piece in streamfold.to_sse(chunks):
            self.wfile.write(piece)
            self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def fake_server() -> Iterator[str]:
    """Serve FakeServer on 127.0.0.1 in a thread; yield its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


# -- the agent ----------------------------------------------------------------------------------

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
            },
        },
    }
]


def get_weather(city: str, unit: str = "celsius") -> dict[str, Any]:
    """The tool: a canned observation."""
    return {"city": city, "temperature": 18, "unit": unit, "sky": "sunny"}


def run_agent(base_url: str, question: str, out: TextIO = sys.stdout, max_turns: int = 5) -> str:
    """Loop: stream a turn, run the tools it calls, send the results back, until an answer."""
    from openai import OpenAI

    # typed loosely: the SDK's overloads for create() change from one openai release to the next
    client: Any = OpenAI(base_url=base_url, api_key="not-needed", max_retries=0)
    messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
    tools: dict[str, Callable[..., Any]] = {"get_weather": get_weather}
    for _ in range(max_turns):
        stream = client.chat.completions.create(
            model="gpt-4o",
            messages=messages,
            tools=TOOLS,
            stream=True,
            stream_options={"include_usage": True},
        )
        results: list[dict[str, Any]] = []
        growing: dict[int, streamfold.PartialJSON] = {}
        mid_line = False  # text was printed without its line end yet
        with streamfold.wrap(stream) as turn:
            for event in turn.events():
                if isinstance(event, streamfold.ContentDelta):
                    out.write(event.delta)
                    mid_line = True
                elif isinstance(event, streamfold.ContentDone) and mid_line:
                    out.write("\n")
                    mid_line = False
                elif isinstance(event, streamfold.ToolCallStarted):
                    out.write(("\n" if mid_line else "") + f"[calling {event.name}]\n")
                    mid_line = False
                    growing[event.index] = streamfold.PartialJSON()
                elif isinstance(event, streamfold.ToolCallArgumentsDelta):
                    partial = growing[event.index]
                    partial.feed(event.delta)
                    out.write(f"  arguments so far: {json.dumps(partial.value)}\n")
                elif isinstance(event, streamfold.ToolCallDone):
                    if event.parse_error is not None:
                        result: Any = {"error": f"bad arguments: {event.parse_error}"}
                    else:
                        result = tools[event.name or ""](**event.parsed)
                    out.write(f"[{event.name} -> {json.dumps(result)}]\n")
                    results.append(
                        {"role": "tool", "tool_call_id": event.id, "content": json.dumps(result)}
                    )
        completion = turn.completion
        assert isinstance(completion, streamfold.ChatCompletion)
        messages.append(streamfold.to_message(completion))
        if not results:
            return completion.choices[0].message.content or ""
        messages.extend(results)
    raise RuntimeError(f"no final answer after {max_turns} turns")


def main() -> int:
    with fake_server() as url:
        answer = run_agent(url, "What's the weather in Paris?")
    print(f"final answer: {answer}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

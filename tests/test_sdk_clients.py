"""The real openai and anthropic clients, streaming from a local SSE server, wrapped unchanged:
``client.responses.create(stream=True)`` and ``client.messages.create(stream=True)`` (sync and
async, asyncio and trio), and ``client.messages.stream()``, whose helper events must not double
the text."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anthropic
import anyio
import openai
import pytest

import anthropic_streams as anth
import responses_streams as resp
import streamfold

RESPONSES = {
    "text": resp.TEXT,
    "parallel_calls": resp.PARALLEL_CALLS,
    "reasoning": resp.REASONING,
    "web_search": resp.WEB_SEARCH,
}
MESSAGES = {name: anth.STREAMS[name] for name in ("text", "tool", "thinking", "web_search")}


class _Server:
    """A local server answering every POST with the SSE body it was last given."""

    def __init__(self) -> None:
        self.body = b""
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                # in several writes, as a server streams
                for i in range(0, len(server.body), 97):
                    self.wfile.write(server.body[i : i + 97])
                    self.wfile.flush()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, events: list[dict[str, Any]]) -> None:
        self.body = b"".join(
            f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events
        )

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    """One local SSE server for the module, on a free port."""
    running = _Server()
    yield running
    running.close()


def _openai(server: _Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="test", max_retries=0)


def _anthropic(server: _Server) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key="test", max_retries=0)


@pytest.mark.parametrize("name", list(RESPONSES))
def test_openai_responses_stream_sync(server: _Server, name: str) -> None:
    """client.responses.create(stream=True) through wrap: the SDK's events pass unchanged and
    fold into the expected response; accumulate folds a second stream the same."""
    stream = RESPONSES[name]
    server.serve(stream.events)
    with _openai(server) as client:
        wrapped = streamfold.wrap(client.responses.create(model="gpt-4.1", input="hi", stream=True))
        seen = list(wrapped)
        assert [event.type for event in seen] == [e["type"] for e in stream.events]
        assert isinstance(wrapped.completion, streamfold.Response)
        assert streamfold.to_dict(wrapped.completion) == stream.expected
        again = streamfold.accumulate(
            client.responses.create(model="gpt-4.1", input="hi", stream=True)
        )
        assert again == wrapped.completion
    assert server.paths[-1] == "/v1/responses"


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("name", list(RESPONSES))
def test_openai_responses_stream_async(server: _Server, name: str, backend: str) -> None:
    """AsyncOpenAI's responses stream through awrap and aaccumulate, on asyncio and trio."""
    stream = RESPONSES[name]
    server.serve(stream.events)

    async def main() -> tuple[Any, Any]:
        async with openai.AsyncOpenAI(
            base_url=server.url + "/v1", api_key="test", max_retries=0
        ) as client:
            source = await client.responses.create(model="gpt-4.1", input="hi", stream=True)
            async with streamfold.awrap(source) as wrapped:
                async for _ in wrapped:
                    pass
            folded = await streamfold.aaccumulate(
                await client.responses.create(model="gpt-4.1", input="hi", stream=True)
            )
            return wrapped.completion, folded

    wrapped, folded = anyio.run(main, backend=backend)
    assert streamfold.to_dict(wrapped) == stream.expected
    assert folded == wrapped


@pytest.mark.parametrize("name", list(MESSAGES))
def test_anthropic_messages_stream_sync(server: _Server, name: str) -> None:
    """client.messages.create(stream=True) through wrap and accumulate."""
    events, expected = MESSAGES[name]
    server.serve(events)
    with _anthropic(server) as client:
        source = client.messages.create(
            model="claude-sonnet-4-5", max_tokens=64, messages=[], stream=True
        )
        wrapped = streamfold.wrap(source)
        # (the SDK drops the pings)
        assert [event.type for event in wrapped] == [e["type"] for e in events if e != anth.PING]
        assert isinstance(wrapped.completion, streamfold.AnthropicMessage)
        assert streamfold.to_dict(wrapped.completion) == expected
        again = streamfold.accumulate(
            client.messages.create(
                model="claude-sonnet-4-5", max_tokens=64, messages=[], stream=True
            )
        )
        assert again == wrapped.completion
    assert server.paths[-1] == "/v1/messages"


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("name", list(MESSAGES))
def test_anthropic_messages_stream_async(server: _Server, name: str, backend: str) -> None:
    """AsyncAnthropic's stream through awrap and aaccumulate, on asyncio and trio."""
    events, expected = MESSAGES[name]
    server.serve(events)

    async def main() -> tuple[Any, Any]:
        async with anthropic.AsyncAnthropic(
            base_url=server.url, api_key="test", max_retries=0
        ) as client:
            create = client.messages.create
            source = await create(
                model="claude-sonnet-4-5", max_tokens=64, messages=[], stream=True
            )
            async with streamfold.awrap(source) as wrapped:
                async for _ in wrapped:
                    pass
            folded = await streamfold.aaccumulate(
                await create(model="claude-sonnet-4-5", max_tokens=64, messages=[], stream=True)
            )
            return wrapped.completion, folded

    wrapped, folded = anyio.run(main, backend=backend)
    assert streamfold.to_dict(wrapped) == expected
    assert folded == wrapped


@pytest.mark.parametrize("name", list(MESSAGES))
def test_anthropic_stream_helper_does_not_double_the_text(server: _Server, name: str) -> None:
    """client.messages.stream() yields text/thinking/input_json events next to the raw ones:
    wrapped, the message is the expected one, as the SDK's own final message says."""
    events, expected = MESSAGES[name]
    server.serve(events)
    with (
        _anthropic(server) as client,
        client.messages.stream(model="claude-sonnet-4-5", max_tokens=64, messages=[]) as stream,
    ):
        wrapped = streamfold.wrap(stream)
        kinds = [event.type for event in wrapped]
        final = stream.get_final_message()
    assert len(kinds) > len(events) or name == "web_search"  # the helper's derived events
    assert streamfold.to_dict(wrapped.completion) == expected
    assert wrapped.completion.text == "".join(
        block.text for block in final.content if block.type == "text"
    )


def test_anthropic_stream_helper_async(server: _Server) -> None:
    """The async helper stream through awrap, on asyncio."""
    events, expected = MESSAGES["tool"]
    server.serve(events)

    async def main() -> Any:
        client = anthropic.AsyncAnthropic(base_url=server.url, api_key="test", max_retries=0)
        async with (
            client,
            client.messages.stream(model="claude-sonnet-4-5", max_tokens=64, messages=[]) as stream,
        ):
            wrapped = streamfold.awrap(stream)
            async for _ in wrapped:
                pass
            return wrapped.completion

    assert streamfold.to_dict(anyio.run(main, backend="asyncio")) == expected

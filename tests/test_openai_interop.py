"""The real openai client against a local SSE server, wrapped by streamfold; to_openai/from_openai.

A small HTTP server on 127.0.0.1 (stdlib, one thread per request, stopped after the module)
answers ``POST /v1/chat/completions`` with an SSE body written here from chunk dicts, sent with
chunked transfer in odd-sized pieces (7 and 13 bytes, flushed each time). The real ``openai.OpenAI``
and ``openai.AsyncOpenAI`` clients stream it; streamfold wraps their streams as they are.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import openai
import pydantic
import pytest
from openai.types.chat import ChatCompletion as SdkChatCompletion
from openai.types.chat import ChatCompletionChunk as SdkChatCompletionChunk

import streamfold

# ---------------------------------------------------------------------------------------------
# scenarios: the chunks the server streams, the request that asks for them, the completion
# they fold into (written by hand, in the shape a non-streamed request returns)

ENVELOPE: dict[str, Any] = {
    "id": "chatcmpl-AbC123",
    "object": "chat.completion.chunk",
    "created": 1730000000,
    "model": "gpt-4o-mini-2024-07-18",
    "system_fingerprint": "fp_0ba0d124f1",
}
TOP: dict[str, Any] = {k: ENVELOPE[k] for k in ("id", "created", "model", "system_fingerprint")}


def chunk(*choices: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {**ENVELOPE, "choices": list(choices), **top}


def choice(delta: dict[str, Any], index: int = 0, **fields: Any) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": None, **fields}


def logprob(token: str, value: float, alt: str) -> dict[str, Any]:
    top = [
        {"token": token, "logprob": value, "bytes": list(token.encode())},
        {"token": alt, "logprob": value - 1.5, "bytes": list(alt.encode())},
    ]
    return {"token": token, "logprob": value, "bytes": list(token.encode()), "top_logprobs": top}


SIG = "CiQBjz1rX0thoughtSignature=="

SCENARIOS: dict[str, tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]] = {
    "text": (
        [
            chunk(choice({"role": "assistant", "content": "", "refusal": None})),
            chunk(choice({"content": "Hello"})),
            chunk(choice({"content": ", wörld"})),
            chunk(choice({"content": "! 👋"})),
            chunk(choice({}, finish_reason="stop")),
        ],
        {},
        {
            **TOP,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hello, wörld! 👋"},
                    "finish_reason": "stop",
                }
            ],
        },
    ),
    "parallel_tools": (
        [
            chunk(choice({"role": "assistant", "content": None, "refusal": None})),
            chunk(
                choice(
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_Paris",
                                "type": "function",
                                "function": {"name": "get_weather", "arguments": ""},
                                # Gemini's thought signature: an extra key of the call
                                "extra_content": {"google": {"thought_signature": SIG}},
                            }
                        ]
                    }
                )
            ),
            chunk(choice({"tool_calls": [{"index": 0, "function": {"arguments": '{"loc'}}]})),
            chunk(choice({"tool_calls": [{"index": 0, "function": {"arguments": 'ation": "Pa'}}]})),
            chunk(choice({"tool_calls": [{"index": 0, "function": {"arguments": 'ris"}'}}]})),
            chunk(
                choice(
                    {
                        "tool_calls": [
                            {
                                "index": 1,
                                "id": "call_Bogota",
                                "type": "function",
                                "function": {"name": "get_weather", "arguments": ""},
                            }
                        ]
                    }
                )
            ),
            chunk(
                choice({"tool_calls": [{"index": 1, "function": {"arguments": '{"location": '}}]})
            ),
            chunk(choice({"tool_calls": [{"index": 1, "function": {"arguments": '"Bogotá"}'}}]})),
            chunk(choice({}, finish_reason="tool_calls")),
        ],
        {"tools": [{"type": "function", "function": {"name": "get_weather"}}]},
        {
            **TOP,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_Paris",
                                "type": "function",
                                "function": {
                                    "name": "get_weather",
                                    "arguments": '{"location": "Paris"}',
                                },
                                "extra_content": {"google": {"thought_signature": SIG}},
                            },
                            {
                                "id": "call_Bogota",
                                "type": "function",
                                "function": {
                                    "name": "get_weather",
                                    "arguments": '{"location": "Bogotá"}',
                                },
                            },
                        ],
                    },
                    "finish_reason": "tool_calls",
                }
            ],
        },
    ),
    "n2_logprobs": (
        [
            chunk(choice({"role": "assistant", "content": "", "refusal": None}, index=0)),
            chunk(choice({"role": "assistant", "content": "", "refusal": None}, index=1)),
            chunk(
                choice(
                    {"content": "Hi"},
                    index=0,
                    logprobs={"content": [logprob("Hi", -0.1, "Hey")], "refusal": None},
                )
            ),
            chunk(
                choice(
                    {"content": "Hello"},
                    index=1,
                    logprobs={"content": [logprob("Hello", -0.3, "Hi")], "refusal": None},
                )
            ),
            chunk(
                choice(
                    {"content": "!"},
                    index=1,
                    logprobs={"content": [logprob("!", -0.01, ".")], "refusal": None},
                )
            ),
            chunk(
                choice(
                    {"content": " there"},
                    index=0,
                    logprobs={"content": [logprob(" there", -0.2, " you")], "refusal": None},
                )
            ),
            chunk(choice({}, index=1, finish_reason="stop")),
            chunk(choice({}, index=0, finish_reason="length")),
        ],
        {"n": 2, "logprobs": True, "top_logprobs": 2},
        {
            **TOP,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hi there"},
                    "logprobs": {
                        "content": [logprob("Hi", -0.1, "Hey"), logprob(" there", -0.2, " you")],
                        "refusal": None,
                    },
                    "finish_reason": "length",
                },
                {
                    "index": 1,
                    "message": {"role": "assistant", "content": "Hello!"},
                    "logprobs": {
                        "content": [logprob("Hello", -0.3, "Hi"), logprob("!", -0.01, ".")],
                        "refusal": None,
                    },
                    "finish_reason": "stop",
                },
            ],
        },
    ),
    "refusal": (
        [
            chunk(choice({"role": "assistant", "content": None, "refusal": ""})),
            chunk(choice({"refusal": "I'm sorry"})),
            chunk(choice({"refusal": ", I can't help with that."})),
            chunk(choice({}, finish_reason="stop")),
        ],
        {},
        {
            **TOP,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "refusal": "I'm sorry, I can't help with that.",
                    },
                    "finish_reason": "stop",
                }
            ],
        },
    ),
    "include_usage": (
        [
            chunk(choice({"role": "assistant", "content": "", "refusal": None}), usage=None),
            chunk(choice({"content": "Four"}), usage=None),
            chunk(choice({"content": "."}), usage=None),
            chunk(choice({}, finish_reason="stop"), usage=None),
            chunk(usage={"prompt_tokens": 14, "completion_tokens": 2, "total_tokens": 16}),
        ],
        {"stream_options": {"include_usage": True}},
        {
            **TOP,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Four."},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 14, "completion_tokens": 2, "total_tokens": 16},
        },
    ),
}

# usage with token details, in the shape the API sends (see test_sdk_usage_details_fold_as_sent)
USAGE_DETAILS: list[dict[str, Any]] = [
    chunk(choice({"role": "assistant", "content": "Ok"}, finish_reason="stop")),
    chunk(
        usage={
            "prompt_tokens": 14,
            "completion_tokens": 1,
            "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }
    ),
]
BODIES = {name: chunks for name, (chunks, _, _) in SCENARIOS.items()}
BODIES["usage_details"] = USAGE_DETAILS
BODIES["long"] = [chunk(choice({"role": "assistant", "content": ""}))] + [
    chunk(choice({"content": f"word{i} "})) for i in range(400)
]


def sse_body(chunks: list[dict[str, Any]]) -> bytes:
    lines = [b"data: " + json.dumps(c, ensure_ascii=False).encode() + b"\n\n" for c in chunks]
    return b"".join(lines) + b"data: [DONE]\n\n"


def odd_pieces(body: bytes) -> Iterator[bytes]:
    """``body`` cut into pieces of 7 and 13 bytes in turn (splitting lines and characters)."""
    start = turn = 0
    while start < len(body):
        size = (7, 13)[turn % 2]
        yield body[start : start + size]
        start += size
        turn += 1


# ---------------------------------------------------------------------------------------------
# the server


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    requests: list[dict[str, Any]]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5  # a stuck client cannot hold a handler thread

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server = self.server
        assert isinstance(server, _Server)
        server.requests.append(request)
        if self.path != "/v1/chat/completions" or request.get("model") not in BODIES:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            for piece in odd_pieces(sse_body(BODIES[request["model"]])):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client left early (the early-exit tests do that on purpose)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    """A local SSE server for this module's tests; shut down after them."""
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.requests = []
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def base_url(srv: _Server) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}/v1"


def client_options(srv: _Server) -> dict[str, Any]:
    return {"base_url": base_url(srv), "api_key": "test", "max_retries": 0, "timeout": 10.0}


MESSAGES: list[Any] = [{"role": "user", "content": "Say hello."}]


PYDANTIC_1 = pydantic.VERSION.startswith("1.")


def dump(obj: Any) -> Any:
    """An SDK object as the JSON it was built from (the keys it was given)."""
    if PYDANTIC_1:  # the SDK's pydantic 1 shim takes no mode
        return obj.model_dump(exclude_unset=True)
    return obj.model_dump(mode="json", exclude_unset=True)


def check(name: str, seen: list[Any], folded: streamfold.Completion) -> None:
    """The SDK's chunks arrived unchanged and in order, and fold into the expected completion."""
    sent, _, expected = SCENARIOS[name]
    assert [type(c) for c in seen] == [SdkChatCompletionChunk] * len(sent)
    assert [dump(c) for c in seen] == sent
    assert [streamfold.from_openai(c) for c in seen] == [
        streamfold.from_dict(streamfold.ChatCompletionChunk, c) for c in sent
    ]
    assert folded == streamfold.from_dict(streamfold.ChatCompletion, expected)


# ---------------------------------------------------------------------------------------------
# the real clients


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_sync_client_stream_wrapped(server: _Server, name: str) -> None:
    """openai.OpenAI's Stream, wrapped as it is, yields its own chunks and folds them."""
    _, options, _ = SCENARIOS[name]
    with openai.OpenAI(**client_options(server)) as client:
        stream = client.chat.completions.create(
            model=name, messages=MESSAGES, stream=True, **options
        )
        with streamfold.wrap(stream) as chunks:
            seen = list(chunks)
    assert server.requests[-1]["stream"] is True
    check(name, seen, chunks.completion)
    assert stream.response.is_closed


# The SDK's AsyncStream stops reading at [DONE] without closing its inner async generators
# (``_iter_events``, ``SSEDecoder.aiter_bytes``; after an early exit, ``__stream__`` too); they are
# collected unexhausted, which trio reports as a ResourceWarning on every stream (asyncio finalizes
# them quietly). The stream itself works on trio; only the SDK's own generators are let through.
SDK_ASYNCGEN_LEAK = pytest.mark.filterwarnings(
    r"ignore:Async generator 'openai\._streaming\.:ResourceWarning"
)


@pytest.mark.anyio
@SDK_ASYNCGEN_LEAK
@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_async_client_stream_wrapped(server: _Server, name: str) -> None:
    """openai.AsyncOpenAI's AsyncStream, wrapped as it is, on asyncio and trio."""
    _, options, _ = SCENARIOS[name]
    async with openai.AsyncOpenAI(**client_options(server)) as client:
        stream = await client.chat.completions.create(
            model=name, messages=MESSAGES, stream=True, **options
        )
        async with streamfold.awrap(stream) as chunks:
            seen = [c async for c in chunks]
    check(name, seen, chunks.completion)
    assert stream.response.is_closed


def early_exit_sync(srv: _Server) -> tuple[Any, streamfold.Folded[Any]]:
    with openai.OpenAI(**client_options(srv)) as client:
        stream = client.chat.completions.create(model="long", messages=MESSAGES, stream=True)
        with streamfold.wrap(stream) as chunks:
            for c in chunks:
                if c.choices[0].delta.content == "word2 ":
                    break
    return stream, chunks


async def early_exit_async(srv: _Server) -> tuple[Any, streamfold.AsyncFolded[Any]]:
    async with openai.AsyncOpenAI(**client_options(srv)) as client:
        stream = await client.chat.completions.create(model="long", messages=MESSAGES, stream=True)
        async with streamfold.awrap(stream) as chunks:
            async for c in chunks:
                if c.choices[0].delta.content == "word2 ":
                    break
    return stream, chunks


def test_sync_early_exit_keeps_what_arrived(server: _Server) -> None:
    """Leaving the loop early ends the wrapper with everything that arrived before."""
    _, chunks = early_exit_sync(server)
    completion = chunks.completion
    assert isinstance(completion, streamfold.ChatCompletion)
    assert completion.choices[0].message.content == "word0 word1 word2 "
    assert not chunks.is_complete


@pytest.mark.anyio
@SDK_ASYNCGEN_LEAK
async def test_async_early_exit_keeps_what_arrived(server: _Server) -> None:
    """Leaving ``async for`` early ends the wrapper with everything that arrived before."""
    _, chunks = await early_exit_async(server)
    completion = chunks.completion
    assert isinstance(completion, streamfold.ChatCompletion)
    assert completion.choices[0].message.content == "word0 word1 word2 "
    assert not chunks.is_complete


def test_sync_early_exit_closes_the_sdk_response(server: _Server) -> None:
    """Leaving the loop early closes the SDK stream's HTTP response (the README's promise)."""
    stream, _ = early_exit_sync(server)
    assert stream.response.is_closed


@pytest.mark.anyio
@SDK_ASYNCGEN_LEAK
async def test_async_early_exit_closes_the_sdk_response(server: _Server) -> None:
    """Leaving ``async for`` early closes the SDK AsyncStream's HTTP response."""
    stream, _ = await early_exit_async(server)
    assert stream.response.is_closed


def test_sdk_usage_details_fold_as_sent(server: _Server) -> None:
    """Usage details folded from the SDK's objects hold the keys the server sent, no more."""
    # recent SDKs declare more detail fields than a server sends: they must not fold in as nulls
    with openai.OpenAI(**client_options(server)) as client:
        stream = client.chat.completions.create(
            model="usage_details", messages=MESSAGES, stream=True
        )
        from_sdk = streamfold.accumulate(stream)
    assert from_sdk == streamfold.accumulate(USAGE_DETAILS)


# ---------------------------------------------------------------------------------------------
# to_openai / from_openai


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_to_openai_from_openai_round_trip(name: str) -> None:
    """A folded completion becomes the SDK's ChatCompletion and comes back equal."""
    chunks, _, expected = SCENARIOS[name]
    folded = streamfold.accumulate(chunks)
    sdk = streamfold.to_openai(folded)
    assert type(sdk) is SdkChatCompletion
    assert dump(sdk) == streamfold.to_dict(folded)
    assert streamfold.from_openai(sdk) == folded
    # and from the SDK's side: the non-streamed JSON the API would send, through both
    parse = getattr(SdkChatCompletion, "model_validate", None) or SdkChatCompletion.parse_obj
    from_api = parse(streamfold.to_dict(folded))
    assert streamfold.from_openai(from_api) == streamfold.from_dict(
        streamfold.ChatCompletion, expected
    )


def test_round_trip_keeps_extra_keys_at_every_level() -> None:
    """Unknown keys (provider fields) survive streamfold -> SDK -> streamfold at every level."""
    data = {
        **TOP,
        "object": "chat.completion",
        "provider": "OpenRouter",
        "choices": [
            {
                "index": 0,
                "native_finish_reason": "STOP",
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "refusal": None,
                    "annotations": [],
                    "reasoning_content": "The user wants the weather.",
                    "reasoning_details": [
                        {"type": "reasoning.encrypted", "data": "gAAAA==", "index": 0}
                    ],
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": "{}"},
                            "extra_content": {"google": {"thought_signature": SIG}},
                        }
                    ],
                },
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": 3,
            "completion_tokens": 4,
            "total_tokens": 7,
            "cost": 0.00012,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }
    ours = streamfold.from_dict(streamfold.ChatCompletion, data)
    sdk = streamfold.to_openai(ours)
    assert dump(sdk)["provider"] == "OpenRouter"
    assert dump(sdk.choices[0].message)["reasoning_content"] == "The user wants the weather."
    assert streamfold.from_openai(sdk) == ours
    assert streamfold.to_dict(streamfold.from_openai(sdk)) == streamfold.to_dict(ours)


def test_chunk_round_trip() -> None:
    """A streamfold ChatCompletionChunk becomes the SDK's chunk and comes back equal."""
    sent = SCENARIOS["parallel_tools"][0][1]
    ours = streamfold.from_dict(streamfold.ChatCompletionChunk, sent)
    sdk = streamfold.to_openai(ours)
    assert type(sdk) is SdkChatCompletionChunk
    assert dump(sdk) == streamfold.to_dict(ours)
    assert streamfold.from_openai(sdk) == ours


def test_text_completion_round_trip() -> None:
    """A legacy TextCompletion becomes the SDK's Completion and comes back equal."""
    folded = streamfold.accumulate_text(
        [
            {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "gpt-3.5-turbo"}
            | {"choices": [{"index": 0, "text": "Hel", "logprobs": None, "finish_reason": None}]},
            {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "gpt-3.5-turbo"}
            | {"choices": [{"index": 0, "text": "lo", "logprobs": None, "finish_reason": "stop"}]},
        ]
    )
    assert isinstance(folded, streamfold.TextCompletion)
    sdk = streamfold.to_openai(folded)
    assert type(sdk) is openai.types.Completion
    assert sdk.choices[0].text == "Hello"
    assert streamfold.from_openai(sdk) == folded


def test_to_openai_reports_what_the_sdk_schema_refuses() -> None:
    """A stream cut before its finish_reason: validation names the field; validate=False builds."""
    chunks = SCENARIOS["text"][0][:3]
    folded = streamfold.accumulate(chunks)
    with pytest.raises(streamfold.InvalidChunkError, match=r"choices\.0\.finish_reason") as info:
        streamfold.to_openai(folded)
    assert info.value.path == "choices.0.finish_reason"
    assert isinstance(info.value, ValueError)
    sdk = streamfold.to_openai(folded, validate=False)
    assert type(sdk) is SdkChatCompletion
    assert sdk.choices[0].finish_reason is None
    assert sdk.choices[0].message.content == "Hello, wörld"
    assert streamfold.from_openai(sdk) == folded


def test_wrong_types_are_refused() -> None:
    """to_openai and from_openai take only the classes they convert."""
    with pytest.raises(TypeError, match="to_openai takes"):
        streamfold.to_openai({"id": "x"})  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="from_openai takes"):
        streamfold.from_openai(streamfold.ChatCompletion())  # type: ignore[call-overload]


def test_missing_openai_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without openai installed, both directions raise an ImportError naming the extra."""
    folded = streamfold.accumulate(SCENARIOS["text"][0])
    sdk = streamfold.to_openai(folded)
    monkeypatch.setitem(sys.modules, "openai", None)
    for call in (lambda: streamfold.to_openai(folded), lambda: streamfold.from_openai(sdk)):
        with pytest.raises(ImportError, match=r"pip install 'streamfold\[openai\]'") as info:
            call()
        assert info.value.name == "openai"


def test_import_needs_neither_openai_nor_jiter() -> None:
    """``import streamfold`` works, and folds, when openai and jiter are absent."""
    code = (
        "import sys; sys.modules['openai'] = None; sys.modules['jiter'] = None\n"
        "import streamfold\n"
        "c = streamfold.accumulate([{'choices': [{'delta': {'content': 'ok'}}]}])\n"
        "assert streamfold.parse_arguments('{\"a\": 1}') == {'a': 1}\n"
        "print(c.choices[0].message.content)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "ok"

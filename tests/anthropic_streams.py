"""Anthropic Messages API streams, written from the public streaming reference (event shapes as
the API sends them), each with the non-streamed message it must fold into, written out by hand.

Each entry of ``STREAMS`` is ``(events, expected)``: the events as parsed JSON and the expected
message as the JSON a non-streamed ``POST /v1/messages`` returns (``None`` for the error stream,
whose expectation lives in its test).
"""

from __future__ import annotations

from typing import Any

Event = dict[str, Any]

MODEL = "claude-sonnet-4-5"
PING: Event = {"type": "ping"}
STOP: Event = {"type": "message_stop"}


def start(msg_id: str, usage: dict[str, Any], **extra: Any) -> Event:
    """A ``message_start`` event with an empty content list, as the API sends it."""
    message: dict[str, Any] = {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    message.update(extra)
    return {"type": "message_start", "message": message}


def block(index: int, content_block: dict[str, Any]) -> Event:
    return {"type": "content_block_start", "index": index, "content_block": content_block}


def delta(index: int, body: dict[str, Any]) -> Event:
    return {"type": "content_block_delta", "index": index, "delta": body}


def text(index: int, piece: str) -> Event:
    return delta(index, {"type": "text_delta", "text": piece})


def json_piece(index: int, piece: str) -> Event:
    return delta(index, {"type": "input_json_delta", "partial_json": piece})


def stop(index: int) -> Event:
    return {"type": "content_block_stop", "index": index}


def finish(reason: str, usage: dict[str, Any], sequence: str | None = None) -> Event:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": reason, "stop_sequence": sequence},
        "usage": usage,
    }


def message(
    msg_id: str,
    content: list[dict[str, Any]],
    stop_reason: str | None,
    usage: dict[str, Any],
    stop_sequence: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The non-streamed message JSON."""
    out: dict[str, Any] = {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage,
    }
    out.update(extra)
    return out


# plain text; input tokens in message_start, output tokens in message_delta
TEXT = [
    start("msg_text", {"input_tokens": 25, "output_tokens": 1}),
    block(0, {"type": "text", "text": ""}),
    PING,
    text(0, "Hello"),
    text(0, "! How can"),
    PING,
    text(0, " I help you today?"),
    stop(0),
    finish("end_turn", {"output_tokens": 12}),
    STOP,
]
TEXT_MESSAGE = message(
    "msg_text",
    [{"type": "text", "text": "Hello! How can I help you today?"}],
    "end_turn",
    {"input_tokens": 25, "output_tokens": 12},
)

# text, then a tool call whose input streams as JSON fragments
TOOL = [
    start("msg_tool", {"input_tokens": 472, "output_tokens": 2}),
    block(0, {"type": "text", "text": ""}),
    text(0, "Okay, let me check"),
    text(0, " the weather."),
    stop(0),
    block(1, {"type": "tool_use", "id": "toolu_01T1x", "name": "get_weather", "input": {}}),
    json_piece(1, ""),
    json_piece(1, '{"location":'),
    json_piece(1, ' "San Fra'),
    json_piece(1, 'ncisco, CA", "unit": "fah'),
    json_piece(1, 'renheit"}'),
    stop(1),
    finish("tool_use", {"output_tokens": 89}),
    STOP,
]
TOOL_MESSAGE = message(
    "msg_tool",
    [
        {"type": "text", "text": "Okay, let me check the weather."},
        {
            "type": "tool_use",
            "id": "toolu_01T1x",
            "name": "get_weather",
            "input": {"location": "San Francisco, CA", "unit": "fahrenheit"},
        },
    ],
    "tool_use",
    {"input_tokens": 472, "output_tokens": 89},
)

# a tool without parameters: one empty input_json_delta
EMPTY_TOOL = [
    start("msg_empty", {"input_tokens": 300, "output_tokens": 1}),
    block(0, {"type": "tool_use", "id": "toolu_now", "name": "get_time", "input": {}}),
    json_piece(0, ""),
    stop(0),
    finish("tool_use", {"output_tokens": 30}),
    STOP,
]
EMPTY_TOOL_MESSAGE = message(
    "msg_empty",
    [{"type": "tool_use", "id": "toolu_now", "name": "get_time", "input": {}}],
    "tool_use",
    {"input_tokens": 300, "output_tokens": 30},
)

# parallel tool calls: one block after the other
PARALLEL = [
    start("msg_par", {"input_tokens": 500, "output_tokens": 1}),
    block(0, {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {}}),
    json_piece(0, '{"city": '),
    json_piece(0, '"Paris"}'),
    stop(0),
    PING,
    block(1, {"type": "tool_use", "id": "toolu_b", "name": "get_weather", "input": {}}),
    json_piece(1, '{"city": "Lo'),
    json_piece(1, 'ndon", "days": [1, 2'),
    json_piece(1, ", 3]}"),
    stop(1),
    finish("tool_use", {"output_tokens": 120}),
    STOP,
]
PARALLEL_MESSAGE = message(
    "msg_par",
    [
        {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {"city": "Paris"}},
        {
            "type": "tool_use",
            "id": "toolu_b",
            "name": "get_weather",
            "input": {"city": "London", "days": [1, 2, 3]},
        },
    ],
    "tool_use",
    {"input_tokens": 500, "output_tokens": 120},
)

# extended thinking, its signature in two pieces, then text, then a tool call
THINKING = [
    start("msg_think", {"input_tokens": 80, "output_tokens": 3, "cache_read_input_tokens": 0}),
    block(0, {"type": "thinking", "thinking": "", "signature": ""}),
    delta(0, {"type": "thinking_delta", "thinking": "The user wants 27 * 453."}),
    delta(0, {"type": "thinking_delta", "thinking": " That is 12231."}),
    delta(0, {"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbc"}),
    delta(0, {"type": "signature_delta", "signature": "Da9GJwZA2b3h"}),
    stop(0),
    block(1, {"type": "text", "text": ""}),
    text(1, "27 * 453 = 12,231. "),
    text(1, "Let me verify."),
    stop(1),
    block(2, {"type": "tool_use", "id": "toolu_calc", "name": "calculator", "input": {}}),
    json_piece(2, '{"expr": "27 * 453"}'),
    stop(2),
    finish("tool_use", {"output_tokens": 210}),
    STOP,
]
THINKING_MESSAGE = message(
    "msg_think",
    [
        {
            "type": "thinking",
            "thinking": "The user wants 27 * 453. That is 12231.",
            "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h",
        },
        {"type": "text", "text": "27 * 453 = 12,231. Let me verify."},
        {
            "type": "tool_use",
            "id": "toolu_calc",
            "name": "calculator",
            "input": {"expr": "27 * 453"},
        },
    ],
    "tool_use",
    {"input_tokens": 80, "output_tokens": 210, "cache_read_input_tokens": 0},
)

# redacted thinking comes whole in its start
REDACTED = [
    start("msg_red", {"input_tokens": 40, "output_tokens": 1}),
    block(0, {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"}),
    stop(0),
    block(1, {"type": "text", "text": ""}),
    text(1, "Done."),
    stop(1),
    finish("end_turn", {"output_tokens": 50}),
    STOP,
]
REDACTED_MESSAGE = message(
    "msg_red",
    [
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"},
        {"type": "text", "text": "Done."},
    ],
    "end_turn",
    {"input_tokens": 40, "output_tokens": 50},
)

SEARCH_RESULT = {
    "type": "web_search_result",
    "url": "https://en.wikipedia.org/wiki/Claude_Shannon",
    "title": "Claude Shannon - Wikipedia",
    "encrypted_content": "EqgfCioIARgBIiQ3YTAwMjY1Mi1mZjM5LTQ1NGUtODgxNC1kNjNjNTk1ZWI3Y",
    "page_age": "April 30, 2025",
}
CITATION = {
    "type": "web_search_result_location",
    "cited_text": "Claude Elwood Shannon (April 30, 1916 - February 24, 2001) was",
    "url": "https://en.wikipedia.org/wiki/Claude_Shannon",
    "title": "Claude Shannon - Wikipedia",
    "encrypted_index": "Eo8BCioIAhgBIiQyYjQ0OWJmZi1lNm",
}

# web search: the server tool call, its result block, then cited text
WEB_SEARCH = [
    start("msg_web", {"input_tokens": 2679, "output_tokens": 3, "cache_read_input_tokens": 0}),
    block(0, {"type": "text", "text": ""}),
    text(0, "I'll search for that."),
    stop(0),
    block(1, {"type": "server_tool_use", "id": "srvtoolu_014", "name": "web_search", "input": {}}),
    json_piece(1, ""),
    json_piece(1, '{"query'),
    json_piece(1, '": "claude shannon birth date"}'),
    stop(1),
    block(
        2,
        {
            "type": "web_search_tool_result",
            "tool_use_id": "srvtoolu_014",
            "content": [SEARCH_RESULT],
        },
    ),
    stop(2),
    block(3, {"type": "text", "text": ""}),
    delta(3, {"type": "citations_delta", "citation": CITATION}),
    text(3, "Claude Shannon was born on April 30, 1916."),
    stop(3),
    finish(
        "end_turn",
        {
            "input_tokens": 10682,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 510,
            "server_tool_use": {"web_search_requests": 1},
        },
    ),
    STOP,
]
WEB_SEARCH_MESSAGE = message(
    "msg_web",
    [
        {"type": "text", "text": "I'll search for that."},
        {
            "type": "server_tool_use",
            "id": "srvtoolu_014",
            "name": "web_search",
            "input": {"query": "claude shannon birth date"},
        },
        {
            "type": "web_search_tool_result",
            "tool_use_id": "srvtoolu_014",
            "content": [SEARCH_RESULT],
        },
        {
            "type": "text",
            "text": "Claude Shannon was born on April 30, 1916.",
            "citations": [CITATION],
        },
    ],
    "end_turn",
    {
        "input_tokens": 10682,
        "output_tokens": 510,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
        "server_tool_use": {"web_search_requests": 1},
    },
)

# cut: the connection dropped inside a tool call's input (no message_delta, no message_stop)
CUT = [
    start("msg_cut", {"input_tokens": 90, "output_tokens": 1}),
    block(0, {"type": "text", "text": ""}),
    text(0, "Writing the file"),
    stop(0),
    block(1, {"type": "tool_use", "id": "toolu_w", "name": "write_file", "input": {}}),
    json_piece(1, '{"path": "a.txt", '),
    json_piece(1, '"content": "hel'),
]
CUT_MESSAGE = message(
    "msg_cut",
    [
        {"type": "text", "text": "Writing the file"},
        {
            "type": "tool_use",
            "id": "toolu_w",
            "name": "write_file",
            "input": '{"path": "a.txt", "content": "hel',
        },
    ],
    None,
    {"input_tokens": 90, "output_tokens": 1},
)

# the server reports an error mid-stream (events 0-3 fold, event 4 is the error)
ERROR = [
    start("msg_err", {"input_tokens": 10, "output_tokens": 1}),
    block(0, {"type": "text", "text": ""}),
    text(0, "Partial ans"),
    PING,
    {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
]
ERROR_MESSAGE = message(
    "msg_err",
    [{"type": "text", "text": "Partial ans"}],
    None,
    {"input_tokens": 10, "output_tokens": 1},
)

# max_tokens: a normal outcome, the message is returned
MAX_TOKENS = [
    start("msg_max", {"input_tokens": 12, "output_tokens": 1}),
    block(0, {"type": "text", "text": ""}),
    text(0, "Once upon a time, there"),
    text(0, " was a"),
    stop(0),
    finish("max_tokens", {"output_tokens": 8}),
    STOP,
]
MAX_TOKENS_MESSAGE = message(
    "msg_max",
    [{"type": "text", "text": "Once upon a time, there was a"}],
    "max_tokens",
    {"input_tokens": 12, "output_tokens": 8},
)

# stop_sequence, with the sequence
STOP_SEQUENCE = [
    start("msg_seq", {"input_tokens": 7, "output_tokens": 1}),
    block(0, {"type": "text", "text": ""}),
    text(0, "1, 2, 3"),
    stop(0),
    finish("stop_sequence", {"output_tokens": 6}, sequence="4"),
    STOP,
]
STOP_SEQUENCE_MESSAGE = message(
    "msg_seq",
    [{"type": "text", "text": "1, 2, 3"}],
    "stop_sequence",
    {"input_tokens": 7, "output_tokens": 6},
    stop_sequence="4",
)

# a gateway: usage repeated cumulatively in message_delta (input tokens too), cache fields only
# at the start, a null that must erase nothing, unknown keys on events, deltas and blocks, and
# Bedrock's invocation metrics on message_stop
GATEWAY = [
    start(
        "msg_gw",
        {
            "input_tokens": 1000,
            "output_tokens": 1,
            "cache_creation_input_tokens": 200,
            "cache_read_input_tokens": 800,
        },
        container=None,
    ),
    {**block(0, {"type": "text", "text": "", "x_block": 1}), "x_gateway_seq": 1},
    delta(0, {"type": "text_delta", "text": "Hi", "x_delta": "a"}),
    {**text(0, " there"), "x_gateway_seq": 2},
    stop(0),
    {
        "type": "message_delta",
        "delta": {"stop_reason": None, "stop_sequence": None},
        "usage": {"input_tokens": 1000, "output_tokens": 5, "cache_read_input_tokens": None},
    },
    {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"input_tokens": 1000, "output_tokens": 9},
        "x_provider": "bedrock",
    },
    {"type": "message_stop", "amazon-bedrock-invocationMetrics": {"inputTokenCount": 1000}},
]
GATEWAY_MESSAGE = message(
    "msg_gw",
    [{"type": "text", "text": "Hi there", "x_block": 1, "x_gateway_seq": 2, "x_delta": "a"}],
    "end_turn",
    {
        "input_tokens": 1000,
        "output_tokens": 9,
        "cache_creation_input_tokens": 200,
        "cache_read_input_tokens": 800,
    },
    container=None,
    x_provider="bedrock",
)
GATEWAY_MESSAGE["amazon-bedrock-invocationMetrics"] = {"inputTokenCount": 1000}

# pause_turn and refusal are normal outcomes too
PAUSE = [
    start("msg_pause", {"input_tokens": 5, "output_tokens": 1}),
    finish("pause_turn", {"output_tokens": 1}),
    STOP,
]
PAUSE_MESSAGE = message("msg_pause", [], "pause_turn", {"input_tokens": 5, "output_tokens": 1})

STREAMS: dict[str, tuple[list[Event], dict[str, Any]]] = {
    "text": (TEXT, TEXT_MESSAGE),
    "tool": (TOOL, TOOL_MESSAGE),
    "empty_tool": (EMPTY_TOOL, EMPTY_TOOL_MESSAGE),
    "parallel": (PARALLEL, PARALLEL_MESSAGE),
    "thinking": (THINKING, THINKING_MESSAGE),
    "redacted": (REDACTED, REDACTED_MESSAGE),
    "web_search": (WEB_SEARCH, WEB_SEARCH_MESSAGE),
    "cut": (CUT, CUT_MESSAGE),
    "max_tokens": (MAX_TOKENS, MAX_TOKENS_MESSAGE),
    "stop_sequence": (STOP_SEQUENCE, STOP_SEQUENCE_MESSAGE),
    "gateway": (GATEWAY, GATEWAY_MESSAGE),
    "pause": (PAUSE, PAUSE_MESSAGE),
}

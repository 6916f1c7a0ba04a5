"""OpenAI Responses API streams, written from the public streaming events reference, with the
non-streamed ``response`` each folds into (written out by hand, in the API's shape).

Each :class:`ResponseStream` holds the events as the server sends them (``data:`` payloads,
parsed), the expected response JSON, whether the fold ends complete (``response.completed`` /
``response.incomplete``), and the error the stream reports (``response.failed`` / ``error``),
whose ``completion`` must be ``expected``. The integration tests run every stream through every
adapter; ``tests/test_responses.py`` folds them with the core directly.
"""

from __future__ import annotations

from typing import Any

from attrs import frozen

RID = "resp_67ccd2bed1ec8190b14f964abc054267"
MODEL = "gpt-4.1-2025-04-14"

# the response object as response.created sends it (the request's settings echoed back)
START: dict[str, Any] = {
    "id": RID,
    "object": "response",
    "created_at": 1741476542,
    "status": "in_progress",
    "error": None,
    "incomplete_details": None,
    "instructions": None,
    "max_output_tokens": None,
    "model": MODEL,
    "output": [],
    "parallel_tool_calls": True,
    "previous_response_id": None,
    "reasoning": {"effort": None, "summary": None},
    "store": True,
    "temperature": 1.0,
    "text": {"format": {"type": "text"}},
    "tool_choice": "auto",
    "tools": [],
    "top_p": 1.0,
    "truncation": "disabled",
    "usage": None,
    "user": None,
    "metadata": {},
}

USAGE: dict[str, Any] = {
    "input_tokens": 36,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 87,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 123,
}


@frozen
class ResponseStream:
    """A Responses API stream and what it folds into."""

    events: list[dict[str, Any]]
    expected: dict[str, Any]
    complete: bool = True
    error: dict[str, Any] | None = None  # the StreamError's payload, for failing streams


def numbered(events: list[dict[str, Any]], start: int = 0) -> list[dict[str, Any]]:
    """The events with their ``sequence_number`` (0, 1, 2, ... as the API numbers them)."""
    return [{**e, "sequence_number": start + i} for i, e in enumerate(events)]


def lifecycle(kind: str, **changes: Any) -> dict[str, Any]:
    """A lifecycle event (``response.created``, ...) carrying START with ``changes``."""
    return {"type": kind, "response": {**START, **changes}}


# -- 1. a plain text answer with usage ---------------------------------------------------------

_MSG_TEXT = {
    "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e6",
    "type": "message",
    "status": "completed",
    "role": "assistant",
    "content": [
        {
            "type": "output_text",
            "annotations": [],
            "logprobs": [],
            "text": "Hi there! How can I help?",
        }
    ],
}
_AT = {"item_id": _MSG_TEXT["id"], "output_index": 0, "content_index": 0}

TEXT = ResponseStream(
    numbered(
        [
            lifecycle("response.created"),
            lifecycle("response.in_progress"),
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {
                    "id": _MSG_TEXT["id"],
                    "type": "message",
                    "status": "in_progress",
                    "role": "assistant",
                    "content": [],
                },
            },
            {
                "type": "response.content_part.added",
                **_AT,
                "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""},
            },
            {
                "type": "response.output_text.delta",
                **_AT,
                "delta": "Hi",
                "logprobs": [],
                "obfuscation": "aB3xYz9Qw1",
            },
            {
                "type": "response.output_text.delta",
                **_AT,
                "delta": " there! ",
                "logprobs": [],
                "obfuscation": "k2",
            },
            {
                "type": "response.output_text.delta",
                **_AT,
                "delta": "How can I help?",
                "logprobs": [],
                "obfuscation": "",
            },
            {
                "type": "response.output_text.done",
                **_AT,
                "text": "Hi there! How can I help?",
                "logprobs": [],
            },
            {
                "type": "response.content_part.done",
                **_AT,
                "part": {
                    "type": "output_text",
                    "annotations": [],
                    "logprobs": [],
                    "text": "Hi there! How can I help?",
                },
            },
            {"type": "response.output_item.done", "output_index": 0, "item": _MSG_TEXT},
            lifecycle("response.completed", status="completed", output=[_MSG_TEXT], usage=USAGE),
        ]
    ),
    {
        "id": RID,
        "object": "response",
        "created_at": 1741476542,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": MODEL,
        "output": [
            {
                "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e6",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [
                    {
                        "type": "output_text",
                        "annotations": [],
                        "logprobs": [],
                        "text": "Hi there! How can I help?",
                    }
                ],
            }
        ],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": 36,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 87,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 123,
        },
        "user": None,
        "metadata": {},
    },
)

# the top level of a completed response: START's keys with the final status and usage
DONE_TOP: dict[str, Any] = {**START, "status": "completed", "usage": USAGE}


def _call_added(oi: int, fid: str, call_id: str, name: str) -> dict[str, Any]:
    return {
        "type": "response.output_item.added",
        "output_index": oi,
        "item": {
            "id": fid,
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": call_id,
            "name": name,
        },
    }


def _args(oi: int, fid: str, delta: str) -> dict[str, Any]:
    return {
        "type": "response.function_call_arguments.delta",
        "item_id": fid,
        "output_index": oi,
        "delta": delta,
        "obfuscation": "x",
    }


# -- 2. interleaved items: a message and a function call streaming at once (the terminal event
#       of this gateway carries no output, so only the deltas tell the content) -------------------

INTERLEAVED = ResponseStream(
    numbered(
        [
            lifecycle("response.created"),
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {
                    "id": "msg_a",
                    "type": "message",
                    "status": "in_progress",
                    "role": "assistant",
                    "content": [],
                },
            },
            _call_added(1, "fc_b", "call_b", "lookup"),
            {
                "type": "response.content_part.added",
                "item_id": "msg_a",
                "output_index": 0,
                "content_index": 0,
                "part": {"type": "output_text", "annotations": [], "text": ""},
            },
            _args(1, "fc_b", '{"q":'),
            {
                "type": "response.output_text.delta",
                "item_id": "msg_a",
                "output_index": 0,
                "content_index": 0,
                "delta": "Looking ",
            },
            _args(1, "fc_b", ' "tide"}'),
            {
                "type": "response.output_text.delta",
                "item_id": "msg_a",
                "output_index": 0,
                "content_index": 0,
                "delta": "it up.",
            },
            lifecycle("response.completed", status="completed", output=[], usage=USAGE),
        ]
    ),
    {
        **DONE_TOP,
        "output": [
            {
                "id": "msg_a",
                "type": "message",
                "status": "in_progress",
                "role": "assistant",
                "content": [{"type": "output_text", "annotations": [], "text": "Looking it up."}],
            },
            {
                "id": "fc_b",
                "type": "function_call",
                "status": "in_progress",
                "arguments": '{"q": "tide"}',
                "call_id": "call_b",
                "name": "lookup",
            },
        ],
    },
)

# -- 3. two parallel function calls ------------------------------------------------------------

_FC1 = {
    "id": "fc_1",
    "type": "function_call",
    "status": "completed",
    "arguments": '{"location":"Paris"}',
    "call_id": "call_1",
    "name": "get_weather",
}
_FC2 = {
    "id": "fc_2",
    "type": "function_call",
    "status": "completed",
    "arguments": '{"location":"Tokyo"}',
    "call_id": "call_2",
    "name": "get_weather",
}
PARALLEL_CALLS = ResponseStream(
    numbered(
        [
            lifecycle("response.created"),
            lifecycle("response.in_progress"),
            _call_added(0, "fc_1", "call_1", "get_weather"),
            _args(0, "fc_1", '{"loca'),
            _args(0, "fc_1", 'tion":"Pa'),
            _args(0, "fc_1", 'ris"}'),
            {
                "type": "response.function_call_arguments.done",
                "item_id": "fc_1",
                "output_index": 0,
                "arguments": '{"location":"Paris"}',
            },
            {"type": "response.output_item.done", "output_index": 0, "item": _FC1},
            _call_added(1, "fc_2", "call_2", "get_weather"),
            _args(1, "fc_2", '{"location":'),
            _args(1, "fc_2", '"Tokyo"}'),
            {
                "type": "response.function_call_arguments.done",
                "item_id": "fc_2",
                "output_index": 1,
                "arguments": '{"location":"Tokyo"}',
            },
            {"type": "response.output_item.done", "output_index": 1, "item": _FC2},
            lifecycle("response.completed", status="completed", output=[_FC1, _FC2], usage=USAGE),
        ]
    ),
    {
        **DONE_TOP,
        "output": [
            {
                "id": "fc_1",
                "type": "function_call",
                "status": "completed",
                "arguments": '{"location":"Paris"}',
                "call_id": "call_1",
                "name": "get_weather",
            },
            {
                "id": "fc_2",
                "type": "function_call",
                "status": "completed",
                "arguments": '{"location":"Tokyo"}',
                "call_id": "call_2",
                "name": "get_weather",
            },
        ],
    },
)

# -- 4. reasoning with encrypted content and two summary parts, then the answer -----------------

_RS = {"item_id": "rs_1", "output_index": 0}
_REASONING_DONE = {
    "id": "rs_1",
    "type": "reasoning",
    "summary": [
        {"type": "summary_text", "text": "**Planning** Count the letters."},
        {"type": "summary_text", "text": "Three r's."},
    ],
    "encrypted_content": "gAAAAABoYq8K-ENCRYPTED==",
}
_MSG_R = {
    "id": "msg_r",
    "type": "message",
    "status": "completed",
    "role": "assistant",
    "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": "3"}],
}
REASONING = ResponseStream(
    numbered(
        [
            lifecycle("response.created", reasoning={"effort": "medium", "summary": "auto"}),
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {"id": "rs_1", "type": "reasoning", "summary": []},
            },
            {
                "type": "response.reasoning_summary_part.added",
                **_RS,
                "summary_index": 0,
                "part": {"type": "summary_text", "text": ""},
            },
            {
                "type": "response.reasoning_summary_text.delta",
                **_RS,
                "summary_index": 0,
                "delta": "**Planning** ",
                "obfuscation": "z",
            },
            {
                "type": "response.reasoning_summary_text.delta",
                **_RS,
                "summary_index": 0,
                "delta": "Count the letters.",
            },
            {
                "type": "response.reasoning_summary_text.done",
                **_RS,
                "summary_index": 0,
                "text": "**Planning** Count the letters.",
            },
            {
                "type": "response.reasoning_summary_part.done",
                **_RS,
                "summary_index": 0,
                "part": {"type": "summary_text", "text": "**Planning** Count the letters."},
            },
            {
                "type": "response.reasoning_summary_part.added",
                **_RS,
                "summary_index": 1,
                "part": {"type": "summary_text", "text": ""},
            },
            {
                "type": "response.reasoning_summary_text.delta",
                **_RS,
                "summary_index": 1,
                "delta": "Three r's.",
            },
            {
                "type": "response.reasoning_summary_text.done",
                **_RS,
                "summary_index": 1,
                "text": "Three r's.",
            },
            {
                "type": "response.reasoning_summary_part.done",
                **_RS,
                "summary_index": 1,
                "part": {"type": "summary_text", "text": "Three r's."},
            },
            {"type": "response.output_item.done", "output_index": 0, "item": _REASONING_DONE},
            {
                "type": "response.output_item.added",
                "output_index": 1,
                "item": {
                    "id": "msg_r",
                    "type": "message",
                    "status": "in_progress",
                    "role": "assistant",
                    "content": [],
                },
            },
            {
                "type": "response.content_part.added",
                "item_id": "msg_r",
                "output_index": 1,
                "content_index": 0,
                "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""},
            },
            {
                "type": "response.output_text.delta",
                "item_id": "msg_r",
                "output_index": 1,
                "content_index": 0,
                "delta": "3",
                "logprobs": [],
            },
            {
                "type": "response.output_text.done",
                "item_id": "msg_r",
                "output_index": 1,
                "content_index": 0,
                "text": "3",
                "logprobs": [],
            },
            {
                "type": "response.content_part.done",
                "item_id": "msg_r",
                "output_index": 1,
                "content_index": 0,
                "part": _MSG_R["content"][0],
            },
            {"type": "response.output_item.done", "output_index": 1, "item": _MSG_R},
            lifecycle(
                "response.completed",
                status="completed",
                reasoning={"effort": "medium", "summary": "auto"},
                output=[_REASONING_DONE, _MSG_R],
                usage={**USAGE, "output_tokens_details": {"reasoning_tokens": 64}},
            ),
        ]
    ),
    {
        **DONE_TOP,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "usage": {
            "input_tokens": 36,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 87,
            "output_tokens_details": {"reasoning_tokens": 64},
            "total_tokens": 123,
        },
        "output": [
            {
                "id": "rs_1",
                "type": "reasoning",
                "summary": [
                    {"type": "summary_text", "text": "**Planning** Count the letters."},
                    {"type": "summary_text", "text": "Three r's."},
                ],
                "encrypted_content": "gAAAAABoYq8K-ENCRYPTED==",
            },
            {
                "id": "msg_r",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [
                    {"type": "output_text", "annotations": [], "logprobs": [], "text": "3"}
                ],
            },
        ],
    },
)

# -- 5. a refusal ---------------------------------------------------------------------------------

_REF = {"item_id": "msg_x", "output_index": 0, "content_index": 0}
REFUSAL = ResponseStream(
    numbered(
        [
            lifecycle("response.created"),
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {
                    "id": "msg_x",
                    "type": "message",
                    "status": "in_progress",
                    "role": "assistant",
                    "content": [],
                },
            },
            {
                "type": "response.content_part.added",
                **_REF,
                "part": {"type": "refusal", "refusal": ""},
            },
            {"type": "response.refusal.delta", **_REF, "delta": "I can't "},
            {"type": "response.refusal.delta", **_REF, "delta": "help with that."},
            {"type": "response.refusal.done", **_REF, "refusal": "I can't help with that."},
            {
                "type": "response.content_part.done",
                **_REF,
                "part": {"type": "refusal", "refusal": "I can't help with that."},
            },
            {
                "type": "response.output_item.done",
                "output_index": 0,
                "item": {
                    "id": "msg_x",
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "refusal", "refusal": "I can't help with that."}],
                },
            },
            lifecycle("response.completed", status="completed", usage=USAGE),
        ]
    ),
    {
        **DONE_TOP,
        "output": [
            {
                "id": "msg_x",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "refusal", "refusal": "I can't help with that."}],
            }
        ],
    },
)

# -- 6. a web search, then the answer with url_citation annotations -------------------------------

_WS = {"item_id": "ws_1", "output_index": 0}
_CIT1 = {
    "type": "url_citation",
    "start_index": 0,
    "end_index": 22,
    "title": "Tides - NOAA",
    "url": "https://oceanservice.noaa.gov/facts/tides.html?utm_source=openai",
}
_CIT2 = {
    "type": "url_citation",
    "start_index": 23,
    "end_index": 45,
    "title": "Moon - NASA",
    "url": "https://science.nasa.gov/moon/tides/?utm_source=openai",
}
_WA = {"item_id": "msg_w", "output_index": 1, "content_index": 0}
WEB_SEARCH = ResponseStream(
    numbered(
        [
            lifecycle("response.created", tools=[{"type": "web_search"}]),
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {"id": "ws_1", "type": "web_search_call", "status": "in_progress"},
            },
            {"type": "response.web_search_call.in_progress", **_WS},
            {"type": "response.web_search_call.searching", **_WS},
            {"type": "response.web_search_call.completed", **_WS},
            {
                "type": "response.output_item.done",
                "output_index": 0,
                "item": {
                    "id": "ws_1",
                    "type": "web_search_call",
                    "status": "completed",
                    "action": {"type": "search", "query": "what causes tides"},
                },
            },
            {
                "type": "response.output_item.added",
                "output_index": 1,
                "item": {
                    "id": "msg_w",
                    "type": "message",
                    "status": "in_progress",
                    "role": "assistant",
                    "content": [],
                },
            },
            {
                "type": "response.content_part.added",
                **_WA,
                "part": {"type": "output_text", "annotations": [], "text": ""},
            },
            {"type": "response.output_text.delta", **_WA, "delta": "The Moon's gravity pulls"},
            {"type": "response.output_text.delta", **_WA, "delta": " the oceans into bulges."},
            {
                "type": "response.output_text.annotation.added",
                **_WA,
                "annotation_index": 0,
                "annotation": _CIT1,
            },
            {
                "type": "response.output_text.annotation.added",
                **_WA,
                "annotation_index": 1,
                "annotation": _CIT2,
            },
            {
                "type": "response.output_text.done",
                **_WA,
                "text": "The Moon's gravity pulls the oceans into bulges.",
            },
            lifecycle(
                "response.completed", status="completed", tools=[{"type": "web_search"}], output=[]
            ),
        ]
    ),
    {
        **START,
        "status": "completed",
        "tools": [{"type": "web_search"}],
        "output": [
            {
                "id": "ws_1",
                "type": "web_search_call",
                "status": "completed",
                "action": {"type": "search", "query": "what causes tides"},
            },
            {
                "id": "msg_w",
                "type": "message",
                "status": "in_progress",
                "role": "assistant",
                "content": [
                    {
                        "type": "output_text",
                        "annotations": [
                            {
                                "type": "url_citation",
                                "start_index": 0,
                                "end_index": 22,
                                "title": "Tides - NOAA",
                                "url": "https://oceanservice.noaa.gov/facts/tides.html"
                                "?utm_source=openai",
                            },
                            {
                                "type": "url_citation",
                                "start_index": 23,
                                "end_index": 45,
                                "title": "Moon - NASA",
                                "url": "https://science.nasa.gov/moon/tides/?utm_source=openai",
                            },
                        ],
                        "text": "The Moon's gravity pulls the oceans into bulges.",
                    }
                ],
            },
        ],
    },
)

# -- 7. a cut stream: no terminal event ------------------------------------------------------------

CUT = ResponseStream(
    TEXT.events[:6],
    {
        **START,
        "output": [
            {
                "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e6",
                "type": "message",
                "status": "in_progress",
                "role": "assistant",
                "content": [
                    {"type": "output_text", "annotations": [], "logprobs": [], "text": "Hi there! "}
                ],
            }
        ],
    },
    complete=False,
)

# -- 8. an error event mid-stream ----------------------------------------------------------------

_ERROR = {
    "code": "server_error",
    "message": "The server had an error while processing your request.",
    "param": None,
}
ERROR_EVENT = ResponseStream(
    [*TEXT.events[:5], {"type": "error", **_ERROR, "sequence_number": 5}],
    {
        **START,
        "output": [
            {
                "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e6",
                "type": "message",
                "status": "in_progress",
                "role": "assistant",
                "content": [
                    {"type": "output_text", "annotations": [], "logprobs": [], "text": "Hi"}
                ],
            }
        ],
    },
    complete=False,
    error={
        "code": "server_error",
        "message": "The server had an error while processing your request.",
        "param": None,
    },
)

# -- 9. response.failed ----------------------------------------------------------------------------

_FAIL = {"code": "rate_limit_exceeded", "message": "Rate limit reached for gpt-4.1."}
FAILED = ResponseStream(
    numbered(
        [
            lifecycle("response.created"),
            lifecycle("response.in_progress"),
            lifecycle("response.failed", status="failed", error=_FAIL),
        ]
    ),
    {
        **START,
        "status": "failed",
        "error": {"code": "rate_limit_exceeded", "message": "Rate limit reached for gpt-4.1."},
    },
    complete=False,
    error={"code": "rate_limit_exceeded", "message": "Rate limit reached for gpt-4.1."},
)

# -- 10. response.incomplete: max_output_tokens ----------------------------------------------------

_MSG_CUT = {
    "id": "msg_i",
    "type": "message",
    "status": "incomplete",
    "role": "assistant",
    "content": [{"type": "output_text", "annotations": [], "text": "Once upon a"}],
}
INCOMPLETE = ResponseStream(
    numbered(
        [
            lifecycle("response.created", max_output_tokens=16),
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {
                    "id": "msg_i",
                    "type": "message",
                    "status": "in_progress",
                    "role": "assistant",
                    "content": [],
                },
            },
            {
                "type": "response.content_part.added",
                "item_id": "msg_i",
                "output_index": 0,
                "content_index": 0,
                "part": {"type": "output_text", "annotations": [], "text": ""},
            },
            {
                "type": "response.output_text.delta",
                "item_id": "msg_i",
                "output_index": 0,
                "content_index": 0,
                "delta": "Once upon",
            },
            {
                "type": "response.output_text.delta",
                "item_id": "msg_i",
                "output_index": 0,
                "content_index": 0,
                "delta": " a",
            },
            {"type": "response.output_item.done", "output_index": 0, "item": _MSG_CUT},
            lifecycle(
                "response.incomplete",
                status="incomplete",
                max_output_tokens=16,
                incomplete_details={"reason": "max_output_tokens"},
                output=[_MSG_CUT],
                usage={**USAGE, "output_tokens": 16, "total_tokens": 52},
            ),
        ]
    ),
    {
        **START,
        "status": "incomplete",
        "max_output_tokens": 16,
        "incomplete_details": {"reason": "max_output_tokens"},
        "usage": {
            "input_tokens": 36,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 16,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 52,
        },
        "output": [
            {
                "id": "msg_i",
                "type": "message",
                "status": "incomplete",
                "role": "assistant",
                "content": [{"type": "output_text", "annotations": [], "text": "Once upon a"}],
            }
        ],
    },
)

# -- 11. a gateway's terminal response.completed with output: [] (and no done events) --------------

GATEWAY_EMPTY = ResponseStream(
    numbered(
        [
            lifecycle("response.created"),
            TEXT.events[2],
            TEXT.events[3],
            TEXT.events[4],
            TEXT.events[5],
            TEXT.events[6],
            _call_added(1, "fc_g", "call_g", "search"),
            _args(1, "fc_g", '{"q": '),
            _args(1, "fc_g", '"x"}'),
            lifecycle("response.completed", status="completed", output=[], usage=USAGE),
        ]
    ),
    {
        **DONE_TOP,
        "output": [
            {
                "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e6",
                "type": "message",
                "status": "in_progress",
                "role": "assistant",
                "content": [
                    {
                        "type": "output_text",
                        "annotations": [],
                        "logprobs": [],
                        "text": "Hi there! How can I help?",
                    }
                ],
            },
            {
                "id": "fc_g",
                "type": "function_call",
                "status": "in_progress",
                "arguments": '{"q": "x"}',
                "call_id": "call_g",
                "name": "search",
            },
        ],
    },
)

# -- 12. an event after the terminal one -----------------------------------------------------------

AFTER_TERMINAL = ResponseStream(
    [
        *TEXT.events,
        {
            "type": "rate_limits.updated",
            "rate_limits": [
                {"name": "requests", "limit": 500, "remaining": 499, "reset_seconds": 0.12}
            ],
        },
    ],
    TEXT.expected,
)

# -- 13. out of order and duplicated sequence numbers ----------------------------------------------

_SHUFFLED = TEXT.events
OUT_OF_ORDER = ResponseStream(
    [
        _SHUFFLED[0],
        _SHUFFLED[1],
        _SHUFFLED[2],
        _SHUFFLED[3],
        _SHUFFLED[5],  # " there! " before "Hi"
        _SHUFFLED[4],
        _SHUFFLED[4],  # a repeat
        _SHUFFLED[7],  # the done text before the last delta
        _SHUFFLED[6],
        _SHUFFLED[6],
        _SHUFFLED[8],
        _SHUFFLED[10],  # the terminal before the item's done
        _SHUFFLED[9],
    ],
    TEXT.expected,
)

# -- 14. no content_part.added, no done events: a server that sends only items and deltas ----------

NO_PART_ADDED = ResponseStream(
    numbered(
        [
            lifecycle("response.created"),
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {
                    "id": "msg_n",
                    "type": "message",
                    "status": "in_progress",
                    "role": "assistant",
                    "content": [],
                },
            },
            {
                "type": "response.output_text.delta",
                "item_id": "msg_n",
                "output_index": 0,
                "content_index": 0,
                "delta": "No part ",
            },
            {
                "type": "response.output_text.delta",
                "item_id": "msg_n",
                "output_index": 0,
                "content_index": 0,
                "delta": "was announced.",
            },
            lifecycle("response.completed", status="completed", output=[], usage=USAGE),
        ]
    ),
    {
        **DONE_TOP,
        "output": [
            {
                "id": "msg_n",
                "type": "message",
                "status": "in_progress",
                "role": "assistant",
                "content": [
                    {"type": "output_text", "annotations": [], "text": "No part was announced."}
                ],
            }
        ],
    },
)

STREAMS: dict[str, ResponseStream] = {
    "text": TEXT,
    "interleaved": INTERLEAVED,
    "parallel_calls": PARALLEL_CALLS,
    "reasoning": REASONING,
    "refusal": REFUSAL,
    "web_search": WEB_SEARCH,
    "cut": CUT,
    "error_event": ERROR_EVENT,
    "failed": FAILED,
    "incomplete": INCOMPLETE,
    "gateway_empty_output": GATEWAY_EMPTY,
    "after_terminal": AFTER_TERMINAL,
    "out_of_order": OUT_OF_ORDER,
    "no_part_added": NO_PART_ADDED,
}

"""Streams of OpenAI-compatible servers (issue 4): each fact, in the shape its server sends.

Every test names the fact number and the server. The streams are written by hand from the facts;
the expected values are written by hand too, never computed by streamfold.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import streamfold
from provider_streams import Chunk, Fold, FoldText, calls, chat, msg, plain

# ---------------------------------------------------------------------------------------------
# 1. Azure: empty first chunk with prompt_filter_results, content_filter_results per choice, and
#    a trailing asynchronous-filter chunk with no delta.

AZURE_ID = "chatcmpl-AB8kqYm1u7Q2pXgR3bT9zLwE5vN0s"
AZURE_CREATED = 1727284532
AZURE_MODEL = "gpt-4o-2024-08-06"


def _safe() -> dict[str, Any]:
    return {
        "hate": {"filtered": False, "severity": "safe"},
        "self_harm": {"filtered": False, "severity": "safe"},
        "sexual": {"filtered": False, "severity": "safe"},
        "violence": {"filtered": False, "severity": "safe"},
    }


def _azure(choices: list[dict[str, Any]]) -> Chunk:
    return {
        "choices": choices,
        "created": AZURE_CREATED,
        "id": AZURE_ID,
        "model": AZURE_MODEL,
        "object": "chat.completion.chunk",
        "system_fingerprint": "fp_b705f0c291",
    }


def _azure_stream() -> list[Chunk]:
    return [
        {
            "choices": [],
            "created": 0,
            "id": "",
            "model": "",
            "object": "",
            "prompt_filter_results": [
                {
                    "prompt_index": 0,
                    "content_filter_results": {
                        **_safe(),
                        "jailbreak": {"filtered": False, "detected": False},
                    },
                }
            ],
        },
        _azure(
            [
                {
                    "content_filter_results": {},
                    "delta": {"content": "", "refusal": None, "role": "assistant"},
                    "finish_reason": None,
                    "index": 0,
                    "logprobs": None,
                }
            ]
        ),
        _azure(
            [
                {
                    "content_filter_results": _safe(),
                    "delta": {"content": "Bonjour"},
                    "finish_reason": None,
                    "index": 0,
                    "logprobs": None,
                }
            ]
        ),
        _azure(
            [
                {
                    "content_filter_results": _safe(),
                    "delta": {"content": " le monde !"},
                    "finish_reason": None,
                    "index": 0,
                    "logprobs": None,
                }
            ]
        ),
        _azure(
            [
                {
                    "content_filter_results": {},
                    "delta": {},
                    "finish_reason": "stop",
                    "index": 0,
                    "logprobs": None,
                }
            ]
        ),
        {
            "choices": [
                {
                    "content_filter_offsets": {
                        "check_offset": 0,
                        "start_offset": 0,
                        "end_offset": 18,
                    },
                    "content_filter_results": {
                        **_safe(),
                        "protected_material_code": {"filtered": False, "detected": False},
                        "protected_material_text": {"filtered": False, "detected": False},
                    },
                    "finish_reason": None,
                    "index": 0,
                }
            ],
            "created": 0,
            "id": "",
            "model": "",
            "object": "",
        },
    ]


def test_fact_01_azure_empty_first_chunk_and_trailing_filter_chunk_blank_nothing(
    fold: Fold,
) -> None:
    """Fact 1 (Azure): the empty first chunk and the delta-less last chunk keep id/model/finish."""
    c = chat(fold(_azure_stream()))
    assert c.id == AZURE_ID
    assert c.model == AZURE_MODEL
    assert c.created == AZURE_CREATED
    assert c.object == "chat.completion"
    assert len(c.choices) == 1
    assert c.choices[0].finish_reason == "stop"
    assert c.choices[0].message.content == "Bonjour le monde !"
    assert c.choices[0].message.role == "assistant"


def test_fact_01_azure_filter_results_kept_on_choice_and_top_level(fold: Fold) -> None:
    """Fact 1 (Azure): prompt_filter_results on top, latest content_filter_results per choice."""
    c = chat(fold(_azure_stream()))
    assert c.extra["prompt_filter_results"] == [
        {
            "prompt_index": 0,
            "content_filter_results": {
                "hate": {"filtered": False, "severity": "safe"},
                "self_harm": {"filtered": False, "severity": "safe"},
                "sexual": {"filtered": False, "severity": "safe"},
                "violence": {"filtered": False, "severity": "safe"},
                "jailbreak": {"filtered": False, "detected": False},
            },
        }
    ]
    assert c.choices[0].extra == {
        "content_filter_offsets": {"check_offset": 0, "start_offset": 0, "end_offset": 18},
        "content_filter_results": {
            "hate": {"filtered": False, "severity": "safe"},
            "self_harm": {"filtered": False, "severity": "safe"},
            "sexual": {"filtered": False, "severity": "safe"},
            "violence": {"filtered": False, "severity": "safe"},
            "protected_material_code": {"filtered": False, "detected": False},
            "protected_material_text": {"filtered": False, "detected": False},
        },
    }
    data = plain(c)
    assert data["choices"][0]["content_filter_results"]["violence"] == {
        "filtered": False,
        "severity": "safe",
    }
    assert data["choices"][0]["content_filter_offsets"]["end_offset"] == 18
    assert "content_filter_results" not in data["choices"][0]["message"]
    assert data["prompt_filter_results"][0]["prompt_index"] == 0
    assert data["id"] == AZURE_ID


# ---------------------------------------------------------------------------------------------
# 2. The id: different on the first chunk, changing on every chunk, or "" throughout (TGI).


def _openai_text(cid: str, piece: str, finish: str | None = None) -> Chunk:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": 1735689600,
        "model": "claude-3-5-sonnet-20241022",
        "choices": [
            {"index": 0, "delta": {"content": piece}, "logprobs": None, "finish_reason": finish}
        ],
    }


def test_fact_02_gateway_first_chunk_id_differs_from_later_ones(fold: Fold) -> None:
    """Fact 2 (gateway): the first chunk's own id is kept, later ids neither replace nor join it."""
    chunks = [
        {
            "id": "chatcmpl-5f0b3c1e-8d2a-4e6f-9b7c-1a2b3c4d5e6f",
            "object": "chat.completion.chunk",
            "created": 1735689600,
            "model": "claude-3-5-sonnet-20241022",
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": ""},
                    "logprobs": None,
                    "finish_reason": None,
                }
            ],
        },
        _openai_text("msg_01XFDUDYJgAACzvnptvVoYEL", "Hello"),
        _openai_text("msg_01XFDUDYJgAACzvnptvVoYEL", ", world"),
        _openai_text("msg_01XFDUDYJgAACzvnptvVoYEL", "", "stop"),
    ]
    c = chat(fold(chunks))
    assert c.id == "chatcmpl-5f0b3c1e-8d2a-4e6f-9b7c-1a2b3c4d5e6f"
    assert len(c.choices) == 1
    assert c.choices[0].message.content == "Hello, world"
    assert c.choices[0].finish_reason == "stop"


def test_fact_02_gateway_id_changing_on_every_chunk_is_one_stream(fold: Fold) -> None:
    """Fact 2 (gateway): an id that changes on every chunk still folds one stream, first id kept."""
    chunks = [
        _openai_text("chatcmpl-a1", "One"),
        _openai_text("chatcmpl-b2", " stream"),
        _openai_text("chatcmpl-c3", " only"),
        _openai_text("chatcmpl-d4", ".", "stop"),
    ]
    c = chat(fold(chunks))
    assert c.id == "chatcmpl-a1"
    assert len(c.choices) == 1
    assert c.choices[0].message.content == "One stream only."
    assert c.choices[0].finish_reason == "stop"


def _tgi(delta: dict[str, Any], finish: str | None = None, **more: Any) -> Chunk:
    return {
        "object": "chat.completion.chunk",
        "id": "",
        "created": 1732012345,
        "model": "meta-llama/Llama-3.1-8B-Instruct",
        "system_fingerprint": "3.0.1-sha-bb9095a",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        "usage": None,
        **more,
    }


def test_fact_02_tgi_empty_id_throughout(fold: Fold) -> None:
    """Fact 2 (TGI): `id: ""` on every chunk leaves no id and does not disturb the fold."""
    chunks = [
        _tgi({"role": "assistant", "content": "Deep"}),
        _tgi({"role": "assistant", "content": " learning"}),
        _tgi({"role": "assistant", "content": " is"}),
        _tgi({"role": "assistant", "content": " fun."}),
        _tgi({"role": "assistant", "content": ""}, "stop"),
    ]
    c = chat(fold(chunks))
    assert not c.id
    assert c.created == 1732012345
    assert c.model == "meta-llama/Llama-3.1-8B-Instruct"
    assert c.system_fingerprint == "3.0.1-sha-bb9095a"
    assert c.choices[0].message.content == "Deep learning is fun."
    assert c.choices[0].message.role == "assistant"


# ---------------------------------------------------------------------------------------------
# 3. `object` missing (Claude behind gateways) or wrong (`text_completion` on chat chunks, TGI).


def test_fact_03_gateway_claude_chunks_without_object(fold: Fold) -> None:
    """Fact 3 (Claude via a gateway): chunks without `object` fold into a chat.completion."""
    base = {"id": "msg_01HCDu5LRGeP2o7s2xGmxyx8", "created": 1735689600}
    base["model"] = "claude-sonnet-4-20250514"
    chunks: list[Chunk] = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}}]},
        {**base, "choices": [{"index": 0, "delta": {"content": " there"}}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]
    c = fold(chunks)
    assert isinstance(c, streamfold.ChatCompletion)
    assert c.object == "chat.completion"
    assert c.id == "msg_01HCDu5LRGeP2o7s2xGmxyx8"
    assert c.choices[0].message.content == "Hi there"
    assert c.choices[0].finish_reason == "stop"
    assert "object" not in c.extra


def test_fact_03_old_tgi_text_completion_object_on_chat_chunks(fold: Fold) -> None:
    """Fact 3 (old TGI): chat chunks labelled `object: "text_completion"` still fold as chat."""
    chunks = [
        {
            "id": "",
            "object": "text_completion",
            "created": 1714000000,
            "model": "meta-llama/Meta-Llama-3-8B-Instruct",
            "system_fingerprint": "2.0.1-sha-2d0a717",
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": piece},
                    "logprobs": None,
                    "finish_reason": finish,
                }
            ],
        }
        for piece, finish in [("Deep", None), (" learning", None), ("", "eos_token")]
    ]
    c = fold(chunks)
    assert isinstance(c, streamfold.ChatCompletion)
    assert c.object == "chat.completion"
    assert c.choices[0].message.content == "Deep learning"
    assert c.choices[0].finish_reason == "eos_token"
    assert plain(c)["object"] == "chat.completion"


# ---------------------------------------------------------------------------------------------
# 4. Nulls and empties that add nothing.


def _gw(choices: Any, **more: Any) -> Chunk:
    return {
        "id": "chatcmpl-9aB3xZq2",
        "object": "chat.completion.chunk",
        "created": 1735689600,
        "model": "llama-3.1-70b",
        "choices": choices,
        "error": None,
        **more,
    }


def test_fact_04_null_delta_null_choices_empty_lists_and_null_error_add_nothing(
    fold: Fold,
) -> None:
    """Fact 4: delta/choices null, content null or "", tool_calls [], error null add nothing."""
    chunks = [
        _gw(None),
        _gw([{"index": 0, "delta": None, "finish_reason": None}]),
        _gw(
            [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": None, "tool_calls": []},
                    "finish_reason": None,
                }
            ]
        ),
        _gw([{"index": 0, "delta": {"content": "", "tool_calls": []}, "finish_reason": None}]),
        _gw([{"index": 0, "delta": {"content": "Hello", "tool_calls": []}, "finish_reason": None}]),
        _gw([{"index": 0, "delta": {"content": None, "tool_calls": []}, "finish_reason": None}]),
        _gw(
            [
                {
                    "index": 0,
                    "delta": {"content": " there", "tool_calls": []},
                    "finish_reason": None,
                }
            ]
        ),
        _gw([{"index": 0, "delta": None, "finish_reason": "stop"}]),
        _gw(None),
    ]
    c = chat(fold(chunks))
    m = c.choices[0].message
    assert m.content == "Hello there"
    assert m.tool_calls is None
    assert m.role == "assistant"
    assert m.extra == {}
    assert c.choices[0].finish_reason == "stop"
    assert c.extra == {}
    data = plain(c)
    assert "error" not in data
    assert "tool_calls" not in data["choices"][0]["message"]


def test_fact_04_tool_call_stream_with_empty_and_null_content_has_null_content(
    fold: Fold,
) -> None:
    """Fact 4: `content: ""` then `content: null` around tool calls leave `content` null."""
    chunks = [
        _gw([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]),
        _gw(
            [
                {
                    "index": 0,
                    "delta": {
                        "content": None,
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_7Yc2",
                                "type": "function",
                                "function": {"name": "lookup", "arguments": '{"q":"x"}'},
                            }
                        ],
                    },
                    "finish_reason": None,
                }
            ]
        ),
        _gw([{"index": 0, "delta": {"content": ""}, "finish_reason": "tool_calls"}]),
    ]
    c = fold(chunks)
    assert msg(c).content is None
    assert [(t.id, t.function.arguments) for t in calls(c)] == [("call_7Yc2", '{"q":"x"}')]


# ---------------------------------------------------------------------------------------------
# 5. finish_reason twice (OpenRouter), absent until the end (Cerebras, xAI, Z.ai), or "stop" with
#    tool calls (Gemini, TGI, old Ollama).

OR_ID = "gen-1753872342-Wq2m7ZtFvJrK8sXbHcN4"
OR_CREATED = 1753872342


def _openrouter(
    delta: dict[str, Any],
    finish: str | None = None,
    native: str | None = None,
    model: str = "anthropic/claude-sonnet-4",
    provider: str = "Anthropic",
    **more: Any,
) -> Chunk:
    return {
        "id": OR_ID,
        "provider": provider,
        "model": model,
        "object": "chat.completion.chunk",
        "created": OR_CREATED,
        "choices": [
            {
                "index": 0,
                "delta": delta,
                "finish_reason": finish,
                "native_finish_reason": native,
                "logprobs": None,
            }
        ],
        **more,
    }


def _openrouter_usage() -> dict[str, Any]:
    return {
        "prompt_tokens": 42,
        "completion_tokens": 7,
        "total_tokens": 49,
        "cost": 0.000231,
        "is_byok": False,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "cost_details": {
            "upstream_inference_cost": None,
            "upstream_inference_prompt_cost": 0.000126,
            "upstream_inference_completions_cost": 0.000105,
        },
        "completion_tokens_details": {"reasoning_tokens": 0, "image_tokens": 0},
    }


def test_fact_05_openrouter_finish_reason_sent_twice(fold: Fold) -> None:
    """Fact 5 (OpenRouter): the finish sent again on the usage chunk is kept once, not joined."""
    chunks = [
        _openrouter({"role": "assistant", "content": "Paris"}),
        _openrouter({"role": "assistant", "content": "."}),
        _openrouter({"role": "assistant", "content": ""}, "stop", "end_turn"),
        _openrouter(
            {"role": "assistant", "content": ""}, "stop", "end_turn", usage=_openrouter_usage()
        ),
    ]
    c = chat(fold(chunks))
    assert c.choices[0].finish_reason == "stop"
    assert c.choices[0].extra["native_finish_reason"] == "end_turn"
    assert c.choices[0].message.content == "Paris."
    assert c.choices[0].message.role == "assistant"
    assert c.usage is not None
    assert c.usage.total_tokens == 49


def test_fact_05_cerebras_finish_reason_absent_until_the_end(fold: Fold) -> None:
    """Fact 5 (Cerebras): choices without a finish_reason key until the last one; strict passes."""

    def cerebras(delta: dict[str, Any], **more: Any) -> Chunk:
        return {
            "id": "chatcmpl-6b2f4d1e-0c3a-4e59-8a7b-9d1c2e3f4a5b",
            "choices": [{"delta": delta, "index": 0, **more}],
            "created": 1740000000,
            "model": "llama-3.3-70b",
            "system_fingerprint": "fp_2e4b6c8d0f",
            "object": "chat.completion.chunk",
        }

    chunks = [
        cerebras({"role": "assistant"}),
        cerebras({"content": "Hi"}),
        cerebras({"content": "!"}),
        cerebras({}, finish_reason="stop"),
    ]
    c = chat(fold(chunks, strict=True))
    assert c.choices[0].finish_reason == "stop"
    assert c.choices[0].message.content == "Hi!"


def test_fact_05_xai_finish_reason_absent_then_stop(fold: Fold) -> None:
    """Fact 5 (xAI): no finish_reason key on the text chunks, "stop" on the last."""

    def xai(delta: dict[str, Any], **more: Any) -> Chunk:
        return {
            "id": "3f8e5f2c-2d8b-4bb3-9d52-6c1f0a7e4b21",
            "object": "chat.completion.chunk",
            "created": 1745000000,
            "model": "grok-3",
            "choices": [{"index": 0, "delta": delta, **more}],
            "system_fingerprint": "fp_9a8c7b6d5e",
        }

    chunks = [
        xai({"content": "42", "role": "assistant"}),
        xai({"content": ", of course."}),
        xai({}, finish_reason="stop"),
    ]
    c = chat(fold(chunks, strict=True))
    assert c.choices[0].finish_reason == "stop"
    assert c.choices[0].message.content == "42, of course."


def _gemini(delta: dict[str, Any], finish: str | None = None, **more: Any) -> Chunk:
    return {
        "choices": [{"delta": delta, "finish_reason": finish, "index": 0}],
        "created": 1747220000,
        "id": "QhAlaOv5Ac6Hz7IP2r_Z2Q8",
        "model": "gemini-2.5-flash",
        "object": "chat.completion.chunk",
        **more,
    }


def _gemini_tool(call_id: str, name: str, args: str, **more: Any) -> dict[str, Any]:
    return {
        "function": {"arguments": args, "name": name},
        "id": call_id,
        "type": "function",
        **more,
    }


def _gemini_tool_stream() -> list[Chunk]:
    return [
        _gemini(
            {
                "role": "assistant",
                "tool_calls": [
                    _gemini_tool(
                        "function-call-13416486467838464218",
                        "get_weather",
                        '{"location":"Paris"}',
                    )
                ],
            },
            "stop",
            usage={"completion_tokens": 5, "prompt_tokens": 61, "total_tokens": 66},
        )
    ]


def test_fact_05_gemini_stop_with_tool_calls_kept_as_sent(fold: Fold) -> None:
    """Fact 5 (Gemini): "stop" on a tool-call answer is kept as sent by default."""
    c = fold(_gemini_tool_stream())
    assert chat(c).choices[0].finish_reason == "stop"
    assert [t.function.name for t in calls(c)] == ["get_weather"]


def test_fact_05_normalize_finish_reason_stop_becomes_tool_calls_when_tools_called(
    fold: Fold,
) -> None:
    """Fact 5 (Gemini, opt-in): normalize_finish_reason turns "stop" into "tool_calls"."""
    c = chat(fold(_gemini_tool_stream(), normalize_finish_reason=True))
    assert c.choices[0].finish_reason == "tool_calls"


def test_fact_05_normalize_finish_reason_leaves_text_only_stop_alone(fold: Fold) -> None:
    """Fact 5 (Gemini, opt-in): a text answer finished with "stop" stays "stop" when normalising."""
    chunks = [
        _gemini({"content": "Bonjour", "role": "assistant"}),
        _gemini({"content": " !", "role": "assistant"}, "stop"),
    ]
    c = chat(fold(chunks, normalize_finish_reason=True))
    assert c.choices[0].finish_reason == "stop"
    assert c.choices[0].message.content == "Bonjour !"


def test_fact_05_normalize_finish_reason_leaves_length_with_tools_alone(fold: Fold) -> None:
    """Fact 5 (opt-in): only "stop" is normalised; "length" with tool calls is kept."""
    chunks = [
        _tgi(
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"loc'},
                    }
                ],
            },
            "length",
        )
    ]
    c = chat(fold(chunks, normalize_finish_reason=True))
    assert c.choices[0].finish_reason == "length"


# ---------------------------------------------------------------------------------------------
# 6. Labels: role on every chunk or "", `channel` on every Groq gpt-oss delta; a label is never
#    concatenated.


def test_fact_06_openrouter_role_on_every_chunk_is_not_concatenated(fold: Fold) -> None:
    """Fact 6 (OpenRouter): `role: "assistant"` on every chunk stays "assistant"."""
    chunks = [
        _openrouter({"role": "assistant", "content": "Un"}),
        _openrouter({"role": "assistant", "content": " deux"}),
        _openrouter({"role": "assistant", "content": " trois"}, "stop", "end_turn"),
    ]
    c = chat(fold(chunks))
    assert c.choices[0].message.role == "assistant"
    assert c.choices[0].message.content == "Un deux trois"
    assert plain(c)["choices"][0]["message"]["role"] == "assistant"


def test_fact_06_ollama_role_then_empty_role(fold: Fold) -> None:
    """Fact 6 (Ollama-style): a `role: ""` on later chunks does not erase or extend the role."""

    def ollama(delta: dict[str, Any], finish: str | None = None) -> Chunk:
        return {
            "id": "chatcmpl-417",
            "object": "chat.completion.chunk",
            "created": 1733400000,
            "model": "llama3.2",
            "system_fingerprint": "fp_ollama",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    chunks = [
        ollama({"role": "assistant", "content": "Hel"}),
        ollama({"role": "", "content": "lo"}),
        ollama({"role": "", "content": ""}, "stop"),
    ]
    c = chat(fold(chunks))
    assert c.choices[0].message.role == "assistant"
    assert c.choices[0].message.content == "Hello"


def test_fact_06_empty_role_throughout_means_assistant(fold: Fold) -> None:
    """Fact 6: a stream whose role is always `""` folds to the role "assistant"."""
    chunks = [
        _tgi({"role": "", "content": "Yes"}),
        _tgi({"role": "", "content": "."}, "stop"),
    ]
    c = chat(fold(chunks))
    assert c.choices[0].message.role == "assistant"
    assert plain(c)["choices"][0]["message"]["role"] == "assistant"


GROQ_ID = "chatcmpl-9c3e6a9e-3a57-4b2e-8a4d-5f8b2e1c7d60"
GROQ_REQ = "req_01k1x7y3z9f0e8d7c6b5a4n3m2"


def _groq(
    delta: dict[str, Any] | None,
    finish: str | None = None,
    model: str = "openai/gpt-oss-20b",
    **more: Any,
) -> Chunk:
    choices = (
        []
        if delta is None
        else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    )
    return {
        "id": GROQ_ID,
        "object": "chat.completion.chunk",
        "created": 1754400000,
        "model": model,
        "system_fingerprint": "fp_3b0ad3d6b1",
        "choices": choices,
        **more,
    }


def test_fact_06_groq_gpt_oss_channel_on_every_delta_is_not_concatenated(fold: Fold) -> None:
    """Fact 6 (Groq gpt-oss): `channel: "analysis"` on each reasoning delta stays "analysis"."""
    chunks = [
        _groq({"role": "assistant", "content": ""}, x_groq={"id": GROQ_REQ}),
        _groq({"channel": "analysis", "reasoning": "User"}),
        _groq({"channel": "analysis", "reasoning": " greets."}),
        _groq({"channel": "analysis", "reasoning": " Reply."}),
        _groq({"content": "Hello!"}),
        _groq({}, "stop"),
    ]
    m = msg(fold(chunks))
    assert m.extra["channel"] == "analysis"
    assert m.extra["reasoning"] == "User greets. Reply."
    assert m.content == "Hello!"
    assert m.reasoning_text == "User greets. Reply."


LABEL_VALUES = [
    ("type", ["reasoning", "reasoning", "text"]),
    ("id", ["blk_1", "blk_1", "blk_2"]),
    ("name", ["planner", "planner", "writer"]),
    ("status", ["in_progress", "in_progress", "completed"]),
    ("channel", ["analysis", "analysis", "final"]),
    ("format", ["anthropic-claude-v1", "anthropic-claude-v1", "openai-responses-v1"]),
    ("signature", ["EqQBCkYIBxgC", "EqQBCkYIBxgC", "ErUBCkYIBhgCIkDm"]),
]


@pytest.mark.parametrize(("label", "values"), LABEL_VALUES, ids=[lv[0] for lv in LABEL_VALUES])
def test_fact_06_labels_directly_on_a_delta_keep_their_latest_value(
    fold: Fold, label: str, values: list[str]
) -> None:
    """Fact 6: a label directly on a delta keeps its latest value and is never concatenated."""
    chunks = [_groq({label: value, "content": f"{i}"}) for i, value in enumerate(values)]
    chunks.append(_groq({}, "stop"))
    m = msg(fold(chunks))
    assert m.extra[label] == values[-1]
    assert m.content == "012"


# ---------------------------------------------------------------------------------------------
# 6b. `content` as a list of typed parts (Mistral's Magistral, Databricks).


def _mistral(content: Any, finish: str | None = None, **more: Any) -> Chunk:
    delta: dict[str, Any] = {"content": content}
    return {
        "id": "0f7c8e2b1d3a4c5e9f6b7a8c0d1e2f3a",
        "object": "chat.completion.chunk",
        "created": 1749600000,
        "model": "magistral-medium-2506",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **more,
    }


def _thinking(text: str) -> list[dict[str, Any]]:
    return [{"type": "thinking", "thinking": [{"type": "text", "text": text}]}]


def _nested_text(parts: Any, kind: str, key: str) -> str:
    """All nested item texts of the kept parts of type ``kind``, in order."""
    return "".join(
        item["text"]
        for part in parts
        if part["type"] == kind
        for item in part[key]
        if isinstance(item, dict) and "text" in item
    )


def test_fact_06b_mistral_magistral_thinking_parts_then_string_content(fold: Fold) -> None:
    """Fact 6b (Magistral): thinking parts feed the reasoning, strings the content, parts kept."""
    first = _mistral(_thinking("Okay, "))
    first["choices"][0]["delta"]["role"] = "assistant"
    chunks = [
        first,
        _mistral(_thinking("2 + 2")),
        _mistral(_thinking(" is 4.")),
        _mistral("The answer"),
        _mistral(" is 4."),
        _mistral(
            "",
            "stop",
            usage={"prompt_tokens": 12, "total_tokens": 40, "completion_tokens": 28},
        ),
    ]
    c = chat(fold(chunks))
    m = c.choices[0].message
    assert m.content == "The answer is 4."
    assert m.reasoning_text == "Okay, 2 + 2 is 4."
    parts = m.extra["content_parts"]
    assert [p["type"] for p in parts if p["type"] == "thinking"] == ["thinking"]
    assert _nested_text(parts, "thinking", "thinking") == "Okay, 2 + 2 is 4."
    assert c.choices[0].finish_reason == "stop"
    assert plain(c)["choices"][0]["message"]["content"] == "The answer is 4."


def test_fact_06b_mistral_text_parts_concatenate_and_unknown_parts_survive(fold: Fold) -> None:
    """Fact 6b (Mistral): text parts join into content; a reference part is kept, no crash."""
    chunks = [
        _mistral([{"type": "text", "text": "Paris is"}]),
        _mistral([{"type": "text", "text": " the capital"}]),
        _mistral([{"type": "reference", "reference_ids": [0, 2]}]),
        _mistral(" of France."),
        _mistral("", "stop"),
    ]
    m = msg(fold(chunks))
    assert m.content == "Paris is the capital of France."
    assert {"type": "reference", "reference_ids": [0, 2]} in m.extra["content_parts"]
    assert m.reasoning_text is None


def test_fact_06b_databricks_reasoning_summary_parts(fold: Fold) -> None:
    """Fact 6b (Databricks): reasoning parts with summary items feed the reasoning text."""

    def databricks(content: Any, finish: str | None = None) -> Chunk:
        return {
            "id": "msg_01QzTn3Vq9XbKc7RfY2mPj8W",
            "object": "chat.completion.chunk",
            "created": 1746000000,
            "model": "databricks-claude-3-7-sonnet",
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": content},
                    "finish_reason": finish,
                    "logprobs": None,
                }
            ],
        }

    def summary(text: str, signature: str | None = None) -> list[dict[str, Any]]:
        item = {"type": "summary_text", "text": text, "signature": signature}
        return [{"type": "reasoning", "summary": [item]}]

    chunks = [
        databricks(summary("The user wants")),
        databricks(summary(" a haiku.")),
        databricks(summary("", "ErcBCkgIAhABGAIiQL")),
        databricks([{"type": "text", "text": "Autumn "}]),
        databricks("moonlight"),
        databricks("", "stop"),
    ]
    m = msg(fold(chunks))
    assert m.content == "Autumn moonlight"
    assert m.reasoning_text == "The user wants a haiku."
    parts = m.extra["content_parts"]
    assert _nested_text(parts, "reasoning", "summary") == "The user wants a haiku."
    signatures = [
        item.get("signature")
        for part in parts
        if part["type"] == "reasoning"
        for item in part["summary"]
    ]
    assert "ErcBCkgIAhABGAIiQL" in signatures


# ---------------------------------------------------------------------------------------------
# 6d. A `message` inside a streamed choice (Perplexity, Writer, Foundry Local) is ignored.
# 6c. A final chunk with another `object` (Perplexity) or per-delta integers (Hugging Face router).

PPLX_ID = "5a1e7c3b-2f4d-4e8a-9b6c-0d1e2f3a4b5c"
PPLX_CITATIONS = ["https://en.wikipedia.org/wiki/Paris", "https://www.britannica.com/place/Paris"]


def _pplx(
    piece: str,
    so_far: str,
    usage: dict[str, Any],
    finish: str | None = None,
    obj: str = "chat.completion.chunk",
) -> Chunk:
    return {
        "id": PPLX_ID,
        "model": "sonar",
        "created": 1752000000,
        "usage": usage,
        "citations": PPLX_CITATIONS,
        "object": obj,
        "choices": [
            {
                "index": 0,
                "finish_reason": finish,
                "message": {"role": "assistant", "content": so_far},
                "delta": {"role": "assistant", "content": piece},
            }
        ],
    }


def _pplx_usage(completion: int, cost: float) -> dict[str, Any]:
    return {
        "prompt_tokens": 6,
        "completion_tokens": completion,
        "total_tokens": 6 + completion,
        "search_context_size": "low",
        "cost": {
            "input_tokens_cost": 0.0,
            "output_tokens_cost": 0.0,
            "request_cost": 0.005,
            "total_cost": cost,
        },
    }


def _pplx_stream() -> list[Chunk]:
    return [
        _pplx("Paris", "Paris", _pplx_usage(1, 0.005)),
        _pplx(" is the capital", "Paris is the capital", _pplx_usage(4, 0.005)),
        _pplx(" of France.", "Paris is the capital of France.", _pplx_usage(7, 0.005)),
        _pplx(
            "",
            "Paris is the capital of France.",
            _pplx_usage(7, 0.00501),
            "stop",
            "chat.completion.done",
        ),
    ]


def test_fact_06d_perplexity_message_inside_choice_is_ignored(fold: Fold) -> None:
    """Fact 6d (Perplexity): the cumulative `message` in each choice is not folded nor kept."""
    c = chat(fold(_pplx_stream()))
    choice = c.choices[0]
    assert choice.message.content == "Paris is the capital of France."
    assert "message" not in choice.extra
    assert "message" not in choice.message.extra
    data = plain(c)
    assert data["choices"][0]["message"]["content"] == "Paris is the capital of France."
    assert set(data["choices"][0]) == {"index", "message", "logprobs", "finish_reason"}


def test_fact_06c_perplexity_done_object_with_cumulative_usage(fold: Fold) -> None:
    """Fact 6c (Perplexity): the `chat.completion.done` chunk folds; its usage is the final one."""
    c = fold(_pplx_stream())
    assert isinstance(c, streamfold.ChatCompletion)
    assert c.object == "chat.completion"
    assert c.id == PPLX_ID
    assert c.choices[0].finish_reason == "stop"
    assert c.usage is not None
    assert (c.usage.prompt_tokens, c.usage.completion_tokens, c.usage.total_tokens) == (6, 7, 13)
    assert c.usage.extra == {
        "search_context_size": "low",
        "cost": {
            "input_tokens_cost": 0.0,
            "output_tokens_cost": 0.0,
            "request_cost": 0.005,
            "total_cost": 0.00501,
        },
    }
    assert c.extra["citations"] == PPLX_CITATIONS


def test_fact_06c_hugging_face_router_token_id_per_delta(fold: Fold) -> None:
    """Fact 6c (Hugging Face router): a per-delta `token_id` keeps its latest value, not a sum."""

    def hf(delta: dict[str, Any], finish: str | None = None) -> Chunk:
        return {
            "id": "",
            "object": "chat.completion.chunk",
            "created": 1741000000,
            "model": "Qwen/Qwen2.5-72B-Instruct",
            "system_fingerprint": "3.2.0-sha-4d28897",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            "usage": None,
        }

    chunks = [
        hf({"role": "assistant", "content": "Hello", "token_id": 9707}),
        hf({"role": "assistant", "content": " world", "token_id": 1879}),
        hf({"role": "assistant", "content": "", "token_id": 151645}, "stop"),
    ]
    c = chat(fold(chunks))
    m = c.choices[0].message
    assert m.content == "Hello world"
    assert m.extra["token_id"] == 151645
    assert c.choices[0].finish_reason == "stop"


# ---------------------------------------------------------------------------------------------
# 7. Tool-call id / type / name repeated on every fragment, or name "" on continuations.


def _tool_delta(server: Any, fragments: list[dict[str, Any]], **kw: Any) -> Chunk:
    result: Chunk = server({"tool_calls": fragments}, **kw)
    return result


def test_fact_07_tgi_id_type_and_name_repeated_on_every_fragment(fold: Fold) -> None:
    """Fact 7 (TGI): `id`, `type` and `name` on every fragment are set once, never joined."""

    def frag(args: str) -> dict[str, Any]:
        return {
            "index": 0,
            "id": "",
            "type": "function",
            "function": {"description": None, "name": "get_current_weather", "arguments": args},
        }

    chunks = [
        _tgi({"role": "assistant", "tool_calls": [frag('{"')]}),
        _tgi({"role": "assistant", "tool_calls": [frag('location": "')]}),
        _tgi({"role": "assistant", "tool_calls": [frag('Brooklyn, NY"')]}),
        _tgi({"role": "assistant", "tool_calls": [frag(', "format": "celsius"}')]}),
        _tgi({"role": "assistant", "content": ""}, "stop"),
    ]
    (call,) = calls(fold(chunks))
    assert call.type == "function"
    assert call.function.name == "get_current_weather"
    assert json.loads(call.function.arguments) == {
        "location": "Brooklyn, NY",
        "format": "celsius",
    }
    assert not call.id


def test_fact_07_litellm_proxy_call_id_and_type_repeated(fold: Fold) -> None:
    """Fact 7 (LiteLLM proxy): the same call id and type on every fragment: one call, one id."""

    def litellm(delta: dict[str, Any], finish: str | None = None) -> Chunk:
        return {
            "id": "chatcmpl-8f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
            "created": 1736000000,
            "model": "gpt-4o-mini",
            "object": "chat.completion.chunk",
            "system_fingerprint": None,
            "choices": [{"finish_reason": finish, "index": 0, "delta": delta, "logprobs": None}],
        }

    def frag(args: str, name: str | None = None) -> dict[str, Any]:
        return {
            "id": "call_Kp3bZ9cT1mWq8rVx2yLd5sNf",
            "function": {"arguments": args, "name": name},
            "type": "function",
            "index": 0,
        }

    chunks = [
        litellm({"role": "assistant", "content": None, "tool_calls": [frag("", "get_weather")]}),
        litellm({"content": None, "tool_calls": [frag('{"city"')]}),
        litellm({"content": None, "tool_calls": [frag(': "Oslo"}')]}),
        litellm({}, "tool_calls"),
    ]
    (call,) = calls(fold(chunks))
    assert call.id == "call_Kp3bZ9cT1mWq8rVx2yLd5sNf"
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert call.function.arguments == '{"city": "Oslo"}'


def _llamacpp(delta: dict[str, Any], finish: str | None = None, **more: Any) -> Chunk:
    return {
        "choices": [{"finish_reason": finish, "index": 0, "delta": delta}],
        "created": 1738000000,
        "id": "chatcmpl-Xb3K9mQpZ2rT7vLw1yN4sE8uF0hJ",
        "model": "gpt-3.5-turbo",
        "system_fingerprint": "b5002-8e8ad3f8",
        "object": "chat.completion.chunk",
        **more,
    }


def test_fact_07_llamacpp_function_name_repeated_on_every_fragment(fold: Fold) -> None:
    """Fact 7 (llama.cpp): the function name on every fragment is kept once, not repeated."""

    def frag(args: str, first: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": 0,
            "function": {"name": "get_weather", "arguments": args},
        }
        if first:
            out["id"] = "call_Qm2xT7rB8vNk4LpZ1cWs9eYh"
            out["type"] = "function"
        return out

    chunks = [
        _llamacpp({"role": "assistant", "content": None, "tool_calls": [frag("", True)]}),
        _llamacpp({"tool_calls": [frag('{"location":')]}),
        _llamacpp({"tool_calls": [frag('"Paris"}')]}),
        _llamacpp({}, "tool_calls"),
    ]
    (call,) = calls(fold(chunks))
    assert call.function.name == "get_weather"
    assert call.id == "call_Qm2xT7rB8vNk4LpZ1cWs9eYh"
    assert json.loads(call.function.arguments) == {"location": "Paris"}


def test_fact_07_lm_studio_empty_name_on_continuations(fold: Fold) -> None:
    """Fact 7 (LM Studio): `name: ""` on continuation fragments never erases the name."""

    def lms(delta: dict[str, Any], finish: str | None = None) -> Chunk:
        return {
            "id": "chatcmpl-k2j9w8x7v6u5t4s3r2q1",
            "object": "chat.completion.chunk",
            "created": 1739000000,
            "model": "qwen2.5-7b-instruct",
            "system_fingerprint": "qwen2.5-7b-instruct",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    chunks = [
        lms(
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "365174485",
                        "type": "function",
                        "function": {"name": "get_delivery_date", "arguments": ""},
                    }
                ],
            }
        ),
        lms(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "type": "function",
                        "function": {"name": "", "arguments": '{"order_id":'},
                    }
                ]
            }
        ),
        lms(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "type": "function",
                        "function": {"name": "", "arguments": '"123"}'},
                    }
                ]
            }
        ),
        lms({}, "tool_calls"),
    ]
    (call,) = calls(fold(chunks))
    assert call.id == "365174485"
    assert call.function.name == "get_delivery_date"
    assert call.function.arguments == '{"order_id":"123"}'


# ---------------------------------------------------------------------------------------------
# 8. No `index` at all (Gemini's OpenAI endpoint, Ollama <= 0.4.6): whole calls, one per chunk.


def test_fact_08_gemini_parallel_calls_without_index_in_separate_chunks(fold: Fold) -> None:
    """Fact 8 (Gemini): index-less whole calls in separate chunks are separate calls."""
    chunks = [
        _gemini(
            {
                "role": "assistant",
                "tool_calls": [
                    _gemini_tool(
                        "function-call-13416486467838464218", "get_weather", '{"city":"Paris"}'
                    )
                ],
            }
        ),
        _gemini(
            {
                "role": "assistant",
                "tool_calls": [
                    _gemini_tool(
                        "function-call-7254163298810232911", "get_weather", '{"city":"Tokyo"}'
                    )
                ],
            },
            "stop",
        ),
    ]
    got = calls(fold(chunks))
    assert [(t.id, t.function.name, json.loads(t.function.arguments)) for t in got] == [
        ("function-call-13416486467838464218", "get_weather", {"city": "Paris"}),
        ("function-call-7254163298810232911", "get_weather", {"city": "Tokyo"}),
    ]


def _ollama(delta: dict[str, Any], finish: str | None = None, model: str = "llama3.2") -> Chunk:
    return {
        "id": "chatcmpl-593",
        "object": "chat.completion.chunk",
        "created": 1733300000,
        "model": model,
        "system_fingerprint": "fp_ollama",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def test_fact_08_ollama_046_calls_without_index(fold: Fold) -> None:
    """Fact 8 (Ollama <= 0.4.6): index-less calls, one per chunk, fold into two calls."""

    def call(call_id: str, city: str) -> dict[str, Any]:
        return {
            "id": call_id,
            "type": "function",
            "function": {"name": "get_current_weather", "arguments": f'{{"city":"{city}"}}'},
        }

    chunks = [
        _ollama(
            {"role": "assistant", "content": "", "tool_calls": [call("call_8tb5m2uf", "Rome")]}
        ),
        _ollama(
            {"role": "assistant", "content": "", "tool_calls": [call("call_3kx9q1vz", "Oslo")]}
        ),
        _ollama({"role": "assistant", "content": ""}, "stop"),
    ]
    c = fold(chunks)
    got = calls(c)
    assert [(t.id, json.loads(t.function.arguments)) for t in got] == [
        ("call_8tb5m2uf", {"city": "Rome"}),
        ("call_3kx9q1vz", {"city": "Oslo"}),
    ]
    assert all(t.function.name == "get_current_weather" for t in got)
    assert msg(c).content is None


# ---------------------------------------------------------------------------------------------
# 9. All parallel calls at `index: 0`, each with its own id and complete arguments.


def test_fact_09_ollama_parallel_calls_all_at_index_0(fold: Fold) -> None:
    """Fact 9 (Ollama): calls all at index 0 with their own ids stay separate, valid JSON each."""

    def call(call_id: str, city: str) -> dict[str, Any]:
        return {
            "id": call_id,
            "index": 0,
            "type": "function",
            "function": {"name": "get_weather", "arguments": f'{{"city":"{city}"}}'},
        }

    chunks = [
        _ollama(
            {"role": "assistant", "content": "", "tool_calls": [call("call_a1b2c3d4", "Paris")]}
        ),
        _ollama(
            {"role": "assistant", "content": "", "tool_calls": [call("call_e5f6g7h8", "Lima")]}
        ),
        _ollama({"role": "assistant", "content": ""}, "tool_calls"),
    ]
    got = calls(fold(chunks))
    assert len(got) == 2
    assert [t.id for t in got] == ["call_a1b2c3d4", "call_e5f6g7h8"]
    assert [json.loads(t.function.arguments) for t in got] == [{"city": "Paris"}, {"city": "Lima"}]
    assert [t.function.name for t in got] == ["get_weather", "get_weather"]


def test_fact_09_gemini_gateway_two_calls_at_index_0_in_one_delta(fold: Fold) -> None:
    """Fact 9 (Gemini gateway): two whole calls both at index 0 in one delta are two calls."""
    chunks = [
        _gemini(
            {
                "role": "assistant",
                "tool_calls": [
                    {**_gemini_tool("call_w1", "get_time", '{"tz":"Europe/Paris"}'), "index": 0},
                    {**_gemini_tool("call_w2", "get_time", '{"tz":"Asia/Tokyo"}'), "index": 0},
                ],
            },
            "tool_calls",
        )
    ]
    got = calls(fold(chunks))
    assert [(t.id, json.loads(t.function.arguments)) for t in got] == [
        ("call_w1", {"tz": "Europe/Paris"}),
        ("call_w2", {"tz": "Asia/Tokyo"}),
    ]


# ---------------------------------------------------------------------------------------------
# 10. The routing rule, on OpenAI's own streams and on its edge cases.


def _oai(delta: dict[str, Any], finish: str | None = None) -> Chunk:
    return {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion.chunk",
        "created": 1741569952,
        "model": "gpt-4o-2024-08-06",
        "service_tier": "default",
        "system_fingerprint": "fp_eb9dce56a8",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def test_fact_10_openai_parallel_calls_id_once_then_index_only(fold: Fold) -> None:
    """Fact 10 (OpenAI): id on the first fragment, index-only continuations, two calls."""

    def start(i: int, call_id: str) -> dict[str, Any]:
        return {
            "index": i,
            "id": call_id,
            "type": "function",
            "function": {"name": "get_weather", "arguments": ""},
        }

    def more(i: int, args: str) -> dict[str, Any]:
        return {"index": i, "function": {"arguments": args}}

    chunks = [
        _oai(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [start(0, "call_DdmO9pD3xa9XTPNJ32zg2hcA")],
                "refusal": None,
            }
        ),
        _oai({"tool_calls": [more(0, '{"lo')]}),
        _oai({"tool_calls": [more(0, 'cation": "Paris, France"}')]}),
        _oai({"tool_calls": [start(1, "call_ABqYt7ZgQk0bPq1ZkLl2eTcS")]}),
        _oai({"tool_calls": [more(1, '{"location": "Bogot')]}),
        _oai({"tool_calls": [more(1, 'á, Colombia"}')]}),
        _oai({}, "tool_calls"),
    ]
    got = calls(fold(chunks))
    assert [(t.id, json.loads(t.function.arguments)) for t in got] == [
        ("call_DdmO9pD3xa9XTPNJ32zg2hcA", {"location": "Paris, France"}),
        ("call_ABqYt7ZgQk0bPq1ZkLl2eTcS", {"location": "Bogotá, Colombia"}),
    ]


def test_fact_10_id_arriving_after_the_first_fragment_is_set_on_that_call(fold: Fold) -> None:
    """Fact 10: an id on a later fragment at an index whose call has no id names that call."""
    chunks = [
        _oai(
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "index": 0,
                        "type": "function",
                        "function": {"name": "search", "arguments": ""},
                    }
                ],
            }
        ),
        _oai({"tool_calls": [{"index": 0, "id": "call_late01", "function": {"arguments": "{"}}]}),
        _oai({"tool_calls": [{"index": 0, "function": {"arguments": '"q": "attrs"}'}}]}),
        _oai({}, "tool_calls"),
    ]
    (call,) = calls(fold(chunks))
    assert call.id == "call_late01"
    assert call.function.name == "search"
    assert call.function.arguments == '{"q": "attrs"}'


def test_fact_10_seen_id_without_index_continues_that_call(fold: Fold) -> None:
    """Fact 10: fragments that repeat a seen id (and have no index) continue that call."""

    def frag(call_id: str, args: str, name: str | None = None) -> dict[str, Any]:
        fn: dict[str, Any] = {"arguments": args}
        if name is not None:
            fn["name"] = name
        return {"id": call_id, "type": "function", "function": fn}

    chunks = [
        _oai({"role": "assistant", "tool_calls": [frag("toolu_01A", "", "get_weather")]}),
        _oai({"tool_calls": [frag("toolu_01B", "", "get_time")]}),
        _oai({"tool_calls": [frag("toolu_01A", '{"city": "Oslo"}')]}),
        _oai({"tool_calls": [frag("toolu_01B", '{"tz": "UTC"}')]}),
        _oai({}, "tool_calls"),
    ]
    got = calls(fold(chunks))
    assert [(t.id, t.function.name, t.function.arguments) for t in got] == [
        ("toolu_01A", "get_weather", '{"city": "Oslo"}'),
        ("toolu_01B", "get_time", '{"tz": "UTC"}'),
    ]


def test_fact_10_fragment_without_id_or_index_continues_the_latest_call(fold: Fold) -> None:
    """Fact 10: a fragment with neither id nor index continues the most recent call."""
    chunks = [
        _ollama(
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_one",
                        "type": "function",
                        "function": {"name": "a", "arguments": "{}"},
                    },
                    {
                        "id": "call_two",
                        "type": "function",
                        "function": {"name": "b", "arguments": '{"x":'},
                    },
                ],
            }
        ),
        _ollama({"tool_calls": [{"function": {"arguments": " 1}"}}]}),
        _ollama({}, "tool_calls"),
    ]
    got = calls(fold(chunks))
    assert [(t.id, t.function.arguments) for t in got] == [
        ("call_one", "{}"),
        ("call_two", '{"x": 1}'),
    ]


# ---------------------------------------------------------------------------------------------
# 11. Several calls in one delta (Cerebras, Mistral), first call at index 1 after text
#     (Anthropic-to-OpenAI gateways), empty-arguments fragments, calls without arguments.


def test_fact_11_cerebras_two_complete_calls_in_one_delta(fold: Fold) -> None:
    """Fact 11 (Cerebras): two whole calls inside one delta fold into two calls."""
    chunk: Chunk = {
        "id": "chatcmpl-1c9e7a52-4d3b-4f1e-b2a6-8e7d6c5b4a39",
        "choices": [
            {
                "delta": {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'},
                            "type": "function",
                            "id": "6f1d2e3a4",
                            "index": 0,
                        },
                        {
                            "function": {"name": "mul", "arguments": '{"a": 4, "b": 5}'},
                            "type": "function",
                            "id": "9b8c7d6e5",
                            "index": 1,
                        },
                    ],
                },
                "index": 0,
            }
        ],
        "created": 1740000000,
        "model": "qwen-3-32b",
        "system_fingerprint": "fp_2e4b6c8d0f",
        "object": "chat.completion.chunk",
    }
    finish: Chunk = {**chunk, "choices": [{"delta": {}, "finish_reason": "tool_calls", "index": 0}]}
    got = calls(fold([chunk, finish]))
    assert [(t.id, t.function.name, json.loads(t.function.arguments)) for t in got] == [
        ("6f1d2e3a4", "add", {"a": 2, "b": 3}),
        ("9b8c7d6e5", "mul", {"a": 4, "b": 5}),
    ]


def test_fact_11_mistral_two_complete_calls_in_one_delta(fold: Fold) -> None:
    """Fact 11 (Mistral): two whole calls in one delta, with Mistral's 9-character ids."""
    chunks = [
        {
            "id": "cf79f7daaee244b1a0ae5c7b1444424a",
            "object": "chat.completion.chunk",
            "created": 1759500000,
            "model": "mistral-large-latest",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "role": "assistant",
                        "content": "",
                        "tool_calls": [
                            {
                                "id": "D681PevKs",
                                "function": {
                                    "name": "retrieve_payment_status",
                                    "arguments": '{"transaction_id": "T1001"}',
                                },
                                "index": 0,
                            },
                            {
                                "id": "Ri9PdGtcv",
                                "function": {
                                    "name": "retrieve_payment_date",
                                    "arguments": '{"transaction_id": "T1001"}',
                                },
                                "index": 1,
                            },
                        ],
                    },
                    "finish_reason": "tool_calls",
                }
            ],
            "usage": {"prompt_tokens": 191, "total_tokens": 248, "completion_tokens": 57},
        }
    ]
    c = fold(chunks)
    got = calls(c)
    assert [(t.id, t.type, t.function.name) for t in got] == [
        ("D681PevKs", "function", "retrieve_payment_status"),
        ("Ri9PdGtcv", "function", "retrieve_payment_date"),
    ]
    assert [json.loads(t.function.arguments) for t in got] == [{"transaction_id": "T1001"}] * 2
    assert msg(c).content is None


def test_fact_11_anthropic_gateway_first_call_at_index_1_after_text(fold: Fold) -> None:
    """Fact 11 (Anthropic gateway): text, then the only call at index 1: one call, text kept."""

    def claude(delta: dict[str, Any], finish: str | None = None) -> Chunk:
        return {
            "id": "chatcmpl-3a9f1b2c-7d8e-4f60-a1b2-c3d4e5f6a7b8",
            "created": 1747000000,
            "model": "claude-sonnet-4-20250514",
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    chunks = [
        claude({"role": "assistant", "content": "Let me check the weather."}),
        claude(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            }
        ),
        claude({"tool_calls": [{"index": 1, "function": {"arguments": '{"location": '}}]}),
        claude({"tool_calls": [{"index": 1, "function": {"arguments": '"Paris"}'}}]}),
        claude({}, "tool_calls"),
    ]
    c = fold(chunks)
    (call,) = calls(c)
    assert call.id == "toolu_01T1x1fJ34qAmk2tNTrN7Up6"
    assert json.loads(call.function.arguments) == {"location": "Paris"}
    assert msg(c).content == "Let me check the weather."
    assert len(plain(c)["choices"][0]["message"]["tool_calls"]) == 1


def test_fact_11_empty_arguments_first_and_call_with_no_arguments(fold: Fold) -> None:
    """Fact 11: an empty-arguments fragment before the real ones; `arguments: ""` stays ""."""
    chunks = [
        _oai(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_mA9w1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ],
            }
        ),
        _oai({"tool_calls": [{"index": 0, "function": {"arguments": ""}}]}),
        _oai({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":"Rome"}'}}]}),
        _oai(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "call_nB2x2",
                        "type": "function",
                        "function": {"name": "get_current_time", "arguments": ""},
                    }
                ]
            }
        ),
        _oai({}, "tool_calls"),
    ]
    c = fold(chunks)
    got = calls(c)
    assert [(t.id, t.function.name, t.function.arguments) for t in got] == [
        ("call_mA9w1", "get_weather", '{"city":"Rome"}'),
        ("call_nB2x2", "get_current_time", ""),
    ]
    assert plain(c)["choices"][0]["message"]["tool_calls"][1]["function"]["arguments"] == ""


# ---------------------------------------------------------------------------------------------
# 12. The call id inside `function.id` (older llama.cpp).


def test_fact_12_llamacpp_call_id_inside_function(fold: Fold) -> None:
    """Fact 12 (older llama.cpp): `function.id` is used as the call's id."""
    chunks = [
        _llamacpp(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "type": "function",
                        "function": {
                            "id": "call_Vr3nT8kq0Yw2Zb6x",
                            "name": "get_weather",
                            "arguments": '{"location":',
                        },
                    },
                    {
                        "index": 1,
                        "type": "function",
                        "function": {
                            "id": "call_Hs5mJ1pc4Ue7Lo9d",
                            "name": "get_time",
                            "arguments": '{"tz":',
                        },
                    },
                ],
            }
        ),
        _llamacpp({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
        _llamacpp({"tool_calls": [{"index": 1, "function": {"arguments": '"CET"}'}}]}),
        _llamacpp({}, "tool_calls"),
    ]
    c = fold(chunks)
    got = calls(c)
    assert [(t.id, t.function.name, t.function.arguments) for t in got] == [
        ("call_Vr3nT8kq0Yw2Zb6x", "get_weather", '{"location":"Paris"}'),
        ("call_Hs5mJ1pc4Ue7Lo9d", "get_time", '{"tz":"CET"}'),
    ]
    assert plain(c)["choices"][0]["message"]["tool_calls"][0]["id"] == "call_Vr3nT8kq0Yw2Zb6x"


# ---------------------------------------------------------------------------------------------
# 13. Extra keys on a tool call survive (Gemini's thought_signature).

THOUGHT_SIGNATURE = "CiQB0e2Kb3xW9vGq8pRk7sTl6mNo5jHi4gFe3dCb2aZy1xWv0uT="


def _gemini_signed_stream() -> list[Chunk]:
    signed = _gemini_tool(
        "function-call-4427286377893530437",
        "get_weather",
        '{"location":"Paris"}',
        extra_content={"google": {"thought_signature": THOUGHT_SIGNATURE}},
    )
    plain_call = _gemini_tool(
        "function-call-5538397488904641548", "get_weather", '{"location":"London"}'
    )
    return [
        {**_gemini({"role": "assistant", "tool_calls": [signed]}), "model": "gemini-3-pro-preview"},
        {
            **_gemini({"role": "assistant", "tool_calls": [plain_call]}, "stop"),
            "model": "gemini-3-pro-preview",
        },
    ]


def test_fact_13_gemini_thought_signature_kept_on_its_tool_call(fold: Fold) -> None:
    """Fact 13 (Gemini): `extra_content.google.thought_signature` stays on its call only."""
    first, second = calls(fold(_gemini_signed_stream()))
    assert first.extra == {"extra_content": {"google": {"thought_signature": THOUGHT_SIGNATURE}}}
    assert first.function.extra == {}
    assert second.extra == {}
    assert first.id == "function-call-4427286377893530437"


def test_fact_13_gemini_thought_signature_written_back_on_the_tool_call(fold: Fold) -> None:
    """Fact 13 (Gemini): to_dict writes extra_content back on the call, so a replay is accepted."""
    data = plain(fold(_gemini_signed_stream()))
    written = data["choices"][0]["message"]["tool_calls"]
    assert written[0] == {
        "id": "function-call-4427286377893530437",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'},
        "extra_content": {"google": {"thought_signature": THOUGHT_SIGNATURE}},
    }
    assert "extra_content" not in written[1]


# ---------------------------------------------------------------------------------------------
# 14. `reasoning_content` (DeepSeek, vLLM, llama.cpp, xAI, Z.ai) and `reasoning` (OpenRouter,
#     Ollama): concatenated, kept under the same name.

DS_ID = "3b0d3c6e-9f4a-4f55-9a8e-2f0e6c1d7a41"


def _deepseek(delta: dict[str, Any] | None, finish: str | None = None, **more: Any) -> Chunk:
    choices = (
        []
        if delta is None
        else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    )
    return {
        "id": DS_ID,
        "object": "chat.completion.chunk",
        "created": 1738100000,
        "model": "deepseek-reasoner",
        "system_fingerprint": "fp_7e0991cad4_prod0820_fp8_kvcache",
        "choices": choices,
        **more,
    }


DS_USAGE: dict[str, Any] = {
    "prompt_tokens": 13,
    "completion_tokens": 120,
    "total_tokens": 133,
    "prompt_tokens_details": {"cached_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 98},
    "prompt_cache_hit_tokens": 0,
    "prompt_cache_miss_tokens": 13,
}


def _deepseek_stream() -> list[Chunk]:
    return [
        _deepseek({"role": "assistant", "content": None, "reasoning_content": ""}),
        _deepseek({"content": None, "reasoning_content": "Okay"}),
        _deepseek({"content": None, "reasoning_content": ", 9.11 vs 9.9"}),
        _deepseek({"content": None, "reasoning_content": ": 9.9 is larger."}),
        _deepseek({"content": "9.9", "reasoning_content": None}),
        _deepseek({"content": " is greater.", "reasoning_content": None}),
        _deepseek({"content": "", "reasoning_content": None}, "stop"),
        _deepseek(None, usage=dict(DS_USAGE)),
    ]


def test_fact_14_deepseek_reasoning_content_concatenated_and_written_back(fold: Fold) -> None:
    """Fact 14 (DeepSeek): `reasoning_content` ("" first, null later) joins and is written back."""
    c = chat(fold(_deepseek_stream()))
    m = c.choices[0].message
    assert m.extra == {"reasoning_content": "Okay, 9.11 vs 9.9: 9.9 is larger."}
    assert m.content == "9.9 is greater."
    assert m.reasoning_text == "Okay, 9.11 vs 9.9: 9.9 is larger."
    written = plain(c)["choices"][0]["message"]
    assert written["reasoning_content"] == "Okay, 9.11 vs 9.9: 9.9 is larger."
    assert written["content"] == "9.9 is greater."
    assert written["role"] == "assistant"


def test_fact_14_ollama_reasoning_field(fold: Fold) -> None:
    """Fact 14 (Ollama): `reasoning` deltas join under `reasoning` and are written back."""
    chunks = [
        _ollama({"role": "assistant", "content": "", "reasoning": "Okay"}, model="qwen3:8b"),
        _ollama(
            {"role": "assistant", "content": "", "reasoning": ", greet back."}, model="qwen3:8b"
        ),
        _ollama({"role": "assistant", "content": "Hi!"}, model="qwen3:8b"),
        _ollama({"role": "assistant", "content": ""}, "stop", model="qwen3:8b"),
    ]
    c = fold(chunks)
    m = msg(c)
    assert m.extra == {"reasoning": "Okay, greet back."}
    assert m.content == "Hi!"
    assert m.reasoning_text == "Okay, greet back."
    assert plain(c)["choices"][0]["message"]["reasoning"] == "Okay, greet back."


def test_fact_14_zai_reasoning_content_with_role_on_every_chunk(fold: Fold) -> None:
    """Fact 14 (Z.ai): reasoning_content and role on every chunk, no finish key until the end."""

    def zai(delta: dict[str, Any], **more: Any) -> Chunk:
        return {
            "id": "20250730153012a1b2c3d4e5f64a7b",
            "created": 1753860612,
            "model": "glm-4.5",
            "choices": [{"index": 0, "delta": delta, **more}],
        }

    chunks = [
        zai({"role": "assistant", "reasoning_content": "\nThe user"}),
        zai({"role": "assistant", "reasoning_content": " says hi."}),
        zai({"role": "assistant", "content": "\nHello"}),
        zai({"role": "assistant", "content": "!"}),
        zai(
            {"role": "assistant", "content": ""},
            finish_reason="stop",
        )
        | {"usage": {"prompt_tokens": 9, "completion_tokens": 20, "total_tokens": 29}},
    ]
    c = chat(fold(chunks))
    m = c.choices[0].message
    assert m.role == "assistant"
    assert m.extra["reasoning_content"] == "\nThe user says hi."
    assert m.content == "\nHello!"
    assert c.choices[0].finish_reason == "stop"
    assert c.usage is not None
    assert c.usage.total_tokens == 29


# ---------------------------------------------------------------------------------------------
# 15. OpenRouter `reasoning_details`: items merge by (index, type); encrypted items stay whole.

CLAUDE_SIG = "ErUBCkYIBhgCIkDm3yTfqg7w0K9P1BsVx0P+Hq7YZxeI9ChOA8Uxq2v1kVJ0fY7r"


def _details_text(text: str, signature: str | None) -> list[dict[str, Any]]:
    return [
        {
            "type": "reasoning.text",
            "text": text,
            "signature": signature,
            "index": 0,
            "format": "anthropic-claude-v1",
        }
    ]


def _claude_reasoning_stream() -> list[Chunk]:
    return [
        _openrouter(
            {
                "role": "assistant",
                "content": "",
                "reasoning": "The user",
                "reasoning_details": _details_text("The user", ""),
            }
        ),
        _openrouter(
            {
                "role": "assistant",
                "content": "",
                "reasoning": " wants the weather.",
                "reasoning_details": _details_text(" wants the weather.", None),
            }
        ),
        _openrouter(
            {
                "role": "assistant",
                "content": "",
                "reasoning": "",
                "reasoning_details": _details_text("", CLAUDE_SIG),
            }
        ),
        _openrouter({"role": "assistant", "content": "Checking."}),
        _openrouter(
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "toolu_vrtx_01Bq7TwL",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            }
        ),
        _openrouter({"role": "assistant", "content": ""}, "tool_calls", "tool_use"),
        _openrouter({"role": "assistant", "content": ""}, usage=_openrouter_usage()),
    ]


def test_fact_15_openrouter_claude_reasoning_details_merge_with_late_signature(
    fold: Fold,
) -> None:
    """Fact 15 (OpenRouter, Claude): text items join; the "" signature is filled in later."""
    m = msg(fold(_claude_reasoning_stream()))
    assert m.extra["reasoning_details"] == [
        {
            "type": "reasoning.text",
            "text": "The user wants the weather.",
            "signature": CLAUDE_SIG,
            "index": 0,
            "format": "anthropic-claude-v1",
        }
    ]


def test_fact_15_openrouter_reasoning_mirrored_in_both_fields_kept_as_sent(fold: Fold) -> None:
    """Fact 15 (OpenRouter): text mirrored in `reasoning` and `reasoning_details` stays in both."""
    c = fold(_claude_reasoning_stream())
    m = msg(c)
    assert m.extra["reasoning"] == "The user wants the weather."
    assert m.extra["reasoning_details"][0]["text"] == "The user wants the weather."
    assert m.reasoning_text == "The user wants the weather."
    written = plain(c)["choices"][0]["message"]
    assert written["reasoning"] == "The user wants the weather."
    assert written["reasoning_details"][0]["signature"] == CLAUDE_SIG
    assert written["content"] == "Checking."


def test_fact_15_openrouter_trailing_empty_fragment_keeps_first_non_empty_keys(
    fold: Fold,
) -> None:
    """Fact 15 (OpenRouter): item keys keep their first non-empty value; later ones are ignored."""

    def piece(text: str, signature: str | None, fmt: str) -> Chunk:
        item = {
            "type": "reasoning.text",
            "text": text,
            "signature": signature,
            "index": 0,
            "format": fmt,
        }
        return _openrouter({"role": "assistant", "content": "", "reasoning_details": [item]})

    chunks = [
        piece("Let", None, "anthropic-claude-v1"),
        piece(" me see.", "", "anthropic-claude-v1"),
        piece("", CLAUDE_SIG, "anthropic-claude-v1"),
        piece("", "", "unknown"),
        _openrouter({"role": "assistant", "content": "Seen."}, "stop", "end_turn"),
    ]
    m = msg(fold(chunks))
    assert m.extra["reasoning_details"] == [
        {
            "type": "reasoning.text",
            "text": "Let me see.",
            "signature": CLAUDE_SIG,
            "index": 0,
            "format": "anthropic-claude-v1",
        }
    ]


def test_fact_15_openrouter_openai_summaries_by_index_and_encrypted_item_whole(
    fold: Fold,
) -> None:
    """Fact 15 (OpenRouter, OpenAI): summaries merge per (index, type); encrypted kept whole."""

    def summary(text: str, index: int) -> dict[str, Any]:
        return {
            "type": "reasoning.summary",
            "summary": text,
            "format": "openai-responses-v1",
            "index": index,
        }

    encrypted = {
        "type": "reasoning.encrypted",
        "data": "gAAAAABo2Xk1vQ8Hc3s0ZpYw7mTq9L4rN2fK6jB1eD5gU8iO3aX0cV7bM==",
        "id": "rs_68c0a1b2c3d4e5f60718293a4b5c6d7e",
        "format": "openai-responses-v1",
        "index": 0,
    }
    model = "openai/o4-mini"
    chunks = [
        _openrouter(
            {"role": "assistant", "content": "", "reasoning_details": [summary("**Plan", 0)]},
            model=model,
            provider="OpenAI",
        ),
        _openrouter(
            {"role": "assistant", "content": "", "reasoning_details": [summary("ning**", 0)]},
            model=model,
            provider="OpenAI",
        ),
        _openrouter(
            {
                "role": "assistant",
                "content": "",
                "reasoning_details": [summary("**Check", 1), summary("ing**", 1)],
            },
            model=model,
            provider="OpenAI",
        ),
        _openrouter(
            {"role": "assistant", "content": "", "reasoning_details": [dict(encrypted)]},
            model=model,
            provider="OpenAI",
        ),
        _openrouter({"role": "assistant", "content": "Done."}, model=model, provider="OpenAI"),
        _openrouter({"role": "assistant", "content": ""}, "stop", "completed", model=model),
    ]
    m = msg(fold(chunks))
    assert m.extra["reasoning_details"] == [
        {
            "type": "reasoning.summary",
            "summary": "**Planning**",
            "format": "openai-responses-v1",
            "index": 0,
        },
        {
            "type": "reasoning.summary",
            "summary": "**Checking**",
            "format": "openai-responses-v1",
            "index": 1,
        },
        {
            "type": "reasoning.encrypted",
            "data": "gAAAAABo2Xk1vQ8Hc3s0ZpYw7mTq9L4rN2fK6jB1eD5gU8iO3aX0cV7bM==",
            "id": "rs_68c0a1b2c3d4e5f60718293a4b5c6d7e",
            "format": "openai-responses-v1",
            "index": 0,
        },
    ]
    assert m.reasoning_text == "**Planning****Checking**"


def test_fact_15_openrouter_gemini_encrypted_items_never_merged(fold: Fold) -> None:
    """Fact 15 (OpenRouter, Gemini): encrypted items sharing (index, type) stay two whole items."""

    def enc(call_id: str, data: str) -> dict[str, Any]:
        return {
            "type": "reasoning.encrypted",
            "data": data,
            "id": call_id,
            "format": "google-gemini-v1",
            "index": 0,
        }

    def call(call_id: str, city: str) -> dict[str, Any]:
        return {
            "index": 0,
            "id": call_id,
            "type": "function",
            "function": {"name": "get_weather", "arguments": f'{{"city":"{city}"}}'},
        }

    model = "google/gemini-2.5-pro"
    chunks = [
        _openrouter(
            {
                "role": "assistant",
                "content": "",
                "reasoning": "Two cities.",
                "reasoning_details": [
                    {
                        "type": "reasoning.text",
                        "text": "Two cities.",
                        "format": "google-gemini-v1",
                        "index": 0,
                    }
                ],
            },
            model=model,
            provider="Google",
        ),
        _openrouter(
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [call("tool_get_weather_Xk2pQ9", "Paris")],
                "reasoning_details": [enc("tool_get_weather_Xk2pQ9", "CiQB0e2KbAAA")],
            },
            model=model,
            provider="Google",
        ),
        _openrouter(
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [call("tool_get_weather_Lm7vR3", "Rome")],
                "reasoning_details": [enc("tool_get_weather_Lm7vR3", "CiQB0e2KbBBB")],
            },
            model=model,
            provider="Google",
        ),
        _openrouter({"role": "assistant", "content": ""}, "tool_calls", "STOP", model=model),
    ]
    c = fold(chunks)
    m = msg(c)
    assert m.extra["reasoning_details"] == [
        {
            "type": "reasoning.text",
            "text": "Two cities.",
            "format": "google-gemini-v1",
            "index": 0,
        },
        {
            "type": "reasoning.encrypted",
            "data": "CiQB0e2KbAAA",
            "id": "tool_get_weather_Xk2pQ9",
            "format": "google-gemini-v1",
            "index": 0,
        },
        {
            "type": "reasoning.encrypted",
            "data": "CiQB0e2KbBBB",
            "id": "tool_get_weather_Lm7vR3",
            "format": "google-gemini-v1",
            "index": 0,
        },
    ]
    assert [(t.id, json.loads(t.function.arguments)) for t in calls(c)] == [
        ("tool_get_weather_Xk2pQ9", {"city": "Paris"}),
        ("tool_get_weather_Lm7vR3", {"city": "Rome"}),
    ]
    assert [t.extra for t in calls(c)] == [{}, {}]


# ---------------------------------------------------------------------------------------------
# 16. One accessor for the reasoning text, whatever field it came in.


def _reasoning_streams() -> dict[str, tuple[list[Chunk], str | None]]:
    details_only = [
        _openrouter(
            {
                "role": "assistant",
                "content": "",
                "reasoning_details": _details_text("Think", ""),
            }
        ),
        _openrouter(
            {
                "role": "assistant",
                "content": "",
                "reasoning_details": _details_text("ing hard.", CLAUDE_SIG),
            }
        ),
        _openrouter({"role": "assistant", "content": "Yes."}, "stop", "end_turn"),
    ]
    return {
        "deepseek-reasoning_content": (_deepseek_stream(), "Okay, 9.11 vs 9.9: 9.9 is larger."),
        "groq-reasoning": (
            [
                _groq({"role": "assistant", "reasoning": "Short"}),
                _groq({"reasoning": " thought."}),
                _groq({"content": "Hi."}, "stop"),
            ],
            "Short thought.",
        ),
        "openrouter-reasoning_details-only": (details_only, "Thinking hard."),
        "magistral-thinking-parts": (
            [_mistral(_thinking("Hmm, ")), _mistral(_thinking("easy.")), _mistral("4", "stop")],
            "Hmm, easy.",
        ),
        "openai-no-reasoning": (
            [_oai({"role": "assistant", "content": "Plain."}), _oai({}, "stop")],
            None,
        ),
    }


@pytest.mark.parametrize("name", list(_reasoning_streams()))
def test_fact_16_reasoning_text_accessor_whatever_the_field(fold: Fold, name: str) -> None:
    """Fact 16: `reasoning_text` gives the reasoning from any field, None when there is none."""
    chunks, expected = _reasoning_streams()[name]
    assert msg(fold(chunks)).reasoning_text == expected


# ---------------------------------------------------------------------------------------------
# 17. Unknown keys stay at their level; delta rules vs latest-value rules; caller overrides.


def test_fact_17_openai_obfuscation_latest_value_not_concatenated(fold: Fold) -> None:
    """Fact 17 (OpenAI): `obfuscation` on every chunk, outside the delta: kept on request
    (issue 11: dropped by default), the latest value wins."""
    chunks = [
        {**_oai({"role": "assistant", "content": ""}), "obfuscation": "kA3x"},
        {**_oai({"content": "Hi"}), "obfuscation": "Zq"},
        {**_oai({}, "stop"), "obfuscation": "p0Lm9"},
    ]
    c = chat(fold(chunks, keep_obfuscation=True))
    assert c.extra == {"obfuscation": "p0Lm9"}
    assert plain(c)["obfuscation"] == "p0Lm9"


def test_fact_17_obfuscation_with_other_extras_rules_and_moderation() -> None:
    """The padding's own fast path keeps what the general rules keep: the order of the extras
    (first arrival), a caller's rule for it, and a moderation chunk beside it (kept on request:
    issue 11 drops the padding by default)."""
    moderation = {"input": {"flagged": False}, "output": {"flagged": False}}
    chunks = [
        {**_oai({"role": "assistant", "content": ""}), "x_first": 1, "obfuscation": "kA3x"},
        {**_oai({"content": "Hi"}), "obfuscation": "Zq"},
        {**_oai({}, "stop"), "obfuscation": "p0Lm9", "moderation": moderation},
        {**_oai({}), "choices": [], "obfuscation": "w", "moderation": None, "x_last": "z"},
    ]
    c = chat(streamfold.accumulate(chunks, keep_obfuscation=True))
    assert list(c.extra.items()) == [
        ("x_first", 1),
        ("obfuscation", "w"),
        ("moderation", moderation),
        ("x_last", "z"),
    ]
    assert list(plain(c))[-4:] == ["x_first", "obfuscation", "moderation", "x_last"]
    padded = chat(
        streamfold.accumulate(chunks, field_rules={"obfuscation": "concat"}, keep_obfuscation=True)
    )
    assert padded.extra["obfuscation"] == "kA3xZqp0Lm9w"
    first = chat(
        streamfold.accumulate(chunks, field_rules={"obfuscation": "first"}, keep_obfuscation=True)
    )
    assert first.extra["obfuscation"] == "kA3x"
    # the SDK's objects carry both fields, None when the server did not send them
    empty = [{**_oai({"content": "Hi"}), "obfuscation": None, "moderation": None}]
    assert chat(streamfold.accumulate(empty)).extra == {}


def test_fact_17_obfuscation_of_the_wrong_type_is_kept_as_sent() -> None:
    """Extras are not type-checked: a non-string padding is kept (on request), latest wins."""
    chunks = [{**_oai({"content": "a"}), "obfuscation": 5}, {**_oai({}), "obfuscation": [1]}]
    kept = streamfold.accumulate(chunks, keep_obfuscation=True)
    assert chat(kept).extra == {"obfuscation": [1]}


def test_fact_17_llamacpp_timings_kept_at_top_level(fold: Fold) -> None:
    """Fact 17 (llama.cpp): the final chunk's `timings` object is kept at the top level."""
    timings = {
        "prompt_n": 12,
        "prompt_ms": 35.2,
        "prompt_per_token_ms": 2.93,
        "prompt_per_second": 340.9,
        "predicted_n": 3,
        "predicted_ms": 41.7,
        "predicted_per_token_ms": 13.9,
        "predicted_per_second": 71.9,
    }
    chunks = [
        _llamacpp({"role": "assistant", "content": None}),
        _llamacpp({"content": "Hello"}),
        _llamacpp({}, "stop", timings=dict(timings)),
    ]
    c = chat(fold(chunks))
    assert c.extra["timings"] == {
        "prompt_n": 12,
        "prompt_ms": 35.2,
        "prompt_per_token_ms": 2.93,
        "prompt_per_second": 340.9,
        "predicted_n": 3,
        "predicted_ms": 41.7,
        "predicted_per_token_ms": 13.9,
        "predicted_per_second": 71.9,
    }
    assert plain(c)["timings"]["predicted_n"] == 3


def test_fact_17_openrouter_provider_and_native_finish_reason_latest_non_null(
    fold: Fold,
) -> None:
    """Fact 17 (OpenRouter): `provider` at the top and `native_finish_reason` per choice, latest."""
    chunks = [
        _openrouter({"role": "assistant", "content": "Hi"}),
        _openrouter({"role": "assistant", "content": "!"}, "stop", "end_turn"),
        _openrouter({"role": "assistant", "content": ""}, None, None, usage=_openrouter_usage()),
    ]
    c = chat(fold(chunks))
    assert c.extra == {"provider": "Anthropic"}
    assert c.choices[0].extra == {"native_finish_reason": "end_turn"}
    data = plain(c)
    assert data["provider"] == "Anthropic"
    assert data["choices"][0]["native_finish_reason"] == "end_turn"


def test_fact_17_delta_unknowns_concat_merge_extend_and_replace(fold: Fold) -> None:
    """Fact 17: in a delta strings join, indexed lists merge, other lists extend, others replace."""
    img_a = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgoA"}}
    img_b = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgoB"}}
    model = "google/gemini-2.5-flash-image-preview"
    chunks = [
        _openrouter(
            {
                "role": "assistant",
                "content": "",
                "reasoning": "Draw",
                "reasoning_details": [
                    {"type": "reasoning.text", "text": "Draw", "index": 0, "format": "unknown"}
                ],
                "images": [img_a],
                "meta": {"step": 1},
            },
            model=model,
            provider="Google",
        ),
        _openrouter(
            {
                "role": "assistant",
                "content": "Here",
                "reasoning": " a cat.",
                "reasoning_details": [
                    {"type": "reasoning.text", "text": " a cat.", "index": 0, "format": "unknown"}
                ],
                "images": [img_b],
                "meta": {"step": 2},
            },
            model=model,
            provider="Google",
        ),
        _openrouter({"role": "assistant", "content": "."}, "stop", "STOP", model=model),
    ]
    m = msg(fold(chunks))
    assert m.extra == {
        "reasoning": "Draw a cat.",
        "reasoning_details": [
            {"type": "reasoning.text", "text": "Draw a cat.", "index": 0, "format": "unknown"}
        ],
        "images": [
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgoA"}},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgoB"}},
        ],
        "meta": {"step": 2},
    }
    assert m.content == "Here."


def test_fact_17_field_rules_last_overrides_delta_concatenation(fold: Fold) -> None:
    """Fact 17: `field_rules={"some_field": "last"}` keeps the latest string instead of joining."""
    chunks = [
        _oai({"role": "assistant", "content": "A", "some_field": "alpha"}),
        _oai({"content": "B", "some_field": "beta"}),
        _oai({"content": "C", "some_field": "gamma"}, "stop"),
    ]
    assert msg(fold(chunks)).extra == {"some_field": "alphabetagamma"}
    overridden = msg(fold(chunks, field_rules={"some_field": "last"}))
    assert overridden.extra == {"some_field": "gamma"}
    assert overridden.content == "ABC"


def test_fact_17_unknown_usage_and_tool_call_keys_stay_at_their_level(fold: Fold) -> None:
    """Fact 17: unknown keys on usage and on a tool call are kept there and written back there."""
    chunks = [
        _openrouter(
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_Zp9",
                        "type": "function",
                        "function": {"name": "f", "arguments": "{}"},
                        "cache_control": {"type": "ephemeral"},
                    }
                ],
            }
        ),
        _openrouter({"role": "assistant", "content": ""}, "tool_calls", "tool_use"),
        _openrouter({"role": "assistant", "content": ""}, usage=_openrouter_usage()),
    ]
    c = chat(fold(chunks))
    (call,) = calls(c)
    assert call.extra == {"cache_control": {"type": "ephemeral"}}
    assert c.usage is not None
    assert c.usage.extra["cost"] == 0.000231
    data = plain(c)
    assert data["choices"][0]["message"]["tool_calls"][0]["cache_control"] == {"type": "ephemeral"}
    assert data["usage"]["cost"] == 0.000231
    assert data["usage"]["is_byok"] is False
    assert "cost" not in data


# ---------------------------------------------------------------------------------------------
# 18. Usage: running totals (vLLM), on the finish chunk (Cerebras), twice (Groq), only in x_groq,
#     total_tokens not the sum (xAI), extra keys (DeepSeek, OpenRouter).


def test_fact_18_vllm_continuous_usage_running_totals_not_summed(fold: Fold) -> None:
    """Fact 18 (vLLM): usage with running totals on every chunk: the last one, never summed."""

    def vllm(delta: dict[str, Any] | None, n: int, finish: str | None = None) -> Chunk:
        choices = (
            []
            if delta is None
            else [
                {
                    "index": 0,
                    "delta": delta,
                    "logprobs": None,
                    "finish_reason": finish,
                    "stop_reason": None,
                }
            ]
        )
        return {
            "id": "chatcmpl-9a0f1c5e2b7d4e3f8a6b1c2d3e4f5a6b",
            "object": "chat.completion.chunk",
            "created": 1741900000,
            "model": "Qwen/Qwen3-8B",
            "choices": choices,
            "usage": {"prompt_tokens": 12, "total_tokens": 12 + n, "completion_tokens": n},
        }

    chunks = [
        vllm({"role": "assistant", "content": ""}, 0),
        vllm({"content": "Hello"}, 1),
        vllm({"content": " there"}, 2),
        vllm({"content": "!"}, 3),
        vllm({"content": ""}, 4, "stop"),
        vllm(None, 4),
    ]
    c = chat(fold(chunks))
    assert c.usage is not None
    assert (c.usage.prompt_tokens, c.usage.completion_tokens, c.usage.total_tokens) == (12, 4, 16)
    assert c.choices[0].message.content == "Hello there!"


def test_fact_18_cerebras_usage_on_the_finish_chunk_with_choices(fold: Fold) -> None:
    """Fact 18 (Cerebras): usage and time_info on the finish chunk that still has choices."""
    base = {
        "id": "chatcmpl-7d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a09",
        "created": 1740000000,
        "model": "llama-3.3-70b",
        "system_fingerprint": "fp_2e4b6c8d0f",
        "object": "chat.completion.chunk",
    }
    chunks: list[Chunk] = [
        {**base, "choices": [{"delta": {"role": "assistant"}, "index": 0}]},
        {**base, "choices": [{"delta": {"content": "Hello"}, "index": 0}]},
        {
            **base,
            "choices": [{"delta": {}, "finish_reason": "stop", "index": 0}],
            "usage": {
                "prompt_tokens": 38,
                "completion_tokens": 2,
                "total_tokens": 40,
                "prompt_tokens_details": {"cached_tokens": 0},
            },
            "time_info": {
                "queue_time": 0.000112,
                "prompt_time": 0.00189,
                "completion_time": 0.00105,
                "total_time": 0.00516,
                "created": 1740000000.123,
            },
        },
    ]
    c = chat(fold(chunks))
    assert c.usage is not None
    assert (c.usage.prompt_tokens, c.usage.completion_tokens, c.usage.total_tokens) == (38, 2, 40)
    assert c.usage.prompt_tokens_details is not None
    assert c.usage.prompt_tokens_details.cached_tokens == 0
    assert c.extra["time_info"]["total_time"] == 0.00516
    assert c.choices[0].finish_reason == "stop"


def _groq_usage() -> dict[str, Any]:
    return {
        "queue_time": 0.052,
        "prompt_tokens": 40,
        "prompt_time": 0.0021,
        "completion_tokens": 12,
        "completion_time": 0.0436,
        "total_tokens": 52,
        "total_time": 0.0457,
    }


def test_fact_18_groq_usage_in_x_groq_and_again_at_top_level_not_summed(fold: Fold) -> None:
    """Fact 18 (Groq): usage in x_groq on the finish chunk, again at the top: the top one, once."""
    model = "llama-3.3-70b-versatile"
    chunks = [
        _groq({"role": "assistant", "content": ""}, model=model, x_groq={"id": GROQ_REQ}),
        _groq({"content": "Hi"}, model=model),
        _groq({}, "stop", model=model, x_groq={"id": GROQ_REQ, "usage": _groq_usage()}),
        _groq(
            None,
            model=model,
            usage={**_groq_usage(), "prompt_tokens_details": {"cached_tokens": 0}},
        ),
    ]
    c = chat(fold(chunks))
    assert c.usage is not None
    assert (c.usage.prompt_tokens, c.usage.completion_tokens, c.usage.total_tokens) == (40, 12, 52)
    assert c.usage.prompt_tokens_details is not None
    assert c.usage.prompt_tokens_details.cached_tokens == 0
    assert c.usage.extra == {
        "queue_time": 0.052,
        "prompt_time": 0.0021,
        "completion_time": 0.0436,
        "total_time": 0.0457,
    }
    data = plain(c)
    assert data["x_groq"] == {"id": GROQ_REQ, "usage": _groq_usage()}
    assert data["usage"]["total_tokens"] == 52
    assert "x_groq" not in data["choices"][0]


def test_fact_18_groq_usage_only_in_x_groq_is_used(fold: Fold) -> None:
    """Fact 18 (Groq): a stream whose only usage is `x_groq.usage` reports that usage."""
    chunks = [
        _groq({"role": "assistant", "content": ""}, x_groq={"id": GROQ_REQ}),
        _groq({"content": "Hi"}),
        _groq({}, "stop", x_groq={"id": GROQ_REQ, "usage": _groq_usage()}),
    ]
    c = chat(fold(chunks))
    assert c.usage is not None
    assert (c.usage.prompt_tokens, c.usage.completion_tokens, c.usage.total_tokens) == (40, 12, 52)
    assert c.usage.extra["queue_time"] == 0.052
    assert c.extra["x_groq"] == {"id": GROQ_REQ, "usage": _groq_usage()}


def test_fact_18_xai_total_tokens_kept_when_not_the_sum(fold: Fold) -> None:
    """Fact 18 (xAI): `total_tokens` counts reasoning only there and is kept as sent."""

    def xai(delta: dict[str, Any], **more: Any) -> Chunk:
        return {
            "id": "0f1c7c7e-4b2a-4d6e-8f9a-1b2c3d4e5f60",
            "object": "chat.completion.chunk",
            "created": 1745000000,
            "model": "grok-3-mini",
            "choices": [{"index": 0, "delta": delta, **more}],
            "system_fingerprint": "fp_6d7e3b1a2c",
        }

    usage = {
        "prompt_tokens": 32,
        "completion_tokens": 9,
        "total_tokens": 135,
        "prompt_tokens_details": {
            "text_tokens": 32,
            "audio_tokens": 0,
            "image_tokens": 0,
            "cached_tokens": 6,
        },
        "completion_tokens_details": {
            "reasoning_tokens": 94,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
        "num_sources_used": 0,
    }
    chunks = [
        xai({"reasoning_content": "Simple", "role": "assistant"}),
        xai({"reasoning_content": " sum."}),
        xai({"content": "101"}),
        {**xai({}, finish_reason="stop"), "usage": usage},
    ]
    c = chat(fold(chunks))
    assert c.usage is not None
    assert c.usage.total_tokens == 135
    assert c.usage.completion_tokens == 9
    assert c.usage.completion_tokens_details is not None
    assert c.usage.completion_tokens_details.reasoning_tokens == 94
    assert c.usage.prompt_tokens_details is not None
    assert c.usage.prompt_tokens_details.extra == {"text_tokens": 32, "image_tokens": 0}
    assert c.usage.extra == {"num_sources_used": 0}
    assert plain(c)["usage"]["total_tokens"] == 135


def test_fact_18_deepseek_extra_usage_keys_survive(fold: Fold) -> None:
    """Fact 18 (DeepSeek): `prompt_cache_hit_tokens` / `..._miss_tokens` survive in usage."""
    c = chat(fold(_deepseek_stream()))
    assert c.usage is not None
    assert c.usage.total_tokens == 133
    assert c.usage.extra == {"prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": 13}
    data = plain(c)
    assert data["usage"]["prompt_cache_miss_tokens"] == 13
    assert data["usage"]["completion_tokens_details"] == {"reasoning_tokens": 98}


def test_fact_18_openrouter_usage_on_the_finish_chunk_then_null(fold: Fold) -> None:
    """Fact 18 (OpenRouter): usage on the finish chunk survives a later `usage: null`; cost kept."""
    chunks = [
        _openrouter({"role": "assistant", "content": "Ok"}, usage=None),
        _openrouter(
            {"role": "assistant", "content": ""}, "stop", "end_turn", usage=_openrouter_usage()
        ),
        _openrouter({"role": "assistant", "content": ""}, usage=None),
    ]
    c = chat(fold(chunks))
    assert c.usage is not None
    assert c.usage.total_tokens == 49
    assert c.usage.extra["cost"] == 0.000231
    assert c.usage.extra["cost_details"] == {
        "upstream_inference_cost": None,
        "upstream_inference_prompt_cost": 0.000126,
        "upstream_inference_completions_cost": 0.000105,
    }
    assert c.usage.completion_tokens_details is not None
    assert c.usage.completion_tokens_details.extra == {"image_tokens": 0}


# ---------------------------------------------------------------------------------------------
# 19. Errors after HTTP 200, as data events.


def test_fact_19_openai_error_object_mid_stream(fold: Fold) -> None:
    """Fact 19 (OpenAI): `{"error": {...}}` mid-stream raises StreamError with the payload."""
    payload = {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error",
        "param": None,
        "code": None,
    }
    chunks = [
        _oai({"role": "assistant", "content": "", "refusal": None}),
        _oai({"content": "Once upon"}),
        _oai({"content": " a time"}),
        {"error": dict(payload)},
    ]
    with pytest.raises(streamfold.StreamError) as info:
        fold(chunks)
    err = info.value
    assert err.error == {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error",
        "param": None,
        "code": None,
    }
    assert err.position == 3
    done = chat(err.completion)
    assert done.choices[0].message.content == "Once upon a time"
    assert done.id == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    assert done.choices[0].finish_reason is None


def test_fact_19_sglang_nested_error_object(fold: Fold) -> None:
    """Fact 19 (SGLang): `{"error": {"object": "error", ...}}` raises StreamError with it."""
    chunks = [
        {
            "id": "3f0c9e1a5b7d4c2e8f6a0b1c2d3e4f5a",
            "object": "chat.completion.chunk",
            "created": 1742000000,
            "model": "meta-llama/Llama-3.1-8B-Instruct",
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": "Sure"},
                    "logprobs": None,
                    "finish_reason": None,
                    "matched_stop": None,
                }
            ],
            "usage": None,
        },
        {
            "error": {
                "object": "error",
                "message": "The request was aborted.",
                "type": "BadRequestError",
                "param": None,
                "code": 400,
            }
        },
    ]
    with pytest.raises(streamfold.StreamError) as info:
        fold(chunks)
    assert info.value.error == {
        "object": "error",
        "message": "The request was aborted.",
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    }
    assert info.value.position == 1
    assert msg(info.value.completion).content == "Sure"


def test_fact_19_tgi_error_event(fold: Fold) -> None:
    """Fact 19 (TGI): the `{"error": ..., "error_type": ...}` event raises StreamError."""
    chunks = [
        _tgi({"role": "assistant", "content": "The"}),
        _tgi({"role": "assistant", "content": " sky"}),
        {
            "error": "Request failed during generation: Server error: CUDA out of memory.",
            "error_type": "generation",
        },
    ]
    with pytest.raises(streamfold.StreamError) as info:
        fold(chunks)
    assert info.value.error == (
        "Request failed during generation: Server error: CUDA out of memory."
    )
    assert info.value.position == 2
    assert msg(info.value.completion).content == "The sky"


def test_fact_19_vllm_flat_error_object(fold: Fold) -> None:
    """Fact 19 (vLLM): a flat `{"object": "error", "message": ...}` raises StreamError."""
    chunks = [
        {
            "id": "chatcmpl-4e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b",
            "object": "chat.completion.chunk",
            "created": 1741900000,
            "model": "Qwen/Qwen3-8B",
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": "Partial"},
                    "logprobs": None,
                    "finish_reason": None,
                }
            ],
        },
        {
            "object": "error",
            "message": "Engine loop has died",
            "type": "InternalServerError",
            "param": None,
            "code": 500,
        },
    ]
    with pytest.raises(streamfold.StreamError) as info:
        fold(chunks)
    assert info.value.error == {
        "object": "error",
        "message": "Engine loop has died",
        "type": "InternalServerError",
        "param": None,
        "code": 500,
    }
    assert info.value.position == 1
    assert msg(info.value.completion).content == "Partial"


def test_fact_19_openrouter_error_with_finish_reason_error(fold: Fold) -> None:
    """Fact 19 (OpenRouter): the error chunk's own choice (finish "error") is in the completion."""
    chunks = [
        _openrouter({"role": "assistant", "content": "The answer"}),
        _openrouter({"role": "assistant", "content": " is"}),
        _openrouter(
            {"role": "assistant", "content": " 4"},
            "error",
            "error",
            error={"code": 502, "message": "Provider returned error", "metadata": {"raw": "EOF"}},
        ),
    ]
    with pytest.raises(streamfold.StreamError) as info:
        fold(chunks)
    err = info.value
    assert err.error == {
        "code": 502,
        "message": "Provider returned error",
        "metadata": {"raw": "EOF"},
    }
    assert err.position == 2
    done = chat(err.completion)
    assert done.choices[0].finish_reason == "error"
    assert done.choices[0].message.content == "The answer is 4"
    assert done.id == OR_ID


# ---------------------------------------------------------------------------------------------
# 20. The legacy completions API folds into a TextCompletion.


def _vllm_text(choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> Chunk:
    return {
        "id": "cmpl-5e8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c",
        "object": "text_completion",
        "created": 1741950000,
        "model": "Qwen/Qwen2.5-1.5B",
        "choices": choices,
        "usage": usage,
    }


def _text_choice(
    index: int,
    text: str,
    lp: tuple[list[str], list[float], list[dict[str, float]], list[int]] | None,
    finish: str | None = None,
) -> dict[str, Any]:
    logprobs = None
    if lp is not None:
        tokens, token_logprobs, top, offsets = lp
        logprobs = {
            "text_offset": offsets,
            "token_logprobs": token_logprobs,
            "tokens": tokens,
            "top_logprobs": top,
        }
    return {
        "index": index,
        "text": text,
        "logprobs": logprobs,
        "finish_reason": finish,
        "stop_reason": None,
    }


def test_fact_20_vllm_text_completion_with_logprobs(fold_text: FoldText) -> None:
    """Fact 20 (vLLM): a legacy stream folds into a TextCompletion with merged logprob lists."""
    chunks = [
        _vllm_text(
            [_text_choice(0, " Paris", ([" Paris"], [-0.0123], [{" Paris": -0.0123}], [31]))]
        ),
        _vllm_text(
            [
                _text_choice(
                    0,
                    " is",
                    ([" is"], [-0.31], [{" is": -0.31}], [37]),
                )
            ]
        ),
        _vllm_text([_text_choice(0, ".", (["."], [-1.5], [{".": -1.5}], [40]), "length")]),
        _vllm_text([], {"prompt_tokens": 8, "total_tokens": 11, "completion_tokens": 3}),
    ]
    c = fold_text(chunks)
    assert type(c) is streamfold.TextCompletion
    assert c.object == "text_completion"
    assert c.id == "cmpl-5e8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c"
    assert c.model == "Qwen/Qwen2.5-1.5B"
    (choice,) = c.choices
    assert type(choice) is streamfold.TextChoice
    assert choice.text == " Paris is."
    assert choice.finish_reason == "length"
    assert choice.logprobs == streamfold.TextLogprobs(
        tokens=(" Paris", " is", "."),
        token_logprobs=(-0.0123, -0.31, -1.5),
        top_logprobs=({" Paris": -0.0123}, {" is": -0.31}, {".": -1.5}),
        text_offset=(31, 37, 40),
    )
    assert c.usage is not None
    assert c.usage.total_tokens == 11
    data = plain(c)
    assert data["object"] == "text_completion"
    assert data["choices"][0]["text"] == " Paris is."
    assert data["choices"][0]["logprobs"]["tokens"] == [" Paris", " is", "."]


def test_fact_20_openai_instruct_two_choices_interleaved(fold_text: FoldText) -> None:
    """Fact 20 (OpenAI instruct, n=2): interleaved text choices keep their own text and lists."""

    def oai_text(choice: dict[str, Any]) -> Chunk:
        return {
            "id": "cmpl-AB1cD2eF3gH4iJ5kL6mN7oP8qR9s",
            "object": "text_completion",
            "created": 1735689600,
            "choices": [choice],
            "model": "gpt-3.5-turbo-instruct",
            "system_fingerprint": None,
        }

    chunks = [
        oai_text(_text_choice(0, "Red", (["Red"], [-0.2], [{"Red": -0.2}], [0]))),
        oai_text(_text_choice(1, "Blue", (["Blue"], [-0.4], [{"Blue": -0.4}], [0]))),
        oai_text(_text_choice(0, " sky", ([" sky"], [-0.9], [{" sky": -0.9}], [3]), "stop")),
        oai_text(_text_choice(1, " sea", ([" sea"], [-0.7], [{" sea": -0.7}], [4]), "stop")),
    ]
    c = fold_text(chunks)
    assert isinstance(c, streamfold.TextCompletion)
    assert [(ch.index, ch.text, ch.finish_reason) for ch in c.choices] == [
        (0, "Red sky", "stop"),
        (1, "Blue sea", "stop"),
    ]
    first = c.choices[0].logprobs
    second = c.choices[1].logprobs
    assert first is not None
    assert second is not None
    assert first.tokens == ("Red", " sky")
    assert first.token_logprobs == (-0.2, -0.9)
    assert first.text_offset == (0, 3)
    assert second.tokens == ("Blue", " sea")
    assert second.top_logprobs == ({"Blue": -0.4}, {" sea": -0.7})
    plain(c)


def test_fact_20_text_completion_error_mid_stream_keeps_text(fold_text: FoldText) -> None:
    """Fact 20 (vLLM): a legacy stream cut by an error gives a StreamError with a TextCompletion."""
    chunks = [
        _vllm_text([_text_choice(0, "Hello", None)]),
        _vllm_text([_text_choice(0, " world", None)]),
        {
            "object": "error",
            "message": "Engine loop has died",
            "type": "InternalServerError",
            "param": None,
            "code": 500,
        },
    ]
    with pytest.raises(streamfold.StreamError) as info:
        fold_text(chunks)
    done = info.value.completion
    assert type(done) is streamfold.TextCompletion
    assert done.choices[0].text == "Hello world"

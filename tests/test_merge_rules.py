"""One test per merge rule of issue 2, each run through every adapter by the ``fold`` fixture.

The streams are written from the facts of the OpenAI streaming format (see ``streams.py``); every
expected value is written out by hand.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import streamfold
from streams import (
    CREATED,
    FINGERPRINT,
    ID,
    MODEL,
    TIER,
    Chunk,
    Fold,
    as_chat,
    call_args,
    call_start,
    choice,
    chunk,
    finish_chunk,
    message,
    role_chunk,
    role_delta,
    text_chunk,
    text_stream,
    token,
    tools_chunk,
    tools_role_chunk,
    usage_chunk,
    usage_dict,
)

# ---------------------------------------------------------------------------------------------
# role, tool-call id / type / name, audio id: the first non-empty value, repeats are no-ops


def test_role_repeated_on_every_chunk_is_kept_once(fold: Fold) -> None:
    """A role sent again on every chunk is a no-op, never "assistantassistant"."""
    chunks = [chunk([choice({"role": "assistant", "content": p})]) for p in ("Hel", "lo")]
    chunks.append(finish_chunk())
    msg = message(fold(chunks))
    assert msg.role == "assistant"
    assert msg.content == "Hello"


def test_role_first_non_empty_value_wins(fold: Fold) -> None:
    """An empty role is skipped, and a later different role does not replace the first one."""
    chunks = [
        chunk([choice({"role": "", "content": ""})]),
        chunk([choice({"role": "assistant", "content": "Hi"})]),
        chunk([choice({"role": "user", "content": "!"})]),
        finish_chunk(),
    ]
    msg = message(fold(chunks))
    assert msg.role == "assistant"
    assert msg.content == "Hi!"


@pytest.mark.parametrize("role", [None, ""], ids=["null", "empty"])
def test_missing_or_empty_role_means_assistant(fold: Fold, role: str | None) -> None:
    """A choice whose chunks never carry a non-empty role gets role "assistant"."""
    chunks = [
        chunk([choice({"role": role, "content": "Bonjour"})]),
        chunk([choice({"content": " à tous"})]),
        finish_chunk(),
    ]
    msg = message(fold(chunks))
    assert msg.role == "assistant"
    assert streamfold.to_dict(msg)["role"] == "assistant"


def test_role_absent_from_every_chunk_means_assistant(fold: Fold) -> None:
    """A stream without any role key folds to an assistant message."""
    chunks = [text_chunk("Hi"), finish_chunk()]
    assert message(fold(chunks)).role == "assistant"


def test_tool_call_id_type_and_name_repeated_on_every_fragment_are_kept_once(fold: Fold) -> None:
    """id, type and function name repeated on each fragment are labels: set once, not joined."""
    frag = {"index": 0, "id": "call_1", "type": "function"}
    chunks = [
        tools_role_chunk({**frag, "function": {"name": "get_weather", "arguments": ""}}),
        tools_chunk([{**frag, "function": {"name": "get_weather", "arguments": '{"city":'}}]),
        tools_chunk([{**frag, "function": {"name": "get_weather", "arguments": '"Oslo"}'}}]),
        finish_chunk("tool_calls"),
    ]
    msg = message(fold(chunks))
    assert msg.tool_calls is not None
    assert len(msg.tool_calls) == 1
    call = msg.tool_calls[0]
    assert call.id == "call_1"
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert call.function.arguments == '{"city":"Oslo"}'


def test_tool_call_empty_id_and_name_do_not_count_as_values(fold: Fold) -> None:
    """A fragment with id "" and name "" leaves room for the first non-empty id and name."""
    chunks = [
        tools_role_chunk(
            {"index": 0, "id": "", "type": "function", "function": {"name": "", "arguments": ""}}
        ),
        tools_chunk([{"index": 0, "id": "call_9", "function": {"name": "lookup"}}]),
        tools_chunk([call_args(0, "{}")]),
        tools_chunk([{"index": 0, "id": "call_9", "function": {"name": "other"}}]),
        finish_chunk("tool_calls"),
    ]
    calls = message(fold(chunks)).tool_calls
    assert calls is not None
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        ("call_9", "lookup", "{}")
    ]


def test_audio_id_first_non_empty_and_repeats_are_no_ops(fold: Fold) -> None:
    """The audio id is set once; a repeat on a later fragment is not concatenated."""
    chunks = [
        chunk([choice({"role": "assistant", "audio": {"id": "", "transcript": "He"}})]),
        chunk([choice({"audio": {"id": "audio_abc", "data": "UklG", "transcript": "llo"}})]),
        chunk([choice({"audio": {"id": "audio_abc", "data": "RiQ="}})]),
        finish_chunk(),
    ]
    audio = message(fold(chunks)).audio
    assert audio is not None
    assert audio.id == "audio_abc"
    assert audio.data == "UklGRiQ="
    assert audio.transcript == "Hello"


# ---------------------------------------------------------------------------------------------
# content, refusal, arguments, audio data / transcript: concatenated in arrival order


def test_content_fragments_concatenate_in_arrival_order(fold: Fold) -> None:
    """Content pieces (accents, CJK, an emoji split inside its sequence) join in order."""
    pieces = ["Ça", " va", " très", " bien", "，日本", "語", " 👍", "\U0001f3fd", "!"]
    msg = message(fold(text_stream(pieces)))
    assert msg.content == "Ça va très bien，日本語 👍🏽!"


def test_refusal_fragments_concatenate(fold: Fold) -> None:
    """Refusal pieces join in order and content stays null."""
    chunks = [
        chunk([choice({"role": "assistant", "content": None, "refusal": ""})]),
        chunk([choice({"refusal": "I'm sorry,"})]),
        chunk([choice({"refusal": " I can't help"})]),
        chunk([choice({"refusal": " with that."})]),
        finish_chunk(),
    ]
    msg = message(fold(chunks))
    assert msg.refusal == "I'm sorry, I can't help with that."
    assert msg.content is None


def test_tool_call_arguments_concatenate(fold: Fold) -> None:
    """Argument fragments of one tool call join into the JSON text of its arguments."""
    pieces = ['{"', "location", '":"', "Zürich", '","unit":"c', '"}']
    chunks = [tools_role_chunk(call_start(0, "call_A", "get_weather"))]
    chunks += [tools_chunk([call_args(0, p)]) for p in pieces]
    chunks.append(finish_chunk("tool_calls"))
    calls = message(fold(chunks)).tool_calls
    assert calls is not None
    assert calls[0].function.arguments == '{"location":"Zürich","unit":"c"}'


def test_legacy_function_call_name_kept_and_arguments_concatenate(fold: Fold) -> None:
    """The legacy function_call keeps its name once and joins its argument fragments."""
    chunks = [
        chunk(
            [
                choice(
                    {
                        "role": "assistant",
                        "content": None,
                        "function_call": {"name": "get_time", "arguments": ""},
                        "refusal": None,
                    }
                )
            ]
        ),
        chunk([choice({"function_call": {"arguments": '{"tz":'}})]),
        chunk([choice({"function_call": {"arguments": '"UTC"}'}})]),
        finish_chunk("function_call"),
    ]
    completion = as_chat(fold(chunks))
    fc = completion.choices[0].message.function_call
    assert fc is not None
    assert fc.name == "get_time"
    assert fc.arguments == '{"tz":"UTC"}'
    assert completion.choices[0].message.content is None
    assert completion.choices[0].finish_reason == "function_call"


def test_audio_data_and_transcript_concatenate(fold: Fold) -> None:
    """Audio data and transcript pieces join in arrival order, each on its own."""
    chunks = [
        chunk([choice({"role": "assistant", "content": None, "refusal": None})]),
        chunk([choice({"audio": {"id": "audio_1", "transcript": "Hi"}})]),
        chunk([choice({"audio": {"transcript": " there"}})]),
        chunk([choice({"audio": {"data": "AAAA"}})]),
        chunk([choice({"audio": {"data": "BBBB", "expires_at": 1729018505}})]),
        chunk([choice({"audio": {"data": "CC=="}})]),
        finish_chunk(),
    ]
    audio = message(fold(chunks)).audio
    assert audio is not None
    assert audio.data == "AAAABBBBCC=="
    assert audio.transcript == "Hi there"
    assert audio.expires_at == 1729018505


@pytest.mark.parametrize("role_content", [None, ""], ids=["null", "empty"])
def test_content_is_null_when_no_text_arrived(fold: Fold, role_content: str | None) -> None:
    """A tool-call-only answer has content null (not ""), like a non-streamed one."""
    first = {
        "role": "assistant",
        "content": role_content,
        "tool_calls": [call_start(0, "call_1", "f")],
        "refusal": None,
    }
    chunks = [chunk([choice(first)]), tools_chunk([call_args(0, "{}")]), finish_chunk("tool_calls")]
    completion = fold(chunks)
    msg = message(completion)
    assert msg.content is None
    assert msg.refusal is None
    data = streamfold.to_dict(completion)["choices"][0]["message"]
    assert data["content"] is None
    assert data["refusal"] is None


# ---------------------------------------------------------------------------------------------
# tool calls keyed by index


def _calls(completion: object) -> list[tuple[str | None, str, str]]:
    calls = message(completion).tool_calls
    assert calls is not None
    return [(c.id, c.function.name, c.function.arguments) for c in calls]


def test_parallel_tool_calls_with_fragments_of_different_calls_in_one_chunk(fold: Fold) -> None:
    """Fragments of two calls sharing chunks each go to the call of their index."""
    chunks = [
        tools_role_chunk(call_start(0, "call_a", "get_weather")),
        tools_chunk([call_start(1, "call_b", "get_time"), call_args(0, '{"city":')]),
        tools_chunk([call_args(1, '{"tz":'), call_args(0, '"Lima"}')]),
        tools_chunk([call_args(1, '"UTC"}')]),
        finish_chunk("tool_calls"),
    ]
    assert _calls(fold(chunks)) == [
        ("call_a", "get_weather", '{"city":"Lima"}'),
        ("call_b", "get_time", '{"tz":"UTC"}'),
    ]


def test_tool_call_indexes_may_be_sparse(fold: Fold) -> None:
    """Indexes 0 and 3 (nothing between) give two calls, in index order."""
    chunks = [
        tools_role_chunk(call_start(0, "call_a", "f")),
        tools_chunk([call_args(0, "{}")]),
        tools_chunk([call_start(3, "call_d", "g")]),
        tools_chunk([call_args(3, '{"x":1}')]),
        finish_chunk("tool_calls"),
    ]
    assert _calls(fold(chunks)) == [("call_a", "f", "{}"), ("call_d", "g", '{"x":1}')]


def test_tool_call_indexes_may_start_at_one(fold: Fold) -> None:
    """A stream whose first call has index 1 folds to calls 1 and 2, nothing invented at 0."""
    chunks = [
        tools_role_chunk(call_start(1, "call_1", "f")),
        tools_chunk([call_args(1, '{"a":')]),
        tools_chunk([call_args(1, "1}")]),
        tools_chunk([call_start(2, "call_2", "g", '{"b":2}')]),
        finish_chunk("tool_calls"),
    ]
    assert _calls(fold(chunks)) == [("call_1", "f", '{"a":1}'), ("call_2", "g", '{"b":2}')]


def test_tool_call_fragments_may_arrive_out_of_index_order(fold: Fold) -> None:
    """Call 1 starting before call 0, fragments interleaved: keyed by index, listed by index."""
    # the index is the call's position in the non-streamed message, so index order is expected
    chunks = [
        tools_role_chunk(call_start(1, "call_b", "second")),
        tools_chunk([call_start(0, "call_a", "first")]),
        tools_chunk([call_args(1, '{"n":')]),
        tools_chunk([call_args(0, '{"n":')]),
        tools_chunk([call_args(0, "0}")]),
        tools_chunk([call_args(1, "1}")]),
        finish_chunk("tool_calls"),
    ]
    assert _calls(fold(chunks)) == [
        ("call_a", "first", '{"n":0}'),
        ("call_b", "second", '{"n":1}'),
    ]


def test_tool_call_without_type_gets_function(fold: Fold) -> None:
    """A tool call whose fragments never carry type gets type "function"."""
    chunks = [
        tools_role_chunk({"index": 0, "id": "call_x", "function": {"name": "f", "arguments": ""}}),
        tools_chunk([call_args(0, "{}")]),
        finish_chunk("tool_calls"),
    ]
    completion = fold(chunks)
    calls = message(completion).tool_calls
    assert calls is not None
    assert calls[0].type == "function"
    assert streamfold.to_dict(completion)["choices"][0]["message"]["tool_calls"][0] == {
        "id": "call_x",
        "type": "function",
        "function": {"name": "f", "arguments": "{}"},
    }


# ---------------------------------------------------------------------------------------------
# logprobs


def test_logprobs_content_extended_never_duplicated(fold: Fold) -> None:
    """Token entries from every chunk are listed once each, in order; refusal stays null."""
    the1 = token("The", -0.01, [("The", -0.01), ("A", -4.6)])
    cat = token(" cat", -0.5, [(" cat", -0.5)])
    sat = token(" sat", -0.2)
    the2 = token(" the", -1.5)
    chunks = [
        role_chunk(logprobs={"content": [], "refusal": None}),
        text_chunk("The", logprobs={"content": [the1], "refusal": None}),
        text_chunk(" cat sat", logprobs={"content": [cat, sat], "refusal": None}),
        text_chunk(" the", logprobs={"content": [the2], "refusal": None}),
        finish_chunk(),
    ]
    completion = fold(chunks)
    logprobs = as_chat(completion).choices[0].logprobs
    assert logprobs is not None
    assert logprobs.content is not None
    assert [t.token for t in logprobs.content] == ["The", " cat", " sat", " the"]
    assert logprobs.refusal is None
    assert streamfold.to_dict(completion)["choices"][0]["logprobs"] == {
        "content": [
            {
                "token": "The",
                "logprob": -0.01,
                "bytes": [84, 104, 101],
                "top_logprobs": [
                    {"token": "The", "logprob": -0.01, "bytes": [84, 104, 101]},
                    {"token": "A", "logprob": -4.6, "bytes": [65]},
                ],
            },
            {
                "token": " cat",
                "logprob": -0.5,
                "bytes": [32, 99, 97, 116],
                "top_logprobs": [{"token": " cat", "logprob": -0.5, "bytes": [32, 99, 97, 116]}],
            },
            {"token": " sat", "logprob": -0.2, "bytes": [32, 115, 97, 116], "top_logprobs": []},
            {"token": " the", "logprob": -1.5, "bytes": [32, 116, 104, 101], "top_logprobs": []},
        ],
        "refusal": None,
    }


def test_logprobs_refusal_extended(fold: Fold) -> None:
    """Refusal token entries are extended like content ones; content logprobs stay null."""
    chunks = [
        chunk([choice({"role": "assistant", "content": None, "refusal": ""})]),
        chunk(
            [
                choice(
                    {"refusal": "I can"},
                    logprobs={"content": None, "refusal": [token("I", -0.1), token(" can", -0.2)]},
                )
            ]
        ),
        chunk(
            [choice({"refusal": "'t"}, logprobs={"content": None, "refusal": [token("'t", -0.3)]})]
        ),
        finish_chunk(),
    ]
    logprobs = as_chat(fold(chunks)).choices[0].logprobs
    assert logprobs is not None
    assert logprobs.refusal is not None
    assert [(t.token, t.logprob) for t in logprobs.refusal] == [
        ("I", -0.1),
        (" can", -0.2),
        ("'t", -0.3),
    ]
    assert logprobs.content is None


@pytest.mark.parametrize("with_key", [False, True], ids=["absent", "null"])
def test_logprobs_null_when_none_arrived(fold: Fold, with_key: bool) -> None:
    """No logprobs on any chunk (key absent or null) gives "logprobs": null."""
    chunks = text_stream(["Hi", "!"])
    if not with_key:
        for c in chunks:
            for ch in c["choices"]:
                del ch["logprobs"]
    completion = fold(chunks)
    assert as_chat(completion).choices[0].logprobs is None
    assert streamfold.to_dict(completion)["choices"][0]["logprobs"] is None


# ---------------------------------------------------------------------------------------------
# finish_reason


def test_finish_reason_not_cleared_by_a_later_null_or_empty(fold: Fold) -> None:
    """A chunk after the finish chunk with finish_reason null or "" leaves it as it was."""
    chunks = [
        role_chunk(),
        text_chunk("Done"),
        finish_chunk("stop"),
        chunk([choice({}, finish_reason=None)]),
        chunk([choice({"content": ""}, finish_reason="")]),
        usage_chunk(5, 1),
    ]
    completion = as_chat(fold(chunks))
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.content == "Done"


def test_finish_reason_last_non_empty_value_wins(fold: Fold) -> None:
    """Two non-empty finish reasons: the later one is kept."""
    chunks = [role_chunk(), text_chunk("x"), finish_chunk("stop"), finish_chunk("length")]
    assert as_chat(fold(chunks)).choices[0].finish_reason == "length"


def test_finish_reason_on_the_content_chunk_itself(fold: Fold) -> None:
    """A finish_reason carried by the last content chunk (no separate finish chunk) is kept."""
    chunks = [role_chunk(), chunk([choice({"content": "Bye"}, finish_reason="stop")])]
    completion = as_chat(fold(chunks))
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.content == "Bye"


@pytest.mark.parametrize("reason", ["length", "content_filter"])
def test_length_and_content_filter_return_the_completion(fold: Fold, reason: str) -> None:
    """length / content_filter are normal outcomes, even with strict=True: the text is kept."""
    completion = as_chat(fold(text_stream(["Once upon", " a time"], finish_reason=reason)))
    assert completion.choices[0].finish_reason == reason
    assert completion.choices[0].message.content == "Once upon a time"
    strict = as_chat(fold(text_stream(["Once upon"], finish_reason=reason), strict=True))
    assert strict.choices[0].finish_reason == reason
    assert strict.choices[0].message.content == "Once upon"


# ---------------------------------------------------------------------------------------------
# id / created / model: first non-empty; fingerprint / tier / usage: last non-null


def test_id_created_model_first_non_empty_value(fold: Fold) -> None:
    """An Azure first chunk ("" id, created 0, "" model) is skipped; later values lose."""
    azure_first = {
        "choices": [],
        "created": 0,
        "id": "",
        "model": "",
        "object": "",
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
    }
    chunks = [
        azure_first,
        role_chunk(id="chatcmpl-first", created=1700000001, model="gpt-4o-mini"),
        text_chunk("Hi", id="chatcmpl-second", created=1700000002, model="gpt-4o"),
        finish_chunk(id="chatcmpl-third", created=1700000003, model="gpt-4"),
    ]
    completion = as_chat(fold(chunks))
    assert completion.id == "chatcmpl-first"
    assert completion.created == 1700000001
    assert completion.model == "gpt-4o-mini"


def test_no_id_at_all_gives_null(fold: Fold) -> None:
    """Chunks whose id is missing or "" fold to "id": null."""
    chunks = text_stream(["Hi"])
    del chunks[0]["id"]
    chunks[1]["id"] = ""
    del chunks[2]["id"]
    completion = fold(chunks)
    assert as_chat(completion).id is None
    data = streamfold.to_dict(completion)
    assert "id" in data
    assert data["id"] is None
    assert data["model"] == MODEL


def test_fingerprint_and_service_tier_last_non_null_value(fold: Fold) -> None:
    """system_fingerprint and service_tier take the last non-null value; null erases nothing."""
    chunks = [
        role_chunk(system_fingerprint="fp_one", service_tier="default"),
        text_chunk("a", system_fingerprint="fp_two", service_tier="priority"),
        text_chunk("b", system_fingerprint=None, service_tier=None),
        finish_chunk(),
    ]
    del chunks[3]["system_fingerprint"]
    del chunks[3]["service_tier"]
    completion = as_chat(fold(chunks))
    assert completion.system_fingerprint == "fp_two"
    assert completion.service_tier == "priority"


def test_usage_last_non_null_value_and_numbers_never_added(fold: Fold) -> None:
    """Usage sent on several chunks (cumulative) keeps the last one, as sent, never summed."""
    chunks = [
        role_chunk(usage=None),
        text_chunk("a", usage=usage_dict(10, 1)),
        text_chunk("b", usage=usage_dict(10, 2, cached=4)),
        finish_chunk(usage=None),
    ]
    completion = as_chat(fold(chunks))
    usage = completion.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (10, 2, 12)
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 4


def test_include_usage_chunk_with_empty_choices(fold: Fold) -> None:
    """The include_usage chunk (choices: []) sets usage and changes no choice."""
    chunks = [*text_stream(["Hello"], include_usage=True), usage_chunk(12, 3)]
    completion = as_chat(fold(chunks))
    assert len(completion.choices) == 1
    assert completion.choices[0].message.content == "Hello"
    assert completion.choices[0].finish_reason == "stop"
    assert streamfold.to_dict(completion)["usage"] == {
        "prompt_tokens": 12,
        "completion_tokens": 3,
        "total_tokens": 15,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def test_repeated_numbers_are_never_added(fold: Fold) -> None:
    """created, audio expires_at and choice index repeated on every chunk keep their value."""
    chunks = [
        chunk([choice({"role": "assistant", "audio": {"id": "a1", "expires_at": 1729018505}})]),
        chunk([choice({"audio": {"data": "AA", "expires_at": 1729018505}})]),
        chunk([choice({"audio": {"data": "BB", "expires_at": 1729018505}}, index=0)]),
        finish_chunk(),
    ]
    completion = as_chat(fold(chunks))
    assert completion.created == CREATED
    assert [c.index for c in completion.choices] == [0]
    audio = completion.choices[0].message.audio
    assert audio is not None
    assert audio.expires_at == 1729018505
    assert audio.data == "AABB"


# ---------------------------------------------------------------------------------------------
# several choices


def test_n2_interleaved_choices(fold: Fold) -> None:
    """Two choices whose chunks alternate each fold to their own text and finish reason."""
    chunks = [
        role_chunk(0),
        role_chunk(1),
        text_chunk("Red", 0),
        text_chunk("Blue", 1),
        text_chunk(" apple", 0),
        text_chunk(" sky", 1),
        finish_chunk("length", 1),
        finish_chunk("stop", 0),
    ]
    completion = as_chat(fold(chunks))
    assert [
        (c.index, c.message.role, c.message.content, c.finish_reason) for c in completion.choices
    ] == [(0, "assistant", "Red apple", "stop"), (1, "assistant", "Blue sky", "length")]


def test_choices_of_one_chunk_fold_separately(fold: Fold) -> None:
    """A chunk carrying fragments of two choices applies each to its own choice."""
    chunks = [
        chunk([choice(role_delta(), index=0), choice(role_delta(), index=1)]),
        chunk([choice({"content": "Oui"}, index=0), choice({"content": "Non"}, index=1)]),
        chunk(
            [
                choice({}, index=1, finish_reason="stop"),
                choice({}, index=0, finish_reason="stop"),
            ]
        ),
    ]
    completion = as_chat(fold(chunks))
    assert [(c.index, c.message.content) for c in completion.choices] == [(0, "Oui"), (1, "Non")]


def test_choice_first_appearing_late(fold: Fold) -> None:
    """A choice whose first chunk comes after another choice finished is folded too."""
    chunks = [
        role_chunk(0),
        text_chunk("first", 0),
        finish_chunk("stop", 0),
        text_chunk("late", 1),
        text_chunk(" one", 1),
        finish_chunk("stop", 1),
    ]
    completion = as_chat(fold(chunks))
    assert [(c.index, c.message.role, c.message.content) for c in completion.choices] == [
        (0, "assistant", "first"),
        (1, "assistant", "late one"),
    ]


def test_sparse_choice_indexes_listed_in_index_order(fold: Fold) -> None:
    """Choice indexes 2 and 0 (no 1), 2 first: the completion lists choices 0 and 2, in order."""
    chunks = [
        role_chunk(2),
        text_chunk("two", 2),
        role_chunk(0),
        text_chunk("zero", 0),
        finish_chunk("stop", 2),
        finish_chunk("stop", 0),
    ]
    completion = as_chat(fold(chunks))
    assert [(c.index, c.message.content) for c in completion.choices] == [(0, "zero"), (2, "two")]


# ---------------------------------------------------------------------------------------------
# unknown keys


def test_unknown_keys_are_kept_at_every_level_and_written_back(fold: Fold) -> None:
    """Keys the model does not name survive the fold where they arrived, and to_dict writes them."""
    first_call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "f", "arguments": "", "x_fn": {"v": 1}},
        "x_call": {"v": 2},
    }
    usage = usage_dict(7, 3)
    usage["cost"] = 0.0012
    usage["prompt_tokens_details"]["x_detail"] = 5
    entry = token("Hi", -0.1)
    entry["x_entry"] = "e"
    chunks = [
        chunk(
            [
                {
                    "index": 0,
                    "delta": {
                        "role": "assistant",
                        "content": "",
                        "tool_calls": [first_call],
                        "x_delta": {"v": 3},
                    },
                    "logprobs": {"content": [entry], "refusal": None, "x_logprobs": [1, 2]},
                    "finish_reason": None,
                    "x_choice": {"v": 4},
                }
            ],
            provider="OpenAI",
        ),
        chunk(
            [choice({"content": "Hi", "tool_calls": [call_args(0, "{}")]})],
        ),
        finish_chunk("tool_calls"),
        chunk([], usage=usage),
    ]
    assert streamfold.to_dict(fold(chunks)) == {
        "id": ID,
        "object": "chat.completion",
        "created": CREATED,
        "model": MODEL,
        "provider": "OpenAI",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hi",
                    "refusal": None,
                    "annotations": [],
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}", "x_fn": {"v": 1}},
                            "x_call": {"v": 2},
                        }
                    ],
                    "x_delta": {"v": 3},
                },
                "logprobs": {
                    "content": [
                        {
                            "token": "Hi",
                            "logprob": -0.1,
                            "bytes": [72, 105],
                            "top_logprobs": [],
                            "x_entry": "e",
                        }
                    ],
                    "refusal": None,
                    "x_logprobs": [1, 2],
                },
                "finish_reason": "tool_calls",
                "x_choice": {"v": 4},
            }
        ],
        "usage": {
            "prompt_tokens": 7,
            "completion_tokens": 3,
            "total_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0, "x_detail": 5},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
            "cost": 0.0012,
        },
        "service_tier": TIER,
        "system_fingerprint": FINGERPRINT,
    }


def test_unknown_delta_text_field_concatenates(fold: Fold) -> None:
    """reasoning_content (DeepSeek, vLLM) is concatenated into the message, as README says."""
    chunks = [
        chunk([choice({"role": "assistant", "content": None, "reasoning_content": "Let"})]),
        chunk([choice({"content": None, "reasoning_content": " me think"})]),
        chunk([choice({"content": "42", "reasoning_content": None})]),
        finish_chunk(),
    ]
    msg = message(fold(chunks))
    assert msg.content == "42"
    assert msg.extra == {"reasoning_content": "Let me think"}


# ---------------------------------------------------------------------------------------------
# the shape of to_dict


def test_to_dict_of_a_completion_has_the_non_streamed_shape(fold: Fold) -> None:
    """Object "chat.completion", calls without index, "refusal": null, "logprobs": null, []."""
    chunks = [
        tools_role_chunk(call_start(0, "call_a", "search")),
        tools_chunk([call_args(0, '{"q":"attrs"}')]),
        finish_chunk("tool_calls"),
    ]
    data = streamfold.to_dict(fold(chunks))
    assert data["object"] == "chat.completion"
    (only,) = data["choices"]
    assert set(only) == {"index", "message", "logprobs", "finish_reason"}
    assert only["logprobs"] is None
    msg = only["message"]
    assert msg == {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "annotations": [],
        "tool_calls": [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "search", "arguments": '{"q":"attrs"}'},
            }
        ],
    }
    assert json.loads(streamfold.to_json(fold(chunks))) == data


# ---------------------------------------------------------------------------------------------
# end to end: streams in the OpenAI format fold to the non-streamed response


_USAGE_19_10 = {
    "prompt_tokens": 19,
    "completion_tokens": 10,
    "total_tokens": 29,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}

_ENVELOPE = (
    '"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk",'
    '"created":1741569952,"model":"gpt-4o-2024-08-06","service_tier":"default",'
    '"system_fingerprint":"fp_eb9dce56a8"'
)


def _line(choices: str, usage: str = "null") -> str:
    return "{" + _ENVELOPE + ',"choices":' + choices + ',"usage":' + usage + "}"


def _text(content: str) -> str:
    return _line(
        '[{"index":0,"delta":{"content":'
        + json.dumps(content)
        + '},"logprobs":null,"finish_reason":null}]'
    )


PLAIN_TEXT_STREAM = [
    _line(
        '[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},'
        '"logprobs":null,"finish_reason":null}]'
    ),
    _text("Hello"),
    _text("!"),
    _text(" How"),
    _text(" can"),
    _text(" I"),
    _text(" assist"),
    _text(" you"),
    _text(" today"),
    _text("?"),
    _line('[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]'),
    _line(
        "[]",
        '{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,'
        '"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},'
        '"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,'
        '"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}',
    ),
]


def test_end_to_end_plain_text(fold: Fold) -> None:
    """A plain text stream (JSON lines as sent) folds to the documented non-streamed response."""
    assert streamfold.to_dict(fold(PLAIN_TEXT_STREAM)) == {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hello! How can I assist you today?",
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": _USAGE_19_10,
        "service_tier": "default",
        "system_fingerprint": "fp_eb9dce56a8",
    }


def test_end_to_end_parallel_tool_calls(fold: Fold) -> None:
    """Two parallel tool calls stream folds to the non-streamed tool-call response."""
    u: dict[str, Any] = {"usage": None}
    chunks: list[Chunk] = [
        tools_role_chunk(call_start(0, "call_Dn2RJJSxzDm49vlVTehseJ0k", "get_weather"), **u),
        tools_chunk([call_args(0, '{"lo')], **u),
        tools_chunk([call_args(0, 'cation": "P')], **u),
        tools_chunk([call_args(0, 'aris, France"}')], **u),
        tools_chunk([call_start(1, "call_5nTmDzK4YwHcXnGhv1bEHgQ8", "get_weather")], **u),
        tools_chunk([call_args(1, '{"lo')], **u),
        tools_chunk([call_args(1, 'cation": "Bogot')], **u),
        tools_chunk([call_args(1, 'á, Colombia"}')], **u),
        finish_chunk("tool_calls", **u),
        usage_chunk(66, 44),
    ]
    assert streamfold.to_dict(fold(chunks)) == {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "refusal": None,
                    "annotations": [],
                    "tool_calls": [
                        {
                            "id": "call_Dn2RJJSxzDm49vlVTehseJ0k",
                            "type": "function",
                            "function": {
                                "name": "get_weather",
                                "arguments": '{"location": "Paris, France"}',
                            },
                        },
                        {
                            "id": "call_5nTmDzK4YwHcXnGhv1bEHgQ8",
                            "type": "function",
                            "function": {
                                "name": "get_weather",
                                "arguments": '{"location": "Bogotá, Colombia"}',
                            },
                        },
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 66,
            "completion_tokens": 44,
            "total_tokens": 110,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_eb9dce56a8",
    }


def test_end_to_end_n2_with_logprobs(fold: Fold) -> None:
    """An n=2 stream with logprobs (top 2) folds to the non-streamed n=2 logprobs response."""
    u: dict[str, Any] = {"usage": None}
    empty: dict[str, Any] = {"content": [], "refusal": None}

    def lp(text: str, logprob: float, alt: str, alt_lp: float) -> dict[str, Any]:
        return {
            "content": [token(text, logprob, [(text, logprob), (alt, alt_lp)])],
            "refusal": None,
        }

    chunks = [
        role_chunk(0, logprobs=empty, **u),
        role_chunk(1, logprobs=empty, **u),
        text_chunk("Yes", 0, logprobs=lp("Yes", -0.0001, "Yeah", -9.5), **u),
        text_chunk("Sure", 1, logprobs=lp("Sure", -0.3, "Yes", -1.4), **u),
        text_chunk(".", 0, logprobs=lp(".", -0.02, "!", -4.1), **u),
        text_chunk("!", 1, logprobs=lp("!", -0.1, ".", -2.5), **u),
        finish_chunk("stop", 0, **u),
        finish_chunk("stop", 1, **u),
        usage_chunk(12, 4),
    ]

    def entry(
        text: str, raw: list[int], logprob: float, alt: str, alt_raw: list[int], alt_lp: float
    ) -> dict[str, Any]:
        return {
            "token": text,
            "logprob": logprob,
            "bytes": raw,
            "top_logprobs": [
                {"token": text, "logprob": logprob, "bytes": raw},
                {"token": alt, "logprob": alt_lp, "bytes": alt_raw},
            ],
        }

    assert streamfold.to_dict(fold(chunks)) == {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Yes.",
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": {
                    "content": [
                        entry("Yes", [89, 101, 115], -0.0001, "Yeah", [89, 101, 97, 104], -9.5),
                        entry(".", [46], -0.02, "!", [33], -4.1),
                    ],
                    "refusal": None,
                },
                "finish_reason": "stop",
            },
            {
                "index": 1,
                "message": {
                    "role": "assistant",
                    "content": "Sure!",
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": {
                    "content": [
                        entry("Sure", [83, 117, 114, 101], -0.3, "Yes", [89, 101, 115], -1.4),
                        entry("!", [33], -0.1, ".", [46], -2.5),
                    ],
                    "refusal": None,
                },
                "finish_reason": "stop",
            },
        ],
        "usage": {
            "prompt_tokens": 12,
            "completion_tokens": 4,
            "total_tokens": 16,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_eb9dce56a8",
    }


def test_end_to_end_refusal(fold: Fold) -> None:
    """A structured-output refusal stream folds to content null and the refusal text."""
    u: dict[str, Any] = {"usage": None}
    chunks = [
        chunk([choice({"role": "assistant", "content": None, "refusal": ""})], **u),
        chunk([choice({"refusal": "I'm"})], **u),
        chunk([choice({"refusal": " sorry,"})], **u),
        chunk([choice({"refusal": " I can't"})], **u),
        chunk([choice({"refusal": " assist with that."})], **u),
        finish_chunk("stop", **u),
        usage_chunk(19, 10),
    ]
    assert streamfold.to_dict(fold(chunks)) == {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "refusal": "I'm sorry, I can't assist with that.",
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": _USAGE_19_10,
        "service_tier": "default",
        "system_fingerprint": "fp_eb9dce56a8",
    }


def test_end_to_end_include_usage_with_details(fold: Fold) -> None:
    """include_usage (usage null on each chunk, then choices: []) keeps the token details."""
    chunks: list[Chunk] = [*text_stream(["4"], include_usage=True)]
    chunks.append(chunk([], usage=usage_dict(1200, 150, cached=1024, reasoning=128)))
    assert streamfold.to_dict(fold(chunks)) == {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "4",
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 1200,
            "completion_tokens": 150,
            "total_tokens": 1350,
            "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 128,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_eb9dce56a8",
    }

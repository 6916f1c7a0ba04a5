"""PartialJSON: partial values while arguments stream in, linear total work; parse_arguments."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import pytest

import streamfold

ARGS = (
    '{"path": "src/app.py", "edits": [{"line": 12, "old": "x = 1", "new": "x = 2"},'
    ' {"line": 40, "old": "print(\\"hi\\")", "new": "log.info(\\"héllo ✓\\")"}],'
    ' "dry_run": false, "ratio": -1.5e3, "tags": null}'
)

# (prefix length, value at that prefix): open strings, arrays and objects closed as far as they go
PREFIXES: list[tuple[str, Any]] = [
    ("{", {}),
    ('{"pa', {}),
    ('{"path": "src/a', {"path": "src/a"}),
    ('{"path": "src/app.py", "edits": [', {"path": "src/app.py", "edits": []}),
    (
        '{"path": "src/app.py", "edits": [{"line": 12, "old": "x =',
        {"path": "src/app.py", "edits": [{"line": 12, "old": "x ="}]},
    ),
    (
        '{"path": "src/app.py", "edits": [{"line": 12, "old": "x = 1", "new": "x = 2"},'
        ' {"line": 40, "old": "print(\\"h',
        {
            "path": "src/app.py",
            "edits": [
                {"line": 12, "old": "x = 1", "new": "x = 2"},
                {"line": 40, "old": 'print("h'},
            ],
        },
    ),
]


def test_values_at_prefixes() -> None:
    """Each prefix of a tool's arguments reads as the value parsed so far."""
    for prefix, expected in PREFIXES:
        assert ARGS.startswith(prefix)
        partial = streamfold.PartialJSON()
        partial.feed(prefix)
        assert partial.value == expected, prefix


def test_small_arguments_update_on_every_fragment() -> None:
    """Below ``eager`` characters every read after new text re-parses, so the value is current."""
    partial = streamfold.PartialJSON()
    assert partial.value is None  # nothing fed yet
    for i in range(0, len(ARGS), 7):
        partial.feed(ARGS[i : i + 7])
        seen = ARGS[: i + 7]
        assert partial.value == streamfold.PartialJSON(seen).value
    assert partial.value == json.loads(ARGS)
    assert partial.parses == math.ceil(len(ARGS) / 7)


def test_final_value_and_idempotence() -> None:
    """final() parses the whole text strictly once; later calls return the same object."""
    partial = streamfold.PartialJSON()
    for i in range(0, len(ARGS), 5):
        partial.feed(ARGS[i : i + 5])
    assert not partial.done
    value = partial.final()
    assert value == json.loads(ARGS)
    assert partial.done
    assert partial.final() is value
    assert partial.value is value
    assert partial.text == ARGS
    assert len(partial) == len(ARGS)
    assert partial.parses == 1  # nothing read before final(): only the final parse


def test_final_returns_the_error_instead_of_raising() -> None:
    """Text that is not JSON: final() returns a ValueError; value keeps the last good parse."""
    partial = streamfold.PartialJSON()
    partial.feed('{"path": "a.txt", "content": "unterminated')
    assert partial.value == {"path": "a.txt", "content": "unterminated"}
    error = partial.final()
    assert isinstance(error, ValueError)
    assert "Unterminated string" in str(error)
    assert partial.final() is error
    assert partial.value == {"path": "a.txt", "content": "unterminated"}


def test_value_keeps_the_last_good_parse_after_garbage() -> None:
    """When the text stops being JSON, value stays the last value that parsed."""
    partial = streamfold.PartialJSON('{"a": [1, 2')
    assert partial.value == {"a": [1, 2]}
    partial.feed("}}}]")
    assert partial.value == {"a": [1, 2]}
    assert isinstance(partial.final(), ValueError)


@pytest.mark.parametrize("text", ['{"a": 1} trailing', "[NaN]", '{"a": Infinity}', "{"])
def test_strict_final_errors(text: str) -> None:
    """Trailing garbage, NaN and Infinity are errors: returned by final() and by
    try_parse_arguments, raised by parse_arguments."""
    partial = streamfold.PartialJSON(text)
    assert isinstance(partial.final(), ValueError)
    value, error = streamfold.try_parse_arguments(text)
    assert value is None
    assert isinstance(error, streamfold.InvalidArgumentsError)
    with pytest.raises(streamfold.InvalidArgumentsError) as info:
        streamfold.parse_arguments(text)
    assert isinstance(info.value, ValueError)
    assert info.value.arguments == text
    assert isinstance(info.value.__cause__, ValueError)


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_arguments_parse_as_an_empty_object(text: str) -> None:
    """No arguments at all (parameterless tools: vLLM, Vercel) parse as {} in every form."""
    assert streamfold.parse_arguments(text) == {}
    assert streamfold.try_parse_arguments(text) == ({}, None)
    assert streamfold.PartialJSON(text).final() == {}
    call = streamfold.ToolCall(id="c", function=streamfold.FunctionCall(name="now", arguments=""))
    assert streamfold.parse_arguments(call) == {}


def test_feed_after_final_is_a_usage_error() -> None:
    """feed() after final() raises UsageError; a non-str fragment raises TypeError."""
    partial = streamfold.PartialJSON("{}")
    with pytest.raises(TypeError, match="takes a str"):
        partial.feed(b"{}")  # type: ignore[arg-type]
    assert partial.final() == {}
    with pytest.raises(streamfold.UsageError, match="after final"):
        partial.feed("x")


def test_unicode_fragments() -> None:
    """Fragments split anywhere in non-ASCII text (accents, CJK, emoji) parse as sent."""
    text = json.dumps({"msg": "naïve 日本語 🎉 done"}, ensure_ascii=False)
    partial = streamfold.PartialJSON(eager=0, growth=1.01)
    for ch in text:
        partial.feed(ch)
        assert text.startswith(partial.text)
    assert partial.final() == {"msg": "naïve 日本語 🎉 done"}


def fed(n_fragments: int, fragment: str = "abcdefghij" * 2, **policy: Any) -> Any:
    """Feed ``n_fragments`` fragments of a JSON array of strings, reading value after each."""
    partial = streamfold.PartialJSON("[", **policy)
    for i in range(n_fragments):
        partial.feed(f'"{fragment}",' if i < n_fragments - 1 else f'"{fragment}"]')
        partial.value  # noqa: B018  # the read drives the re-parse policy
    return partial


def test_reparses_grow_logarithmically() -> None:
    """Re-parses for N fragments grow with log N (x10 fragments: a constant more), not with N."""
    counts = {n: fed(n, eager=0).parses for n in (100, 1_000, 10_000)}
    per_decade = math.ceil(math.log(10) / math.log(1.5)) + 1
    assert counts[1_000] - counts[100] <= per_decade
    assert counts[10_000] - counts[1_000] <= per_decade
    assert counts[10_000] <= math.log(10_000 * 23, 1.5) + 2
    # a naive re-parse on every read would have parsed 10,000 times


def test_total_parsed_characters_are_linear() -> None:
    """All partial parses together read at most growth/(growth-1) times the text, plus eager."""
    partial = fed(20_000)
    size = len(partial.text)
    partial.final()
    eager_cost = 1024 * (1024 // 23 + 1)
    assert partial.parsed_chars <= 3 * size + size + eager_cost  # partial parses + final parse
    assert partial.final() == ["abcdefghij" * 2] * 20_000


def test_value_lags_by_at_most_the_growth_factor() -> None:
    """Between re-parses the value is an earlier parse of at least 1/growth of the text."""
    partial = streamfold.PartialJSON("[", eager=0)
    for i in range(1000):
        partial.feed(f"{i},")
        value = partial.value
        assert isinstance(value, list)
        # the value is the text up to some earlier point, less a number cut at its end
        covered = len(json.dumps(value, separators=(",", ":")))
        assert covered * 1.5 >= len(partial.text) - 12


def test_policy_arguments_are_checked() -> None:
    """A growth factor of 1 or less would re-parse forever: refused."""
    with pytest.raises(ValueError, match="growth"):
        streamfold.PartialJSON(growth=1.0)


def test_parse_arguments_of_a_finished_call() -> None:
    """parse_arguments takes a ToolCall, a FunctionCall or the text; bad JSON raises, naming the
    call; try_parse_arguments returns the same error instead."""
    call = streamfold.ToolCall(
        id="call_1", function=streamfold.FunctionCall(name="edit", arguments=ARGS)
    )
    assert streamfold.parse_arguments(call) == json.loads(ARGS)
    assert streamfold.parse_arguments(call.function) == json.loads(ARGS)
    assert streamfold.parse_arguments('{"a": [1]}') == {"a": [1]}
    assert streamfold.try_parse_arguments(call) == (json.loads(ARGS), None)
    bad = streamfold.ToolCall(id="c9", function=streamfold.FunctionCall(name="f", arguments="{"))
    with pytest.raises(streamfold.InvalidArgumentsError, match=r"tool call 'f' \(c9\)") as info:
        streamfold.parse_arguments(bad)
    assert (info.value.name, info.value.id, info.value.arguments) == ("f", "c9", "{")
    value, error = streamfold.try_parse_arguments(bad)
    assert value is None
    assert error is not None
    assert error.message == info.value.message
    with pytest.raises(TypeError, match="parse_arguments takes"):
        streamfold.parse_arguments({"arguments": "{}"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="try_parse_arguments takes"):
        streamfold.try_parse_arguments(None)  # type: ignore[arg-type]


def test_parse_arguments_of_a_folded_stream() -> None:
    """The arguments of a folded parallel-tool-call stream parse to the values sent."""
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant"}}]},
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"x'}},
                            {"index": 1, "id": "b", "function": {"name": "g", "arguments": "[1,"}},
                        ]
                    },
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 1, "function": {"arguments": " 2]"}},
                            {"index": 0, "function": {"arguments": '": true}'}},
                        ]
                    },
                    "finish_reason": "tool_calls",
                }
            ]
        },
    ]
    completion = streamfold.accumulate(chunks)
    assert isinstance(completion, streamfold.ChatCompletion)
    calls = completion.choices[0].message.tool_calls
    assert calls is not None
    assert [streamfold.parse_arguments(c) for c in calls] == [{"x": True}, [1, 2]]


def test_missing_jiter_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without jiter, PartialJSON raises an ImportError naming the extra; parse_arguments works."""
    monkeypatch.setitem(sys.modules, "jiter", None)
    with pytest.raises(ImportError, match=r"pip install 'streamfold\[partial\]'") as info:
        streamfold.PartialJSON()
    assert info.value.name == "jiter"
    assert streamfold.parse_arguments("[1]") == [1]

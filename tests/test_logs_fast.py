"""The template path of JSON-lines logs: what it folds is what reading every line whole folds.

Each test compares ``read_log`` with its templates against ``read_log`` with learning turned off
(every line parsed whole, the path the log reader always had), result by result: keys,
completions, errors with their lines, warnings. The counts of ``LineTemplates`` show that the
template path was taken.
"""

from __future__ import annotations

import copy
import io
import json
import random
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import streamfold
from streamfold import _logs, _template
from test_sse_fast import ENVELOPE, choice, data_lines, lp_chunk, realistic, streams, text_chunk


def outcomes(results: list[streamfold.LogResult]) -> list[tuple[Any, ...]]:
    """Every result, comparable across ways of folding."""
    return [
        (
            r.key,
            None if r.completion is None else streamfold.to_json(r.completion),
            [(type(e).__name__, str(e)) for e in r.errors],
            r.source,
            r.line,
            r.chunks,
            r.complete,
            r.warnings,
        )
        for r in results
    ]


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> list[_template.LineTemplates]:
    """Every set of line templates made during the test, to read its counts."""
    made: list[_template.LineTemplates] = []

    class Counted(_template.LineTemplates):
        __slots__ = ()

        def __init__(self) -> None:
            super().__init__()
            made.append(self)

    monkeypatch.setattr(_logs, "LineTemplates", Counted)
    return made


class Whole(_template.LineTemplates):
    """Line templates that are never learned: every line is read whole."""

    __slots__ = ()

    def learn(self, owner: Any, chunk: dict[str, Any], line: bytes) -> None:
        return None


def read_whole(source: Any, **options: Any) -> list[streamfold.LogResult]:
    """``read_log`` with every line parsed whole (the reference)."""
    with mock.patch.object(_logs, "LineTemplates", Whole):
        return list(streamfold.read_log(source, **options))


def assert_same(make_source: Any, **options: Any) -> list[streamfold.LogResult]:
    """The template path gives what reading every line whole gives; return its results."""
    fast = list(streamfold.read_log(make_source(), **options))
    assert outcomes(fast) == outcomes(read_whole(make_source(), **options))
    return fast


def interleaved(streams_lines: list[list[bytes]], rng: random.Random) -> list[bytes]:
    """The lines of several streams, interleaved at random, each stream in its order."""
    pending = [list(lines) for lines in streams_lines if lines]
    out: list[bytes] = []
    while pending:
        lines = rng.choice(pending)
        out.append(lines.pop(0))
        if not lines:
            pending.remove(lines)
    return out


@settings(max_examples=200, deadline=None)
@given(
    many=st.lists(streams(), min_size=1, max_size=3),
    seed=st.integers(0, 2**32),
    window=st.sampled_from([None, 0, 3, 10_000]),
)
def test_templates_fold_what_reading_lines_whole_folds(
    many: list[list[dict[str, Any]]], seed: int, window: int | None
) -> None:
    """Random streams interleaved, written any way, bare or as data: lines, with any line
    ending, given as bytes, a file or a list of lines: the same results, line for line."""
    rng = random.Random(seed)
    for k, chunks in enumerate(many):  # the streams' ids apart (a shared id is one stream)
        for chunk in chunks:
            if chunk.get("id") and rng.random() < 0.9:
                chunk["id"] = f"{chunk['id']}-{k}"
    lines = interleaved([data_lines(chunks, rng) for chunks in many], rng)
    frame = rng.choice([b"", b"data: ", b"data:"])
    end = rng.choice([b"\n", b"\r\n"])
    text = b"".join(frame + line + end for line in lines)
    if rng.random() < 0.3:
        text = text[: -len(end)]  # no line end after the last line
    how = rng.choice(["bytes", "file", "lines"])
    if how == "bytes":
        assert_same(lambda: text, window=window)
    elif how == "file":
        assert_same(lambda: io.BytesIO(text), window=window)
    else:
        assert_same(lambda: io.BytesIO(text).readlines(), window=window)


def lines_of(chunks: list[dict[str, Any]]) -> list[bytes]:
    return [json.dumps(c, separators=(",", ":"), ensure_ascii=False).encode() for c in chunks]


@pytest.mark.parametrize("name", ["text", "tools", "logprobs", "n4", "obfuscated", "reasoning"])
@pytest.mark.parametrize("layout", ["bare", "data", "mixed"])
def test_template_path_is_taken_on_realistic_logs(
    name: str, layout: str, counts: list[_template.LineTemplates]
) -> None:
    """Nearly every line of a realistic log is a template hit; the results are unchanged and
    each stream is what accumulate folds of its chunks."""
    lines = realistic(name)
    copies = 4 if layout == "mixed" else 1
    per_stream = []
    for k in range(copies):
        chunks = [json.loads(line) for line in lines]
        for chunk in chunks:
            chunk["id"] = f"{chunk['id']}-{k}"
        per_stream.append(chunks)
    frame = b"data: " if layout != "bare" else b""
    rows = [frame + line for row in zip(*map(lines_of, per_stream), strict=True) for line in row]
    text = b"\n".join(rows) + b"\n"
    fast = assert_same(lambda: io.BytesIO(text))
    assert [r.completion for r in fast] == [streamfold.accumulate(c) for c in per_stream]
    (made,) = counts[:1]
    assert made.hits >= 0.95 * len(rows)
    assert made.learned <= 8 * copies


def test_a_bad_escape_in_a_hole_is_read_whole_at_its_line(
    counts: list[_template.LineTemplates],
) -> None:
    """A line that matches a template but whose text does not decode (a bad escape) is read
    whole: the error names its line, the lines around it fold."""
    lines = lines_of([text_chunk(f" w{i}") for i in range(40)])
    lines[30] = lines[30].replace(b" w30", b"\\x")  # not a JSON escape
    text = b"\n".join(lines)
    (result,) = assert_same(lambda: text)
    assert [e.line for e in result.errors] == [31]  # type: ignore[attr-defined]
    assert result.completion is not None
    assert content(result) == "".join(f" w{i}" for i in range(40) if i != 30)
    assert counts[0].hits >= 30


def test_a_bad_logprob_entry_in_a_run_is_refused_at_its_line(
    counts: list[_template.LineTemplates],
) -> None:
    """A logprob list of the template's shape but a wrong type is refused at its line, and the
    rest of the batch folds."""
    lines = lines_of([lp_chunk(f" w{i}", f" w{i}") for i in range(40)])
    lines[25] = lines[25].replace(b'"token":" w25"', b'"token":25')
    (result,) = assert_same(lambda: b"\n".join(lines))
    assert len(result.errors) == 1
    assert result.errors[0].line == 26  # type: ignore[attr-defined]
    assert "token" in str(result.errors[0])
    assert result.completion is not None
    assert content(result) == "".join(f" w{i}" for i in range(40) if i != 25)
    assert counts[0].hits >= 30


def content(result: streamfold.LogResult) -> str:
    """The text of the result's first choice."""
    assert isinstance(result.completion, streamfold.ChatCompletion)
    return result.completion.choices[0].message.content or ""


def usage_chunk(id_: str) -> dict[str, Any]:
    return {**ENVELOPE, "id": id_, "choices": [], "usage": {"prompt_tokens": 1}}


def test_a_later_stream_with_the_same_id_is_its_own(counts: list[_template.LineTemplates]) -> None:
    """A stream closed by its usage chunk, then another with the same id: the second's lines
    never fold into the first through its templates."""
    first = [text_chunk(f" a{i}") for i in range(20)]
    second = [text_chunk(f" b{i}") for i in range(20)]
    finish = {**ENVELOPE, "choices": [choice(0, {}, finish_reason="stop")]}
    chunks = [*first, finish, usage_chunk("chatcmpl-1"), *second]
    one, two = assert_same(lambda: b"\n".join(lines_of(chunks)))
    assert one.completion is not None
    assert two.completion is not None
    assert content(one) == "".join(f" a{i}" for i in range(20))
    assert content(two) == "".join(f" b{i}" for i in range(20))
    assert one.complete
    assert not two.complete
    assert counts[0].hits >= 30


def test_lines_after_the_finish_are_read_whole(counts: list[_template.LineTemplates]) -> None:
    """Text after a stream completed is folded by the full rules (its templates are gone), and
    the window waits again from it."""
    chunks = [text_chunk(f" a{i}") for i in range(20)]
    chunks.append({**ENVELOPE, "choices": [choice(0, {}, finish_reason="stop")]})
    chunks += [text_chunk(f" late{i}") for i in range(5)]
    (result,) = assert_same(lambda: b"\n".join(lines_of(chunks)), window=2)
    assert result.completion is not None
    assert content(result).endswith(" late4")
    assert counts[0].hits < 20  # the late text was read whole


def test_a_stream_over_two_files_is_located_in_each(
    tmp_path: Path, counts: list[_template.LineTemplates]
) -> None:
    """A stream that goes on in a second file: its errors name the file they are in, its last
    line is in the second file."""
    lines = lines_of([lp_chunk(f" w{i}", f" w{i}") for i in range(30)])
    lines[25] = lines[25].replace(b'"token":" w25"', b'"token":25')
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_bytes(b"\n".join(lines[:20]) + b"\n")
    b.write_bytes(b"\n".join(lines[20:]) + b"\n")
    (result,) = assert_same(lambda: [a, b])
    assert [(e.source, e.line) for e in result.errors] == [(str(b), 6)]  # type: ignore[attr-defined]
    assert counts[0].hits >= 20


def test_many_streams_that_begin_alike_keep_folding(
    counts: list[_template.LineTemplates],
) -> None:
    """More streams at once than templates that may begin alike (ids late in the line): each
    stream still folds to its own text."""
    per_stream = []
    for k in range(12):
        chunks = []
        for i in range(30):
            chunk = copy.deepcopy(text_chunk(f" {k}:{i}"))
            del chunk["id"]
            chunk["id"] = f"s{k}"  # after the choices: every line begins alike
            chunks.append(chunk)
        per_stream.append(chunks)
    rows = [line for row in zip(*map(lines_of, per_stream), strict=True) for line in row]
    results = assert_same(lambda: b"\n".join(rows))
    assert [r.completion for r in results] == [streamfold.accumulate(c) for c in per_stream]
    assert counts[0].hits > 0


def test_a_key_function_reads_every_line_whole(counts: list[_template.LineTemplates]) -> None:
    """With a key function the key is not in a template's bytes: no template is learned."""
    records = [{"rid": "r1", "chunk": text_chunk(f" w{i}")} for i in range(20)]
    text = b"\n".join(json.dumps(r).encode() for r in records)
    (result,) = list(streamfold.read_log(text, key=lambda r: (r["rid"], r["chunk"])))
    assert result.completion is not None
    assert content(result) == "".join(f" w{i}" for i in range(20))
    assert counts[0].learned == 0
    assert counts[0].hits == 0

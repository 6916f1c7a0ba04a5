"""The SSE fast path (templates of repeated chunks) folds exactly what a full parse folds."""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import random
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import streamfold
from streamfold import _sse, _template
from streamfold._convert import json_dumps
from streamfold._fold import Accumulator

# ---------------------------------------------------------------------------------------------
# JSON text in the many ways servers write it


class Style:
    """How one server writes JSON: spaces, which characters it escapes and how."""

    def __init__(self, rng: random.Random) -> None:
        self.colon = rng.choice([":", ":", ": "])
        self.comma = rng.choice([",", ",", ", "])
        self.ascii = rng.random() < 0.3  # non-ASCII as \u escapes (surrogate pairs above BMP)
        self.escapes = rng.choice([0.0, 0.0, 0.1, 0.5])  # any character as a \u escape
        self.slash = rng.random() < 0.2  # "/" as "\/"
        self.upper = rng.random() < 0.5  # \u00E9 or \u00e9
        self.rng = rng

    def string(self, text: str) -> str:
        out = ['"']
        for ch in text:
            code = ord(ch)
            if ch == '"':
                out.append('\\"')
            elif ch == "\\":
                out.append("\\\\")
            elif ch == "/" and self.slash:
                out.append("\\/")
            elif code < 0x20 and self.rng.random() < 0.7 and ch in "\n\r\t\b\f":
                out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}[ch])
            elif code < 0x20 or (code > 0x7E and self.ascii) or self.rng.random() < self.escapes:
                out.append(self.u_escape(code))
            else:
                out.append(ch)
        out.append('"')
        return "".join(out)

    def u_escape(self, code: int) -> str:
        if code > 0xFFFF:  # a surrogate pair
            code -= 0x10000
            return self.u_escape(0xD800 + (code >> 10)) + self.u_escape(0xDC00 + (code & 0x3FF))
        text = f"\\u{code:04x}"
        return text.upper().replace("\\U", "\\u") if self.upper else text

    def dumps(self, value: Any) -> str:
        if isinstance(value, str):
            return self.string(value)
        if value is None:
            return "null"
        if value is True:
            return "true"
        if value is False:
            return "false"
        if isinstance(value, (int, float)):
            return repr(value)
        if isinstance(value, dict):
            items = [self.string(k) + self.colon + self.dumps(v) for k, v in value.items()]
            return "{" + self.comma.join(items) + "}"
        return "[" + self.comma.join(self.dumps(v) for v in value) + "]"


def shuffled(value: Any, rng: random.Random) -> Any:
    """The same value with the keys of every object in another order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [shuffled(v, rng) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# streams: runs of chunks that repeat an envelope, and every change of envelope between them

SPECIAL = [
    '"',
    "\\",
    '\\"',
    "a\\",
    "\\\\",
    "\n",
    "\t",
    "\x00",
    "\x1f",
    "\u2028",
    "é",
    "東京",
    "😀",
    "𝄞",
    "/",
    "</script>",
    '"}',
    '","',
    "\\u0041",
    "data: ",
    "[DONE]",
    '"},"logprobs":null,"finish_reason":null}]}\n\ndata: {',
    " the",
    "",
]
texts = st.one_of(
    st.text(max_size=6),
    st.sampled_from(SPECIAL),
    st.lists(st.sampled_from(SPECIAL), max_size=3).map("".join),
)
KINDS = [
    "text",
    "text",
    "text",
    "role",
    "refusal",
    "reasoning",
    "args",
    "args",
    "announce",
    "logprobs",
    "logprobs",
    "logprobs+extra",
    "finish",
    "usage",
    "multi",
    "extra",
    "bad",
    "error",
]


@st.composite
def streams(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A stream of chunks: runs of one kind of chunk, the envelope changing now and then."""
    envelope: dict[str, Any] = {
        "id": draw(st.sampled_from(["chatcmpl-1", "", "x"])),
        "object": "chat.completion.chunk",
        "created": draw(st.sampled_from([1, 0, 1741570283])),
        "model": draw(st.sampled_from(["gpt-4o", "m", ""])),
    }
    if draw(st.booleans()):
        envelope["system_fingerprint"] = "fp_1"
        envelope["service_tier"] = "default"
    if draw(st.booleans()):
        envelope["x_meta"] = {"a": [1, 2.5, {"b": draw(texts)}], "n": None}
    obfuscate = draw(st.booleans())
    kind = "text"
    index = 0
    chunks: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 24))):
        if not draw(st.integers(0, 3)):  # mostly runs of one kind, for one choice
            kind = draw(st.sampled_from(KINDS))
            index = draw(st.sampled_from([0, 0, 0, 1, 2]))
        if not draw(st.integers(0, 9)):
            envelope = draw(changed(envelope))
        chunk = {**copy.deepcopy(envelope), **draw(chunk_body(kind, index))}
        if obfuscate:
            chunk["obfuscation"] = draw(texts)
        chunks.append(chunk)
        if kind == "error":
            break
    return chunks


@st.composite
def changed(draw: st.DrawFn, envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope with one thing changed: a label, a number, an extra key, a nested value."""
    out = copy.deepcopy(envelope)
    what = draw(st.sampled_from(["id", "model", "created", "extra", "nested", "drop", "tier"]))
    if what == "id":
        out["id"] = draw(st.sampled_from(["chatcmpl-2", "", "y"]))
    elif what == "model":
        out["model"] = draw(texts)
    elif what == "created":
        out["created"] = draw(st.integers(0, 2**40))
    elif what == "extra":
        out[draw(st.sampled_from(["x_a", "x_b", "provider"]))] = draw(
            st.one_of(texts, st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False))
        )
    elif what == "nested":
        out["x_meta"] = {"a": [draw(st.integers(-3, 3)), {"b": draw(texts)}], "n": [None]}
    elif what == "drop":
        for key in ("x_meta", "x_a", "x_b", "provider", "system_fingerprint"):
            out.pop(key, None)
    else:
        out["service_tier"] = draw(st.sampled_from(["default", "flex", None]))
    return out


def choice(index: Any, delta: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": None, **fields}


@st.composite
def entry(draw: st.DrawFn, tops: int) -> dict[str, Any]:
    token = draw(texts)
    out = {
        "token": token,
        "logprob": draw(st.floats(-20, 0)),
        "bytes": draw(st.one_of(st.none(), st.lists(st.integers(0, 255), max_size=4))),
    }
    if tops:
        out["top_logprobs"] = [draw(entry(0)) for _ in range(tops)]
    return out


@st.composite
def chunk_body(draw: st.DrawFn, kind: str, index: int) -> dict[str, Any]:
    """The choices (or usage, or error) of one chunk of the given kind, for choice ``index``."""
    if kind == "text":
        return {"choices": [choice(index, {"content": draw(texts)})]}
    if kind == "role":
        delta = {"role": "assistant", "content": draw(texts), "refusal": None}
        return {"choices": [choice(index, delta)]}
    if kind == "refusal":
        return {"choices": [choice(index, {"refusal": draw(texts)})]}
    if kind == "reasoning":
        key = draw(st.sampled_from(["reasoning_content", "reasoning"]))
        return {"choices": [choice(index, {"content": None, key: draw(texts)})]}
    if kind == "args":
        call = {"index": draw(st.integers(0, 2)), "function": {"arguments": draw(texts)}}
        return {"choices": [choice(index, {"tool_calls": [call]})]}
    if kind == "announce":
        call = {
            "index": draw(st.integers(0, 2)),
            "id": draw(st.sampled_from(["call_a", "call_b", "call_c"])),
            "type": "function",
            "function": {"name": draw(texts), "arguments": ""},
        }
        return {"choices": [choice(index, {"tool_calls": [call]})]}
    if kind.startswith("logprobs"):
        entries = [draw(entry(draw(st.integers(0, 2)))) for _ in range(draw(st.integers(0, 2)))]
        if entries and not draw(st.integers(0, 7)):  # a bad entry, in the template's shape
            bad = draw(st.sampled_from(["token", "logprob", "bytes", "top_logprobs"]))
            entries[-1][bad] = {"token": 5, "logprob": "x", "bytes": "x", "top_logprobs": 7}[bad]
        lp = {"content": entries, "refusal": None}
        extra = {"x_note": draw(texts)} if kind.endswith("extra") else {}
        return {"choices": [choice(index, {"content": draw(texts)}, logprobs=lp, **extra)]}
    if kind == "finish":
        reason = draw(st.sampled_from(["stop", "length", "tool_calls", "content_filter"]))
        return {"choices": [choice(index, {}, finish_reason=reason)]}
    if kind == "usage":
        usage = {"prompt_tokens": 3, "completion_tokens": draw(st.integers(0, 99))}
        return {"choices": [], "usage": usage}
    if kind == "multi":
        return {
            "choices": [choice(0, {"content": draw(texts)}), choice(1, {"content": draw(texts)})]
        }
    if kind == "extra":
        return {"choices": [choice(index, {"content": draw(texts)}, x_note=draw(texts))]}
    if kind == "bad":  # a field of the wrong type: refused, position and all
        bad = draw(st.sampled_from(["content", "logprob", "token", "index"]))
        if bad == "content":
            return {"choices": [choice(index, {"content": 5})]}
        if bad == "index":
            return {"choices": [choice("x", {"content": "a"})]}
        item = draw(entry(1))
        item[bad] = "x" if bad == "logprob" else 5
        return {"choices": [choice(index, {"content": "a"}, logprobs={"content": [item]})]}
    return {"error": {"message": draw(texts), "code": 500}}  # kind == "error"


def data_lines(chunks: list[dict[str, Any]], rng: random.Random) -> list[bytes]:
    """Each chunk's JSON text, written in one style (now and then another, or keys reordered)."""
    style = Style(rng)
    lines = []
    for chunk in chunks:
        if rng.random() < 0.05:
            style = Style(rng)
        value = shuffled(chunk, rng) if rng.random() < 0.05 else chunk
        lines.append(style.dumps(value).encode("utf-8"))
    return lines


def sse_body(lines: list[bytes], rng: random.Random) -> bytes:
    """An SSE body of those data lines, now and then with a comment or another line ending."""
    parts = []
    for line in lines:
        if rng.random() < 0.05:
            parts.append(b": keep-alive\n\n")
        parts.append(b"data: " + line + b"\n\n")
    body = b"".join(parts) + b"data: [DONE]\n\n"
    if rng.random() < 0.1:
        body = body.replace(b"\n", b"\r\n")
    return body


def in_pieces(body: bytes, rng: random.Random) -> list[bytes]:
    """The body cut at random places (empty pieces included), as a network delivers it."""
    cuts = sorted(rng.randrange(len(body) + 1) for _ in range(rng.randrange(8)))
    points = [0, *cuts, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(points)]


# ---------------------------------------------------------------------------------------------
# one outcome per way of folding: the completion, or the error with where it happened


def outcome(fold: Callable[[], Any]) -> tuple[Any, ...]:
    """What a fold gives, comparable across ways of folding."""
    try:
        completion = fold()
    except streamfold.StreamError as exc:
        return ("stream error", exc.position, exc.error, as_json(exc.completion))
    except streamfold.InvalidChunkError as exc:
        return ("invalid chunk", exc.position, as_json(exc.completion))
    return ("done", as_json(completion))


def as_json(completion: Any) -> Any:
    return None if completion is None else streamfold.to_json(completion)


def reference(lines: list[bytes]) -> tuple[Any, ...]:
    """The reference: every data line parsed whole by json.loads, folded by accumulate."""
    return outcome(lambda: streamfold.accumulate([json.loads(line) for line in lines]))


@settings(max_examples=300, deadline=None)
@given(chunks=streams(), seed=st.integers(0, 2**32))
def test_fast_path_folds_what_a_full_parse_folds(chunks: list[dict[str, Any]], seed: int) -> None:
    """Random streams, written any way, whole or in pieces: the same completion or error."""
    rng = random.Random(seed)  # how the text is written: not worth shrinking
    lines = data_lines(chunks, rng)
    body = sse_body(lines, rng)
    expected = reference(lines)
    assert outcome(lambda: streamfold.from_sse(body)) == expected
    assert outcome(lambda: streamfold.from_sse(in_pieces(body, rng))) == expected
    with mock.patch.object(_sse, "_WORTH_LEARNING", 0):  # a whole body learns to its last event
        assert outcome(lambda: streamfold.from_sse(body)) == expected


@settings(max_examples=100, deadline=None)
@given(chunks=streams(), seed=st.integers(0, 2**32))
def test_fast_path_keeps_the_padding_as_a_full_parse_does(
    chunks: list[dict[str, Any]], seed: int
) -> None:
    """With keep_obfuscation=True, the fast path keeps OpenAI's padding as accumulate does."""
    rng = random.Random(seed)
    lines = data_lines(chunks, rng)
    body = sse_body(lines, rng)
    parsed = [json.loads(line) for line in lines]
    expected = outcome(lambda: streamfold.accumulate(parsed, keep_obfuscation=True))
    assert outcome(lambda: streamfold.from_sse(body, keep_obfuscation=True)) == expected
    pieces = in_pieces(body, rng)
    assert outcome(lambda: streamfold.from_sse(pieces, keep_obfuscation=True)) == expected


@contextlib.contextmanager
def stdlib_parser() -> Iterator[None]:
    """The SSE loops parse with the stdlib's json.loads, as without orjson."""
    saved = _sse._loads, _template._loads
    _sse._loads = _template._loads = json.loads
    try:
        yield
    finally:
        _sse._loads, _template._loads = saved


@settings(max_examples=100, deadline=None)
@given(chunks=streams(), seed=st.integers(0, 2**32))
def test_fast_path_with_the_stdlib_parser(chunks: list[dict[str, Any]], seed: int) -> None:
    """Without orjson (json.loads decodes the holes and the rest), the same outcome."""
    rng = random.Random(seed)
    lines = data_lines(chunks, rng)
    body = sse_body(lines, rng)
    with stdlib_parser(), mock.patch.object(_sse, "_WORTH_LEARNING", 0):
        assert outcome(lambda: streamfold.from_sse(body)) == reference(lines)


# ---------------------------------------------------------------------------------------------
# the paths a random stream rarely takes, each on purpose

ENVELOPE = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}


def text_chunk(text: Any, index: int = 0, **top: Any) -> dict[str, Any]:
    return {**ENVELOPE, "choices": [choice(index, {"content": text})], **top}


def lp_chunk(text: str, token: Any, **fields: Any) -> dict[str, Any]:
    item = {"token": token, "logprob": -0.5, "bytes": [97], "top_logprobs": []}
    lp = {"content": [item], "refusal": None}
    return {**ENVELOPE, "choices": [choice(0, {"content": text}, logprobs=lp, **fields)]}


def compact(chunks: list[dict[str, Any]]) -> list[bytes]:
    return [json.dumps(c, separators=(",", ":"), ensure_ascii=False).encode() for c in chunks]


def assert_same(chunks: list[dict[str, Any]]) -> None:
    """from_sse, whole and byte by byte, gives what accumulate gives (errors included); the
    whole body learns templates to its last event, as a long one would."""
    lines = compact(chunks)
    body = b"".join(b"data: " + line + b"\n\n" for line in lines) + b"data: [DONE]\n\n"
    expected = reference(lines)
    with mock.patch.object(_sse, "_WORTH_LEARNING", 0):
        assert outcome(lambda: streamfold.from_sse(body)) == expected
    assert outcome(lambda: streamfold.from_sse([body[i : i + 1] for i in range(len(body))])) == (
        expected
    )


def test_interleaved_choices_in_turns_and_out_of_turn() -> None:
    """n=3 choices taking turns, then out of turn: each text in its own order."""
    turns = [text_chunk(f"{i}", index=i % 3) for i in range(30)]
    rng = random.Random(5)
    shuffled_turns = [text_chunk(f"{i}", index=rng.choice([0, 1, 2])) for i in range(30)]
    assert_same([*turns, *shuffled_turns])


def test_two_templates_of_one_text_keep_their_order() -> None:
    """One choice's chunks in two shapes in turn (a role repeated or not): the text in order."""
    chunks = [text_chunk(f"<{i}>") for i in range(20)]
    for chunk in chunks[::2]:
        chunk["choices"][0]["delta"] = {"role": "assistant", **chunk["choices"][0]["delta"]}
    assert_same(chunks)


def test_refused_chunk_in_a_run_of_logprobs() -> None:
    """A bad logprob entry inside a run: InvalidChunkError at its position, what came before."""
    chunks = [lp_chunk(f"t{i}", f"t{i}") for i in range(6)]
    chunks[4] = lp_chunk("t4", 5)
    assert_same(chunks)


def test_refused_chunk_in_a_run_folded_through_choice() -> None:
    """The same in a choice that goes through _choice (it has an extra key, before the list)."""
    chunks = []
    for i in range(6):
        chunk = lp_chunk(f"t{i}", 7 if i == 3 else f"t{i}")
        chunk["choices"][0] = {"x_note": f"n{i}", **chunk["choices"][0]}
        chunks.append(chunk)
    assert_same(chunks)


def test_batch_of_text_and_logprob_templates() -> None:
    """Two templates in one batch, one with a logprob list: each chunk's leaves in turn."""
    chunks = [lp_chunk(f"a{i}", f"a{i}") if i % 2 else text_chunk(f"b{i}") for i in range(12)]
    assert_same(chunks)


def test_strings_that_look_like_the_template() -> None:
    """Escapes at a string's end, quotes, and text copying the template's own bytes."""
    tail = '"},"logprobs":null,"finish_reason":null}]}\n\ndata: {"id":"chatcmpl-1"'
    texts_ = ["a", "b\\", '\\"', '"', "\\\\", tail, tail[:20], "\\u0022", "é😀", "c"]
    assert_same([text_chunk(t) for t in texts_])


def test_bad_escape_in_a_hole_is_parsed_whole() -> None:
    """A hole whose text is not a JSON string (a raw control character): the full parse says so."""
    lines = compact([text_chunk("a"), text_chunk("b"), text_chunk("c")])
    lines[2] = lines[2].replace(b'"c"', b'"c\x01"')
    body = b"".join(b"data: " + line + b"\n\n" for line in lines)
    with (
        pytest.raises(streamfold.InvalidChunkError) as info,
        mock.patch.object(_sse, "_WORTH_LEARNING", 0),  # "b" is a hit, so "c" is tried as one
    ):
        streamfold.from_sse(body)
    assert isinstance(info.value, streamfold.InvalidLineError)
    assert info.value.line == 5
    folded = info.value.completion
    assert isinstance(folded, streamfold.ChatCompletion)
    assert folded.choices[0].message.content == "ab"


def test_events_of_several_lines_are_not_templates() -> None:
    """One chunk split over data lines (and a list with a newline in it): the line rules."""
    first, second = compact([lp_chunk("a", "a"), lp_chunk("b", "b")])
    split = second.replace(b'[{"token"', b'[\ndata: {"token"')
    body = b"data: " + first + b"\n\ndata: " + first + b"\n\ndata: " + split + b"\n\n"
    expected = streamfold.accumulate([json.loads(first), json.loads(first), json.loads(second)])
    with mock.patch.object(_sse, "_WORTH_LEARNING", 0):
        assert streamfold.from_sse(body) == expected


def test_variants_after_completion_events_and_elsewhere() -> None:
    """add_variants on a closed accumulator, with events, or with another's template: as add()."""
    template = text_chunk("a")
    acc = Accumulator()
    acc.add(template)
    variant = acc.variant(template)
    assert variant is not None
    assert variant.paths == (("choices", 0, "delta", "content"),)
    other = Accumulator()
    other.add(text_chunk("x"))
    other.add_variants([variant], ["y"])  # another accumulator's template: the full chunk
    assert other.completion() == streamfold.accumulate([text_chunk("x"), text_chunk("y")])
    tracked = Accumulator()
    tracked.add_events(template)
    assert tracked.variant(template) is None
    acc.add_variants([variant], ["b"])
    acc.completion()
    with pytest.raises(streamfold.UsageError):
        acc.add_variants([variant], ["c"])


def test_templates_refused_for_errors_rules_and_several_choices() -> None:
    """No template for an error chunk, a top-level field rule, or more than one choice."""
    acc = Accumulator(field_rules={"x_log": "concat"})
    chunk = text_chunk("a", x_log="1")
    acc.add(chunk)
    assert acc.variant(chunk) is None
    plain = Accumulator()
    two = {**ENVELOPE, "choices": [choice(0, {"content": "a"}), choice(1, {"content": "b"})]}
    plain.add(two)
    assert plain.variant(two) is None
    assert plain.variant({**ENVELOPE, "error": {"message": "x"}}) is None


def test_several_streams_in_one_capture() -> None:
    """The command line's multi-stream fold: templates start over with each stream."""
    first = compact([text_chunk(f"a{i}") for i in range(5)])
    second = compact([text_chunk(f"b{i}", index=1) for i in range(5)])
    body = b"".join(b"data: " + line + b"\n\n" for line in [*first, b"[DONE]", *second, b"[DONE]"])
    fold = _sse._SSEFold(
        source=None,
        max_event_size=_sse.DEFAULT_MAX_EVENT_SIZE,
        multi=True,
        field_rules=None,
        normalize_finish_reason=False,
    )
    fold.feed(body)
    fold.close()
    got = [stream.acc.completion() for stream in fold.finished]
    assert got == [
        streamfold.accumulate([json.loads(line) for line in first]),
        streamfold.accumulate([json.loads(line) for line in second]),
    ]
    assert fold.hits >= 6


# ---------------------------------------------------------------------------------------------
# the fast path is taken on the streams servers send (counted, not timed)


def realistic(name: str) -> list[bytes]:
    """The data lines of a realistic stream, as OpenAI and the reasoning servers write them."""
    from benchmarks import bench_sse

    if name in bench_sse.SCENARIOS:
        return bench_sse.data_lines(name)
    rng = random.Random(7)
    chunks = []
    for i in range(300):
        if name == "obfuscated":  # OpenAI: a random string in every chunk
            chunk = text_chunk(f" w{i}", obfuscation="".join(rng.choices("abcXYZ09", k=8)))
        else:  # DeepSeek and vLLM: the reasoning first, then the text
            key = "reasoning_content" if i < 150 else "content"
            chunk = {**ENVELOPE, "choices": [choice(0, {"content": None, key: f" r{i}"})]}
            if key == "content":
                chunk["choices"][0]["delta"] = {"content": f" r{i}", "reasoning_content": None}
        chunks.append(chunk)
    return compact(chunks)


@pytest.fixture
def folds(monkeypatch: pytest.MonkeyPatch) -> list[_sse._SSEFold]:
    """Every SSE fold made during the test, to read its counts (hits, misses, learned)."""
    made: list[_sse._SSEFold] = []

    class Counted(_sse._SSEFold):
        __slots__ = ()

        def __init__(self, **options: Any) -> None:
            super().__init__(**options)
            made.append(self)

    monkeypatch.setattr(_sse, "_SSEFold", Counted)
    return made


@pytest.mark.parametrize("name", ["text", "tools", "logprobs", "n4", "obfuscated", "reasoning"])
def test_fast_path_is_taken_on_realistic_streams(name: str, folds: list[_sse._SSEFold]) -> None:
    """Nearly every chunk of a realistic stream is a template hit; the result is unchanged."""
    lines = realistic(name)
    body = b"".join(b"data: " + line + b"\n\n" for line in lines) + b"data: [DONE]\n\n"
    assert streamfold.from_sse(body) == streamfold.accumulate([json.loads(x) for x in lines])
    (fold,) = folds
    assert fold.hits + fold.misses == len(lines)
    assert fold.hits >= 0.95 * len(lines)
    assert fold.learned <= 8


# ---------------------------------------------------------------------------------------------
# the spans of a template's holes: found in compact lines at C speed, as the scan finds them

MARKERISH = ["#~", "#~0", '"#~0"', "#~~1", "~", "#", '"#~1","', "0"]
span_texts = st.one_of(
    texts,
    st.sampled_from(MARKERISH),
    st.lists(st.sampled_from(SPECIAL + MARKERISH), max_size=4).map("".join),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),  # beyond 64 bits: orjson refuses, the stdlib writes it
    st.floats(allow_nan=False, allow_infinity=False),  # written otherwise by the stdlib
    span_texts,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(span_texts, inner, max_size=4)
    ),
    max_leaves=12,
)


def value_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path of ``value``, its own first."""
    yield path
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        yield from value_paths(item, (*path, key))


def at_path(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def scan_spans(data: bytes, paths: tuple[tuple[Any, ...], ...], chunk: Any) -> Any:
    """The scan's answer, as ``_Template.make`` asks it (containers' values given)."""
    values = {p: at_path(chunk, p) for p in paths if isinstance(at_path(chunk, p), (dict, list))}
    return _template._leaf_spans(data, frozenset(paths), values)


def as_written(value: Any) -> bytes | None:
    """``value`` as ``_compact_spans`` writes it, or ``None`` when its writer refuses it."""
    try:
        return _template._write(value)
    except TypeError:
        return None


@st.composite
def chunks_and_paths(draw: st.DrawFn) -> tuple[dict[str, Any], tuple[tuple[Any, ...], ...]]:
    chunk = draw(st.dictionaries(span_texts, json_values, min_size=1, max_size=5))
    candidates = list(value_paths(chunk))[1:]
    picked = draw(st.lists(st.sampled_from(candidates), max_size=4, unique=True))
    paths = tuple(p for p in picked if not any(q != p and p[: len(q)] == q for q in picked))
    return chunk, paths


@settings(max_examples=400, deadline=None)
@given(case=chunks_and_paths())
def test_compact_spans_are_the_scans_spans(case: Any) -> None:
    """On lines written as json_dumps writes them, the markers find what the scan finds:
    strings without quotes, containers with brackets, nothing for numbers and literals."""
    chunk, paths = case
    data = json_dumps(chunk).encode()  # (orjson, or the stdlib past 64-bit integers)
    assert json.loads(data) == chunk
    spans = _template._compact_spans(data, chunk, paths)
    if as_written(chunk) != data:  # past 64 bits: json_dumps wrote it with the stdlib
        assert spans is None
        return
    assert spans is not None
    assert spans == scan_spans(data, paths, chunk)
    for path, (start, end, string) in spans.items():  # what a parser reads there
        text = data[start - 1 : end + 1] if string else data[start:end]
        assert json.loads(text) == at_path(chunk, path)


@settings(max_examples=200, deadline=None)
@given(case=chunks_and_paths(), seed=st.integers(0, 2**32))
def test_lines_written_otherwise_are_scanned(case: Any, seed: int) -> None:
    """Spaces, \\u escapes, other key orders: the markers refuse the line (or, when it comes
    out as json_dumps writes it after all, agree with the scan)."""
    chunk, paths = case
    rng = random.Random(seed)
    data = Style(rng).dumps(chunk).encode("utf-8", "surrogatepass")
    parsed = json.loads(data)
    spans = _template._compact_spans(data, parsed, paths)
    if data != as_written(parsed):
        assert spans is None
    else:
        assert spans == scan_spans(data, paths, parsed)


def test_template_of_a_line_with_spaces_or_escapes_is_scanned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A line not written compactly takes the scan, and its template places the same holes."""
    scans: list[bytes] = []
    leaf_spans = _template._leaf_spans

    def counted(data: bytes, *args: Any) -> Any:
        scans.append(data)
        return leaf_spans(data, *args)

    monkeypatch.setattr(_template, "_leaf_spans", counted)
    chunk = {"obfuscation": "#~0", **lp_chunk('é"a', 'é"a')}  # (a logprob list comes last)
    compact_line = json_dumps(chunk).encode()
    spaced = json.dumps(chunk, ensure_ascii=False).encode()
    escaped = json.dumps(chunk, separators=(",", ":")).encode()  # é as \u00e9
    templates = []
    for line in (compact_line, spaced, escaped):
        acc = Accumulator()
        parsed = json.loads(line)
        acc.add(parsed)
        variant = acc.variant(parsed)
        assert variant is not None
        assert len(variant.paths) == 3
        template = _template.Template.make(line, variant)
        assert template is not None
        templates.append(template)
        # the holes' texts, read back through the template's pieces, are the leaves
        tokens: list[bytes] = []
        lists: list[bytes] = []
        event = b"data: " + line + b"\n\n"
        assert template.match(event, 0, tokens, lists) == len(event)
        assert [json.loads(b'"' + t + b'"') for t in tokens] == ["#~0", 'é"a']
        assert [json.loads(x) for x in lists] == [parsed["choices"][0]["logprobs"]["content"]]
    assert scans == [spaced, escaped]  # the compact line needed no scan
    assert templates[0].head == b'data: {"obfuscation":"'


def test_compact_spans_refuse_what_the_writer_writes_otherwise() -> None:
    """A repeated key, a float written another way, a number past 64 bits: scanned or refused,
    and from_sse folds what a full parse folds."""
    repeated = b'{"a":"x","a":"y"}'
    assert _template._compact_spans(repeated, json.loads(repeated), (("a",),)) is None
    assert _template._leaf_spans(repeated, frozenset({("a",)}), {}) is None
    small = b'{"x":1e-07,"s":"a"}'  # orjson writes 1e-7
    assert _template._compact_spans(small, json.loads(small), (("s",),)) is None
    chunks = [text_chunk(f"w{i}", x_float=1e-07) for i in range(6)]
    assert_same(chunks)
    with stdlib_parser():  # (orjson does not parse integers past 64 bits)
        assert_same([{**c, "created": 2**70} for c in chunks])


def test_a_short_whole_body_is_not_worth_a_template(folds: list[_sse._SSEFold]) -> None:
    """A body given whole with few events left learns no template (each event parsed whole);
    the same events arriving in pieces, or a long body, do learn: results unchanged."""
    short = compact([text_chunk(f" w{i}") for i in range(8)])
    long = compact([text_chunk(f" w{i}") for i in range(60)])
    for lines, pieces, learns in [(short, False, False), (short, True, True), (long, False, True)]:
        body = b"".join(b"data: " + line + b"\n\n" for line in lines) + b"data: [DONE]\n\n"
        source: Any = [body[i : i + 200] for i in range(0, len(body), 200)] if pieces else body
        got = streamfold.from_sse(source)
        assert got == streamfold.accumulate([json.loads(line) for line in lines])
        fold = folds.pop()
        assert (fold.learned > 0) is learns, (len(lines), pieces)
        assert fold.hits + fold.misses == len(lines)
        if learns and not pieces:
            assert fold.hits >= 0.7 * len(lines)

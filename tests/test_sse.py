"""SSE decoding: the WHATWG line rules, server quirks, bad bodies, every source type and adapter."""

from __future__ import annotations

import gzip
import io
import itertools
import json
import pickle
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import streamfold
from streamfold._sse import DONE, ERROR, MESSAGE, OTHER, SSEDecoder

EXAMPLES = Path(__file__).parent.parent / "examples"
ENVELOPE = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **top: Any) -> str:
    """The JSON text of a one-choice chunk."""
    choice = {"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish}
    return json.dumps({**ENVELOPE, "choices": [choice], **top}, ensure_ascii=False)


def content(completion: object) -> str | None:
    """The first choice's text of a chat completion."""
    assert isinstance(completion, streamfold.ChatCompletion)
    return completion.choices[0].message.content


def usage_chunk() -> str:
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    return json.dumps({**ENVELOPE, "choices": [], "usage": usage})


def body(*events: str, done: bool = True, end: str = "\n") -> str:
    """An SSE body: each event's lines, a blank line after each, then ``[DONE]``."""
    text = "".join(e + end + end for e in events)
    return text + (f"data: [DONE]{end}{end}" if done else "")


HELLO = body(
    "data: " + chunk({"role": "assistant", "content": ""}),
    "data: " + chunk({"content": "Hel"}),
    "data: " + chunk({"content": "lo 東京 😀"}),
    "data: " + chunk({}, "stop"),
    "data: " + usage_chunk(),
)


def pieces_of(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    """``data`` cut at the given offsets (empty pieces where offsets repeat)."""
    points = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(points)]


def decode(pieces: Iterable[bytes], max_event_size: int | None = None) -> tuple[Any, ...]:
    decoder = SSEDecoder() if max_event_size is None else SSEDecoder(max_event_size)
    events = []
    for piece in pieces:
        events += decoder.feed(piece)
    events += decoder.close()
    return tuple(events), decoder.cut


# ---------------------------------------------------------------------------------------------
# one test body, every adapter: from_sse, iter_sse + accumulate, afrom_sse and aiter_sse on both
# async backends

SSEFold = Callable[..., streamfold.Completion]


async def _agen(pieces: Iterable[bytes | str]) -> AsyncIterator[bytes | str]:
    for piece in pieces:
        await anyio.lowlevel.checkpoint()
        yield piece


def _chat_or_text(folded: object) -> streamfold.Completion:
    """A chat body's fold (from_sse also folds the other APIs' bodies)."""
    assert isinstance(folded, (streamfold.ChatCompletion, streamfold.TextCompletion))
    return folded


@pytest.fixture(
    params=[
        "from_sse",
        "iter_sse",
        "asyncio-afrom_sse",
        "asyncio-aiter_sse",
        "trio-afrom_sse",
        "trio-aiter_sse",
    ]
)
def sse_fold(request: pytest.FixtureRequest) -> SSEFold:
    """``fold(pieces, **options)``: an SSE body in pieces to its completion, by one adapter."""
    name: str = request.param
    if name == "from_sse":
        return lambda pieces, **kw: _chat_or_text(streamfold.from_sse(list(pieces), **kw))
    if name == "iter_sse":
        return lambda pieces, **kw: streamfold.accumulate(streamfold.iter_sse(list(pieces)), **kw)
    backend, adapter = name.split("-")

    def run(pieces: Iterable[bytes | str], **kw: Any) -> streamfold.Completion:
        items = list(pieces)

        async def main() -> streamfold.Completion:
            if adapter == "afrom_sse":
                return _chat_or_text(await streamfold.afrom_sse(_agen(items), **kw))
            return await streamfold.aaccumulate(streamfold.aiter_sse(_agen(items)), **kw)

        return anyio.run(main, backend=backend)

    return run


def test_folds_a_body_in_any_pieces(sse_fold: SSEFold) -> None:
    """Whole, byte by byte, or in uneven pieces with empty ones: the same completion."""
    data = HELLO.encode()
    whole = sse_fold([data])
    assert content(whole) == "Hello 東京 😀"
    assert whole.choices[0].finish_reason == "stop"
    assert whole.usage is not None
    assert whole.usage.total_tokens == 5
    assert sse_fold([data[i : i + 1] for i in range(len(data))]) == whole
    assert sse_fold(pieces_of(data, [0, 0, 7, 7, 100, 101, 102, len(data)])) == whole
    assert sse_fold([HELLO]) == whole  # str pieces are SSE text


def test_server_error_event_raises_with_the_text_so_far(sse_fold: SSEFold) -> None:
    """Groq's `event: error` raises StreamError carrying the payload and the text so far."""
    error = {"error": {"message": "Service Unavailable", "type": "internal_server_error"}}
    text = body(
        "data: " + chunk({"role": "assistant", "content": "Here is"}),
        "event: error\ndata: " + json.dumps(error),
        done=False,
    )
    with pytest.raises(streamfold.StreamError) as info:
        sse_fold([text.encode()])
    assert info.value.error == error["error"]
    assert content(info.value.completion) == "Here is"
    if isinstance(info.value, streamfold.LineStreamError):  # from_sse / afrom_sse name the line
        assert info.value.line == 4


# ---------------------------------------------------------------------------------------------
# the WHATWG line rules


def test_line_endings_lf_crlf_cr_and_mixed_fold_the_same() -> None:
    """LF, CRLF, CR and a mix of them are all line ends."""
    lf = streamfold.from_sse(HELLO)
    assert streamfold.from_sse(HELLO.replace("\n", "\r\n")) == lf
    assert streamfold.from_sse(HELLO.replace("\n", "\r")) == lf
    mixed = HELLO.replace("\n\n", "\r\n\r", 2).replace("\n\n", "\r\r", 1)
    assert streamfold.from_sse(mixed) == lf


def test_crlf_split_between_two_pieces_is_one_line_end() -> None:
    """A piece ending in CR followed by one starting with LF makes one line end, not two."""
    events, _ = decode([b"data: a\r", b"\ndata: b\r", b"\n\r\n"])
    assert events == ((MESSAGE, b"a\nb", 1, None),)


def test_a_lone_cr_at_the_end_of_a_piece_still_ends_the_line() -> None:
    """CR then a piece without LF: the CR was a line end on its own."""
    events, _ = decode([b"data: a\r", b"\r", b"data: b\n\n"])
    assert events == ((MESSAGE, b"a", 1, None), (MESSAGE, b"b", 3, None))


def test_leading_bom_is_dropped_once_even_when_split() -> None:
    """A UTF-8 BOM at the start goes, even in 1-byte pieces; a second BOM is data."""
    data = b"\xef\xbb\xbfdata: x\n\n"
    assert decode([data])[0] == ((MESSAGE, b"x", 1, None),)
    assert decode([data[i : i + 1] for i in range(len(data))])[0] == ((MESSAGE, b"x", 1, None),)
    events, _ = decode([b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\n"])
    assert events == ()  # the second BOM is part of the field name "\ufeffdata": ignored
    events, _ = decode([b"data: \xef\xbb\xbfx\n\n"])
    assert events == ((MESSAGE, b"\xef\xbb\xbfx", 1, None),)


def test_multibyte_characters_split_anywhere_survive() -> None:
    """A piece may end inside a UTF-8 sequence: the text comes out whole."""
    data = body("data: " + chunk({"content": "東京 😀 é"}, "stop")).encode()
    for i in range(len(data)):
        completion = streamfold.from_sse([data[:i], data[i:]])
        assert content(completion) == "東京 😀 é"


def test_field_forms_data_without_space_no_colon_and_one_space_removed() -> None:
    """`data:x`, `data: x`, `data:  x` (one space removed), `data` alone (an empty line)."""
    events, _ = decode([b"data:x\ndata: y\ndata:  z\ndata\n\n"])
    assert events == ((MESSAGE, b"x\ny\n z\n", 1, None),)


def test_multi_line_data_is_joined_with_newlines_and_folds() -> None:
    """One chunk's JSON over several data lines is one chunk."""
    pretty = json.dumps(json.loads(chunk({"content": "multi"}, "stop")), indent=2)
    text = "\n".join("data: " + line for line in pretty.splitlines()) + "\n\n"
    assert content(streamfold.from_sse(text)) == "multi"


def test_comments_id_retry_and_unknown_fields_are_ignored() -> None:
    """Keep-alives, OpenRouter's processing comments, id:, retry: and unknown fields."""
    text = (
        ": keep-alive\n\n: OPENROUTER PROCESSING\n\nretry: 3000\n\nid: 7\nfoo: bar\n"
        + "data: "
        + chunk({"content": "ok"}, "stop")
        + "\n: in between\n\n"
    )
    events, _ = decode([text.encode()])
    assert [e[0] for e in events] == [MESSAGE]
    assert events[0][2] == 9
    assert content(streamfold.from_sse(text)) == "ok"


def test_events_with_other_names_are_skipped_message_is_a_chunk() -> None:
    """Vendor progress events are not chunks; `event: message` is."""
    text = body(
        "event: ping\ndata: {}",
        "event: message\ndata: " + chunk({"content": "a"}),
        "event: progress\ndata: not json at all",
        "data: " + chunk({"content": "b"}, "stop"),
    )
    events, _ = decode([text.encode()])
    assert [(e[0], e[3]) for e in events] == [
        (OTHER, "ping"),
        (MESSAGE, None),
        (OTHER, "progress"),
        (MESSAGE, None),
        (DONE, None),
    ]
    assert content(streamfold.from_sse(text)) == "ab"


def test_event_name_applies_to_its_event_only() -> None:
    """A blank line resets the event name, even for an event that had no data."""
    events, _ = decode([b"event: ping\n\ndata: x\n\n"])
    assert events == ((MESSAGE, b"x", 3, None),)


def test_done_ends_the_stream_and_nothing_after_it_is_read() -> None:
    """`data: [DONE]` stops reading: later pieces are never pulled from the source."""

    def source() -> Iterator[bytes]:
        yield body("data: " + chunk({"content": "x"}, "stop")).encode()
        raise AssertionError("read past [DONE]")

    assert content(streamfold.from_sse(source())) == "x"
    assert len(list(streamfold.iter_sse(source()))) == 1


def test_a_body_without_done_is_complete_at_its_end() -> None:
    """Several providers never send [DONE]."""
    text = body("data: " + chunk({"content": "x"}, "stop"), done=False)
    completion = streamfold.from_sse(text, strict=True)
    assert isinstance(completion, streamfold.ChatCompletion)
    assert completion.choices[0].finish_reason == "stop"


@settings(deadline=None, max_examples=150)
@given(
    events=st.lists(
        st.tuples(
            st.sampled_from(["", "message", "error", "ping"]),
            st.lists(
                st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=8),
                max_size=3,
            ),
            st.booleans(),
        ),
        max_size=6,
    ),
    ends=st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=1, max_size=4),
    bom=st.booleans(),
    last_blank=st.booleans(),
    cuts=st.lists(st.integers(0, 400), max_size=12),
)
def test_any_body_split_into_any_pieces_decodes_identically(
    events: list[tuple[str, list[str], bool]],
    ends: list[str],
    bom: bool,
    last_blank: bool,
    cuts: list[int],
) -> None:
    """Property: any SSE body in any pieces gives the events it encodes, as one piece does."""
    lines: list[str] = []
    expected = []
    for number, (name, data, comment) in enumerate(events):
        if comment:
            lines.append(": comment " + str(number))
        if name:
            lines.append("event: " + name)
        lines.extend("data: " + v if v.startswith(" ") else "data:" + v for v in data)
        lines.append("")
        if data:
            payload = "\n".join(data).encode()
            if name in ("", "message"):
                kind = DONE if payload == b"[DONE]" else MESSAGE
            else:
                kind = ERROR if name == "error" else OTHER
            expected.append((kind, payload))
    if lines and not last_blank:
        lines.pop()  # a cut connection: the last blank line never came
    text = ""
    for i, line in enumerate(lines):
        end = ends[i % len(ends)]
        if not line and end == "\n" and text.endswith("\r"):
            end = "\r\n"  # CR then LF would be one CRLF line end: keep the blank line
        text += line + end
    encoded = ("\ufeff" if bom else "").encode() + text.encode()
    whole = decode([encoded])
    assert [(kind, payload) for kind, payload, _, _ in whole[0]] == expected
    assert decode(pieces_of(encoded, [c % (len(encoded) + 1) for c in cuts])) == whole
    assert decode([encoded[i : i + 1] for i in range(len(encoded))]) == whole


# ---------------------------------------------------------------------------------------------
# server errors and bad bodies


def test_llama_cpp_error_line_raises_stream_error_with_parsed_payload() -> None:
    """An `error:` field line (llama.cpp) is an error event; its JSON is the payload."""
    with pytest.raises(streamfold.LineStreamError) as info:
        streamfold.from_sse(EXAMPLES / "llamacpp_error.sse")
    err = info.value
    assert err.error == {
        "code": 500,
        "message": "context shift is disabled",
        "type": "server_error",
    }
    assert content(err.completion) == "Once upon a time"
    assert err.source is not None
    assert err.source.endswith("llamacpp_error.sse")
    assert err.line == 11
    assert str(err).startswith(f"{err.source}:11: ")


def test_error_line_that_is_not_json_carries_the_raw_text() -> None:
    """`error: some text` gives .error == "some text"."""
    text = body("data: " + chunk({"content": "a"}), "error: upstream went away", done=False)
    with pytest.raises(streamfold.StreamError) as info:
        streamfold.from_sse(text)
    assert info.value.error == "upstream went away"
    assert content(info.value.completion) == "a"


def test_error_event_flat_object_is_kept_whole() -> None:
    """`event: error` whose data is a flat error object: .error is the whole object."""
    flat = {"object": "error", "message": "boom", "code": 400}
    with pytest.raises(streamfold.StreamError) as info:
        streamfold.from_sse(body("event: error\ndata: " + json.dumps(flat)))
    assert info.value.error == flat


def test_in_band_error_objects_raise_stream_error() -> None:
    """OpenAI's `{"error": {...}}` data event and vLLM's flat `{"object": "error"}`."""
    nested = {"error": {"message": "overloaded", "type": "server_error", "code": None}}
    with pytest.raises(streamfold.LineStreamError) as info:
        streamfold.from_sse(body("data: " + chunk({"content": "a"}), "data: " + json.dumps(nested)))
    assert info.value.error == nested["error"]
    assert info.value.line == 3
    flat = {"object": "error", "message": "max_tokens too large", "type": "BadRequestError"}
    with pytest.raises(streamfold.LineStreamError) as info:
        streamfold.from_sse(body("data: " + json.dumps(flat)))
    assert info.value.error == flat


def test_iter_sse_turns_error_events_into_error_chunks() -> None:
    """iter_sse yields `{"error": payload}`, so accumulate raises the same StreamError."""
    text = body("data: " + chunk({"content": "a"}), 'error: {"message": "x"}', done=False)
    chunks = list(streamfold.iter_sse(text))
    assert chunks[-1] == {"error": {"message": "x"}}
    with pytest.raises(streamfold.StreamError) as info:
        streamfold.accumulate(chunks)
    assert info.value.error == {"message": "x"}
    assert content(info.value.completion) == "a"


def test_iter_sse_yields_every_chunk_before_a_bad_event() -> None:
    """The chunks before a bad event reach the consumer first; then the error names the line."""
    text = body("data: " + chunk({"content": "a"}), "data: " + chunk({"content": "b"}), "data: x")
    wrapped = streamfold.wrap(streamfold.iter_sse(text.encode()))
    with pytest.raises(streamfold.InvalidLineError, match=r"^line 5: invalid JSON"):
        for _ in wrapped:
            pass
    assert content(wrapped.snapshot()) == "ab"


def test_cut_connection_after_complete_last_event_still_folds_it() -> None:
    """No blank line after the final chunk: it still arrives, finish reason and usage too."""
    text = body("data: " + chunk({"content": "a"}), done=False) + "data: " + chunk({}, "stop")
    completion = streamfold.from_sse(text, strict=True)
    assert isinstance(completion, streamfold.ChatCompletion)
    assert completion.choices[0].finish_reason == "stop"
    final = "data: " + json.dumps({**ENVELOPE, "choices": [], "usage": {"total_tokens": 9}})
    completion = streamfold.from_sse(text + "\n\n" + final + "\n")
    assert isinstance(completion, streamfold.ChatCompletion)
    assert completion.usage is not None
    assert completion.usage.total_tokens == 9


def test_body_cut_inside_an_event_raises_naming_the_line_and_keeps_the_rest() -> None:
    """A body that ends inside a JSON payload: InvalidLineError, line named, earlier text kept."""
    whole = body("data: " + chunk({"content": "kept"}), "data: " + chunk({"content": "lost"}))
    cut = whole[: whole.index("lost") - 5]
    with pytest.raises(streamfold.InvalidLineError) as info:
        streamfold.from_sse(cut.encode())
    err = info.value
    assert isinstance(err, streamfold.InvalidChunkError)
    assert isinstance(err, ValueError)
    assert err.line == 3
    assert "line 3: the body ended inside an event" in str(err)
    assert content(err.completion) == "kept"


def test_data_that_is_not_a_json_object_names_its_line() -> None:
    """`data: 42` and `data: <html>` are not chunks."""
    for bad in ("42", "[1, 2]", "<html>oops</html>"):
        text = body("data: " + chunk({"content": "a"}), "data: " + bad)
        with pytest.raises(streamfold.InvalidLineError) as info:
            streamfold.from_sse(text)
        assert info.value.line == 3
        assert content(info.value.completion) == "a"


def test_bad_field_in_a_chunk_names_the_line_and_the_field() -> None:
    """The core's field check, with the SSE line added."""
    text = body("data: " + chunk({"content": "a"}), "data: " + chunk({"content": 7}))
    with pytest.raises(streamfold.InvalidLineError) as info:
        streamfold.from_sse(text)
    assert info.value.path == "choices[0].delta.content"
    assert info.value.line == 3
    assert str(info.value).startswith("line 3: chunk 1: choices[0].delta.content:")


def test_invalid_utf8_in_data_is_replaced_not_fatal() -> None:
    """WHATWG decodes with replacement: a stray byte becomes U+FFFD."""
    data = body("data: " + chunk({"content": "a\x00b"}, "stop")).encode()
    data = data.replace(b"\\u0000", b"\xff")
    assert content(streamfold.from_sse(data)) == "a\ufffdb"


def test_sse_body_of_another_api_is_a_clear_error() -> None:
    """Anthropic's named events fold as Anthropic's (a bad one named by its line and field);
    unnamed events of no known API without choices: not a chat stream."""
    anthropic = (
        'event: message_start\ndata: {"type": "message_start", "message": {"id": "msg_1"}}\n\n'
        'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0}\n\n'
    )
    with pytest.raises(streamfold.InvalidLineError, match="delta") as info:
        streamfold.from_sse(anthropic)
    assert info.value.line == 5
    assert isinstance(info.value.completion, streamfold.AnthropicMessage)
    assert info.value.completion.id == "msg_1"
    gemini = 'data: {"candidates": [{"content": {"parts": [{"text": "hi"}]}}]}\n\n'
    with pytest.raises(streamfold.InvalidLineError, match="no event carried 'choices'"):
        streamfold.from_sse(gemini)


def test_event_size_limit_turns_a_runaway_body_into_an_error() -> None:
    """One endless line, or one event of many lines, beyond max_event_size."""
    runaway = (b"data: " + b"x" * 100 for _ in range(1000))  # never a newline
    with pytest.raises(streamfold.InvalidLineError, match="max_event_size") as info:
        streamfold.from_sse(runaway, max_event_size=10_000)
    assert info.value.line == 1
    many = b"".join(b"data: " + b"y" * 50 + b"\n" for _ in range(1000))
    with pytest.raises(streamfold.InvalidLineError, match="max_event_size"):
        streamfold.from_sse(many, max_event_size=10_000)
    with pytest.raises(streamfold.InvalidLineError, match="max_event_size"):
        list(streamfold.iter_sse(many, max_event_size=10_000))
    big = body("data: " + chunk({"content": "z" * 2_000_000}, "stop"))
    assert len(content(streamfold.from_sse(big)) or "") == 2_000_000


def test_strict_incomplete_stream_names_the_line() -> None:
    """strict=True on a stream without a finish reason."""
    with pytest.raises(streamfold.IncompleteStreamError, match=r"^line 1: ") as info:
        streamfold.from_sse(body("data: " + chunk({"content": "a"}), done=False), strict=True)
    assert content(info.value.completion) == "a"


def test_located_errors_survive_pickling() -> None:
    """InvalidLineError keeps its line and completion across processes."""
    with pytest.raises(streamfold.InvalidLineError) as info:
        streamfold.from_sse(body("data: " + chunk({"content": "a"}), "data: [1]"))
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is streamfold.InvalidLineError
    assert (copy.line, str(copy)) == (info.value.line, str(info.value))
    assert copy.completion == info.value.completion


# ---------------------------------------------------------------------------------------------
# sources


def test_every_source_type(tmp_path: Path) -> None:
    """bytes, bytearray, memoryview, str, paths (.gz too), binary and text files, iterables."""
    data = HELLO.encode()
    expected = streamfold.from_sse(data)
    path = tmp_path / "capture.sse"
    path.write_bytes(data)
    zipped = tmp_path / "capture.sse.gz"
    zipped.write_bytes(gzip.compress(data))
    sources: list[Callable[[], Any]] = [
        lambda: bytearray(data),
        lambda: memoryview(data),
        lambda: HELLO,
        lambda: path,
        lambda: zipped,
        lambda: io.BytesIO(data),
        lambda: io.StringIO(HELLO),
        lambda: iter([data[:10], b"", data[10:]]),
        lambda: [HELLO[:33], HELLO[33:]],
    ]
    for make in sources:
        assert streamfold.from_sse(make()) == expected
        assert streamfold.accumulate(streamfold.iter_sse(make())) == expected
    with path.open("rb") as file:
        assert streamfold.from_sse(file) == expected


class _Response:
    """What an HTTP client's streamed response offers (httpx): the body in pieces."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def iter_bytes(self) -> Iterator[bytes]:
        yield from (self.data[i : i + 50] for i in range(0, len(self.data), 50))

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        for piece in self.iter_bytes():
            await anyio.lowlevel.checkpoint()
            yield piece

    def read(self) -> bytes:  # no size argument, unlike a file
        return self.data


@pytest.mark.anyio
async def test_response_objects_are_read_as_they_stream() -> None:
    """A response with iter_bytes() / aiter_bytes() is read piece by piece."""
    response = _Response(HELLO.encode())
    expected = streamfold.from_sse(HELLO)
    assert streamfold.from_sse(response) == expected  # type: ignore[arg-type]
    assert await streamfold.afrom_sse(response) == expected  # type: ignore[arg-type]
    chunks = [c async for c in streamfold.aiter_sse(response)]  # type: ignore[arg-type]
    assert streamfold.accumulate(chunks) == expected
    with pytest.raises(streamfold.UsageError):
        await streamfold.afrom_sse([HELLO])  # type: ignore[arg-type]


def test_a_str_is_sse_text_never_a_path() -> None:
    """A path given as str is not opened: it is SSE text with no event, an error with a hint."""
    with pytest.raises(streamfold.InvalidChunkError, match=r"pass pathlib\.Path\("):
        streamfold.from_sse(str(EXAMPLES / "openai_text.sse"))


def test_errors_name_the_file(tmp_path: Path) -> None:
    """A path source puts its name in the message: FILE:LINE."""
    path = tmp_path / "bad.sse"
    path.write_text(body("data: " + chunk({"content": "a"}), "data: nope"), encoding="utf-8")
    with pytest.raises(streamfold.InvalidLineError) as info:
        streamfold.from_sse(path)
    assert str(info.value).startswith(f"{path}:3: invalid JSON")
    assert info.value.source == str(path)


def test_unsupported_source_is_a_usage_error() -> None:
    """An int is not a body."""
    with pytest.raises(streamfold.UsageError):
        streamfold.from_sse(42)  # type: ignore[arg-type]
    with pytest.raises(streamfold.UsageError):
        streamfold.from_sse([b"data: ", 42])


# ---------------------------------------------------------------------------------------------
# captures written from the providers' facts


def test_openai_capture() -> None:
    """OpenAI: role chunk, content, finish, include_usage chunk, obfuscation on every chunk."""
    completion = streamfold.from_sse(EXAMPLES / "openai_text.sse", strict=True)
    assert isinstance(completion, streamfold.ChatCompletion)
    assert completion.id == "chatcmpl-BpL3sQmTz4XqW8f1aK0vYk2nR5eUc"
    message = completion.choices[0].message
    assert message.content is not None
    assert message.content.startswith("The sky looks blue because")
    assert completion.usage is not None
    assert completion.usage.total_tokens == 36
    assert completion.service_tier == "default"


def test_azure_capture_crlf_empty_first_chunk_and_trailing_filter_chunk() -> None:
    """Azure: CRLF framing; the empty first chunk blanks nothing; the late filter chunk
    does not clear the finish."""
    completion = streamfold.from_sse(EXAMPLES / "azure_filtered.sse", strict=True)
    assert isinstance(completion, streamfold.ChatCompletion)
    assert completion.id == "chatcmpl-BpM0fT1eG8oYk3vQ9LxH2aJd7WnZr"
    assert completion.model == "gpt-4o-2024-11-20"
    assert completion.created == 1751893001
    choice = completion.choices[0]
    assert choice.message.content == "Bonjour ! Comment puis-je vous aider ?"
    assert choice.finish_reason == "stop"
    assert "prompt_filter_results" in completion.extra
    assert "content_filter_results" in choice.extra


def test_openrouter_capture_comments_reasoning_and_usage_on_finish() -> None:
    """OpenRouter: processing comments, role on every chunk, reasoning, usage with cost."""
    completion = streamfold.from_sse(EXAMPLES / "openrouter_reasoning.sse", strict=True)
    assert isinstance(completion, streamfold.ChatCompletion)
    message = completion.choices[0].message
    assert message.role == "assistant"
    assert message.content == "17 × 23 = **391**."
    assert message.extra["reasoning"].endswith("total 391.")
    assert completion.usage is not None
    assert completion.usage.extra["cost"] == pytest.approx(0.0000937)


def test_groq_capture_event_error() -> None:
    """Groq: `event: error` after a few chunks."""
    with pytest.raises(streamfold.LineStreamError) as info:
        streamfold.from_sse(EXAMPLES / "groq_error.sse")
    assert info.value.error["type"] == "internal_server_error"
    assert content(info.value.completion) == "Here is the first part"
    assert info.value.line == 14

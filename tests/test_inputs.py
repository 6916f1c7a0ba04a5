"""The one opener of inputs (``open_inputs``): what it yields for each kind of input."""

from __future__ import annotations

import gzip
import io
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from streamfold import UsageError
from streamfold._inputs import BINARY, Opened, ReadError, one_input, open_inputs

LINES = [b'{"id": "a", "choices": []}', b"data: [DONE]", b"\xc3\xa9 caf\xc3\xa9"]
BODY = b"\n".join(LINES) + b"\n"


def read_lines(source: Any, reader: str = "log") -> list[tuple[str | None, list[Any]]]:
    """Each input's name and all its lines, read while it is open."""
    return [(opened.name, list(opened.lines())) for opened in open_inputs(source, reader=reader)]


def test_log_bytes_and_str_are_the_text_split_in_lines() -> None:
    """bytes, bytearray and a str that names no file are the log's text, split in lines."""
    assert read_lines(BODY) == [(None, LINES)]
    assert read_lines(bytearray(BODY)) == [(None, LINES)]
    assert read_lines(BODY.decode()) == [(None, LINES)]


def test_log_paths_plain_and_gzip_read_as_bytes_lines(tmp_path: Path) -> None:
    """A str path, a Path and a list of paths give each file's lines, gzip unzipped, in order."""
    plain = tmp_path / "a.log"
    plain.write_bytes(BODY)
    zipped = tmp_path / "b.log"  # gzip whatever it is called
    zipped.write_bytes(gzip.compress(b"second\n"))
    assert read_lines(str(plain)) == [(str(plain), [line + b"\n" for line in LINES])]
    assert read_lines(zipped) == [(str(zipped), [b"second\n"])]
    assert read_lines([str(zipped), str(plain)]) == [
        (str(zipped), [b"second\n"]),
        (str(plain), [line + b"\n" for line in LINES]),
    ]


def test_log_inputs_are_opened_one_at_a_time(tmp_path: Path) -> None:
    """A file of a list is closed when the next input is asked for."""
    first, second = tmp_path / "1.log", tmp_path / "2.log"
    first.write_bytes(b"x\n")
    second.write_bytes(b"y\n")
    found = open_inputs([first, second], reader="log")
    opened = next(found)
    assert not opened.raw.closed
    assert next(found).name == str(second)
    assert opened.raw.closed
    found.close()


def test_log_file_objects_and_iterables_give_their_own_items() -> None:
    """A file object's lines come as it gives them (str from a text file); an iterable of lines
    as given; a list of files is one input per file."""
    text = io.StringIO("one\ntwo\n")
    assert read_lines(text) == [(None, ["one\n", "two\n"])]
    assert read_lines(iter(["a", b"b"])) == [(None, ["a", b"b"])]
    assert read_lines([io.BytesIO(b"p\n"), io.BytesIO(b"q\n")]) == [
        (None, [b"p\n"]),
        (None, [b"q\n"]),
    ]
    assert read_lines([]) == []


def test_log_sources_of_other_types_are_refused() -> None:
    """A list mixing files and other things, or an object that is no source: UsageError."""
    with pytest.raises(UsageError, match="a list of files holds only paths and files, got int"):
        read_lines([io.BytesIO(b""), 3])
    with pytest.raises(UsageError, match=r"read_log\(\) takes bytes or str .* got int"):
        read_lines(3)


def test_a_binary_or_cut_file_ends_its_lines_with_one_read_error(tmp_path: Path) -> None:
    """A binary file gives one ReadError (BINARY); a truncated gzip file its lines, then one."""
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 64)
    with (
        pytest.raises(ReadError, match=f"^{re.escape(BINARY)}$"),
        one_input(str(junk), reader="path") as opened,
    ):
        list(opened.lines())
    cut = tmp_path / "cut.gz"
    cut.write_bytes(gzip.compress(b"line\n" * 1000)[:-20])
    got: list[bytes] = []
    with (
        pytest.raises(ReadError, match=r"^cannot read further: "),
        one_input(str(cut), reader="path") as opened,
    ):
        got.extend(opened.lines())
    assert got == []  # (the head is read whole before the first line: it is cut there)


def test_sse_sources_give_their_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """bytes or str is one piece (never a path); a Path its bytes, gzip unzipped; a binary file
    its bytes; an iterable its pieces as given."""
    monkeypatch.chdir(tmp_path)
    zipped = Path("-")  # a Path named "-" is that file, not standard input
    zipped.write_bytes(gzip.compress(BODY))

    def pieces(source: Any) -> tuple[str | None, list[Any]]:
        with one_input(source, reader="sse") as opened:
            return opened.name, list(opened.pieces())

    assert pieces(BODY) == (None, [BODY])
    assert pieces(str(zipped)) == (None, [str(zipped)])
    name, got = pieces(zipped)
    assert (name, b"".join(got)) == (str(zipped), BODY)
    assert pieces(io.BytesIO(BODY)) == (None, [BODY])
    assert pieces(iter([b"a", "b"])) == (None, [b"a", "b"])
    with pytest.raises(UsageError, match=r"from_sse\(\) takes bytes, .* got int"):
        pieces(3)


def test_the_path_reader_reads_dash_as_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    """``"-"`` is standard input (gzip too) for the command line and the process pool."""

    class Stdin:
        buffer = io.BytesIO(gzip.compress(b"data: {}\n\ndata: [DONE]\n\n"))

    monkeypatch.setattr(sys, "stdin", Stdin())
    with one_input("-", reader="path") as opened:
        assert opened.format("auto") == "sse"
        assert opened.format("jsonl") == "jsonl"
        assert b"".join(opened.pieces()) == b"data: {}\n\ndata: [DONE]\n\n"


def test_format_reads_a_binary_input_as_lines(tmp_path: Path) -> None:
    """A binary input is read as lines whatever the format asked for (for its one message)."""
    junk = tmp_path / "junk.sse"
    junk.write_bytes(b"event: x\n" + bytes(4096))
    with one_input(str(junk), reader="path") as opened:
        assert isinstance(opened, Opened)
        assert opened.format("sse") == "jsonl"
        assert opened.format("auto") == "jsonl"

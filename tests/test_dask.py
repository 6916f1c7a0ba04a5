"""streamfold.dask on a real dask.distributed cluster of worker processes: the bag of results
equals read_log(window=None) over the same lines, stream by stream, errors included."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask.bag as db
import distributed
import pytest

import streamfold
from streamfold.dask import fold_bag, fold_results
from test_parallel import generate_log, request_key, tool_finishes, write_files

EXAMPLES = Path(__file__).parent.parent / "examples"

# dask has no type annotations: its calls go through Any
_bag: Any = db
_distributed: Any = distributed


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """Two worker processes, one thread each; shut down at the end of the module."""
    with (
        _distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: two runs at once must not collide on 8787
        ) as cluster,
        _distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def log_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Thousands of interleaved streams in four plain files (UTF-8 only: read_text decodes)."""
    lines = [line for line in generate_log(21, 2500, active=60) if _utf8(line)]
    tmp = tmp_path_factory.mktemp("dask")
    paths = write_files(tmp, lines, 4, 21)
    plain = []
    for path in paths:  # read_text cannot cut a gzip file in blocks: store it plain
        if path.suffix == ".gz":
            unzipped = path.with_suffix("")
            subprocess.run(["gzip", "-d", str(path)], check=True)
            path = unzipped
        plain.append(path)
    return plain


def _utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def by_key(results: list[streamfold.LogResult]) -> dict[Any, Counter[tuple[Any, ...]]]:
    """Per stream key, the streams it had: completion, chunk count, errors without their place
    (a partition knows its lines, not those of the file)."""
    out: dict[Any, Counter[tuple[Any, ...]]] = {}
    for r in results:
        completion = None if r.completion is None else streamfold.to_json(r.completion)
        errors = tuple((type(e).__name__, str(e).split(": ", 1)[1], e.position) for e in r.errors)
        out.setdefault(r.key, Counter())[(completion, r.chunks, errors)] += 1
    return out


def test_fold_results_on_a_cluster_equal_read_log(client: Any, log_files: list[Path]) -> None:
    """read_text in 64 KiB blocks (streams split across partitions and files), two processes."""
    lines = _bag.read_text([str(p) for p in log_files], blocksize=64 << 10)
    assert lines.npartitions > 30
    got = _bag.Bag.compute(fold_results(lines, split_every=4))
    expected = list(streamfold.read_log(log_files, window=None))
    assert len(got) == len(expected)
    assert by_key(got) == by_key(expected)
    assert sum(1 for r in got if r.key is None) > 0  # lines of no stream are there too
    assert sum(1 for r in got if r.errors and r.key is not None) > 10


def test_fold_bag_writes_the_completions_the_command_writes(
    client: Any, log_files: list[Path], tmp_path: Path
) -> None:
    """The README's pipeline, .map(json.dumps).to_textfiles(): the completions of the streams
    read_log(window=None) folds without an error (those `streamfold fold` writes)."""
    lines = _bag.read_text([str(p) for p in log_files], blocksize=256 << 10)
    completions: Any = fold_bag(lines)
    out = str(tmp_path / "out-*.jsonl")
    written = completions.map(json.dumps).to_textfiles(out, last_endline=True)
    texts = [Path(path).read_text(encoding="utf-8") for path in written]
    assert all(text.endswith("\n") for text in texts if text.strip())  # JSON lines, each ended
    got = Counter(
        json.dumps(json.loads(line), sort_keys=True)
        for text in texts
        for line in text.splitlines()
        if line
    )
    expected = Counter(
        json.dumps(streamfold.to_dict(r.completion), sort_keys=True)
        for r in streamfold.read_log(log_files, window=None)
        if r.ok
    )
    assert got == expected
    assert sum(got.values()) > 2000


def test_from_sequence_with_a_key_function_strict_and_a_shuffle(client: Any) -> None:
    """Records keyed by a request id, in many small partitions, grouped by a task shuffle
    (npartitions); strict flags the unfinished."""
    records = []
    for line in generate_log(4, 300):
        if line.startswith(b"{") and b'"choices"' in line and not line.startswith(b'{"ts"'):
            chunk = json.loads(line)
            records.append(json.dumps({"request_id": f"r-{chunk['id']}", "chunk": chunk}))
    lines = _bag.from_sequence(records, npartitions=40)
    results = fold_results(lines, key=request_key, strict=True, npartitions=6)
    got = _bag.Bag.compute(results)
    expected = list(streamfold.read_log(records, key=request_key, strict=True, window=None))
    assert by_key(got) == by_key(expected)
    assert any(isinstance(e, streamfold.IncompleteStreamError) for r in got for e in r.errors)


def test_empty_id_warning_and_cut_lines_on_a_cluster(client: Any) -> None:
    """Gateway records with empty ids, one per partition: the warning read_log gives (its line
    counted in the partition); a cut line of a stream is an error of that stream, as in
    read_log, and the stream is complete."""
    gateway = (EXAMPLES / "gateway_records.jsonl").read_text().splitlines()
    (got,) = _bag.Bag.compute(fold_results(_bag.from_sequence(gateway, npartitions=5)))
    (warning,) = got.warnings
    assert warning.startswith("partition 1:1: warning: chunks with an empty id")
    assert got.ok
    raw = (EXAMPLES / "corrupted.jsonl").read_bytes().splitlines()
    lines = [line.decode() for line in raw if _utf8(line)]  # (read_text decodes)
    assert lines[5].startswith('data: {"id":"chatcmpl-B2"')  # the cut line, still the 6th
    results = _bag.Bag.compute(fold_results(_bag.from_sequence(lines, npartitions=1)))
    (b2,) = [r for r in results if r.key == "chatcmpl-B2"]
    (cut,) = b2.errors
    assert isinstance(cut, streamfold.InvalidLineError)
    assert (cut.line, "a line of it is not valid JSON" in str(cut)) == (6, True)
    assert b2.complete


def test_normalize_finish_reason_on_a_cluster(client: Any) -> None:
    """Gemini-style streams (tool calls finished with "stop") split over many partitions, by
    foldby and by a shuffle: normalize_finish_reason=True gives the results and completions of
    read_log(window=None, normalize_finish_reason=True), "tool_calls" in the completions of the
    errors too; without it, "stop" stays."""
    lines = [line.decode() for line in generate_log(23, 300, gemini=True) if _utf8(line)]
    bag = _bag.from_sequence(lines, npartitions=16)
    runs: dict[bool, list[dict[str, Any]]] = {
        False: [{"split_every": 3}],
        True: [{"split_every": 3}, {"npartitions": 5}],
    }
    for normalize, options_list in runs.items():
        expected = list(streamfold.read_log(lines, window=None, normalize_finish_reason=normalize))
        finishes, error_finishes = tool_finishes(expected)
        sent, other = ("tool_calls", "stop") if normalize else ("stop", "tool_calls")
        assert finishes[sent] > 20
        assert other not in finishes
        assert sent in error_finishes
        for options in options_list:
            got = _bag.Bag.compute(fold_results(bag, normalize_finish_reason=normalize, **options))
            assert by_key(got) == by_key(expected)
            assert tool_finishes(got) == (finishes, error_finishes)
    written = _bag.Bag.compute(fold_bag(bag, normalize_finish_reason=True))
    assert Counter(json.dumps(c, sort_keys=True) for c in written) == Counter(
        json.dumps(streamfold.to_dict(r.completion), sort_keys=True)
        for r in streamfold.read_log(lines, window=None, normalize_finish_reason=True)
        if r.ok
    )
    called = Counter(
        choice["finish_reason"]
        for c in written
        for choice in c["choices"]
        if choice["message"].get("tool_calls")
    )
    assert called["tool_calls"] > 20
    assert "stop" not in called


def test_importing_streamfold_does_not_import_dask() -> None:
    """The extra is optional: only streamfold.dask needs it."""
    code = "import sys, streamfold; print('dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

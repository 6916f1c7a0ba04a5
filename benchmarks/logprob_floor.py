"""What a logprob list costs, step by step, counted by callgrind: the floor of the logprob fold.

Every chunk of a stream with logprobs brings a new list of entries (a token, its logprob, its
bytes and its top alternatives), so no template spares the parse of it. This prints the
instructions per list of each way of handling the lists of ``benchmarks/streams.py``'s logprobs
stream, cut from the chunks as the SSE and log decoders cut them (N vs 3N lists, as
``instructions.py`` counts):

- ``parse``: ``orjson.loads`` of each list, the result thrown away;
- ``keep``: the same, every result kept (the garbage collector walks what stays alive);
- ``check-keep``: kept and checked entry by entry, as the fold does;
- ``check-drop``: parsed and checked, then dropped, the list's JSON bytes kept instead: the fold's
  side of keeping logprobs as JSON and parsing them on first read;
- ``check-drop-read``: the same, plus the one parse of all the kept bytes a reader of the
  logprobs would pay later;
- ``regex``: a regular expression that accepts only well-formed entries, instead of any parse
  (the other way to check without building objects).

    python benchmarks/logprob_floor.py        # about a minute on 2 cores
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(ROOT))

from benchmarks import streams  # noqa: E402

WAYS = ("parse", "keep", "check-keep", "check-drop", "check-drop-read", "regex")
_COLLECTED = re.compile(rb"(?:Collected|refs)\s*:\s*([\d,]+)")

# A JSON string (valid UTF-8, no lone surrogate escape), number, and bytes array; then an entry.
_CHAR = rb"[\x20\x21\x23-\x5b\x5d-\x7f]"
_MORE = (
    rb'\\(?:["\\/bfnrt]|u(?:[0-9a-cA-Ce-fE-F][0-9a-fA-F]{3}|[dD][0-7][0-9a-fA-F]{2}))'
    rb"|[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_STRING = rb'"' + _CHAR + rb"*(?:(?:" + _MORE + rb")" + _CHAR + rb'*)*"'
_NUMBER = rb"-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,30})?(?:[eE][+-]?[0-9]{1,2})?"
_BYTES = rb"(?:null|\[(?:[0-9]{1,3},)*[0-9]{1,3}\]|\[\])"
_TOP = rb'\{"token":' + _STRING + rb',"logprob":' + _NUMBER + rb',"bytes":' + _BYTES + rb"\}"
_ENTRY = (
    rb'\{"token":' + _STRING + rb',"logprob":' + _NUMBER + rb',"bytes":' + _BYTES
    + rb',"top_logprobs":(?:null|\[(?:' + _TOP + rb"(?:," + _TOP + rb")*)?\])\}"
)  # fmt: skip
ENTRIES = re.compile(rb"\[" + _ENTRY + rb"(?:," + _ENTRY + rb")*\]")


def lists(scale: int) -> list[bytes]:
    """The logprob lists of the stream's content chunks, as JSON bytes."""
    out = []
    for chunk in streams.logprobs(scale):
        for choice in chunk["choices"]:
            entries = (choice.get("logprobs") or {}).get("content")
            if entries:
                text = json.dumps(entries, separators=(",", ":"), ensure_ascii=False)
                out.append(text.encode())
    return out


def child(way: str, scale: int, mode: str) -> None:
    """What runs under callgrind: the setup and, unless ``mode`` is setup, the work of ``way``."""
    import orjson

    from streamfold._fold import _token_entries

    raw = lists(scale)
    if mode == "setup":
        return
    if way == "parse":
        for item in raw:
            orjson.loads(item)
    elif way == "keep":
        kept = list(map(orjson.loads, raw))
        del kept
    elif way == "check-keep":
        entries: list[object] = []
        for value in map(orjson.loads, raw):
            entries.extend(_token_entries(value, 0, "content") or ())
        del entries
    elif way.startswith("check-drop"):
        held: list[bytes] = []
        for item, value in zip(raw, map(orjson.loads, raw), strict=True):
            _token_entries(value, 0, "content")
            held.append(item)
        if way == "check-drop-read":
            read = orjson.loads(b"[" + b",".join([item[1:-1] for item in held]) + b"]")
            del read
    elif way == "regex":
        match = ENTRIES.fullmatch
        for item in raw:
            if match(item) is None:
                raise SystemExit("the regex refused a well-formed list")
    else:
        raise SystemExit(f"unknown way {way!r}")


def _count(valgrind: str, way: str, scale: int, mode: str) -> int:
    command = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable]
    command += [str(Path(__file__).resolve()), "--child", way, str(scale), mode]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, check=False, cwd=ROOT, env=env)
    found = _COLLECTED.findall(done.stderr)
    if done.returncode != 0 or not found:
        raise RuntimeError(done.stderr.decode(errors="replace")[-2000:])
    return int(found[-1].replace(b",", b""))


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return 0
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("logprob_floor.py: valgrind is not installed", file=sys.stderr)
        return 2
    runs = [(way, scale, mode) for way in WAYS for scale in (1, 3) for mode in ("setup", "work")]
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        counts = dict(zip(runs, pool.map(lambda run: _count(valgrind, *run), runs), strict=True))
    n1, n3 = len(lists(1)), len(lists(3))
    print(f"instructions per logprob list (callgrind, {n1} vs {n3} lists)")
    for way in WAYS:
        one = counts[way, 1, "work"] - counts[way, 1, "setup"]
        three = counts[way, 3, "work"] - counts[way, 3, "setup"]
        print(f"{way:<16}{(three - one) / (n3 - n1) / 1000:8.1f}k")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

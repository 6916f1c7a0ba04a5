"""Every Python snippet of the README runs, does what its text says, and passes mypy --strict.

The snippets are extracted from README.md as they are written; the names they use without
defining them come from tests/readme_names.py (real values: a local SSE server that the real
openai client reaches through ``OPENAI_BASE_URL``, files written in a temporary directory).
"""

from __future__ import annotations

import ast
import contextlib
import gzip
import importlib
import io
import json
import re
import shutil
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import pytest

import streamfold

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
EXAMPLES = ROOT / "examples"
NAMES = Path(__file__).parent / "readme_names.py"


def snippets() -> list[str]:
    """The README's ```python blocks, in order."""
    text = README.read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.S | re.M)


def module_of(snippet: str) -> str:
    """A snippet as a module: the README's names imported, the code in a function returning its
    locals (async when the snippet awaits)."""
    is_async = re.search(r"\bawait\b|\basync (for|with)\b", snippet) is not None
    head = "async def snippet()" if is_async else "def snippet()"
    return (
        "from __future__ import annotations\n\n"
        "import streamfold\n"
        "from readme_names import *  # noqa: F403\n\n\n"
        f"{head} -> dict[str, object]:\n"
        f"{textwrap.indent(snippet, '    ')}"
        "    return locals()\n"
    )


class _Server(BaseHTTPRequestHandler):
    """POST /v1/chat/completions: the bundled tool-call capture when tools are offered, else the
    bundled text capture; POST /v1/responses and /v1/messages: the bundled Responses and
    Anthropic tool-call captures; each as an SSE body in small writes."""

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path.endswith("/responses"):
            capture = "responses_tools.sse"
        elif self.path.endswith("/messages"):
            capture = "anthropic_tools.sse"
        else:
            capture = "openai_tools.sse" if request.get("tools") else "openai_text.sse"
        data = (EXAMPLES / capture).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        with contextlib.suppress(ConnectionError):  # a snippet that stops early hangs up
            for start in range(0, len(data), 97):
                self.wfile.write(data[start : start + 97])
                self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """The local server's base URL, as OPENAI_BASE_URL takes it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server_url: str) -> Path:
    """A directory holding the files the snippets open, made current, the server in the env."""
    tools = EXAMPLES / "openai_tools.sse"
    shutil.copy(tools, tmp_path / "capture.sse")
    lines = [line[6:] for line in tools.read_text().splitlines() if line.startswith("data: {")]
    (tmp_path / "chunks.jsonl").write_text("\n".join(lines) + "\n")
    for name, example in [("gateway-1", "interleaved.jsonl"), ("gateway-2", "tool_calls.jsonl")]:
        (tmp_path / f"{name}.jsonl.gz").write_bytes(
            gzip.compress((EXAMPLES / example).read_bytes())
        )
    (tmp_path / "logs").mkdir()
    shutil.copy(tmp_path / "gateway-1.jsonl.gz", tmp_path / "logs" / "a.jsonl.gz")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_BASE_URL", server_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server_url.removesuffix("/v1"))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.syspath_prepend(str(NAMES.parent))
    return tmp_path


def run(snippet: str) -> tuple[dict[str, Any], str, Any]:
    """Run one snippet with fresh names; its locals, what it printed and the names module."""
    names = importlib.reload(importlib.import_module("readme_names"))
    space: dict[str, Any] = {"__name__": "readme_snippet"}
    exec(compile(module_of(snippet), "<README snippet>", "exec"), space)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            result = space["snippet"]()
            if hasattr(result, "__await__"):
                coroutine = result

                async def main() -> Any:
                    return await coroutine

                result = anyio.run(main)
    finally:
        names.stream.close()
        names.sdk_client.close()
    return result, out.getvalue(), names


def _tools_completion() -> streamfold.ChatCompletion:
    completion = streamfold.from_sse(EXAMPLES / "openai_tools.sse")
    assert isinstance(completion, streamfold.ChatCompletion)
    return completion


def _text_completion() -> streamfold.ChatCompletion:
    completion = streamfold.from_sse(EXAMPLES / "openai_text.sse")
    assert isinstance(completion, streamfold.ChatCompletion)
    return completion


def check_wrap(ns: dict[str, Any], out: str, names: Any) -> None:
    text = _text_completion()
    start = out.index('{"id"')
    assert out[:start] == text.choices[0].message.content  # printed as it streamed
    assert json.loads(out[start:]) == streamfold.to_dict(text)


def check_accumulate(ns: dict[str, Any], out: str, names: Any) -> None:
    assert ns["completion"] == _tools_completion()
    assert out.split() == ["None", "110"]


def check_aaccumulate(ns: dict[str, Any], out: str, names: Any) -> None:
    assert ns["completion"] == _tools_completion()


def check_awrap(ns: dict[str, Any], out: str, names: Any) -> None:
    assert out.strip() == "tool_calls"


def check_events(ns: dict[str, Any], out: str, names: Any) -> None:
    calls = _tools_completion().choices[0].message.tool_calls
    assert calls is not None
    expected = [(c.function.name, json.loads(c.function.arguments)) for c in calls]
    assert names.tool_results == expected


def check_accumulator(ns: dict[str, Any], out: str, names: Any) -> None:
    assert ns["completion"] == _tools_completion()


def check_from_sse(ns: dict[str, Any], out: str, names: Any) -> None:
    assert ns["completion"] == _tools_completion()


def check_read_log(ns: dict[str, Any], out: str, names: Any) -> None:
    expected = {
        str(r.key): streamfold.to_dict(r.completion)
        for example in ["interleaved.jsonl", "tool_calls.jsonl"]
        for r in streamfold.read_log(EXAMPLES / example)
        if r.ok
    }
    assert len(expected) >= 3
    assert names.stored == expected


def check_to_sse(ns: dict[str, Any], out: str, names: Any) -> None:
    assert ns["body"].endswith(b"data: [DONE]\n\n")


def check_to_message(ns: dict[str, Any], out: str, names: Any) -> None:
    assert names.messages[-1] == streamfold.to_message(_tools_completion())
    assert type(ns["sdk_completion"]).__module__.startswith("openai.types.chat")


def check_partial_json(ns: dict[str, Any], out: str, names: Any) -> None:
    calls = _tools_completion().choices[0].message.tool_calls
    assert calls is not None
    # both calls' fragments fed into one PartialJSON: the first call's object, parsed as it grew
    assert names.rendered[0] in ({}, None)
    assert names.rendered[len(names.rendered) // 4] is not None


def check_partial_folds(ns: dict[str, Any], out: str, names: Any) -> None:
    assert ns["completion"] == _tools_completion()


def check_dask(ns: dict[str, Any], out: str, names: Any) -> None:
    written = sorted(Path("completions").glob("*.jsonl"))
    assert written
    folded = [json.loads(line) for path in written for line in path.read_text().splitlines()]
    expected = [
        streamfold.to_dict(r.completion)
        for r in streamfold.read_log(EXAMPLES / "interleaved.jsonl", window=None)
        if r.ok
    ]
    assert sorted(json.dumps(c, sort_keys=True) for c in folded) == sorted(
        json.dumps(c, sort_keys=True) for c in expected
    )


def check_anthropic(ns: dict[str, Any], out: str, names: Any) -> None:
    expected = streamfold.from_sse(EXAMPLES / "anthropic_tools.sse")
    assert isinstance(expected, streamfold.AnthropicMessage)
    assert ns["message"] == expected
    calls = [b for b in expected.content if b["type"] == "tool_use"]
    first, second = out.splitlines()
    assert first == f"{calls[0]['name']} {calls[0]['input']}"
    stop_reason, usage = second.split(" ", 1)
    assert stop_reason == expected.stop_reason
    # (the SDK's objects list usage keys in their model's order, not the wire's)
    assert ast.literal_eval(usage) == expected.usage


def check_responses(ns: dict[str, Any], out: str, names: Any) -> None:
    expected = streamfold.from_sse(EXAMPLES / "responses_tools.sse")
    assert isinstance(expected, streamfold.Response)
    assert ns["response"] == expected
    assert expected.status == "completed"
    assert out.split()[0] == "completed"
    assert out.rstrip().endswith(ns["calls"][0]["arguments"])


Check = Callable[[dict[str, Any], str, Any], None]

# what each snippet must have done, found by a line it contains
CHECKS: list[tuple[str, Check]] = [
    ("with streamfold.wrap(stream) as chunks:", check_wrap),
    ('open("chunks.jsonl"', check_accumulate),
    ("await streamfold.aaccumulate(", check_aaccumulate),
    ("async with streamfold.awrap(", check_awrap),
    ("streamfold.wrap(stream).events()", check_events),
    ("acc = streamfold.Accumulator()", check_accumulator),
    ("streamfold.to_sse(", check_to_sse),
    ("streamfold.from_sse(", check_from_sse),
    ("streamfold.read_log(", check_read_log),
    ("streamfold.to_message(completion)", check_to_message),
    ("streamfold.PartialJSON()", check_partial_json),
    ("streamfold.merge_partials(parts)", check_partial_folds),
    ("fold_bag(lines)", check_dask),
    ("Anthropic().messages.create(", check_anthropic),
    ("OpenAI().responses.create(", check_responses),
]


def check_for(snippet: str) -> Check:
    """The check of a snippet: the first whose marker it contains."""
    for marker, check in CHECKS:
        if marker in snippet:
            return check
    raise AssertionError(f"no check for this README snippet:\n{snippet}")


def test_the_readme_has_snippets_and_each_has_a_check() -> None:
    """The extraction finds the README's snippets, and every one of them is checked below."""
    found = snippets()
    assert len(found) >= 12
    assert sorted({check_for(s).__name__ for s in found}) == sorted(c.__name__ for _, c in CHECKS)


@pytest.mark.parametrize("number", range(len(snippets())))
def test_readme_snippet_runs(number: int, workdir: Path) -> None:
    """The snippet runs against the local server and the files, and does what the README says."""
    snippet = snippets()[number]
    ns, out, names = run(snippet)
    check_for(snippet)(ns, out, names)


def test_readme_snippets_pass_mypy_strict(tmp_path: Path) -> None:
    """Every snippet, with the names it uses, type-checks under mypy --strict."""
    shutil.copy(NAMES, tmp_path / "readme_names.py")
    files = []
    for number, snippet in enumerate(snippets()):
        path = tmp_path / f"snippet_{number:02d}.py"
        path.write_text(module_of(snippet))
        files.append(str(path))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--python-version",
            "3.10",
            "--untyped-calls-exclude=dask",
            "--untyped-calls-exclude=distributed",
            *files,
            str(tmp_path / "readme_names.py"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr

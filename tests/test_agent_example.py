"""The agent example (examples/agent_loop.py) runs against its fake server with the real client."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLE = Path(__file__).parent.parent / "examples" / "agent_loop.py"


@pytest.fixture
def agent() -> ModuleType:
    """The example, imported from its file."""
    spec = importlib.util.spec_from_file_location("agent_loop", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["agent_loop"] = module
    spec.loader.exec_module(module)
    return module


def test_agent_loop_runs_the_tool_and_answers(agent: ModuleType) -> None:
    """Text streams, arguments grow, the tool runs on its done event, the answer ends the loop."""
    agent.FakeServer.requests = []
    out = io.StringIO()
    with agent.fake_server() as url:
        answer = agent.run_agent(url, "What's the weather in Paris?", out=out)
    assert answer == "It is 18 °C and sunny in Paris right now."
    printed = out.getvalue().splitlines()
    assert printed[0] == "Let me look up the weather in Paris."
    assert printed[1] == "[calling get_weather]"
    growing = [line for line in printed if line.startswith("  arguments so far: ")]
    assert len(growing) > 3  # the arguments were shown while they streamed
    assert growing[-1] == '  arguments so far: {"city": "Paris", "unit": "celsius"}'
    assert any(
        line.startswith('[get_weather -> {"city": "Paris", "temperature": 18') for line in printed
    )
    # second request: the assistant message (with its tool call) and the tool result went back
    first, second = agent.FakeServer.requests
    assert [m["role"] for m in first["messages"]] == ["user"]
    assistant, tool = second["messages"][1:]
    assert assistant["role"] == "assistant"
    assert assistant["tool_calls"][0]["id"] == "call_Dn2RJJSxzDm49vlVTehseJ0k"
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {
        "city": "Paris",
        "unit": "celsius",
    }
    assert tool["tool_call_id"] == "call_Dn2RJJSxzDm49vlVTehseJ0k"
    assert json.loads(tool["content"])["sky"] == "sunny"


def test_agent_example_main_prints_the_final_answer(
    agent: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    """Running the example as a script prints the final answer last."""
    assert agent.main() == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "final answer: It is 18 °C and sunny in Paris right now."
    )

"""Which API a stream speaks, told from its first event, and the core that folds it.

Three dialects: chat completions (``chat.completion.chunk``, and the legacy ``text_completion``
chunks the same core folds), the OpenAI Responses API (``response.*`` events) and Anthropic's
Messages API (``message_start``, ``content_block_*``, ...). The first event that says anything
decides, once per stream: a ``data: [DONE]`` line says nothing. An event that names no dialect
(a chunk without ``choices``, a bare ``{"error": ...}``, text that is not JSON) goes to the chat
core, which has always been the default and reports bad input in its own words.

Nothing here runs per event after the first: the adapters ask once and then call the core.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, Protocol, TypeAlias

from . import _model as m
from ._anthropic import MessageAccumulator
from ._anthropic import event_kind as anthropic_event_kind
from ._convert import json_loads
from ._errors import UsageError
from ._events import Event
from ._fold import ANTHROPIC_EVENTS, Accumulator, FieldRule
from ._responses import ResponseAccumulator
from ._responses import event_kind as responses_event_kind

__all__ = [
    "ANTHROPIC",
    "CHAT",
    "RESPONSES",
    "AnyCompletion",
    "Core",
    "Dialect",
    "dialect_error",
    "dialect_of",
    "dialect_of_core",
    "dialect_of_name",
    "dialect_of_type",
    "event_kind",
    "is_start_event",
    "new_core",
]

Dialect: TypeAlias = Literal["chat", "responses", "anthropic"]
CHAT: Final = "chat"
RESPONSES: Final = "responses"
ANTHROPIC: Final = "anthropic"

AnyCompletion: TypeAlias = m.ChatCompletion | m.TextCompletion | m.Response | m.AnthropicMessage
"""What any core folds a stream into."""

_CHAT_OBJECTS: Final = frozenset({"chat.completion.chunk", "text_completion", "chat.completion"})


class Core(Protocol):
    """What every dialect's accumulator offers (``Accumulator``, ``ResponseAccumulator``,
    ``MessageAccumulator``): the adapters, the SSE loops and the log readers use only this."""

    @property
    def chunks(self) -> int: ...

    @property
    def is_complete(self) -> bool: ...

    def add(self, event: Any) -> None: ...

    def add_events(self, event: Any) -> list[Event]: ...

    def end_events(self) -> list[Event]: ...

    def snapshot(self) -> AnyCompletion: ...

    def completion(self, *, strict: bool = False) -> AnyCompletion: ...

    def mark_segment(self) -> None: ...


def dialect_of_type(kind: object, event: Mapping[str, Any] | None) -> Dialect | None:
    """The dialect an event's ``type`` names (``event`` is read for ``type: "error"`` only)."""
    if type(kind) is not str:
        return None
    if kind.startswith("response."):
        return RESPONSES
    if kind in ANTHROPIC_EVENTS:
        return ANTHROPIC
    if kind == "error" and event is not None:
        if "sequence_number" in event:
            return RESPONSES
        if isinstance(event.get("error"), Mapping):
            return ANTHROPIC
    return None


def dialect_of(event: Any) -> Dialect | None:
    """The dialect of one event: a dict, its JSON text (an optional ``data:`` prefix), or an SDK
    object (openai's chunks and Responses events, anthropic's ``Raw*Event``). ``None`` for an
    SSE ``data: [DONE]`` line, which says nothing; ``"chat"`` for anything else that names no
    other dialect (the chat core then reports what is wrong with it). Never raises."""
    if isinstance(event, Mapping):
        if "choices" in event or event.get("object") in _CHAT_OBJECTS:
            return CHAT
        return dialect_of_type(event.get("type"), event) or CHAT
    if isinstance(event, (str, bytes, bytearray, memoryview)):
        return _dialect_of_text(event)
    if getattr(event, "choices", None) is not None:
        return CHAT
    kind = getattr(event, "type", None)
    if kind == "error":
        fields = {
            "sequence_number": getattr(event, "sequence_number", None),
            "error": getattr(event, "error", None),
        }
        if fields["sequence_number"] is not None:
            return RESPONSES
        return ANTHROPIC if fields["error"] is not None else CHAT
    return dialect_of_type(kind, None) or CHAT


def _dialect_of_text(text: str | bytes | bytearray | memoryview) -> Dialect | None:
    data = bytes(text) if isinstance(text, (bytearray, memoryview)) else text
    body = data.strip()
    if isinstance(body, str):
        if body.startswith("data:"):
            body = body[5:].strip()
            if body == "[DONE]":
                return None
    elif body.startswith(b"data:"):
        body = body[5:].strip()
        if body == b"[DONE]":
            return None
    try:
        parsed = json_loads(body)
    except ValueError:
        return CHAT  # not JSON: the chat core says so, naming the position
    return dialect_of(parsed) if isinstance(parsed, dict) else CHAT


def dialect_of_name(name: str) -> Dialect | None:
    """The dialect an SSE ``event:`` name belongs to, or ``None`` (``error``, ``message``, or a
    name of no known API: the data says more)."""
    return dialect_of_type(name, None)


def dialect_of_core(core: object) -> Dialect:
    """The dialect a core folds."""
    if isinstance(core, ResponseAccumulator):
        return RESPONSES
    if isinstance(core, MessageAccumulator):
        return ANTHROPIC
    return CHAT


def new_core(
    dialect: Dialect | None,
    *,
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
    eager_tool_calls: bool = False,
    keep_obfuscation: bool = False,
) -> Core:
    """A fresh core for ``dialect`` (``None``: chat). The options are the chat core's; given to
    another dialect's stream they raise :class:`UsageError` naming them (they would be ignored)."""
    if dialect is None or dialect == CHAT:
        return Accumulator(
            field_rules=field_rules,
            normalize_finish_reason=normalize_finish_reason,
            eager_tool_calls=eager_tool_calls,
            keep_obfuscation=keep_obfuscation,
        )
    chat_only = [
        name
        for name, value in (
            ("field_rules", field_rules),
            ("normalize_finish_reason", normalize_finish_reason),
            ("eager_tool_calls", eager_tool_calls),
            ("keep_obfuscation", keep_obfuscation),
        )
        if value
    ]
    if chat_only:
        api = "an OpenAI Responses API" if dialect == RESPONSES else "an Anthropic Messages API"
        raise UsageError(
            f"{', '.join(chat_only)}: options of chat completion streams, and this is {api}"
            " stream: leave them out"
        )
    if dialect == RESPONSES:
        return ResponseAccumulator()
    return MessageAccumulator()


def is_start_event(event: Mapping[str, Any]) -> bool:
    """The first event of a Responses or Messages stream (``response.created``,
    ``message_start``): after a finished stream of a capture, the next stream begins."""
    return event.get("type") in _START_EVENTS


_START_EVENTS: Final = frozenset({"response.created", "message_start"})


def dialect_error(chunk: dict[str, Any], dialect: Dialect) -> dict[str, Any]:
    """An SSE error event (``event: error``, an ``error:`` line) of a Responses or Messages
    stream as that API's ``error`` event: the chat shape ``{"error": payload}`` that the SSE
    loops make of an untyped payload, rewritten (a typed payload is kept as it is)."""
    if dialect == CHAT or chunk.get("type") == "error" or set(chunk) != {"error"}:
        return chunk
    payload = chunk["error"]
    if dialect == RESPONSES:
        if isinstance(payload, Mapping):
            return {"type": "error", **payload}
        return {"type": "error", "code": None, "message": str(payload), "param": None}
    if isinstance(payload, Mapping):
        return {"type": "error", "error": dict(payload)}
    return {"type": "error", "error": {"type": "error", "message": str(payload)}}


def event_kind(dialect: Dialect, event: dict[str, Any]) -> int:
    """The ``_logs`` kind (``IDLE``, ``CLOSE``, ``CHOICES``, ``FINISH``) of an event of a named
    dialect that its core took (the chat chunks' is ``_logs.chunk_kind``)."""
    if dialect == RESPONSES:
        return responses_event_kind(event)
    return anthropic_event_kind(event)

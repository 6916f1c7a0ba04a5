"""Anthropic Messages API streams folded into the non-streamed ``message``.

Theory of operation. A Messages stream is ``message_start`` (the message skeleton: id, model,
role, usage with the input and cache tokens), then per content block ``content_block_start`` /
``content_block_delta``\\* / ``content_block_stop`` keyed by ``index``, then ``message_delta``
(``stop_reason``, ``stop_sequence``, the output usage) and ``message_stop``; ``ping`` anywhere,
``error`` instead of the rest. :class:`MessageAccumulator` keeps, per block index, the block as it
started (``base``) and the fragments the deltas brought, and builds the message only when asked:

* ``text_delta``, ``thinking_delta`` and ``signature_delta`` append their string to a fragment
  list; the block's field is its start value followed by the fragments (joined once, at build).
  The signature is concatenated too: a signature sent in several deltas is one signature.
* ``input_json_delta`` fragments of a tool block (``tool_use``, ``server_tool_use``,
  ``mcp_tool_use``, ...) are joined and parsed once at build; the parsed value replaces the
  start's ``input`` (``{}``); blank text is ``{}``. Text that is not JSON (a cut stream) is kept
  as the block's ``input``, a string, and reported by :attr:`MessageAccumulator.input_errors`
  (``completion(strict=True)`` raises it); ``snapshot()`` never raises for it.
* ``citations_delta`` appends its citation to the block's ``citations`` list.
* A delta of a type this module does not know is kept by a generic rule: each string field
  (other than ``type``) is concatenated onto the block's field of the same name, each list field
  extends it, any other value replaces it (a ``null`` erases nothing). A future delta that
  streams a string field thus folds like the known ones.
* A delta for a block that never started creates it, with the type the delta implies
  (``text_delta`` -> ``text``, ``thinking_delta`` / ``signature_delta`` -> ``thinking``,
  ``input_json_delta`` -> ``tool_use``, ``citations_delta`` -> ``text``, ``x_delta`` -> ``x``);
  a ``content_block_start`` arriving later supplies the real type and keys. Indexes may be
  sparse and in any order; the content is the blocks in index order.
* Message fields (``message_start``'s message, ``message_delta``'s delta) and block keys keep the
  latest non-null value of each key; ``usage`` is merged field by field, the latest report of
  each field winning (never added; a ``null`` erases nothing).
* Keys an event carries beside the ones its type defines (a gateway's additions) are kept on the
  message (``message_*`` events) or the block (``content_block_*`` events) by the same rule;
  the stream helper's snapshots (``message_stop.message``, ``content_block_stop.content_block``)
  are not read. Events of an unknown type are kept whole in
  :attr:`MessageAccumulator.other_events`, outside the message. The SDK stream helper's
  derived events (``text``, ``thinking``, ``signature``, ``input_json``, ``citation``) repeat
  the raw deltas and are skipped.

All of that state is associative: fragment lists concatenate, latest-non-null values compose,
so ``merge`` of two segments' accumulators equals the fold of both segments.

The hot path (a ``content_block_delta`` of a known type for a started block) reads the event
dict (or the SDK object's ``__dict__``) and appends one string; nothing is built per event.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final, NoReturn

from . import _model as m
from ._convert import from_dict, import_extra, schema_error, to_dict
from ._errors import (
    IncompleteStreamError,
    InvalidArgumentsError,
    StreamError,
    UsageError,
)
from ._eventfold import EventFold
from ._events import (
    ChoiceFinished,
    ChoiceStarted,
    ContentDelta,
    ContentDone,
    ErrorEvent,
    Event,
    ReasoningDelta,
    ReasoningDone,
    ToolCallArgumentsDelta,
    ToolCallDone,
    ToolCallStarted,
    UsageReport,
)
from ._partial import try_parse_arguments
from ._values import (
    _FIELDS_CACHE,
    _PYDANTIC,
    _as_mapping,
    _fail,
    _Invalid,
    _plain,
    _sdk_fields,
    text_object,
)

if TYPE_CHECKING:
    import anthropic.types

__all__ = ["MessageAccumulator", "event_kind", "from_anthropic", "to_anthropic", "to_events"]

# the stream helper of the anthropic SDK (client.messages.stream()) yields these next to the raw
# events: they repeat the raw deltas (with snapshots) and are skipped
HELPER_EVENTS: Final = frozenset({"text", "thinking", "signature", "input_json", "citation"})

# the keys each event type defines; any other key is a gateway's addition (see the docstring)
_EVENT_KEYS: Final[dict[str, frozenset[str]]] = {
    "message_start": frozenset({"type", "message"}),
    "content_block_start": frozenset({"type", "index", "content_block"}),
    "content_block_delta": frozenset({"type", "index", "delta"}),
    "content_block_stop": frozenset({"type", "index", "content_block"}),
    "message_delta": frozenset({"type", "delta", "usage"}),
    "message_stop": frozenset({"type", "message"}),
    "ping": frozenset({"type"}),
    "error": frozenset({"type", "error"}),
}

# the delta types and the block field their string goes to
_DELTA_FIELD: Final = {
    "text_delta": "text",
    "thinking_delta": "thinking",
    "signature_delta": "signature",
    "input_json_delta": "partial_json",
}
_IMPLIED: Final = {
    "text_delta": "text",
    "citations_delta": "text",
    "thinking_delta": "thinking",
    "signature_delta": "thinking",
    "input_json_delta": "tool_use",
}
_MESSAGE_FIELDS: Final = ("id", "type", "role", "model", "stop_reason", "stop_sequence")
_USAGE_INTS: Final = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)
_TOOL_BLOCKS: Final = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})


def _update(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    """Latest non-null value of each key wins; a null only fills a key not there yet."""
    for key, value in source.items():
        if value is not None or key not in target:
            target[key] = value


def _index(value: Any) -> int:
    if type(value) is not int or value < 0:
        _fail("index", "a non-negative integer", value)
    return value


def _dict(value: Any, path: str) -> dict[str, Any]:
    """A plain dict of ``value`` (a dict, or an SDK object dumped as it was sent)."""
    if type(value) is dict:
        return value
    if value is None or isinstance(value, (str, bytes, int, float, list, tuple)):
        _fail(path, "an object", value)
    plain = _plain(value)
    if type(plain) is not dict:
        _fail(path, "an object", value)
    return plain


class _Block:
    """One content block's state: the keys it started with, the fragments deltas brought."""

    __slots__ = ("base", "json", "lists", "parts", "started", "stopped", "text")

    def __init__(self, base: dict[str, Any], started: bool) -> None:
        self.base = base  # keys as started (latest non-null wins); "type" always there
        self.started = started  # False: the type was implied by a delta
        self.text: list[str] = []  # text_delta fragments (the hot path)
        self.json: list[str] | None = None  # input_json_delta fragments
        self.parts: dict[str, list[str]] = {}  # other concatenated string fields
        self.lists: dict[str, list[Any]] = {}  # appended list fields (citations, ...)
        self.stopped = False

    @property
    def type(self) -> Any:
        return self.base.get("type")

    def start(self, block: dict[str, Any]) -> None:
        if self.started:
            _update(self.base, block)
        else:  # the real start replaces the implied type; keys that came earlier stay under it
            earlier = self.base
            self.base = dict(block)
            for key, value in earlier.items():
                if (
                    key != "type"
                    and (self.base.get(key) is None)
                    and (value is not None or key not in self.base)
                ):
                    self.base[key] = value
            self.started = True

    def imply(self, kind: Any) -> None:
        """A delta implies the type of a block no start named (yet)."""
        if not self.started and self.base.get("type") is None:
            self.base["type"] = kind

    def merge(self, later: _Block) -> None:
        if later.started:
            self.start(later.base)
        else:
            self.imply(later.base.get("type"))
            _update(self.base, {k: v for k, v in later.base.items() if k != "type"})
        self.text.extend(later.text)
        if later.json:
            if self.json is None:
                self.json = []
            self.json.extend(later.json)
        for name, parts in later.parts.items():
            self.parts.setdefault(name, []).extend(parts)
        for name, items in later.lists.items():
            self.lists.setdefault(name, []).extend(items)
        self.stopped = self.stopped or later.stopped

    def call(self) -> tuple[str | None, str | None]:
        """A tool block's id and name, for its events."""
        return _str(self.base.get("id")), _str(self.base.get("name"))

    def raw_input(self) -> str | None:
        """The streamed input JSON text; None when no input_json_delta came (the start's
        ``input`` stands)."""
        return "".join(self.json) if self.json else None

    def build(self) -> tuple[dict[str, Any], InvalidArgumentsError | None]:
        out = dict(self.base)
        if self.text:
            out["text"] = _prefix(out.get("text")) + "".join(self.text)
        for name, parts in self.parts.items():
            if parts:
                out[name] = _prefix(out.get(name)) + "".join(parts)
        for name, items in self.lists.items():
            before = out.get(name)
            out[name] = (list(before) if isinstance(before, list) else []) + items
        error = None
        if self.json:
            out["input"], error = _parse_input("".join(self.json), out.get("name"), out.get("id"))
        return out, error


def _prefix(value: Any) -> str:
    return value if type(value) is str else ""


def _parse_input(raw: str, name: Any, cid: Any) -> tuple[Any, InvalidArgumentsError | None]:
    call = m.ToolCall(
        id=cid if type(cid) is str else None,
        function=m.FunctionCall(name=name if type(name) is str else "", arguments=raw),
    )
    value, error = try_parse_arguments(call)
    return (raw, error) if error is not None else (value, None)


class MessageAccumulator(EventFold[m.AnthropicMessage]):
    """Fold Anthropic Messages API stream events into the non-streamed message
    (:class:`AnthropicMessage`): see the module docstring for the rules.

    A sans-I/O object: ``add(event)`` takes one event at a time, as a dict, the JSON text of one
    event (``str`` / ``bytes``, an optional SSE ``data:`` prefix), or an anthropic SDK event
    object (``RawMessageStreamEvent`` and the stream helper's events); ``snapshot()`` builds the
    message so far, ``completion()`` the final one.
    """

    __slots__ = (
        "_blocks",
        "_closed",
        "_ev",
        "_message",
        "_other",
        "_stopped",
        "_usage",
    )

    def __init__(self) -> None:
        super().__init__()
        self._message: dict[str, Any] = {}  # message keys, content and usage excepted
        self._usage: dict[str, Any] | None = None
        self._blocks: dict[int, _Block] = {}
        self._stopped = False  # message_stop arrived
        self._other: list[Any] = []
        self._closed = False
        self._ev: _EventState | None = None  # set once events are asked for

    # -- public ---------------------------------------------------------------------------------

    @property
    def is_complete(self) -> bool:
        """True once a ``stop_reason`` or ``message_stop`` arrived."""
        return self._stopped or self._message.get("stop_reason") is not None

    @property
    def key(self) -> str | None:
        """The message id, once ``message_start`` brought it."""
        value = self._message.get("id")
        return value if type(value) is str else None

    @property
    def other_events(self) -> tuple[Any, ...]:
        """Events of a type this module does not know, as they arrived (plain JSON)."""
        return tuple(self._other)

    @property
    def input_errors(self) -> dict[int, InvalidArgumentsError]:
        """Tool blocks whose streamed input is not JSON, by block index: their ``input`` in the
        message is the text as sent, and this is the parser's complaint."""
        out: dict[int, InvalidArgumentsError] = {}
        for index, block in sorted(self._blocks.items()):
            raw = block.raw_input()
            if raw is not None:
                _, error = _parse_input(raw, block.base.get("name"), block.base.get("id"))
                if error is not None:
                    out[index] = error
        return out

    def __repr__(self) -> str:
        return (
            f"<MessageAccumulator events={self._count}, blocks={len(self._blocks)},"
            f" complete={self.is_complete}{', closed' if self._closed else ''}>"
        )

    def add(self, event: Any) -> None:
        """Fold one event.

        Raises :class:`InvalidChunkError` when the event is malformed (naming the event's
        position and the field; it is then not applied and the accumulator stays usable),
        :class:`StreamError` for an ``error`` event (after folding everything before it; ``add``
        is refused afterwards) and :class:`UsageError` after ``completion()`` or an error.
        """
        # The hot path: a known delta for a started block, without unknown keys, as a dict or
        # an SDK object read through its __dict__; anything else takes the checked path.
        if type(event) is dict:
            ev = event
        elif _FIELDS_CACHE.get(type(event)) is _PYDANTIC and not event.__pydantic_extra__:
            ev = event.__dict__
        else:
            self._add(event)
            return
        if ev.get("type") == "content_block_delta" and len(ev) == 3 and not self._closed:
            index = ev.get("index")
            block = self._blocks.get(index) if type(index) is int else None
            delta: Any = ev.get("delta")
            if type(delta) is not dict:
                if _FIELDS_CACHE.get(type(delta)) is _PYDANTIC and not delta.__pydantic_extra__:
                    delta = delta.__dict__
                else:
                    delta = None
            if block is not None and delta is not None and len(delta) == 2:
                kind = delta.get("type")
                if kind == "text_delta":
                    text = delta.get("text")
                    if type(text) is str:
                        block.text.append(text)
                        self._count += 1
                        return
                elif kind == "input_json_delta":
                    text = delta.get("partial_json")
                    if type(text) is str and block.json is not None:
                        block.json.append(text)
                        self._count += 1
                        return
                elif kind == "thinking_delta":
                    text = delta.get("thinking")
                    parts = block.parts.get("thinking")
                    if type(text) is str and parts is not None:
                        parts.append(text)
                        self._count += 1
                        return
        self._add(event)

    def _add(self, event: Any) -> dict[str, Any] | None:
        """The checked path of ``add``: returns the event as a dict (None for ``[DONE]``)."""
        position = self._count
        self._count = position + 1
        if self._closed:
            self._refuse(position)
        try:
            if type(event) is dict:
                ev = event
            else:
                coerced = _coerce(event)
                if coerced is None:  # `data: [DONE]`: not an event
                    self._count = position
                    return None
                ev = coerced
            error = self._apply(ev)
        except _Invalid as exc:
            raise exc.located("event", position, self.snapshot(), event) from None
        if error is not None:
            self._raise_stream_error(error, position)
        return ev

    def add_events(self, event: Any) -> list[Event]:
        """Fold one event like :meth:`add` and return the typed events it caused.

        ``ChoiceStarted`` at the first event (``message_start``); ``ContentDelta`` per
        ``text_delta`` and ``ReasoningDelta`` (``field="thinking"``) per ``thinking_delta``,
        with ``item`` the block index; ``ToolCallStarted`` / ``ToolCallArgumentsDelta`` /
        ``ToolCallDone`` for ``tool_use`` blocks (``index`` the block index; server tools run on
        the server and report none); ``ContentDone`` / ``ReasoningDone`` / ``ToolCallDone`` at
        ``content_block_stop``; at ``message_stop`` the done events of blocks not stopped,
        ``ChoiceFinished`` (the ``stop_reason``) and ``UsageReport``. An ``error`` event is
        reported as an :class:`ErrorEvent` at the end of the list rather than raised. Raises
        :class:`InvalidChunkError` and :class:`UsageError` as ``add`` does.
        """
        state = self._ev
        if state is None:
            state = self._ev = _EventState()
        out: list[Event] = []
        try:
            ev = self._add(event)
        except StreamError as exc:
            out.append(ErrorEvent(error=exc.error, exception=exc))
            return out
        if ev is not None:
            self._events_for(ev, state, out)
        return out

    def end_events(self) -> list[Event]:
        """The done events not fired yet (blocks not stopped, ``ChoiceFinished`` when a
        ``stop_reason`` came, ``UsageReport``): call once, when the stream has ended."""
        state = self._ev
        if state is None:
            state = self._ev = _EventState()
        out: list[Event] = []
        if not state.closed:
            self._close_events(state, out)
        return out

    def snapshot(self) -> m.AnthropicMessage:
        """Build the message folded so far; may be called any number of times. Never raises
        for tool input that is not JSON (see :attr:`input_errors`)."""
        if self._final is not None:
            return self._final
        return self._build()

    def completion(self, *, strict: bool = False) -> m.AnthropicMessage:
        """Return the final message, built once; ``add()`` is a usage error afterwards.

        With ``strict=True``, raises :class:`IncompleteStreamError` when neither a
        ``stop_reason`` nor ``message_stop`` arrived, and :class:`InvalidArgumentsError` (a
        ``ValueError``) for the first tool block whose input is not JSON; both carry the message
        in ``.completion``.
        """
        if self._final is None:
            self._final = self._build()
            self._closed = True
        if strict:
            if not self.is_complete:
                raise IncompleteStreamError(
                    "the stream ended early: no stop_reason and no message_stop",
                    position=self._count - 1 if self._count else None,
                    completion=self._final,
                )
            errors = self.input_errors
            if errors:
                index, error = next(iter(errors.items()))
                err = InvalidArgumentsError(
                    f"content[{index}].input: {error.message}",
                    arguments=error.arguments,
                    name=error.name,
                    id=error.id,
                )
                err.completion = self._final
                raise err from error.__cause__
        return self._final

    def merge(self, later: MessageAccumulator) -> None:
        """Fold ``later``'s state into this one, as if its events had followed this one's
        (in place; associative). Raises :class:`UsageError` after ``completion()``."""
        if self._final is not None:
            raise UsageError("merge() after completion()")
        self._count += later._count
        _update(self._message, later._message)
        if later._usage is not None:
            if self._usage is None:
                self._usage = {}
            _update(self._usage, later._usage)
        for index, theirs in sorted(later._blocks.items()):
            ours = self._blocks.get(index)
            if ours is None:
                ours = self._blocks[index] = _Block({"type": None}, False)
            ours.merge(theirs)
        self._stopped = self._stopped or later._stopped
        self._other.extend(later._other)
        if self._error is None and later._error is not None:
            self._error = later._error
            self._closed = True

    # -- folding --------------------------------------------------------------------------------

    def _apply(self, ev: dict[str, Any]) -> Any:
        """Check and fold one event (the slow path); return an error payload, if any."""
        kind = ev.get("type")
        if type(kind) is not str:
            _fail("type", "an event type (a string)", kind)
        if kind in HELPER_EVENTS:
            return None
        known = _EVENT_KEYS.get(kind)
        if known is None:
            self._other.append(_plain(ev))
            return None
        extra = {k: _plain(v) for k, v in ev.items() if k not in known} if len(ev) > 1 else {}
        if kind == "content_block_delta":
            self._delta(ev, extra)
        elif kind == "content_block_start":
            index = _index(ev.get("index"))
            block = _dict(ev.get("content_block"), "content_block")
            if type(block.get("type")) is not str:
                _fail("content_block.type", "a string", block.get("type"))
            self._start(index, block)
            if extra:
                _update(self._blocks[index].base, extra)
        elif kind == "content_block_stop":
            index = _index(ev.get("index"))
            found = self._blocks.get(index)
            if found is None:  # a stop for a block never seen: an empty block of no known type
                found = self._blocks[index] = _Block({"type": None}, False)
            found.stopped = True
            if extra:
                _update(found.base, extra)
        elif kind == "message_start":
            self._message_start(_dict(ev.get("message"), "message"))
            _update(self._message, extra)
        elif kind == "message_delta":
            self._message_delta(ev)
            _update(self._message, extra)
        elif kind == "message_stop":
            self._stopped = True
            _update(self._message, extra)
        elif kind == "error":
            payload = _plain(ev.get("error"))
            return payload if payload is not None else {"type": "error"}
        return None

    def _start(self, index: int, block: dict[str, Any]) -> None:
        found = self._blocks.get(index)
        if found is None:
            found = self._blocks[index] = _Block(dict(block), True)
        else:
            found.start(block)
        kind = found.type
        # the hot path appends to lists that exist: create the ones this block streams into
        if kind in _TOOL_BLOCKS and found.json is None:
            found.json = []
        elif kind == "thinking" and "thinking" not in found.parts:
            found.parts["thinking"] = []

    def _message_start(self, message: dict[str, Any]) -> None:
        for name in _MESSAGE_FIELDS:
            value = message.get(name)
            if value is not None and type(value) is not str:
                _fail(f"message.{name}", "a string", value)
        usage = message.get("usage")
        content = message.get("content")
        if content is not None and type(content) is not list:
            _fail("message.content", "a list", content)
        checked = _usage(usage, "message.usage") if usage is not None else None
        blocks = [_dict(b, f"message.content[{i}]") for i, b in enumerate(content or ())]
        for i, b in enumerate(blocks):
            if type(b.get("type")) is not str:
                _fail(f"message.content[{i}].type", "a string", b.get("type"))
        _update(self._message, {k: v for k, v in message.items() if k not in ("content", "usage")})
        if checked is not None:
            self._merge_usage(checked)
        for i, b in enumerate(blocks):
            self._start(i, b)

    def _message_delta(self, ev: dict[str, Any]) -> None:
        delta = ev.get("delta")
        delta = {} if delta is None else _dict(delta, "delta")
        for name in ("stop_reason", "stop_sequence"):
            value = delta.get(name)
            if value is not None and type(value) is not str:
                _fail(f"delta.{name}", "a string", value)
        usage = ev.get("usage")
        checked = _usage(usage, "usage") if usage is not None else None
        _update(self._message, delta)
        if checked is not None:
            self._merge_usage(checked)

    def _merge_usage(self, usage: dict[str, Any]) -> None:
        if self._usage is None:
            self._usage = {}
        _update(self._usage, usage)

    def _delta(self, ev: dict[str, Any], extra: dict[str, Any]) -> None:
        index = _index(ev.get("index"))
        raw = ev.get("delta")
        if raw is None or isinstance(raw, (str, bytes, int, float, list, tuple)):
            _fail("delta", "an object", raw)
        delta = raw if type(raw) is dict else _as_mapping(raw, "delta")
        kind = delta.get("type")
        if type(kind) is not str:
            _fail("delta.type", "a string", kind)
        block = self._blocks.get(index)
        name = _DELTA_FIELD.get(kind)
        if name is not None:  # one string field
            text = delta.get(name)
            if type(text) is not str:
                _fail(f"delta.{name}", "a string", text)
            block = self._block_for(index, block, kind)
            if name == "text":
                block.text.append(text)
            elif name == "partial_json":
                if block.json is None:
                    block.json = []
                block.json.append(text)
            else:
                block.parts.setdefault(name, []).append(text)
            rest = {k: _plain(v) for k, v in delta.items() if k != "type" and k != name}
        elif kind == "citations_delta":
            citation = delta.get("citation")
            if citation is None:
                _fail("delta.citation", "an object", citation)
            block = self._block_for(index, block, kind)
            block.lists.setdefault("citations", []).append(_plain(citation))
            rest = {k: _plain(v) for k, v in delta.items() if k not in ("type", "citation")}
        else:  # a delta type this module does not know: the generic rule (module docstring)
            block = self._block_for(index, block, kind)
            rest = {}
            for key, value in delta.items():
                if key == "type":
                    continue
                if type(value) is str:
                    block.parts.setdefault(key, []).append(value)
                elif type(value) is list or type(value) is tuple:
                    block.lists.setdefault(key, []).extend(_plain(list(value)))
                else:
                    rest[key] = _plain(value)
        if rest:
            _update(block.base, rest)
        if extra:
            _update(block.base, extra)

    def _block_for(self, index: int, block: _Block | None, delta_type: str) -> _Block:
        if block is None:
            implied = _IMPLIED.get(delta_type) or delta_type.removesuffix("_delta")
            block = self._blocks[index] = _Block({"type": implied}, False)
        elif block.base.get("type") is None:  # only a stop came for it
            block.imply(_IMPLIED.get(delta_type) or delta_type.removesuffix("_delta"))
        return block

    def _raise_stream_error(self, error: Any, position: int) -> NoReturn:
        detail: Any = error
        if isinstance(error, dict):
            kind, message = error.get("type"), error.get("message")
            detail = f"{kind}: {message}" if kind and message else message or kind
        err = StreamError(
            f"event {position}: the server reported an error: {detail}",
            error=error,
            position=position,
            completion=self._build(),
        )
        self._error = err
        self._closed = True
        raise err

    def _build(self) -> m.AnthropicMessage:
        msg = self._message
        content = tuple(block.build()[0] for _, block in sorted(self._blocks.items()))
        extra = {k: v for k, v in msg.items() if k not in _MESSAGE_FIELDS}
        return m.AnthropicMessage(
            id=msg.get("id"),
            type=msg.get("type") or "message",
            role=msg.get("role") or "assistant",
            model=msg.get("model"),
            content=content,
            stop_reason=msg.get("stop_reason"),
            stop_sequence=msg.get("stop_sequence"),
            usage=dict(self._usage) if self._usage is not None else None,
            extra=extra,
        )

    # -- events ---------------------------------------------------------------------------------

    def _events_for(self, ev: dict[str, Any], state: _EventState, out: list[Event]) -> None:
        kind = ev.get("type")
        if kind in HELPER_EVENTS or kind == "ping" or kind not in _EVENT_KEYS:
            return
        if not state.started:
            state.started = True
            role = self._message.get("role")
            out.append(
                ChoiceStarted(choice_index=0, role=role if type(role) is str else "assistant")
            )
        if kind == "content_block_start":
            index = ev["index"]
            block = self._blocks[index]
            if block.type == "tool_use":
                self._call_started(index, block, state, out)
        elif kind == "content_block_delta":
            index = ev["index"]
            block = self._blocks[index]
            raw = ev["delta"]
            delta = raw if type(raw) is dict else _as_mapping(raw, "delta")
            dtype = delta.get("type")
            if dtype == "text_delta":
                out.append(ContentDelta(choice_index=0, delta=delta["text"], item=index))
            elif dtype == "thinking_delta":
                out.append(
                    ReasoningDelta(
                        choice_index=0, field="thinking", delta=delta["thinking"], item=index
                    )
                )
            elif (
                dtype == "input_json_delta" and block.type == "tool_use" and index not in state.done
            ):
                self._call_started(index, block, state, out)
                cid, name = block.call()
                out.append(
                    ToolCallArgumentsDelta(
                        choice_index=0, index=index, id=cid, name=name, delta=delta["partial_json"]
                    )
                )
        elif kind == "content_block_stop":
            index = ev["index"]
            self._block_done(index, self._blocks[index], state, out)
        elif kind == "message_stop":
            self._close_events(state, out)

    def _call_started(
        self, index: int, block: _Block, state: _EventState, out: list[Event]
    ) -> None:
        if index not in state.calls:
            state.calls.add(index)
            cid, name = block.call()
            out.append(ToolCallStarted(choice_index=0, index=index, id=cid, name=name))

    def _block_done(self, index: int, block: _Block, state: _EventState, out: list[Event]) -> None:
        if index in state.done:
            return
        state.done.add(index)
        kind = block.type
        if kind == "text":
            built, _ = block.build()
            out.append(ContentDone(choice_index=0, content=_prefix(built.get("text")), item=index))
        elif kind == "thinking":
            built, _ = block.build()
            reasoning = _prefix(built.get("thinking"))
            out.append(
                ReasoningDone(choice_index=0, field="thinking", reasoning=reasoning, item=index)
            )
        elif kind == "tool_use":
            self._call_started(index, block, state, out)
            raw = block.raw_input()
            if raw is None:  # the whole input came with the start
                raw = json.dumps(block.base.get("input", {}), ensure_ascii=False)
            call_id, name = block.call()
            parsed, error = _parse_input(raw, name, call_id)
            out.append(
                ToolCallDone(
                    choice_index=0,
                    index=index,
                    id=call_id,
                    name=name,
                    arguments=raw,
                    parsed=None if error is not None else parsed,
                    parse_error=error,
                )
            )

    def _close_events(self, state: _EventState, out: list[Event]) -> None:
        state.closed = True
        for index, block in sorted(self._blocks.items()):
            self._block_done(index, block, state, out)
        reason = self._message.get("stop_reason")
        if type(reason) is str:
            out.append(ChoiceFinished(choice_index=0, finish_reason=reason))
        if self._usage is not None:
            out.append(UsageReport(usage=dict(self._usage)))


class _EventState:
    """What ``add_events`` has reported so far."""

    __slots__ = ("calls", "closed", "done", "started")

    def __init__(self) -> None:
        self.started = False
        self.calls: set[int] = set()  # blocks whose ToolCallStarted fired
        self.done: set[int] = set()  # blocks whose done event fired
        self.closed = False


def _str(value: Any) -> str | None:
    return value if type(value) is str else None


def _usage(value: Any, path: str) -> dict[str, Any]:
    usage = _dict(value, path)
    for name in _USAGE_INTS:
        count = usage.get(name)
        if count is not None and (type(count) is not int or count < 0):
            _fail(f"{path}.{name}", "a non-negative integer", count)
    return usage


def _coerce(event: Any) -> dict[str, Any] | None:
    """The event as a dict; None for an SSE ``data: [DONE]`` line."""
    fields = _sdk_fields(event)  # an SDK event as it comes: no copy
    if fields is not None:
        return fields
    if isinstance(event, (str, bytes, bytearray, memoryview)):
        return text_object(event)
    return _as_mapping(event, "")


# ---------------------------------------------------------------------------------------------
# the logs' view of an event


def event_kind(event: Any) -> int:
    """``_kinds.CLOSE`` for ``message_stop`` (the stream ends), ``FINISH`` for a
    ``message_delta`` with a ``stop_reason``, ``CHOICES`` for content events, ``IDLE`` for the
    rest (``message_start``, ``ping``, a ``message_delta`` without a stop reason, unknown)."""
    from ._kinds import CHOICES, CLOSE, FINISH, IDLE

    kind = _field(event, "type")
    if kind in ("content_block_delta", "content_block_start", "content_block_stop"):
        return CHOICES
    if kind == "message_stop":
        return CLOSE
    if kind == "message_delta":
        return FINISH if _field(_field(event, "delta"), "stop_reason") is not None else IDLE
    return IDLE


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if type(obj) is dict else getattr(obj, name, None)


# ---------------------------------------------------------------------------------------------
# the way back: a message as the events a server streams


def to_events(
    message: m.AnthropicMessage, *, piece_size: int = 4, seed: int = 0
) -> Iterator[dict[str, Any]]:
    """Yield a realistic Messages API event stream (plain dicts) that folds back to ``message``.

    ``message_start`` (the message without content, its usage with ``output_tokens`` at most 1),
    a ``ping``, per block ``content_block_start`` / deltas / ``content_block_stop`` (text and
    thinking in pieces of about ``piece_size`` characters, citations as ``citations_delta``
    among the text pieces, a thinking block's signature as one ``signature_delta``, a tool
    block's input as ``input_json_delta`` pieces of its JSON, other blocks whole in their start),
    an occasional ``ping``, then ``message_delta`` (stop reason, stop sequence, output usage) and
    ``message_stop`` when the message has a ``stop_reason`` (without one, the stream is cut:
    ``message_start`` then carries the whole usage). The same seed gives the same events.
    Raises ``ValueError`` for a ``piece_size`` below 1.
    """
    if piece_size < 1:
        raise ValueError(f"piece_size must be at least 1, got {piece_size}")
    rng = random.Random(seed)
    usage = message.usage
    start_usage: dict[str, Any] | None = None
    if usage is not None:
        start_usage = dict(usage)
        if type(usage.get("output_tokens")) is int and message.stop_reason is not None:
            # the closing message_delta reports the output tokens; a cut stream ends without it
            start_usage["output_tokens"] = min(1, usage["output_tokens"])
    skeleton: dict[str, Any] = {
        "id": message.id,
        "type": message.type,
        "role": message.role,
        "model": message.model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": message.stop_sequence if message.stop_reason is None else None,
    }
    if start_usage is not None:
        skeleton["usage"] = start_usage
    skeleton.update(message.extra)
    yield {"type": "message_start", "message": skeleton}
    yield {"type": "ping"}

    def pieces(text: str) -> Iterator[str]:
        at = 0
        while at < len(text):
            size = rng.randint(1, 2 * piece_size)
            yield text[at : at + size]
            at += size

    def delta(index: int, body: dict[str, Any]) -> dict[str, Any]:
        return {"type": "content_block_delta", "index": index, "delta": body}

    for index, block in enumerate(message.content):
        kind = block.get("type")
        events: list[dict[str, Any]] = []
        start = dict(block)
        text = block.get("text")
        if kind == "text" and type(text) is str:
            start["text"] = ""
            citations = block.get("citations")
            cites: list[Any] = []
            if isinstance(citations, list) and citations:
                del start["citations"]
                cites = list(citations)
            texts = list(pieces(text))
            # each citation comes before some piece of the text (or after the last)
            at = sorted(rng.randint(0, len(texts)) for _ in cites)
            for i, piece in enumerate(texts):
                while cites and at[0] == i:
                    at.pop(0)
                    events.append(
                        delta(index, {"type": "citations_delta", "citation": cites.pop(0)})
                    )
                events.append(delta(index, {"type": "text_delta", "text": piece}))
            events.extend(
                delta(index, {"type": "citations_delta", "citation": citation})
                for citation in cites
            )
        elif kind == "thinking" and type(block.get("thinking")) is str:
            start["thinking"] = ""
            events.extend(
                delta(index, {"type": "thinking_delta", "thinking": piece})
                for piece in pieces(block["thinking"])
            )
            signature = block.get("signature")
            if type(signature) is str:
                start["signature"] = ""
                if signature:
                    events.append(delta(index, {"type": "signature_delta", "signature": signature}))
        elif kind in _TOOL_BLOCKS and isinstance(block.get("input"), dict):
            start["input"] = {}
            raw = json.dumps(block["input"], ensure_ascii=False) if block["input"] else ""
            parts = list(pieces(raw)) or [""]  # a tool without input streams one empty piece
            events.extend(
                delta(index, {"type": "input_json_delta", "partial_json": piece}) for piece in parts
            )
        yield {"type": "content_block_start", "index": index, "content_block": start}
        for event in events:
            yield event
            if rng.random() < 0.05:
                yield {"type": "ping"}
        yield {"type": "content_block_stop", "index": index}
    if message.stop_reason is None:
        return  # a stream cut before its end
    closing: dict[str, Any] = {
        "type": "message_delta",
        "delta": {"stop_reason": message.stop_reason, "stop_sequence": message.stop_sequence},
    }
    if usage is not None:
        later = {k: v for k, v in usage.items() if k in ("output_tokens", "server_tool_use")}
        if later:
            closing["usage"] = later
    yield closing
    yield {"type": "message_stop"}


# ---------------------------------------------------------------------------------------------
# the anthropic SDK, in and out


def _sdk() -> Any:
    """The anthropic package, or ``ModuleNotFoundError`` naming the extra that installs it."""
    return import_extra(
        "streamfold's anthropic interop",
        "anthropic",
        "anthropic",
        "anthropic._models",
        "anthropic.types",
    )


def to_anthropic(obj: m.AnthropicMessage, *, validate: bool = True) -> anthropic.types.Message:
    """Return an :class:`AnthropicMessage` as the anthropic SDK's ``Message``, every extra key
    kept.

    With ``validate=True`` the SDK's schema checks the data (``model_validate``): a message that
    does not fit it (no usage, a block type this SDK version does not know) raises
    :class:`InvalidChunkError` (a ``ValueError``) naming the field; ``validate=False`` builds it
    unchecked, the way the SDK builds the responses it receives.

    Raises ``ModuleNotFoundError`` (an ``ImportError``) when anthropic is not installed, and
    ``TypeError`` for anything but an ``AnthropicMessage``.
    """
    sdk = _sdk()
    if type(obj) is not m.AnthropicMessage:
        raise TypeError(
            f"to_anthropic takes a streamfold AnthropicMessage, not {type(obj).__name__}"
        )
    data = to_dict(obj)
    theirs = sdk.types.Message
    if not validate:
        # the SDK's own unchecked builder, which builds nested models (model_construct does not)
        from anthropic._models import construct_type

        construct: Any = construct_type
        built: anthropic.types.Message = construct(type_=theirs, value=data)
        return built
    import pydantic

    try:
        checked: anthropic.types.Message = theirs.model_validate(data)
        return checked
    except pydantic.ValidationError as exc:
        raise schema_error(exc, "anthropic Message", "to_anthropic") from exc


def from_anthropic(obj: anthropic.types.Message) -> m.AnthropicMessage:
    """Return the :class:`AnthropicMessage` of an anthropic SDK ``Message``, every extra key
    kept. Only the keys the object was given are read (``exclude_unset``), so nothing is
    invented.

    Raises ``TypeError`` for anything but an SDK ``Message`` and ``ModuleNotFoundError``
    without anthropic.
    """
    sdk = _sdk()
    if not isinstance(obj, sdk.types.Message):
        raise TypeError(f"from_anthropic takes an anthropic Message, not {type(obj).__name__}")
    data = obj.model_dump(mode="json", by_alias=True, exclude_unset=True, warnings=False)
    return from_dict(m.AnthropicMessage, data)

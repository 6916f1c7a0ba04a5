"""The fold: ``Accumulator``, which checks each chunk and hands it to the merge rules.

Theory of operation
-------------------
A stream is a sequence of chunks; each chunk carries, per choice ``index``, a small delta. The
accumulator keeps one ``Choice`` per index (see ``_rules``: the table of every field's rule and
the only code that writes the state) holding *fragments*, never finished values: lists of text
pieces for everything that concatenates (content, refusal, tool arguments, reasoning), the first
value for labels that are set once (role, tool-call id, type, name), the last value for what a
later chunk replaces (finish_reason, usage, fingerprint). Nothing is joined and no typed object is
built until ``snapshot()`` or ``completion()`` asks, so ``add()`` costs O(1) amortised per chunk and
the whole fold is linear in the stream.

``add()`` reads parsed JSON straight from the mapping. Other inputs are brought to that shape at the
door: JSON text is parsed, and objects with attributes (the openai SDK's pydantic chunks,
streamfold's own attrs chunks) are read one level at a time through ``_as_mapping`` (``_values``),
which costs a dict lookup on the hot path and nothing when the input is already a dict.

A chunk is applied whole or not at all. Each choice is read and checked (``_check_choice``) before
the first write to its state (``_write_choice``); when a chunk carries several choices, all are
checked first and written after. So a malformed chunk raises ``InvalidChunkError`` and leaves the
accumulator exactly as it was.

Keys the model does not name are kept, at the level they arrived, with rules that depend on where
they are (see ``_rules.Extras``): inside a delta, strings concatenate (unless they are labels),
lists of indexed objects merge item by item, other lists extend; everywhere else the latest
non-null value wins. That covers provider reasoning fields (``reasoning_content``, ``reasoning``,
``reasoning_details``) without naming them.
"""

from __future__ import annotations

import functools
import itertools
import operator
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, NoReturn, Protocol, cast, get_args

import attrs

from . import _model as m
from ._convert import converter
from ._errors import (
    IncompleteStreamError,
    PartialMergeError,
    StreamError,
    StreamfoldError,
    UsageError,
)
from ._rules import (
    CALL_KNOWN,
    CHOICE_KNOWN,
    CHUNK_KNOWN,
    DELTA_KNOWN,
    FUNCTION_KNOWN,
    LOGPROBS_KNOWN,
    NAMED,
    TEXT_CHOICE_KNOWN,
    TEXT_LOGPROB_LISTS,
    Choice,
    Extras,
    FieldRule,
)
from ._values import _as_mapping, _fail, _Invalid, _is_list, _plain, _sdk_fields, text_object

if TYPE_CHECKING:
    from ._events import Event, Tracker
    from ._view import ChoiceView

__all__ = ["Accumulator", "FieldRule", "PartialFold", "merge_partials"]

# "error" is left out of the chunk's known fields on purpose: a chunk carrying it takes the
# unusual-keys path; so do OpenAI's padding and the SDK's empty moderation field
_CHUNK_PADDED: Final = CHUNK_KNOWN | {"obfuscation", "moderation"}
_RULES: Final[tuple[str, ...]] = get_args(FieldRule)


def check_field_rules(field_rules: Any) -> dict[str, FieldRule] | None:
    """Check a ``field_rules`` argument; return it as a dict (``None`` when empty).

    Raises :class:`UsageError` for a value that is not a mapping, a rule name that is not a
    :data:`FieldRule`, or a field the fold reads itself (``content``, ``tool_calls``, ...).
    """
    if not field_rules:
        return None
    if not isinstance(field_rules, Mapping):
        raise UsageError(
            "field_rules must map field names to rules, e.g. {'reasoning': 'concat'}; "
            f"got {type(field_rules).__name__}"
        )
    rules: dict[str, FieldRule] = {}
    for key, rule in field_rules.items():
        if type(key) is not str:
            raise UsageError(f"field_rules: field names are strings, got {key!r}")
        if not isinstance(rule, str) or rule not in _RULES:
            expected = ", ".join(map(repr, _RULES))
            raise UsageError(f"field_rules[{key!r}]: unknown rule {rule!r}; expected {expected}")
        if key in NAMED:
            raise UsageError(
                f"field_rules[{key!r}]: {key!r} is a field streamfold folds by its own rule; "
                "field rules apply to the fields it does not name (reasoning, x_groq, ...)"
            )
        rules[key] = cast(FieldRule, rule)  # checked against _RULES above
    return rules


_OPT_STR: Final = (str, type(None))
_OPT_INT: Final = (int, type(None))
_COMPACT_MASK: Final = 4095  # every 4096 chunks, long fragment lists are compacted


ANTHROPIC_EVENTS: Final = frozenset(
    {
        "message_start",
        "message_delta",
        "message_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "ping",
    }
)


def other_dialect(kind: str) -> str:
    """The error for an event of another streaming API (a ``type`` and no ``choices``)."""
    if kind.startswith("response."):
        api = "the OpenAI Responses API"
    elif kind in ANTHROPIC_EVENTS:
        api = "Anthropic's Messages API"
    else:
        api = "an API other than chat completions"
    return (
        f"{kind!r} is an event of {api}, not a chat.completion.chunk: this stream began"
        " as a chat completion stream, and one stream speaks one API (accumulate, wrap and"
        " from_sse pick the API from a stream's first event; read_log keeps each stream apart)"
    )


# ---------------------------------------------------------------------------------------------
# checks for known fields (each raises _Invalid naming the field)


def _opt_str(value: Any, path: str) -> str | None:
    if value is None or type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    _fail(path, "a string", value)


def _is_int(value: Any) -> bool:
    return type(value) is int or (isinstance(value, int) and not isinstance(value, bool))


def _opt_int(value: Any, path: str) -> int | None:
    if value is None or type(value) is int:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    _fail(path, "an int", value)


def _check_bytes(value: Any, path: str) -> None:
    # Only the list is checked: checking every byte of every alternative would cost more than
    # the rest of a logprobs chunk, for a field that is informational. Items are kept as sent.
    if value is not None and not _is_list(value):
        _fail(path, "a list of ints", value)


def _check_number(value: Any, path: str) -> None:
    if type(value) is float or type(value) is int:
        return
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return
    _fail(path, "a number", value)


def _token_entries(value: Any, ci: int, name: str) -> list[Any] | None:
    """Check a list of token logprob entries; return it as a list of plain dicts.

    The loop checks types only, of entries written with every field (as servers write them:
    subscripts cost less than ``get``); anything else, and the path of a bad field, is left to
    the careful twin.
    """
    if type(value) is not list:
        if not _is_list(value) and not isinstance(value, m.TokenLogprobs):
            _fail(f"choices[{ci}].logprobs.{name}", "a list", value)
        value = list(value)
    try:
        for entry in value:
            # subscripts: a missing key or a non-dict entry raises, and the careful twin goes on
            if (
                type(entry) is not dict
                or type(entry["token"]) is not str
                or type(entry["logprob"]) not in _NUMBER_TYPES
            ):
                break
            raw = entry["bytes"]
            if type(raw) is not list and raw is not None:
                break
            tops = entry["top_logprobs"]
            if type(tops) is not list:
                if tops is None:
                    continue
                break
            for top in tops:  # inline: a function call per alternative costs as much again
                if (
                    type(top) is not dict
                    or type(top["token"]) is not str
                    or type(top["logprob"]) not in _NUMBER_TYPES
                ):
                    break
                raw = top["bytes"]
                if type(raw) is not list and raw is not None:
                    break
            else:
                continue
            break
        else:
            checked: list[Any] = value
            return checked
    except (KeyError, TypeError, IndexError):
        pass
    return _token_entries_slow(value, f"choices[{ci}].logprobs.{name}")


_NUMBER_TYPES: Final = (float, int)
_TEXT_CHOICE: Final = "text"  # the first item of a legacy choice's checked tuple


def _token_entries_slow(value: list[Any], path: str) -> list[Any]:
    """The careful twin of ``_token_entries``: converts objects, names the bad field (its path
    is written only then: a field left out is no error, and costs little here)."""
    out = list(value)
    for i, entry in enumerate(out):
        if type(entry) is not dict:
            entry = out[i] = _plain_entry(entry, f"{path}[{i}]")
        tops = entry.get("top_logprobs")
        if not _good_entry(entry):
            _check_entry(entry, f"{path}[{i}]")  # raises for a bad field
        if tops is None:
            continue
        if not _is_list(tops):
            _fail(f"{path}[{i}].top_logprobs", "a list", tops)
        for j, top in enumerate(tops):
            if type(top) is not dict:
                top = _plain_entry(top, f"{path}[{i}].top_logprobs[{j}]")
            if not _good_entry(top):
                _check_entry(top, f"{path}[{i}].top_logprobs[{j}]")  # raises for a bad field
        if type(tops) is not list or any(type(t) is not dict for t in tops):
            entry = out[i] = _plain(entry)
    return out


def _good_entry(entry: dict[str, Any]) -> bool:
    """Whether an entry's own fields (its alternatives aside) are what they must be."""
    raw = entry.get("bytes")
    return (
        type(entry.get("token")) is str
        and type(entry.get("logprob")) in _NUMBER_TYPES
        and (raw is None or type(raw) is list)
    )


def _check_entry(entry: dict[str, Any], path: str) -> None:
    """Raise for the first bad field of an entry (its alternatives aside)."""
    if type(entry.get("token")) is not str:
        _fail(f"{path}.token", "a string", entry.get("token"))
    _check_number(entry.get("logprob"), f"{path}.logprob")
    _check_bytes(entry.get("bytes"), f"{path}.bytes")  # a list; its items are kept as sent


def _plain_entry(entry: Any, path: str) -> dict[str, Any]:
    fields = getattr(entry, "__dict__", None)
    if (
        type(fields) is dict
        and not getattr(entry, "__pydantic_extra__", None)
        and len(getattr(entry, "__pydantic_fields_set__", ())) == len(fields)
    ):
        # an SDK logprob entry sent whole: copy it without walking every byte through _plain
        out = dict(fields)
        tops = out.get("top_logprobs")
        if tops:
            out["top_logprobs"] = [_plain_entry(t, path) for t in tops]
        raw = out.get("bytes")
        if raw is not None:
            out["bytes"] = list(raw)
        return out
    plain = _plain(_as_mapping(entry, path))
    assert type(plain) is dict
    return plain


_USAGE_INTS: Final = ("prompt_tokens", "completion_tokens", "total_tokens")
_USAGE_DETAILS: Final = ("prompt_tokens_details", "completion_tokens_details")


def _usage(value: Any, path: str) -> dict[str, Any] | None:
    """Check a usage object; return it as plain data."""
    if value is None:
        return None
    usage = value if type(value) is dict else _plain(_as_mapping(value, path))
    for name in _USAGE_INTS:
        v = usage.get(name)
        if v is not None and not _is_int(v):
            _fail(f"{path}.{name}", "an int", v)
    for name in _USAGE_DETAILS:
        details = usage.get(name)
        if details is None:
            continue
        if type(details) is not dict:
            _fail(f"{path}.{name}", "an object", details)
        for key in _DETAIL_INTS[name]:
            v = details.get(key)
            if v is not None and not _is_int(v):
                _fail(f"{path}.{name}.{key}", "an int", v)
    return usage


_DETAIL_INTS: Final = {
    "prompt_tokens_details": tuple(
        a.name for a in attrs.fields(m.PromptTokensDetails) if a.name != "extra"
    ),
    "completion_tokens_details": tuple(
        a.name for a in attrs.fields(m.CompletionTokensDetails) if a.name != "extra"
    ),
}


def _mapping_or_none(value: Any, path: str) -> dict[str, Any] | None:
    if value is None or type(value) is dict:
        return value
    return _as_mapping(value, path)


# ---------------------------------------------------------------------------------------------
# the accumulator


class Accumulator:
    """Fold ``chat.completion.chunk`` objects into the complete ``chat.completion``.

    A sans-I/O object: ``add(chunk)`` takes one chunk at a time, ``snapshot()`` builds the
    completion so far, ``completion()`` the final one. Chunks may be parsed JSON (any mapping),
    the JSON text of one chunk (``str`` or ``bytes``), or an object exposing the fields as
    attributes (the openai SDK's ``ChatCompletionChunk``, streamfold's own ``ChatCompletionChunk``).
    Streams of the legacy completions API (``object: "text_completion"``, ``choices[].text``) are
    recognised by their shape and fold into a :class:`TextCompletion`.

    ``field_rules`` overrides how an unknown field is merged (see :data:`FieldRule`), by name.
    ``eager_tool_calls=True`` makes the events (``add_events``) report a tool call done as soon as
    a later call of its choice starts. ``normalize_finish_reason=True`` reports ``"tool_calls"``
    for a choice that called tools but finished with ``"stop"`` (Gemini, TGI and old Ollama do
    that); by default the value sent is kept. OpenAI's ``obfuscation`` padding (a random string
    on every chunk, not part of a non-streamed completion) is dropped unless
    ``keep_obfuscation=True``; it then keeps its latest value, as any top-level extra.

    Raises :class:`UsageError` for ``field_rules`` that are not valid: a rule that is not a
    :data:`FieldRule`, a field the fold reads itself (``content``, ``tool_calls``, ...), or
    ``obfuscation`` without ``keep_obfuscation=True``.
    """

    __slots__ = (
        "_alt_usage",
        "_choices",
        "_closed",
        "_count",
        "_created",
        "_eager",
        "_error",
        "_extra",
        "_final",
        "_fingerprint",
        "_id",
        "_keep_padding",
        "_kind",
        "_model",
        "_normalize",
        "_pending",
        "_pending_envelope",
        "_rules",
        "_segment",
        "_tier",
        "_tracker",
        "_usage",
        "_variants",  # see variant(): set on first use
    )

    def __init__(
        self,
        *,
        field_rules: Mapping[str, FieldRule] | None = None,
        normalize_finish_reason: bool = False,
        eager_tool_calls: bool = False,
        keep_obfuscation: bool = False,
    ) -> None:
        self._count = 0
        self._choices: dict[int, Choice] = {}
        self._id: str | None = None
        self._created: int | None = None
        self._model: str | None = None
        self._fingerprint: str | None = None
        self._tier: str | None = None
        self._usage: dict[str, Any] | None = None
        self._alt_usage: dict[str, Any] | None = None  # x_groq.usage, used when usage never came
        self._rules = check_field_rules(field_rules)
        if self._rules and "obfuscation" in self._rules and not keep_obfuscation:
            raise UsageError(
                "field_rules['obfuscation']: the padding is dropped from the completion; "
                "pass keep_obfuscation=True to keep it (and fold it by this rule)"
            )
        self._keep_padding = keep_obfuscation
        self._extra = Extras(False, self._rules)
        self._kind: Literal["chat", "text"] | None = None
        self._final: m.ChatCompletion | m.TextCompletion | None = None
        self._error: StreamError | None = None
        self._normalize = normalize_finish_reason
        self._closed = False  # completion() was called or the stream reported an error
        self._pending: tuple[str | None, int | None, str | None] | None = None
        self._pending_envelope = True  # id, created or model still unknown
        self._tracker: Tracker | None = None  # set once events are asked for
        self._eager = eager_tool_calls
        self._segment = False  # a PartialFold's segment: routing that needs the past is deferred

    # -- public ---------------------------------------------------------------------------------

    @property
    def chunks(self) -> int:
        """How many chunks ``add()`` has been given, bad ones included."""
        return self._count

    @property
    def is_complete(self) -> bool:
        """True when at least one choice arrived and every choice has a finish_reason."""
        if not self._choices:
            return False
        return all(c.finish_reason is not None for c in self._choices.values())

    def choice_states(self) -> Mapping[int, ChoiceView]:
        """Each choice's state by index, read-only (see ``_view``): the live state, not a copy."""
        return types.MappingProxyType(self._choices)

    @property
    def usage_data(self) -> dict[str, Any] | None:
        """The usage folded so far as plain data (``x_groq.usage`` when no usage came), or None."""
        return self._usage if self._usage is not None else self._alt_usage

    def mark_segment(self) -> None:
        """Fold a segment of a stream (see :class:`PartialFold`): tool-call routing, which needs
        the calls of earlier segments, waits for the merge. Call before the first chunk."""
        self._segment = True

    def __repr__(self) -> str:
        return (
            f"<Accumulator chunks={self._count}, choices={len(self._choices)},"
            f" complete={self.is_complete}{', closed' if self._closed else ''}>"
        )

    def add(self, chunk: Any) -> None:
        """Fold one chunk.

        Raises :class:`InvalidChunkError` when the chunk is malformed (it is then not applied
        and the accumulator stays usable), :class:`StreamError` when the chunk reports a server
        error (after folding what it carried), and :class:`UsageError` after ``completion()`` or
        a ``StreamError``.
        """
        position = self._count
        self._count = position + 1
        if self._closed:
            self._refuse(position)
        try:
            if type(chunk) is not dict:
                chunk = self._coerce(chunk)
                if chunk is None:  # `data: [DONE]`: nothing to fold, and not a chunk
                    self._count = position
                    return
            error = self._apply(chunk)
        except _Invalid as exc:
            self._pending = None
            raise exc.located("chunk", position, self.snapshot(), chunk) from None
        if error is not None:
            self._raise_stream_error(error, position)
        if not position & _COMPACT_MASK and position and self._tracker is None:
            for state in self._choices.values():
                state.compact()

    def add_events(self, chunk: Any) -> list[Event]:
        """Fold one chunk like :meth:`add` and return the events it caused (see ``_events``).

        A server error is reported as an :class:`ErrorEvent` at the end of the list rather than
        raised (the accumulator then refuses further chunks, as after ``add``). Raises
        :class:`InvalidChunkError` and :class:`UsageError` as ``add`` does.
        """
        tracker = self._tracker
        if tracker is None:
            from ._events import Tracker

            tracker = self._tracker = Tracker(self, eager_tool_calls=self._eager)
        try:
            self.add(chunk)
        except StreamError as exc:
            return tracker.changes(exc)
        return tracker.changes()

    def end_events(self) -> list[Event]:
        """The done events of every choice not done yet: call once, when the stream has ended.

        A finished choice's done events come here unless the closing usage chunk (or a server
        error) brought them: a ``finish_reason`` alone is not final (see ``_events``).
        """
        if self._tracker is None:
            from ._events import Tracker

            self._tracker = Tracker(self, eager_tool_calls=self._eager)
            self._tracker.changes()
        return self._tracker.end()

    def _refuse(self, position: int) -> NoReturn:
        raise UsageError(
            f"chunk {position}: add() after "
            + ("completion()" if self._error is None else "the stream reported an error"),
            position=position,
            completion=self._final if self._final is not None else self.snapshot(),
        )

    def snapshot(self) -> m.ChatCompletion | m.TextCompletion:
        """Build the completion folded so far; may be called any number of times."""
        if self._final is not None:
            return self._final
        return self._build()

    def completion(self, *, strict: bool = False) -> m.ChatCompletion | m.TextCompletion:
        """Return the final completion, built once; ``add()`` is a usage error afterwards.

        With ``strict=True``, raises :class:`IncompleteStreamError` when a choice has no
        finish_reason (or nothing arrived); the error's ``completion`` holds what was folded.
        """
        if self._final is None:
            self._final = self._build()
            self._closed = True
        if strict and not self.is_complete:
            missing = sorted(i for i, c in self._choices.items() if c.finish_reason is None)
            what = (
                "no choice arrived"
                if not self._choices
                else "no finish_reason for choice " + ", ".join(map(str, missing))
            )
            raise IncompleteStreamError(
                f"the stream ended early: {what}",
                position=self._count - 1 if self._count else None,
                completion=self._final,
            )
        return self._final

    # -- reading input --------------------------------------------------------------------------

    def _coerce(self, chunk: Any) -> dict[str, Any] | None:
        """The chunk as a dict; None for an SSE ``data: [DONE]`` line (the end marker)."""
        fields = _sdk_fields(chunk)  # the SDK's chunk as it comes: no copy
        if fields is not None:
            return fields
        if isinstance(chunk, (str, bytes, bytearray, memoryview)):
            return text_object(chunk)
        return _as_mapping(chunk, "")

    # -- the merge rules ------------------------------------------------------------------------

    def _apply(self, chunk: dict[str, Any]) -> Any:
        """Check and fold one chunk; return the error payload it carries, if any."""
        # First-value fields are read until they are known; later chunks repeat them.
        if self._pending_envelope:
            self._envelope(chunk)
        elif (
            type(chunk.get("id")) not in _OPT_STR
            or type(chunk.get("model")) not in _OPT_STR
            or type(chunk.get("created")) not in _OPT_INT
        ):
            self._envelope(chunk)  # raises, naming the field
        fingerprint = chunk.get("system_fingerprint")
        if fingerprint is not None and type(fingerprint) is not str:
            fingerprint = _opt_str(fingerprint, "system_fingerprint")
        tier = chunk.get("service_tier")
        if tier is not None and type(tier) is not str:
            tier = _opt_str(tier, "service_tier")
        usage = chunk.get("usage")
        if usage is not None:
            usage = _usage(usage, "usage")
        # Unknown keys, errors and x_groq are rare: one C-level key check routes them aside.
        # OpenAI's random padding, on every chunk, is the one extra key met without the general
        # loop: dropped, or with keep_obfuscation=True kept (latest wins, as there); the SDK's
        # objects also carry an empty moderation field.
        unusual = not _CHUNK_PADDED.issuperset(chunk)
        alt_usage = error = padding = None
        if not unusual and ("obfuscation" in chunk or "moderation" in chunk):
            if chunk.get("moderation") is None:
                padding = chunk.get("obfuscation")
            else:  # a moderation chunk: the general loop keeps both
                unusual = True
        if unusual:
            error = chunk.get("error")
            kind: Any = chunk.get("type")
            # another API's event: a `type` and no choices (a nested error is a server's error)
            event = error is None and type(kind) is str and "choices" not in chunk
            if chunk.get("object") == "error" or (event and kind == "error"):
                self._pending = None  # vLLM's flat error object, a flat error event
                return _plain(chunk)
            if event:
                raise _Invalid("type", other_dialect(kind))
            groq = chunk.get("x_groq")
            if type(groq) is dict and groq.get("usage") is not None:
                alt_usage = _usage(groq["usage"], "x_groq.usage")

        choices = chunk.get("choices")
        if choices is not None:
            if type(choices) is not list and not _is_list(choices):
                _fail("choices", "a list", choices)
            if len(choices) == 1:
                checked = self._check_choice(choices[0], 0, True)
                if checked is not None:
                    self._write_choice(checked)
            else:  # check all before writing any, so a bad chunk is not applied at all
                for i, choice in enumerate(choices):
                    self._check_choice(choice, i, False)
                for i, choice in enumerate(choices):  # (checked again: a write may set the kind)
                    checked = self._check_choice(choice, i, False)
                    assert checked is not None  # no fast path: it would write
                    self._write_choice(checked)

        # -- the chunk is good: write the top level ------------------------------------------
        if fingerprint is not None:
            self._fingerprint = fingerprint
        if tier is not None:
            self._tier = tier
        if usage is not None:
            self._usage = usage
        if padding is not None and self._keep_padding:  # else dropped: not part of the completion
            if self._rules is None:
                self._extra.set_last("obfuscation", padding)
            else:
                self._extra.add("obfuscation", padding)
        elif unusual:
            if alt_usage is not None:
                self._alt_usage = alt_usage
            extra = self._extra
            for key, value in chunk.items():
                if key not in CHUNK_KNOWN and value is not None and key != "error":
                    if key != "obfuscation" or self._keep_padding:
                        extra.add(key, value)
        if self._pending is not None:
            self._id, self._created, self._model = self._pending
            self._pending = None
            self._pending_envelope = (
                self._id is None or self._created is None or (self._model is None)
            )
        return error

    def _envelope(self, chunk: dict[str, Any]) -> None:
        """Check id / created / model; the first non-empty values are written after the chunk."""
        cid = chunk.get("id")
        if cid is not None and type(cid) is not str:
            cid = _opt_str(cid, "id")
        created = chunk.get("created")
        if created is not None and type(created) is not int:
            created = _opt_int(created, "created")
        model = chunk.get("model")
        if model is not None and type(model) is not str:
            model = _opt_str(model, "model")
        # "" and a created of 0 count as empty (Azure's first chunk, TGI's ids)
        self._pending = (
            self._id or cid or None,
            self._created or created or None,
            self._model or model or None,
        )

    def _check_choice(self, choice: Any, ci: int, fast: bool) -> tuple[Any, ...] | None:
        """The check step of one choice: read and check every field, write nothing, and return
        what ``_write_choice`` writes; None when the ``fast`` path folded the commonest choice
        (one text or arguments fragment, checked, to a choice there is) at once."""
        if type(choice) is not dict:
            choice = _sdk_fields(choice) or _as_mapping(choice, "choices[{}]", ci)
        index = choice.get("index", 0)
        if type(index) is not int:
            if index is None:
                index = 0
            elif not _is_int(index):
                _fail(f"choices[{ci}].index", "an int", index)
            index = int(index)
        state = self._choices.get(index)
        if state is None:
            if index < 0:
                _fail(f"choices[{ci}].index", "a non-negative int", index)
            if self._kind == "text" or (
                self._kind is None and "delta" not in choice and "text" in choice
            ):
                return self._check_text_choice(choice, ci, index)
        elif self._kind == "text":
            return self._check_text_choice(choice, ci, index)
        finish = choice.get("finish_reason")
        if finish is not None and type(finish) is not str:
            finish = _opt_str(finish, f"choices[{ci}].finish_reason")
        delta = choice.get("delta")
        if type(delta) is not dict and delta is not None:
            delta = _sdk_fields(delta) or _as_mapping(delta, "choices[{}].delta", ci)
        logprobs = choice.get("logprobs")
        choice_extra = not CHOICE_KNOWN.issuperset(choice)

        if (
            type(delta) is dict
            and (
                len(delta) == 1
                # SDK objects (and some servers) write every field, the unused ones as null
                or (
                    DELTA_KNOWN.issuperset(delta)
                    and [*delta.values()].count(None) == len(delta) - 1
                )
            )
            and state is not None
            and logprobs is None
            and not choice_extra
            and fast
        ):
            # The common chunk: one text fragment, or one tool-call fragment.
            content = delta.get("content")
            if type(content) is str:
                if content:  # Choice.add_text inlined: a call per chunk costs ~5% of the fold
                    state.content.append(content)
                if finish:
                    state.set_finish_reason(finish)
                return None
            tool_calls = delta.get("tool_calls")
            if tool_calls is not None:
                if not self._argument_fragment(state, tool_calls):
                    self._fold_tool_calls(state, self._check_tool_calls(tool_calls, ci))
                if finish:
                    state.set_finish_reason(finish)
                return None

        if type(delta) is not dict and delta is not None:
            delta = _as_mapping(delta, f"choices[{ci}].delta")
        lp_content = lp_refusal = None
        if logprobs is not None:
            if type(logprobs) is not dict:
                logprobs = _as_mapping(logprobs, f"choices[{ci}].logprobs")
            lp_content = logprobs.get("content")
            if lp_content is not None:
                lp_content = _token_entries(lp_content, ci, "content")
            lp_refusal = logprobs.get("refusal")
            if lp_refusal is not None:
                lp_refusal = _token_entries(lp_refusal, ci, "refusal")

        role = content = refusal = tool_calls = fcall = audio = annotations = parts = None
        text_only = False  # the delta is {"content": str}: nothing else to read or keep
        if delta:
            content = delta.get("content")
            text_only = len(delta) == 1 and type(content) is str
            if (
                text_only
                and fast
                and state is not None
                and not choice_extra
                and logprobs is not None
                and LOGPROBS_KNOWN.issuperset(logprobs)
            ):  # the common logprobs chunk: a text and its entries, written at once
                if content:
                    state.content.append(content)  # Choice.add_text inlined, as above
                held = state.lp_content
                if held is not None and lp_content is not None and lp_refusal is None:
                    held.extend(lp_content)  # Choice.extend_logprobs inlined, as above
                else:
                    state.extend_logprobs(lp_content, lp_refusal)
                if finish:
                    state.set_finish_reason(finish)
                return None
        if delta and not text_only:
            parts = None
            if content is not None and type(content) is not str:
                if _is_list(content):  # typed parts (Mistral's Magistral, Databricks)
                    content, parts = _content_parts(content, ci)
                else:
                    content = _opt_str(content, f"choices[{ci}].delta.content")
            role = delta.get("role")
            if role is not None and type(role) is not str:
                role = _opt_str(role, f"choices[{ci}].delta.role")
            refusal = delta.get("refusal")
            if refusal is not None and type(refusal) is not str:
                refusal = _opt_str(refusal, f"choices[{ci}].delta.refusal")
            tool_calls = delta.get("tool_calls")
            if tool_calls is not None:
                tool_calls = self._check_tool_calls(tool_calls, ci)
            fcall = delta.get("function_call")
            if fcall is not None:
                fcall = self._check_function(fcall, ci, "function_call")
            audio = delta.get("audio")
            if audio is not None:
                audio = self._check_audio(audio, f"choices[{ci}].delta.audio")
            annotations = delta.get("annotations")
            if annotations is not None:
                if not _is_list(annotations):
                    _fail(f"choices[{ci}].delta.annotations", "a list", annotations)
                for i, note in enumerate(annotations):
                    _mapping_or_none(note, f"choices[{ci}].delta.annotations[{i}]")
        return (
            index,
            choice if choice_extra else None,
            delta if delta and not text_only else None,
            content,
            parts,
            role,
            refusal,
            tool_calls,
            fcall,
            audio,
            annotations,
            logprobs,
            lp_content,
            lp_refusal,
            finish,
        )

    def _write_choice(self, checked: tuple[Any, ...]) -> None:
        """The write step of one choice: what ``_check_choice`` checked, to the rule methods of
        its state (see ``_rules``)."""
        if checked[0] is _TEXT_CHOICE:
            self._write_text_choice(*checked[1:])
        else:
            self._write_chat_choice(*checked)

    def _write_chat_choice(
        self,
        index: int,
        choice: dict[str, Any] | None,  # with keys of its own, else None
        delta: dict[str, Any] | None,  # more than a text, else None
        content: str | None,
        parts: list[Any] | None,
        role: str | None,
        refusal: str | None,
        tool_calls: list[Any] | None,
        fcall: Any,
        audio: Any,
        annotations: list[Any] | None,
        logprobs: dict[str, Any] | None,
        lp_content: list[Any] | None,
        lp_refusal: list[Any] | None,
        finish: str | None,
    ) -> None:
        state = self._choices.get(index)
        if state is None:
            self._kind = "chat"
            state = self._choices[index] = Choice(index, self._rules)
        if content:
            state.add_text(content)
        if delta is not None:  # more than a text: every field
            if parts:
                state.add_parts(parts)
            if role:
                state.set_role(role)
            if refusal:
                state.add_refusal(refusal)
            if tool_calls:
                self._fold_tool_calls(state, tool_calls)
            if fcall is not None:
                state.add_function(fcall)
            if audio is not None:
                state.add_audio(audio)
            if annotations:
                state.extend_annotations(_plain(annotations))
            if not DELTA_KNOWN.issuperset(delta):
                extra = state.delta_extra
                for key, value in delta.items():
                    if key not in DELTA_KNOWN and value is not None:
                        extra.add(key, value)
        if logprobs is not None:
            state.extend_logprobs(lp_content, lp_refusal)
            if len(logprobs) != 2 - [lp_content, lp_refusal].count(None) and (
                not LOGPROBS_KNOWN.issuperset(logprobs)
            ):
                for key, value in logprobs.items():
                    if key not in LOGPROBS_KNOWN:
                        state.add_lp_extra(key, value)
        if finish:
            state.set_finish_reason(finish)
        if choice is not None:  # unknown keys
            for key, value in choice.items():
                if key not in CHOICE_KNOWN and value is not None:
                    state.extra.add(key, value)

    # tool calls ---------------------------------------------------------------------------------

    def _argument_fragment(self, state: Choice, tool_calls: Any) -> bool:
        """Fold the commonest tool-call delta, ``[{"index": i, "function": {"arguments": s}}]``
        for a call already at index ``i``, and return True; False for anything else.

        The routing rule gives the same answer here (no id and a known index: continue the call
        at that index) without building the fragment tuple of the general path.
        """
        if type(tool_calls) is not list or len(tool_calls) != 1 or self._segment:
            return False
        frag = tool_calls[0]
        if type(frag) is dict:
            if len(frag) != 2:
                return False
            index = frag.get("index")
            fn = frag.get("function")
            if type(index) is not int or type(fn) is not dict or len(fn) != 1:
                return False
            args = fn.get("arguments")
        else:  # the openai SDK's objects: every field present, the unused ones None
            frag = _sdk_fields(frag)
            if (
                frag is None
                or len(frag) != 4
                or frag.get("id") is not None
                or frag.get("type") is not None
            ):
                return False
            index = frag.get("index")
            fn = _sdk_fields(frag.get("function"))
            if type(index) is not int or fn is None or len(fn) != 2 or fn.get("name") is not None:
                return False
            args = fn.get("arguments")
        call = state.by_index.get(index)
        if type(args) is not str or call is None:
            return False
        # Call.add inlined for this fragment (a call per chunk costs ~5% of the fold here)
        if args:
            call.args.append(args)
        call.has_fn = True
        return True

    def _check_tool_calls(self, value: Any, ci: int) -> list[tuple[Any, ...]]:
        """Check every tool-call fragment; return what the fold needs of each, as a tuple:
        ``(index, id, type, name, arguments, has function, function extras, call extras)``."""
        if type(value) is not list and not _is_list(value):
            _fail(f"choices[{ci}].delta.tool_calls", "a list", value)
        out = []
        for i, frag in enumerate(value):
            if type(frag) is not dict:
                frag = _as_mapping(frag, "choices[{}].delta.tool_calls[{}]", ci, i)
            index = frag.get("index")
            if index is not None and type(index) is not int:
                if not _is_int(index):
                    _fail(f"choices[{ci}].delta.tool_calls[{i}].index", "an int", index)
                index = int(index)
            call_id = frag.get("id")
            if call_id is not None and type(call_id) is not str:
                call_id = _opt_str(call_id, f"choices[{ci}].delta.tool_calls[{i}].id")
            kind = frag.get("type")
            if kind is not None and type(kind) is not str:
                kind = _opt_str(kind, f"choices[{ci}].delta.tool_calls[{i}].type")
            fn = frag.get("function")
            # Unknown keys: each non-null value read above proves a distinct known key, so a
            # dict no longer than their count has none (the set check runs only otherwise).
            call_extra = None
            if len(frag) != 4 - [index, call_id, kind, fn].count(None):
                call_extra = [(k, v) for k, v in frag.items() if k not in CALL_KNOWN]
            name = args = fn_extra = None
            if fn is not None:
                if type(fn) is not dict:
                    fn = self._check_function(fn, ci, "tool_calls", i)
                name = fn.get("name")
                args = fn.get("arguments")
                if (name is not None and type(name) is not str) or (
                    args is not None and type(args) is not str
                ):
                    self._check_function(fn, ci, "tool_calls", i)  # raises, naming the field
                if len(fn) != 2 - [name, args].count(None):
                    fn_extra = [(k, v) for k, v in fn.items() if k not in FUNCTION_KNOWN]
                    if not call_id:
                        # older llama.cpp put the call's id inside function
                        fn_id = fn.get("id")
                        if type(fn_id) is str and fn_id:
                            call_id = fn_id
            out.append((index, call_id, kind, name, args, fn is not None, fn_extra, call_extra))
        return out

    def _check_function(
        self, value: Any, ci: int, where: str, i: int | None = None
    ) -> dict[str, Any]:
        fn: dict[str, Any] = value
        if type(fn) is not dict:
            if i is None:
                fn = _as_mapping(value, "choices[{}].delta.{}", ci, where)
            else:
                fn = _as_mapping(value, "choices[{}].delta.{}[{}].function", ci, where, i)
        name = fn.get("name")
        args = fn.get("arguments")
        if (name is not None and type(name) is not str) or (
            args is not None and type(args) is not str
        ):
            path = f"choices[{ci}].delta.{where}" + (f"[{i}].function" if i is not None else "")
            fn = value if type(value) is dict else _as_mapping(value, path)
            _opt_str(fn.get("name"), f"{path}.name")
            _opt_str(fn.get("arguments"), f"{path}.arguments")
        return fn

    def _fold_tool_calls(self, state: Choice, fragments: list[tuple[Any, ...]]) -> None:
        """Checked tool-call fragments, each to the call it is routed to (``Choice.call_for``);
        a segment fold keeps them in order instead, to route when the partials are merged (the
        routing needs the calls of earlier segments: see ``PartialFold``)."""
        if self._segment:
            state.log_calls(fragments)
        else:
            state.add_calls(fragments)

    # audio --------------------------------------------------------------------------------------

    def _check_audio(self, value: Any, path: str) -> dict[str, Any]:
        audio = value if type(value) is dict else _as_mapping(value, path)
        for key in ("id", "data", "transcript"):
            v = audio.get(key)
            if v is not None and type(v) is not str:
                _opt_str(v, f"{path}.{key}")
        _opt_int(audio.get("expires_at"), f"{path}.expires_at")
        return audio

    # legacy text completions --------------------------------------------------------------------

    def _check_text_choice(self, choice: dict[str, Any], ci: int, index: int) -> tuple[Any, ...]:
        """The check step of a legacy completion's choice (see ``_check_choice``)."""
        finish = choice.get("finish_reason")
        if finish is not None and type(finish) is not str:
            finish = _opt_str(finish, f"choices[{ci}].finish_reason")
        text = choice.get("text")
        if text is not None and type(text) is not str:
            text = _opt_str(text, f"choices[{ci}].text")
        logprobs = choice.get("logprobs")
        lists: dict[str, list[Any]] = {}
        if logprobs is not None:
            if type(logprobs) is not dict:
                logprobs = _as_mapping(logprobs, f"choices[{ci}].logprobs")
            for name in TEXT_LOGPROB_LISTS:
                value = logprobs.get(name)
                if value is None:
                    continue
                if not _is_list(value):
                    _fail(f"choices[{ci}].logprobs.{name}", "a list", value)
                lists[name] = _plain(value)
            _check_text_logprobs(lists, f"choices[{ci}].logprobs")
        return _TEXT_CHOICE, index, text, logprobs, lists, finish, choice

    def _write_text_choice(
        self,
        index: int,
        text: str | None,
        logprobs: dict[str, Any] | None,
        lists: dict[str, list[Any]],
        finish: str | None,
        choice: dict[str, Any],
    ) -> None:
        """The write step of a legacy completion's choice."""
        self._kind = "text"
        state = self._choices.get(index)
        if state is None:
            state = self._choices[index] = Choice(index, self._rules)
        if text:
            state.add_text(text)
        if logprobs is not None:
            state.extend_text_logprobs(lists)
            for key, value in logprobs.items():
                if key not in TEXT_LOGPROB_LISTS:
                    state.add_lp_extra(key, value)
        if finish:
            state.set_finish_reason(finish)
        for key, value in choice.items():
            if key not in TEXT_CHOICE_KNOWN and value is not None:
                state.extra.add(key, value)

    # errors -------------------------------------------------------------------------------------

    def _raise_stream_error(self, error: Any, position: int) -> NoReturn:
        err = StreamError.reported("chunk", position, _plain(error), self._build())
        self._error = err
        self._closed = True
        raise err

    # building the result ------------------------------------------------------------------------

    def _build(self) -> m.ChatCompletion | m.TextCompletion:
        try:
            usage = self._usage if self._usage is not None else self._alt_usage
            usage_obj = converter.structure(usage, m.CompletionUsage) if usage is not None else None
            extra = self._extra.build()
            states = sorted(self._choices.values(), key=lambda c: c.index)
            if self._kind == "text":
                return m.TextCompletion(
                    id=self._id,
                    created=self._created,
                    model=self._model,
                    choices=tuple(c.build_text() for c in states),
                    usage=usage_obj,
                    system_fingerprint=self._fingerprint,
                    extra=extra,
                )
            return m.ChatCompletion(
                id=self._id,
                created=self._created,
                model=self._model,
                choices=tuple(c.build(self._normalize) for c in states),
                usage=usage_obj,
                service_tier=self._tier,
                system_fingerprint=self._fingerprint,
                extra=extra,
            )
        except Exception as exc:  # pragma: no cover - every input is checked before it is folded
            raise StreamfoldError(f"internal error while building the completion: {exc!r}") from exc

    # -- variants of a folded chunk ---------------------------------------------------------------
    # (a block of its own, for the SSE decoder's fast path in _sse.py; add() does not use it)
    #
    # Servers repeat one chunk's bytes in the next and change only a few leaves: the text, a tool
    # call's arguments, the logprobs, OpenAI's random ``obfuscation``. A decoder that recognises
    # such a chunk by its bytes decodes only those leaves and hands them to ``add_variants`` with
    # the ``ChunkVariant`` of the chunk it repeats (the template, folded before by ``add()``). The
    # effect is exactly that of ``add()`` on the full chunk; it is cheaper because nothing is read
    # or checked again but the changed leaves:
    #
    # * the top level (all but ``choices``) is folded again, by ``_apply``, only when another top
    #   level was folded since: folding the same top level twice in a row changes nothing, since
    #   each top-level field keeps its first or its last value (``variant()`` refuses a top-level
    #   field with a field rule);
    # * the common choice (fragments only: text, a tool call's arguments, logprob lists, unknown
    #   string keys; everything else null or a role already set, so that folding it again changes
    #   nothing) sends each leaf to the batch form of its rule (``_rules``): texts to
    #   ``Choice.extend_text`` / ``extend_refusal``, logprob lists checked by ``_token_entries``
    #   to ``Choice.extend_logprobs``, unknown keys to ``Extras.add``, arguments through
    #   ``_fold_tool_calls`` (then straight to ``Call.extend_arguments`` of the call the routing
    #   chose, seen to grow, for as long as no call is added);
    # * any other choice goes through ``_check_choice`` and ``_write_choice``, copied from the
    #   template's with the new leaves.
    #
    # No write is restated here: every one is a rule method's; tests/test_sse_fast.py checks the
    # whole against add() on random chunks and envelopes.

    def variant(self, chunk: dict[str, Any]) -> ChunkVariant | None:
        """A template for folding chunks that repeat ``chunk`` but for some leaves, or ``None``.

        ``chunk`` is a parsed chunk this accumulator has just folded. The template's ``paths``
        name the leaves that may differ (see :class:`ChunkVariant`); :meth:`add_variants` folds
        such chunks from those leaves alone. ``None`` when the chunk has not exactly one choice of
        a chat stream, reports an error, or names a field with a field rule at its top level; and
        after ``completion()``, once events were asked for, and in partial folds.
        """
        if self._closed or self._tracker is not None or self._segment or self._kind != "chat":
            return None
        choices = chunk.get("choices")
        if type(choices) is not list or len(choices) != 1 or type(choices[0]) is not dict:
            return None
        if chunk.get("error") is not None or chunk.get("object") == "error":
            return None
        choice = choices[0]
        index = choice.get("index", 0)
        if index is None:
            index = 0
        state = self._choices.get(index) if type(index) is int else None
        if state is None:
            return None
        rules = self._rules or {}
        fragments = self._fragments(choice, state)
        top: dict[str, Any] = {}
        paths: list[tuple[Any, ...]] = []
        kinds: list[int] = []
        targets: list[Any] = []
        for key, value in chunk.items():
            if key == "choices":
                if fragments is None:
                    for path, string in _choice_leaves(choice, ()):
                        paths.append(("choices", 0, *path))
                        kinds.append(_CHOICE if string else _CHOICE_LIST)
                        targets.append(None)
                    continue
                for path, kind, target in fragments:
                    paths.append(("choices", 0, *path))
                    kinds.append(kind)
                    targets.append(target)
            elif key in rules:
                return None
            elif type(value) is str and key not in CHUNK_KNOWN:  # obfuscation and the like
                paths.append((key,))
                kinds.append(_CALL)
                if key == "obfuscation" and not self._keep_padding:
                    targets.append(_drop)  # a hole all the same: its bytes change every chunk
                else:
                    targets.append(functools.partial(self._extra.add, key))
            else:
                top[key] = value
        mark = self._variant_mark()
        # templates with the same top level share one, folded once: the same means equal in
        # value, key order and type (1, 1.0 and True are equal, and written differently)
        shape = repr(top)
        for known, known_shape in mark.tops:
            if known_shape == shape:
                top = known
                break
        else:
            mark.tops = [*mark.tops[-7:], (top, shape)]
        variant = ChunkVariant(self, chunk)
        variant.top = top
        variant.paths = tuple(paths)
        variant.strings = tuple(kind != _LIST and kind != _CHOICE_LIST for kind in kinds)
        variant.kinds = tuple(kinds)
        variant.targets = tuple(targets)
        variant.lists = tuple(i for i, kind in enumerate(kinds) if kind == _LIST)
        if fragments is None:
            slots = [i for i, path in enumerate(paths) if path[0] == "choices"]
            variant.choice = choice
            variant.choice_paths = tuple(paths[i][2:] for i in slots)
            variant.choice_slots = tuple(slots)
        elif len(paths) == 1 and kinds[0] == _TEXT:
            variant.extend = targets[0]
        elif len(paths) == 1 and paths[0][-1] == "arguments":
            variant.route = state  # the list is seen when the first arguments are folded
        return variant

    def add_variants(self, variants: Sequence[ChunkVariant], values: Sequence[Any]) -> None:
        """Fold, in order, one chunk per template: the template with its leaves set to values.

        ``values`` holds each template's new leaves in turn (``len(paths)`` each, in the order of
        ``paths``). The effect is that of :meth:`add` on each such chunk; so are the errors.
        """
        if self._closed or self._tracker is not None:  # the long way, for add() to handle
            i = 0
            for variant in variants:
                width = len(variant.paths)
                self.add(variant.chunk_with(values[i : i + width]))
                i += width
            return
        mark = self._variant_mark()
        base = self._count
        top = mark.top if mark.count == base else None  # the top level folded last, if known
        n = len(variants)
        i = done = 0
        if n > 1 and self._fold_texts(variants, values, top):
            top = variants[0].top
            done = n
        while done < n:
            variant = variants[done]
            parts = variant.extend
            if (
                parts is not None
                and variant.top is top
                and (variant.guard is None or len(variant.guard) == variant.guard_len)
            ):  # the commonest: one text fragment, to a list known (choices may interleave)
                text = values[i]
                if text:  # an empty fragment adds nothing
                    parts((text,))
                i += 1
                done += 1
                continue
            end = done + 1  # a run of chunks like this one
            if variants[done:].count(variant) == n - done:  # (the batch's rest, most often)
                end = n
            while end < n and variants[end] is variant:
                end += 1
            width = len(variant.paths)
            stop = i + (end - done) * width
            self._count = base + done  # the position, should a chunk be refused
            if variant.acc is not self:  # not a template of this accumulator: the long way
                for j in range(i, stop, width):
                    self.add(variant.chunk_with(values[j : j + width]))
                top = None
            elif variant.choice is not None:  # the choice through _choice, one chunk at a time
                for j in range(i, stop, width):
                    if not self._fold_variant(variant, values[j : j + width]):
                        top = None  # add() folded it all
                        continue
                    if variant.top is not top:  # another top level was folded last: this one
                        self._apply(variant.top)
                        top = variant.top
                    self._count += 1
            else:  # the common choice: leaf by leaf, for the whole run
                folded = self._fold_columns(variant, values, i, stop)
                if folded > i and variant.top is not top:
                    self._apply(variant.top)
                    top = variant.top
                if folded < stop:  # a refused chunk: add() raises for it
                    self._count += (folded - i) // width
                    self.add(variant.chunk_with(values[folded : folded + width]))
                    end = done + (folded - i) // width + 1
                    stop = folded + width
                    top = None
            i = stop
            done = end
        self._count = base + done
        mark.top = top
        mark.count = self._count
        if (self._count - 1) >> 12 > max(base - 1, 0) >> 12:  # add() compacts every 4096
            for state in self._choices.values():
                state.compact()

    def _fold_texts(
        self, variants: Sequence[ChunkVariant], values: Sequence[Any], top: Any
    ) -> bool:
        """Fold the batch if each template in it brings one text fragment, to a list of its own,
        with one top level: a list per template, in one go (choices interleave); else False."""
        if variants[0].extend is None:
            return False
        first = variants[0].top
        targets: dict[ChunkVariant, Callable[[Iterable[Any]], None]] = {}
        for variant in set(variants):
            parts = variant.extend
            if (
                parts is None
                or variant.top is not first
                or variant.acc is not self
                or (variant.guard is not None and len(variant.guard) != variant.guard_len)
            ):
                return False
            targets[variant] = parts
        if len(set(targets.values())) != len(targets):
            return False  # two templates, one list (equal bound writers): their order matters
        if top is not first:  # another top level was folded last: this one again
            self._apply(first)
        turns = len(targets)
        cyclic = (
            turns == 1
            or all(  # the templates take turns: each one's values are a slice
                variants[k::turns].count(variants[k]) == len(variants[k::turns])
                for k in range(turns)
            )
        )
        if cyclic:
            for k in range(turns):  # each template's fragments, in a batch
                targets[variants[k]](values[k::turns])
            return True
        for variant, parts in targets.items():
            mine = map(operator.is_, variants, itertools.repeat(variant))
            parts(itertools.compress(values, mine))
        return True

    def _fold_columns(
        self, variant: ChunkVariant, values: Sequence[Any], start: int, stop: int
    ) -> int:
        """Fold the chunks like ``variant``'s (its choice the common one) whose leaves are
        ``values[start:stop]``, leaf by leaf; return where the first refused one starts."""
        width = len(variant.paths)
        checked: dict[int, list[Any]] = {}  # per logprob leaf, its entries (checked first)
        try:  # entries are checked one by one: all the chunks' at once, in one call
            for slot in variant.lists:
                lists = values[start + slot : stop : width]
                if set(map(type, lists)) != {list}:
                    raise _Invalid("", "")
                entries = list(itertools.chain.from_iterable(lists))
                checked[slot] = _token_entries(entries, 0, variant.paths[slot][-1]) or []
        except _Invalid:  # which chunk: those before it are folded, it is refused
            count = (stop - start) // width
            for slot in variant.lists:
                name = variant.paths[slot][-1]
                column: list[Any] = []
                for entries in values[start + slot : stop : width][:count]:
                    try:
                        column.append(_token_entries(entries, 0, name))
                    except _Invalid:
                        break
                count = len(column)
                checked[slot] = column
            stop = start + count * width
            for slot in variant.lists:
                checked[slot] = list(itertools.chain.from_iterable(checked[slot][:count]))
        for slot, (kind, target) in enumerate(zip(variant.kinds, variant.targets, strict=True)):
            if kind == _TEXT:  # the fragments, in a batch
                target(values[start + slot : stop : width])
            elif kind == _LIST:  # the checked entries, in a batch
                target(checked[slot])
            elif variant.route is None:  # each through the rule's own code
                for value in values[start + slot : stop : width]:
                    target(value)
            else:
                self._fold_arguments(variant, target, values[start + slot : stop : width])
        return stop

    def _fold_arguments(
        self, variant: ChunkVariant, fold: Callable[[Any], None], fragments: Sequence[Any]
    ) -> None:
        """A run of a tool call's arguments: through the routing until one call's arguments
        are seen to grow; the routing (by the calls there are) sends the rest to the same list,
        and so does ``add_variants`` for as long as no call is added."""
        route = variant.route
        assert route is not None
        calls = route.calls
        for k, fragment in enumerate(fragments):
            sizes = [len(call.args) for call in calls]
            fold(fragment)
            if len(calls) == len(sizes):
                grown = [c for c, n in zip(calls, sizes, strict=True) if len(c.args) > n]
                if len(grown) == 1:
                    variant.extend = grown[0].extend_arguments
                    variant.guard = calls
                    variant.guard_len = len(calls)
                    variant.extend(fragments[k + 1 :])
                    return

    def _fold_variant(self, variant: ChunkVariant, values: Sequence[Any]) -> bool:
        """Fold one chunk like ``variant``'s through ``_choice``, all but the top level (the
        caller's part); False when ``add()`` folded it instead (a refused choice: it raises)."""
        leaves = [values[slot] for slot in variant.choice_slots]
        try:  # _choice checks everything before writing anything
            checked = self._check_choice(
                _with_leaves(variant.choice, variant.choice_paths, leaves), 0, True
            )
            if checked is not None:
                self._write_choice(checked)
        except _Invalid:
            self.add(variant.chunk_with(values))  # raises what add() raises for it
            return False
        for kind, target, value in zip(variant.kinds, variant.targets, values, strict=True):
            if kind == _CALL:
                target(value)
        return True

    def _fragments(self, choice: dict[str, Any], state: Choice) -> list[Any] | None:
        """The common choice's leaves, in key order, each as (path, kind, target); ``None`` when
        anything else in the choice would write if folded again (it then goes through
        ``_choice``)."""
        out: list[Any] = []
        for key, value in choice.items():
            if value is None or key == "index" or key == "message":
                continue
            if key == "logprobs":  # lists only: each extends the list the template's made
                if type(value) is not dict or not state.lp_seen:
                    return None
                for name, entries in value.items():
                    if entries is None:
                        continue
                    held = state.lp_content if name == "content" else state.lp_refusal
                    if name not in LOGPROBS_KNOWN or type(entries) is not list or held is None:
                        return None
                    batch = (
                        state.extend_logprobs
                        if name == "content"
                        else functools.partial(state.extend_logprobs, None)
                    )
                    out.append((("logprobs", name), _LIST, batch))
            elif key != "delta" or type(value) is not dict:
                return None  # a finish_reason, unknown keys
            else:
                for name, item in value.items():
                    leaf = self._delta_leaf(name, item, state)
                    if leaf is False:
                        return None
                    if leaf is not None:
                        out.append(leaf)
        return out

    def _delta_leaf(self, key: str, value: Any, state: Choice) -> Any:
        """A delta's leaf as (path in the choice, kind, target); None when folding it again
        changes nothing; False when it is not a leaf the common choice can have."""
        if value is None:
            return None
        if key == "role":  # set once: folding it again changes nothing once the choice has one
            return None if type(value) is str and (not value or state.role) else False
        if key == "content" or key == "refusal":
            if type(value) is not str:
                return False
            batch = state.extend_text if key == "content" else state.extend_refusal
            return ("delta", key), _TEXT, batch
        if key == "tool_calls":
            sink = self._arguments_sink(value, state)
            return (
                False if sink is None else (("delta", key, 0, "function", "arguments"), _CALL, sink)
            )
        if key not in DELTA_KNOWN and type(value) is str:
            return ("delta", key), _CALL, functools.partial(state.delta_extra.add, key)
        return False

    def _arguments_sink(self, calls: Any, state: Choice) -> Callable[[Any], None] | None:
        """A tool call's arguments fragment (one fragment with an index, no id, type or name),
        folded by ``_fold_tool_calls`` from what ``_check_tool_calls`` makes of it."""
        if type(calls) is not list or len(calls) != 1 or type(calls[0]) is not dict:
            return None
        frag: dict[str, Any] = calls[0]
        fn = frag.get("function")
        if (
            not frag.keys() <= CALL_KNOWN
            or frag.get("id") is not None
            or frag.get("type") is not None
            or type(frag.get("index")) is not int
            or type(fn) is not dict
            or not fn.keys() <= FUNCTION_KNOWN
            or fn.get("name") is not None
            or type(fn.get("arguments")) is not str
        ):
            return None
        # where the arguments sit in the checked fragment: found with a string of our own
        marker = str(object())
        checked = self._check_tool_calls([{**frag, "function": {**fn, "arguments": marker}}], 0)
        at = [i for i, item in enumerate(checked[0]) if item is marker]
        if len(checked) != 1 or len(at) != 1:
            return None
        head, tail = checked[0][: at[0]], checked[0][at[0] + 1 :]
        fold = self._fold_tool_calls

        def sink(arguments: str) -> None:
            fold(state, [(*head, arguments, *tail)])

        return sink

    def _variant_mark(self) -> _VariantMark:
        mark: _VariantMark | None = getattr(self, "_variants", None)
        if mark is None:
            mark = self._variants = _VariantMark()
        return mark


# -- variants of a folded chunk (see Accumulator.variant) ------------------------------------------


class ChunkVariant:
    """A folded chunk, as the template of later chunks that repeat it but for some leaves.

    Made by :meth:`Accumulator.variant`, folded by :meth:`Accumulator.add_variants`. ``paths``
    are the leaves that may differ, in the chunk's own key order (the order of its JSON text),
    each a tuple of keys and list positions; ``strings[i]`` is false for a leaf that is a whole
    logprob list (its length and numbers change from chunk to chunk) rather than a string.
    """

    __slots__ = (
        "acc",
        "choice",
        "choice_paths",
        "choice_slots",
        "chunk",
        "extend",
        "guard",
        "guard_len",
        "kinds",
        "lists",
        "paths",
        "route",
        "strings",
        "targets",
        "top",
    )

    def __init__(self, acc: Accumulator, chunk: dict[str, Any]) -> None:
        self.acc = acc
        self.chunk = chunk
        self.paths: tuple[tuple[Any, ...], ...] = ()
        self.strings: tuple[bool, ...] = ()
        self.top: dict[str, Any] = {}  # the chunk but its choices and changing leaves
        # per leaf: how it folds (_TEXT, _LIST, _CALL, or through _choice) and where to
        self.kinds: tuple[int, ...] = ()
        self.targets: tuple[Any, ...] = ()
        self.lists: tuple[int, ...] = ()  # the _LIST leaves, checked before anything is written
        self.choice: dict[str, Any] | None = None  # set when the choice goes through _choice
        self.choice_paths: tuple[tuple[Any, ...], ...] = ()
        self.choice_slots: tuple[int, ...] = ()
        # one text leaf: the batch writer of the fragment list it goes to (``Choice.extend_text``
        # and the like), known for as long as ``guard`` (the calls a tool call's arguments are
        # routed by) keeps its length
        self.extend: Callable[[Iterable[Any]], None] | None = None
        self.guard: list[Any] | None = None
        self.guard_len = 0
        self.route: Choice | None = None  # one arguments leaf: the choice whose calls to watch

    def chunk_with(self, values: Sequence[Any]) -> dict[str, Any]:
        """The full chunk with these leaves (what ``add()`` would have been given)."""
        chunk: dict[str, Any] = _with_leaves(self.chunk, self.paths, values)
        return chunk


# how a leaf of a ChunkVariant folds
_TEXT: Final = 0  # a text fragment: to Choice.extend_text (or extend_refusal)
_LIST: Final = 1  # a logprob list: checked by _token_entries, to Choice.extend_logprobs
_CALL: Final = 2  # through a callable of the fold (Extras.add, _fold_tool_calls)
_CHOICE: Final = 3  # a string of a choice that goes through _choice
_CHOICE_LIST: Final = 4  # a logprob list of a choice that goes through _choice


class _VariantMark:
    """Per accumulator: the top level folded last by ``add_variants`` and the count then."""

    __slots__ = ("count", "top", "tops")

    def __init__(self) -> None:
        self.top: dict[str, Any] | None = None
        self.count = -1
        self.tops: list[tuple[dict[str, Any], str]] = []  # recent top levels (and their repr)


def _drop(value: Any) -> None:
    """The fold of a leaf that is not kept (OpenAI's padding, by default)."""


def _choice_leaves(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], bool]]:
    """The leaves of a choice that may differ between chunks, in key order: every string, and
    the logprob lists whole."""
    if type(value) is str:
        yield path, True
    elif type(value) is dict:
        for key, item in value.items():
            if path == ("logprobs",) and type(item) is list and key in LOGPROBS_KNOWN:
                yield (*path, key), False
            else:
                yield from _choice_leaves(item, (*path, key))
    elif type(value) is list:
        for i, item in enumerate(value):
            yield from _choice_leaves(item, (*path, i))


def _with_leaves(obj: Any, paths: Sequence[tuple[Any, ...]], values: Sequence[Any]) -> Any:
    """A copy of ``obj`` with the leaf at each path set to the matching value. Only the objects
    on the paths are copied; the rest is shared, and nothing the fold may have kept is changed."""
    root = dict(obj) if type(obj) is dict else list(obj)
    copied = {id(root)}
    for path, value in zip(paths, values, strict=True):
        node = root
        for key in path[:-1]:
            child = node[key]
            if id(child) not in copied:
                child = dict(child) if type(child) is dict else list(child)
                node[key] = child
                copied.add(id(child))
            node = child
        node[path[-1]] = value
    return root


def _content_parts(value: Any, ci: int) -> tuple[str, list[dict[str, Any]]]:
    """Check a list of content parts; return the text they add and the parts as plain dicts."""
    text: list[str] = []
    parts: list[dict[str, Any]] = []
    for i, part in enumerate(value):
        if type(part) is str:
            text.append(part)
            parts.append({"type": "text", "text": part})
            continue
        if part is None:
            continue
        part = _plain(_mapping_or_none(part, f"choices[{ci}].delta.content[{i}]"))
        kind = part.get("type")
        if kind is not None and type(kind) is not str:
            _fail(f"choices[{ci}].delta.content[{i}].type", "a string", kind)
        if kind == "text":
            piece = part.get("text")
            if piece is not None and type(piece) is not str:
                _fail(f"choices[{ci}].delta.content[{i}].text", "a string", piece)
            if piece:
                text.append(piece)
        parts.append(part)
    return "".join(text), parts


def _check_text_logprobs(lists: dict[str, list[Any]], path: str) -> None:
    for i, token in enumerate(lists.get("tokens", ())):
        if type(token) is not str:
            _fail(f"{path}.tokens[{i}]", "a string", token)
    for i, value in enumerate(lists.get("token_logprobs", ())):
        if value is not None:
            _check_number(value, f"{path}.token_logprobs[{i}]")
    for i, value in enumerate(lists.get("text_offset", ())):
        if not _is_int(value):
            _fail(f"{path}.text_offset[{i}]", "an int", value)
    for i, top in enumerate(lists.get("top_logprobs", ())):
        if top is None:
            continue
        if type(top) is not dict:
            _fail(f"{path}.top_logprobs[{i}]", "an object", top)
        for token, value in top.items():
            _check_number(value, f"{path}.top_logprobs[{i}].{token}")


# ---------------------------------------------------------------------------------------------
# partial folds: fold segments apart (in other processes, on other machines), merge in order
#
# merge(A, B) gives the state that folding A's chunks and then B's would give, so a stream cut
# anywhere folds per segment and merges back to the plain fold. Every rule but one merges from the
# fragment lists and first/last values the fold keeps anyway. The exception is tool-call routing:
# which call a fragment belongs to depends on every call seen before it, possibly in an earlier
# segment (a continuation without an id, "the most recent call", an id seen long ago). A segment
# fold therefore keeps its tool-call fragments, checked, in arrival order; merging segments joins
# those logs, and building the completion routes them once, with the rule of the plain fold.


class SegmentCore(Protocol):
    """A core of another API that folds segments (``ResponseAccumulator``,
    ``MessageAccumulator``): ``merge(later)`` folds ``later``'s segment after its own, in place."""

    @property
    def chunks(self) -> int: ...

    @property
    def is_complete(self) -> bool: ...

    def mark_segment(self) -> None: ...

    def merge(self, later: Any, /) -> None: ...

    def completion(
        self, *, strict: bool = False
    ) -> m.ChatCompletion | m.TextCompletion | m.Response | m.AnthropicMessage: ...


class PartialFold:
    """The fold of one segment of a stream, mergeable with the folds of the other segments.

    Build one with :meth:`fold` from the segment's chunks and the position range it covers
    (chunk sequence numbers, or the line numbers of a log: any increasing numbering the caller
    chooses); merge with :meth:`merge` or :func:`merge_partials`. Partials are picklable and
    immutable: merging returns a new one. ``completion()`` gives the fold of what the partial
    covers (``normalize_finish_reason`` is chosen there, not when folding).

    A segment of a Responses or Messages stream is folded by that API's core, marked first
    (``core.mark_segment()``), and wrapped: ``PartialFold(core, start, end)``; the partial then
    owns the core (do not add to it afterwards).
    """

    __slots__ = ("_acc", "end", "start")

    def __init__(self, accumulator: Accumulator | SegmentCore, start: int, end: int) -> None:
        if end < start:
            raise UsageError(
                f"a partial fold's range cannot end before it starts: [{start}, {end})"
            )
        if isinstance(accumulator, Accumulator):
            accumulator._segment = True
            accumulator._tracker = None
        else:
            accumulator.mark_segment()
        self._acc = accumulator
        self.start = start
        self.end = end

    @classmethod
    def fold(
        cls,
        chunks: Iterable[Any],
        *,
        start: int,
        end: int | None = None,
        field_rules: Mapping[str, FieldRule] | None = None,
        keep_obfuscation: bool = False,
    ) -> PartialFold:
        """Fold ``chunks``, the segment ``[start, end)`` of a stream.

        ``end`` defaults to ``start`` plus the number of chunks (chunk sequence numbers);
        ``field_rules`` and ``keep_obfuscation`` are :class:`Accumulator`'s. Raises what
        :meth:`Accumulator.add` raises.
        """
        acc = Accumulator(field_rules=field_rules, keep_obfuscation=keep_obfuscation)
        acc._segment = True
        for chunk in chunks:
            acc.add(chunk)
        return cls(acc, start, start + acc._count if end is None else end)

    @property
    def chunks(self) -> int:
        """How many chunks this partial folded."""
        return self._acc.chunks

    @property
    def is_complete(self) -> bool:
        """Whether what this partial covers is complete (as the core's ``is_complete`` once its
        completion is built: a Responses segment may hold events that a merge put in order)."""
        acc = resolved(self, False)
        acc.completion()
        return acc.is_complete

    def merge(self, other: PartialFold, *, gaps: bool = False) -> PartialFold:
        """Merge two partials of one stream, in the order of their ranges; both stay unchanged.

        Raises :class:`PartialMergeError` when the ranges overlap, or leave a gap between them
        unless ``gaps=True`` (log lines of other streams lie between one stream's chunks).
        """
        if (self.start, self.end) <= (other.start, other.end):
            first, second = self, other
        else:
            first, second = other, self
        _check_ranges(first, second, gaps)
        return _merged([first, second])

    def completion(
        self, *, strict: bool = False, normalize_finish_reason: bool = False
    ) -> m.ChatCompletion | m.TextCompletion | m.Response | m.AnthropicMessage:
        """The completion folded from the chunks this partial covers (as ``Accumulator``).

        ``normalize_finish_reason=True`` reports ``"tool_calls"`` for a choice that called tools
        but finished with ``"stop"``, as ``Accumulator(normalize_finish_reason=True)`` does; a
        choice made here, when the completion is built (the segments fold the same either way).
        """
        return resolved(self, normalize_finish_reason).completion(strict=strict)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PartialFold):
            return NotImplemented
        return (self.start, self.end) == (other.start, other.end) and (
            self.completion() == other.completion()
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PartialFold([{self.start}, {self.end}), {self.chunks} chunks)"


def resolved(partial: PartialFold, normalize_finish_reason: bool) -> Accumulator | SegmentCore:
    """A fresh accumulator holding ``partial``'s fold, to build its completion from."""
    acc = partial._acc
    if not isinstance(acc, Accumulator):
        fresh: SegmentCore = type(acc)()  # (cores of the other APIs take no options)
        fresh.mark_segment()
        fresh.merge(acc)
        return fresh
    out = Accumulator(
        field_rules=acc._rules,
        normalize_finish_reason=normalize_finish_reason,
        keep_obfuscation=acc._keep_padding,
    )
    _merge_into(out, acc)
    return out


def merge_partials(partials: Iterable[PartialFold], *, gaps: bool = False) -> PartialFold:
    """Merge partial folds of one stream, given in any order (they are ordered by range).

    Raises :class:`PartialMergeError` for overlapping ranges, missing ranges (unless
    ``gaps=True``) or no partial at all.
    """
    ordered = sorted(partials, key=lambda p: (p.start, p.end))
    if not ordered:
        raise PartialMergeError("no partial fold to merge", ranges=[])
    for first, second in itertools.pairwise(ordered):  # check every boundary before any work
        _check_ranges(first, second, gaps)
    return _merged(ordered)


def _merged(ordered: list[PartialFold]) -> PartialFold:
    """Merge partials given in range order (ranges checked) into one fresh fold, in one pass.

    ``_merge_into`` copies what it takes, so the partials stay unchanged without a deep copy of
    the first one (which costs more than all the merges: ~0.1-0.3 ms for a part of twenty
    chunks). One partial is returned as it is: partials are immutable.
    """
    if len(ordered) == 1:
        return ordered[0]
    first = ordered[0]._acc
    if not isinstance(first, Accumulator):
        fresh: SegmentCore = type(first)()
        fresh.mark_segment()
        for i, part in enumerate(ordered):
            if type(part._acc) is not type(first):
                raise PartialMergeError(
                    f"cannot merge a {_api(first)} stream with a {_api(part._acc)} one", ranges=[]
                )
            try:
                fresh.merge(part._acc)
            except PartialMergeError as exc:
                if exc.ranges:
                    raise
                before = ordered[i - 1]  # (the first merges into an empty fold)
                raise type(exc)(
                    exc.message, ranges=[(before.start, before.end), (part.start, part.end)]
                ) from None
        return PartialFold(fresh, ordered[0].start, ordered[-1].end)
    acc = Accumulator(field_rules=first._rules, keep_obfuscation=first._keep_padding)
    acc._segment = True  # tool-call fragments stay in their log, as each segment keeps them
    for part in ordered:
        if not isinstance(part._acc, Accumulator):
            raise PartialMergeError(
                f"cannot merge a {_api(first)} stream with a {_api(part._acc)} one", ranges=[]
            )
        _merge_into(acc, part._acc)
    return PartialFold(acc, ordered[0].start, ordered[-1].end)


def _api(core: object) -> str:
    """The API a core folds, for errors."""
    if isinstance(core, Accumulator):
        return "chat completions"
    return type(core).__name__.removesuffix("Accumulator")


def _check_ranges(first: PartialFold, second: PartialFold, gaps: bool) -> None:
    """Raise PartialMergeError unless ``second`` may follow ``first``."""
    if second.start < first.end:
        raise PartialMergeError(
            f"partial folds overlap: [{first.start}, {first.end}) and "
            f"[{second.start}, {second.end})",
            ranges=[(first.start, first.end), (second.start, second.end)],
        )
    if second.start > first.end and not gaps:
        raise PartialMergeError(
            f"partial folds leave positions [{first.end}, {second.start}) missing",
            ranges=[(first.start, first.end), (second.start, second.end)],
        )


def _merge_into(a: Accumulator, b: Accumulator) -> None:
    """Fold ``b``'s state into ``a`` as if ``b``'s chunks had followed ``a``'s."""
    if a._kind is not None and b._kind is not None and a._kind != b._kind:
        raise PartialMergeError(
            f"cannot merge a {a._kind} completion stream with a {b._kind} one", ranges=[]
        )
    a._kind = a._kind or b._kind
    a._count += b._count
    a._id = a._id or b._id
    a._created = a._created or b._created
    a._model = a._model or b._model
    a._pending_envelope = a._id is None or a._created is None or a._model is None
    if b._fingerprint is not None:
        a._fingerprint = b._fingerprint
    if b._tier is not None:
        a._tier = b._tier
    if b._usage is not None:
        a._usage = b._usage
    if b._alt_usage is not None:
        a._alt_usage = b._alt_usage
    a._extra.merge(b._extra)
    for index, theirs in b._choices.items():
        ours = a._choices.get(index)
        if ours is None:
            ours = a._choices[index] = Choice(index, a._rules)
        ours.merge(theirs, a._segment)
    if a._error is None and b._error is not None:
        a._error = b._error
        a._closed = True

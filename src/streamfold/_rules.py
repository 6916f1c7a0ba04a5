"""The merge rules: what the fold keeps for every field, and the only code that writes it.

Read this module top to bottom. ``TABLE`` says, for every field the fold knows, at every level of
a chunk, which rule merges the values of successive chunks:

* ``first``: the first non-empty value is kept (a label: role, a tool call's id or name);
* ``last``: a later non-null value replaces it (finish_reason, usage);
* ``concat``: strings are pieces of one text, kept as a fragment list (see ``_parts``) and joined
  once, when the result is built;
* ``extend``: lists are pieces of one list (logprob entries, annotations);
* ``merge``: items of lists merge by their ``index`` (tool calls, ``reasoning_details``);
* ``route``: the field says where the rest of its object goes (a choice's ``index``, the
  ``index`` and ``id`` of a tool-call fragment: see :meth:`Choice.call_for`);
* ``nested``: an object whose fields have rules of their own (the row of the table it names);
* ``drop``: read and not kept.

Fields the table does not name are kept where they arrive by :class:`Extras`, with the rules of
their level: inside a delta strings concatenate (unless they are labels), lists of indexed objects
merge item by item, other lists extend; everywhere else the latest non-null value wins. A
``field_rules`` argument overrides that, by name.

The state of one choice is a :class:`Choice`: its methods are the only writers of it, each rule in
a per-fragment form (``add_text``) and, where a fast path folds many chunks at once, a batch form
(``extend_text``); ``merge`` folds a later segment's state in (partial folds) and ``build`` makes
the typed result. The fold (``_fold``) checks every field before it calls any of them, so a
writer here never sees a value of the wrong type.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

from . import _model as m
from ._convert import converter
from ._parts import compact_parts, extend_parts, join_parts
from ._values import _is_list, _plain

__all__ = ["TABLE", "Audio", "Call", "Choice", "Extras", "FieldRule", "Indexed"]

Rule = Literal["first", "last", "concat", "extend", "merge", "route", "nested", "drop"]

TABLE: Final[dict[str, dict[str, Rule]]] = {
    # the top level of a chunk; "error" is not here: a chunk carrying one is a server's error
    "chunk": {
        "id": "first",
        "object": "drop",
        "created": "first",
        "model": "first",
        "system_fingerprint": "last",
        "service_tier": "last",
        "choices": "route",  # by each choice's index
        "usage": "last",
    },
    # one choice of a chat completion chunk; ``message`` is a server's echo of what it streamed
    "choice": {
        "index": "route",
        "delta": "nested",
        "logprobs": "nested",
        "finish_reason": "last",
        "message": "drop",
    },
    # one choice of a legacy completions chunk
    "text_choice": {
        "index": "route",
        "text": "concat",
        "logprobs": "nested",  # text_logprobs
        "finish_reason": "last",
    },
    # a choice's delta; content may come as a list of typed parts (see merge_parts)
    "delta": {
        "role": "first",
        "content": "concat",
        "refusal": "concat",
        "tool_calls": "merge",  # each fragment routed to its call (see Choice.call_for)
        "function_call": "nested",  # function
        "audio": "nested",
        "annotations": "extend",
    },
    "logprobs": {"content": "extend", "refusal": "extend"},
    "text_logprobs": {
        "tokens": "extend",
        "token_logprobs": "extend",
        "top_logprobs": "extend",
        "text_offset": "extend",
    },
    # one fragment of a tool call; unknown keys follow the rules of merged list items
    "tool_call": {"index": "route", "id": "route", "type": "first", "function": "nested"},
    "function": {"name": "first", "arguments": "concat"},
    "audio": {"id": "first", "data": "concat", "transcript": "concat", "expires_at": "last"},
}

# the known fields of each level, as the fold checks them
CHUNK_KNOWN: Final = frozenset(TABLE["chunk"])
CHOICE_KNOWN: Final = frozenset(TABLE["choice"])
TEXT_CHOICE_KNOWN: Final = frozenset(TABLE["text_choice"])
DELTA_KNOWN: Final = frozenset(TABLE["delta"])
LOGPROBS_KNOWN: Final = frozenset(TABLE["logprobs"])
TEXT_LOGPROB_LISTS: Final = tuple(TABLE["text_logprobs"])
CALL_KNOWN: Final = frozenset(TABLE["tool_call"])
FUNCTION_KNOWN: Final = frozenset(TABLE["function"])
AUDIO_KNOWN: Final = frozenset(TABLE["audio"])
# every field the fold reads itself, at some level: a field rule for one would change nothing
NAMED: Final = frozenset(name for row in TABLE.values() for name in row) | {"error"}

FieldRule = Literal["concat", "first", "last", "extend", "merge"]
"""How an unknown field is merged: ``concat`` strings, keep the ``first`` or ``last`` non-null
value, ``extend`` lists, or ``merge`` lists of indexed objects item by item."""

# Labels are never concatenated, wherever they appear.
LABELS: Final = frozenset({"type", "id", "name", "status", "channel", "format", "signature"})
# Inside merged list items (reasoning_details, tool calls) only these strings concatenate.
ITEM_CONCAT: Final = frozenset({"text", "summary", "data"})
ENCRYPTED_TYPES: Final = frozenset({"reasoning.encrypted"})


# ---------------------------------------------------------------------------------------------
# unknown fields


class Indexed:
    """A list of objects merged item by item on ``(index, type)`` (``reasoning_details``)."""

    __slots__ = ("by_key", "items")

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []  # each item's string pieces are lists until built
        self.by_key: dict[tuple[Any, Any], dict[str, Any]] = {}

    def add(self, values: list[Any] | tuple[Any, ...]) -> None:
        for raw in values:
            item = raw if type(raw) is dict else _plain(raw)
            if type(item) is not dict:
                self.items.append({"\0whole": item})
                continue
            kind = item.get("type")
            index = item.get("index")
            if (
                type(index) is not int
                or not (kind is None or type(kind) is str)
                or kind in ENCRYPTED_TYPES
            ):
                self.items.append({"\0whole": item})  # kept whole, never merged
                continue
            key = (index, kind)
            target = self.by_key.get(key)
            if target is None:
                target = {}
                self.by_key[key] = target
                self.items.append(target)
            _merge_item(target, item)

    def build(self) -> list[Any]:
        return [_build_item(item) for item in self.items]

    def merge(self, other: Indexed) -> None:
        keys = {id(item): key for key, item in other.by_key.items()}
        for original in other.items:
            item = copy.deepcopy(original)
            key = keys.get(id(original))
            if key is None:  # kept whole (encrypted or without an index)
                self.items.append(item)
                continue
            target = self.by_key.get(key)
            if target is None:
                self.by_key[key] = item
                self.items.append(item)
                continue
            for name, value in item.items():
                old = target.get(name)
                if type(value) is list and name in ITEM_CONCAT:
                    if type(old) is list:
                        old.extend(value)
                    elif _unset(old):
                        target[name] = value
                elif _unset(old):
                    target[name] = value


def _merge_item(target: dict[str, Any], item: dict[str, Any]) -> None:
    """Merge one list item into ``target`` with the item rules (text pieces concatenate)."""
    for key, value in item.items():
        if value is None:
            continue
        old = target.get(key)
        if key in ITEM_CONCAT and type(value) is str and key not in LABELS:
            if old is None:
                target[key] = [value]
            elif type(old) is list:
                old.append(value)
            continue
        if _unset(old):
            target[key] = value


def _build_item(item: dict[str, Any]) -> Any:
    whole = item.get("\0whole", item)
    if whole is not item:
        return whole
    return {
        k: join_parts(v) if type(v) is list and k in ITEM_CONCAT else v for k, v in item.items()
    }


class Concat:
    """An unknown string field that concatenates: its fragment list."""

    __slots__ = ("parts",)

    def __init__(self, first: str) -> None:
        self.parts: list[Any] = [first]


class Extend:
    """An unknown list field that extends: its items so far."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[Any] = []


class Extras:
    """Unknown keys of one level, each with the state its merge rule needs.

    ``delta=True`` applies the delta rules (strings concatenate, lists of indexed objects merge,
    other lists extend, labels keep their latest value); ``delta=False`` keeps the latest non-null
    value of everything. ``rules`` overrides the rule for named fields.
    """

    __slots__ = ("delta", "item_labels", "rules", "values")

    def __init__(
        self, delta: bool, rules: Mapping[str, FieldRule] | None, item_labels: bool = False
    ) -> None:
        self.values: dict[str, Any] = {}
        self.delta = delta
        self.rules = rules
        self.item_labels = item_labels  # inside a merged list item: labels keep the first value

    def add(self, key: str, value: Any) -> None:
        if value is None:
            return
        if not value and _is_list(value) and key in self.values:
            return  # an empty list adds nothing: it never replaces what arrived before it
        rule = self.rules.get(key) if self.rules else None
        if rule is None:
            if not self.delta:
                rule = "last"
            elif type(value) is str:
                if key in LABELS:
                    rule = "first" if self.item_labels else "last"
                else:
                    rule = "concat"
            elif _is_list(value):
                rule = "merge" if _indexed_objects(value) else "extend"
            else:
                rule = "first" if self.item_labels else "last"
        values = self.values
        old = values.get(key)
        if rule == "concat" and type(value) is str:
            if type(old) is Concat:
                old.parts.append(value)
            else:
                values[key] = Concat(value)
        elif rule == "merge" and _is_list(value):
            if type(old) is not Indexed:
                old = values[key] = Indexed()
            old.add(value)
        elif rule == "extend" and _is_list(value):
            if type(old) is not Extend:
                old = values[key] = Extend()
            old.items.extend(_plain(value))
        elif rule == "first":
            if _unset(old):
                values[key] = value
        else:
            self.set_last(key, value)  # converted to plain data when built, not on every chunk

    def set_last(self, key: str, value: Any) -> None:
        """Keep ``value`` as the latest of ``key`` (the ``last`` rule, no rule looked up)."""
        self.values[key] = value

    def compact(self) -> None:
        for value in self.values.values():
            if type(value) is Concat:
                compact_parts(value.parts)

    def merge(self, other: Extras) -> None:
        """Fold ``other``'s values in as if they had arrived after ours (partial folds)."""
        values = self.values
        for key, theirs in other.values.items():
            ours = values.get(key)
            if ours is not None and _empty_list(theirs):
                continue  # as add(): an empty list replaces nothing
            kind = type(theirs)
            if kind is Concat:
                if type(ours) is Concat:
                    extend_parts(ours.parts, theirs.parts)
                else:
                    values[key] = copy.deepcopy(theirs)
            elif kind is Indexed:
                if type(ours) is Indexed:
                    ours.merge(theirs)
                else:
                    values[key] = copy.deepcopy(theirs)
            elif kind is Extend:
                if type(ours) is Extend:
                    ours.items.extend(copy.deepcopy(theirs.items))
                else:
                    values[key] = copy.deepcopy(theirs)
            elif self._keeps_first(key, theirs):
                if _unset(ours):
                    values[key] = theirs
            else:
                values[key] = theirs

    def _keeps_first(self, key: str, value: Any) -> bool:
        """Whether a plain value stored under ``key`` follows the first-value rule."""
        rule = self.rules.get(key) if self.rules else None
        if rule is not None:
            return rule == "first"
        return self.delta and self.item_labels

    def build(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.values.items():
            kind = type(value)
            if kind is Concat:
                out[key] = join_parts(value.parts)
            elif kind is Indexed:
                out[key] = value.build()
            elif kind is Extend:
                out[key] = list(value.items)
            else:
                out[key] = _plain(value)
        return out


def _unset(value: Any) -> bool:
    """Whether a first-value slot may still take a value: nothing, ``""`` or ``[]`` so far."""
    return value is None or value == "" or (_is_list(value) and not value)


def _empty_list(value: Any) -> bool:
    """Whether a stored extra holds an empty list (which adds nothing when merged after)."""
    kind = type(value)
    if kind is Extend:
        return not value.items
    if kind is Indexed:
        return not value.items
    return _is_list(value) and not value


def _indexed_objects(values: list[Any] | tuple[Any, ...]) -> bool:
    first = values[0] if values else None
    if type(first) is dict:
        return "index" in first
    return (
        first is not None
        and not isinstance(first, (str, int, float, list, tuple))
        and (getattr(first, "index", None) is not None)
    )


# ---------------------------------------------------------------------------------------------
# a tool call, audio


class Call:
    """One tool call being assembled."""

    __slots__ = ("args", "extra", "fn_extra", "has_fn", "id", "index", "name", "seq", "type")

    def __init__(self, index: int | None, seq: int, rules: Mapping[str, FieldRule] | None) -> None:
        self.index = index
        self.seq = seq
        self.id: str | None = None
        self.type: str | None = None
        self.name: str | None = None
        self.args: list[Any] = []
        self.extra = Extras(True, rules, item_labels=True)
        self.fn_extra = Extras(True, rules, item_labels=True)
        self.has_fn = False

    def add(
        self,
        kind: str | None,
        name: str | None,
        args: str | None,
        has_fn: bool,
        fn_extra: list[tuple[str, Any]] | None,
        call_extra: list[tuple[str, Any]] | None,
    ) -> None:
        """Fold one fragment routed to this call (see :meth:`Choice.call_for`)."""
        if kind and self.type is None:
            self.type = kind
        if has_fn:
            self.has_fn = True
            if name and self.name is None:
                self.name = name
            if args:
                self.args.append(args)
            if fn_extra:
                for key, value in fn_extra:
                    if value is not None and not (key == "id" and value == self.id):
                        self.fn_extra.add(key, value)
        if call_extra:
            for key, value in call_extra:
                if value is not None:
                    self.extra.add(key, value)

    def extend_arguments(self, fragments: Iterable[str]) -> None:
        """Fold a run of arguments fragments (the batch form of ``add``; empty ones add
        nothing)."""
        self.args.extend(filter(None, fragments))

    def build(self) -> m.ToolCall:
        return m.ToolCall(
            id=self.id,
            type=self.type or "function",
            function=m.FunctionCall(
                name=self.name or "", arguments=join_parts(self.args), extra=self.fn_extra.build()
            ),
            extra=self.extra.build(),
        )


class Audio:
    """A message's audio: id first, data and transcript concatenate, expires_at last."""

    __slots__ = ("data", "expires_at", "extra", "id", "transcript")

    def __init__(self, rules: Mapping[str, FieldRule] | None) -> None:
        self.id: str | None = None
        self.data: list[Any] = []
        self.transcript: list[Any] = []
        self.expires_at: int | None = None
        self.extra = Extras(True, rules)

    def add(self, audio: dict[str, Any]) -> None:
        aid = audio.get("id")
        if aid and self.id is None:
            self.id = aid
        data = audio.get("data")
        if data:
            self.data.append(data)
        transcript = audio.get("transcript")
        if transcript:
            self.transcript.append(transcript)
        expires = audio.get("expires_at")
        if expires is not None:
            self.expires_at = expires
        for key, value in audio.items():
            if key not in AUDIO_KNOWN:
                self.extra.add(key, value)

    def merge(self, other: Audio) -> None:
        self.id = self.id or other.id
        extend_parts(self.data, other.data)
        extend_parts(self.transcript, other.transcript)
        if other.expires_at is not None:
            self.expires_at = other.expires_at
        self.extra.merge(other.extra)

    def build(self) -> m.ChatCompletionAudio:
        return m.ChatCompletionAudio(
            id=self.id,
            data=join_parts(self.data),
            expires_at=self.expires_at,
            transcript=join_parts(self.transcript),
            extra=self.extra.build(),
        )


# ---------------------------------------------------------------------------------------------
# one choice


class Choice:
    """Everything folded so far for one choice index."""

    __slots__ = (
        "annotations",
        "audio",
        "by_id",
        "by_index",
        "call_log",
        "calls",
        "content",
        "delta_extra",
        "extra",
        "fc_args",
        "fc_extra",
        "fc_name",
        "finish_reason",
        "index",
        "lp_content",
        "lp_extra",
        "lp_refusal",
        "lp_seen",
        "parts",
        "refusal",
        "role",
        "rules",
        "text_lp",
    )

    def __init__(self, index: int, rules: Mapping[str, FieldRule] | None) -> None:
        self.index = index
        self.rules = rules
        self.role: str | None = None
        self.content: list[Any] = []
        self.refusal: list[Any] = []
        self.calls: list[Call] = []
        self.by_index: dict[int | None, Call] = {}
        self.by_id: dict[str, Call] = {}
        self.call_log: list[tuple[Any, ...]] | None = None  # segment folds: fragments to route
        self.fc_name: str | None = None
        self.fc_args: list[Any] | None = None  # None: no function_call fragment arrived
        self.fc_extra: Extras | None = None
        self.audio: Audio | None = None
        self.annotations: list[Any] | None = None
        self.parts: list[dict[str, Any]] | None = None  # content sent as typed parts, merged
        self.lp_seen = False
        self.lp_content: list[Any] | None = None
        self.lp_refusal: list[Any] | None = None
        self.lp_extra: Extras | None = None
        self.text_lp: dict[str, list[Any]] | None = None  # legacy completions: parallel lists
        self.finish_reason: str | None = None
        self.extra = Extras(False, rules)
        self.delta_extra = Extras(True, rules)

    # labels ---------------------------------------------------------------------------------

    def set_role(self, role: str | None) -> None:
        """The first role sent is the message's."""
        if role and self.role is None:
            self.role = role

    def set_finish_reason(self, reason: str | None) -> None:
        """The latest finish reason sent is the choice's."""
        if reason:
            self.finish_reason = reason

    # text: per fragment and in a batch (empty fragments add nothing) ----------------------------

    def add_text(self, text: str | None) -> None:
        if text:
            self.content.append(text)

    def extend_text(self, texts: Iterable[str]) -> None:
        self.content.extend(filter(None, texts))

    def add_refusal(self, text: str | None) -> None:
        if text:
            self.refusal.append(text)

    def extend_refusal(self, texts: Iterable[str]) -> None:
        self.refusal.extend(filter(None, texts))

    def add_parts(self, parts: list[dict[str, Any]]) -> None:
        """Content sent as typed parts (their text went to ``add_text``): merged, kept."""
        if self.parts is None:
            self.parts = []
        merge_parts(self.parts, parts)

    def extend_annotations(self, annotations: list[Any]) -> None:
        if self.annotations is None:
            self.annotations = []
        self.annotations.extend(annotations)

    def add_function(self, fn: dict[str, Any]) -> None:
        """A fragment of the legacy ``function_call``."""
        name = fn.get("name")
        if name and self.fc_name is None:
            self.fc_name = name
        if self.fc_args is None:
            self.fc_args = []
        args = fn.get("arguments")
        if args:
            self.fc_args.append(args)
        if len(fn) > 2 or not fn.keys() <= FUNCTION_KNOWN:
            if self.fc_extra is None:
                self.fc_extra = Extras(True, self.rules, item_labels=True)
            for key, value in fn.items():
                if key not in FUNCTION_KNOWN:
                    self.fc_extra.add(key, value)

    def add_audio(self, audio: dict[str, Any]) -> None:
        if self.audio is None:
            self.audio = Audio(self.rules)
        self.audio.add(audio)

    # logprobs ---------------------------------------------------------------------------------

    def extend_logprobs(self, content: list[Any] | None, refusal: list[Any] | None = None) -> None:
        """Token logprob entries, checked, for the content and the refusal."""
        self.lp_seen = True
        if content is not None:
            if self.lp_content is None:
                self.lp_content = []
            self.lp_content.extend(content)
        if refusal is not None:
            if self.lp_refusal is None:
                self.lp_refusal = []
            self.lp_refusal.extend(refusal)

    def extend_text_logprobs(self, lists: Mapping[str, list[Any]]) -> None:
        """The parallel lists of a legacy completion's logprobs."""
        self.lp_seen = True
        if self.text_lp is None:
            self.text_lp = {}
        for name, values in lists.items():
            self.text_lp.setdefault(name, []).extend(values)

    def add_lp_extra(self, key: str, value: Any) -> None:
        if self.lp_extra is None:
            self.lp_extra = Extras(False, self.rules)
        self.lp_extra.add(key, value)

    # tool calls: routing ------------------------------------------------------------------------

    def call_for(self, index: int | None, call_id: str | None) -> Call:
        """The call a fragment with this index and id belongs to (made when new).

        Routing (covers OpenAI, TGI, llama.cpp, Ollama, Gemini): a fragment with an id not seen
        before starts a new call, unless the call at its index has no id yet (then it takes the
        id); a fragment with a known id continues that call; one without an id continues the
        call at its index, or the most recent call when it has no index either.
        """
        if call_id:
            call = self.by_id.get(call_id)
            if call is None:
                current = self.by_index.get(index) if index is not None else None
                if current is not None and current.id is None:
                    call = current
                else:
                    call = self._new_call(index)
                call.id = call_id
                self.by_id[call_id] = call
            return call
        if index is not None:
            call = self.by_index.get(index)
            return call if call is not None else self._new_call(index)
        if self.calls:
            return self.calls[-1]
        return self._new_call(None)

    def _new_call(self, index: int | None) -> Call:
        call = Call(index, len(self.calls), self.rules)
        self.calls.append(call)
        self.by_index[index] = call
        return call

    def add_calls(self, fragments: Iterable[tuple[Any, ...]]) -> None:
        """Fold checked tool-call fragments, ``(index, id, type, name, arguments, has function,
        function extras, call extras)`` each, every one to the call it is routed to."""
        for index, call_id, kind, name, args, has_fn, fn_extra, call_extra in fragments:
            self.call_for(index, call_id).add(kind, name, args, has_fn, fn_extra, call_extra)

    def log_calls(self, fragments: Iterable[tuple[Any, ...]]) -> None:
        """Keep checked fragments in order, to route later: a segment fold cannot route them,
        as routing needs the calls of the segments before it (see ``PartialFold``)."""
        if self.call_log is None:
            self.call_log = []
        self.call_log.extend(fragments)

    # reading, compacting ----------------------------------------------------------------------

    def extra_parts(self, name: str) -> list[Any] | None:
        """The fragment list of the unknown delta field ``name``, if it concatenates."""
        value = self.delta_extra.values.get(name)
        return value.parts if type(value) is Concat else None

    def compact(self) -> None:
        compact_parts(self.content)
        compact_parts(self.refusal)
        for call in self.calls:
            compact_parts(call.args)
        self.delta_extra.compact()
        if self.audio is not None:
            compact_parts(self.audio.data)
            compact_parts(self.audio.transcript)

    # partial folds ------------------------------------------------------------------------------

    def merge(self, other: Choice, segment: bool) -> None:
        """Fold ``other`` in as if its chunks had followed ours; ``other`` stays unchanged.
        In a ``segment`` fold, tool-call fragments stay in their log; else they are routed."""
        self.set_role(other.role)
        extend_parts(self.content, other.content)
        extend_parts(self.refusal, other.refusal)
        if other.call_log:
            if segment:
                self.log_calls(other.call_log)
            else:
                self.add_calls(other.call_log)
        if other.fc_args is not None:
            if self.fc_args is None:
                self.fc_args = []
            extend_parts(self.fc_args, other.fc_args)
            self.fc_name = self.fc_name or other.fc_name
            if other.fc_extra is not None:
                if self.fc_extra is None:
                    self.fc_extra = Extras(True, self.rules, item_labels=True)
                self.fc_extra.merge(other.fc_extra)
        if other.audio is not None:
            if self.audio is None:
                self.audio = Audio(self.rules)
            self.audio.merge(other.audio)
        if other.annotations is not None:
            self.extend_annotations(copy.deepcopy(other.annotations))
        if other.parts is not None:
            if self.parts is None:
                self.parts = []
            for part in copy.deepcopy(other.parts):
                kind = part.get("type")
                last = self.parts[-1] if self.parts else None
                nested = "text" if kind == "text" else _NESTED_TEXT.get(str(kind), "")
                if last is not None and nested and last.get("type") == kind:
                    last[nested].extend(part[nested])
                else:
                    self.parts.append(part)
        if other.lp_seen:
            self.extend_logprobs(other.lp_content, other.lp_refusal)
        if other.lp_extra is not None:
            if self.lp_extra is None:
                self.lp_extra = Extras(False, self.rules)
            self.lp_extra.merge(other.lp_extra)
        if other.text_lp is not None:
            self.extend_text_logprobs(other.text_lp)
        self.set_finish_reason(other.finish_reason)
        self.extra.merge(other.extra)
        self.delta_extra.merge(other.delta_extra)

    # the result -------------------------------------------------------------------------------

    def build(self, normalize_finish_reason: bool) -> m.Choice:
        """The choice of a chat completion."""
        tool_calls = None
        if self.calls:
            calls = self.calls
            if all(c.index is not None for c in calls):
                calls = sorted(calls, key=lambda c: (c.index, c.seq))
            tool_calls = tuple(c.build() for c in calls)
        function_call = None
        if self.fc_args is not None:
            function_call = m.FunctionCall(
                name=self.fc_name or "",
                arguments=join_parts(self.fc_args),
                extra=self.fc_extra.build() if self.fc_extra is not None else {},
            )
        annotations: tuple[m.Annotation, ...] = ()
        if self.annotations:
            annotations = converter.structure(self.annotations, tuple[m.Annotation, ...])
        extra = self.delta_extra.build()
        if self.parts is not None:
            extra[CONTENT_PARTS] = [build_part(p) for p in self.parts]
        message = m.ChatCompletionMessage(
            role=self.role or "assistant",
            content=join_parts(self.content) or None,
            refusal=join_parts(self.refusal) or None,
            annotations=annotations,
            tool_calls=tool_calls,
            function_call=function_call,
            audio=self.audio.build() if self.audio is not None else None,
            extra=extra,
        )
        logprobs = None
        if self.lp_seen:
            logprobs = m.ChoiceLogprobs(
                content=_token_logprobs(self.lp_content),
                refusal=_token_logprobs(self.lp_refusal),
                extra=self.lp_extra.build() if self.lp_extra is not None else {},
            )
        finish = self.finish_reason
        if normalize_finish_reason and finish == "stop" and tool_calls:
            finish = "tool_calls"
        return m.Choice(
            index=self.index,
            message=message,
            logprobs=logprobs,
            finish_reason=finish,
            extra=self.extra.build(),
        )

    def build_text(self) -> m.TextChoice:
        """The choice of a legacy text completion."""
        logprobs = None
        if self.lp_seen:
            lists = self.text_lp or {}
            logprobs = converter.structure(
                {**(self.lp_extra.build() if self.lp_extra is not None else {}), **lists},
                m.TextLogprobs,
            )
        return m.TextChoice(
            index=self.index,
            text=join_parts(self.content),
            logprobs=logprobs,
            finish_reason=self.finish_reason,
            extra=self.extra.build(),
        )


def _token_logprobs(entries: list[Any] | None) -> m.TokenLogprobs | None:
    if entries is None:
        return None
    return m.TokenLogprobs(entries)  # built into TokenLogprob objects when first read


# -- content sent as a list of typed parts --------------------------------------------------------
#
# Mistral's Magistral streams
# ``[{"type": "thinking", "thinking": [{"type": "text", "text": ...}]}]`` pieces before plain
# string pieces; Databricks sends ``{"type": "reasoning", "summary": [...]}``.
# Strings and text parts feed ``content``; every part is also kept, merged with the previous part
# when both have the same type, on the message under ``CONTENT_PARTS``. The reasoning text of
# thinking and reasoning parts is read back by ``ChatCompletionMessage.reasoning_text``.

CONTENT_PARTS: Final = "content_parts"
_NESTED_TEXT: Final = {"thinking": "thinking", "reasoning": "summary"}


def merge_parts(merged: list[dict[str, Any]], parts: list[dict[str, Any]]) -> None:
    for part in parts:
        kind = part.get("type")
        last = merged[-1] if merged else None
        if last is not None and last.get("type") == kind and kind == "text":
            last["text"].append(part.get("text") or "")
            continue
        nested = _NESTED_TEXT.get(kind) if type(kind) is str else None
        if last is not None and nested and last.get("type") == kind:
            last[nested].extend(part.get(nested) or ())
            continue
        if kind == "text":
            merged.append({**part, "text": [part.get("text") or ""]})
        elif nested:
            merged.append({**part, nested: list(part.get(nested) or ())})
        else:
            merged.append(dict(part))


def build_part(part: dict[str, Any]) -> dict[str, Any]:
    kind = part.get("type")
    if kind == "text":
        return {**part, "text": "".join(part["text"])}
    nested = _NESTED_TEXT.get(kind) if type(kind) is str else None
    if nested:
        # adjacent text items inside a thinking / reasoning part join into one
        items: list[Any] = []
        for item in part[nested]:
            prev = items[-1] if items else None
            if (
                type(item) is dict
                and type(prev) is dict
                and item.get("type") == prev.get("type") == "text"
                and set(item) <= {"type", "text"}
                and set(prev) <= {"type", "text"}
            ):
                items[-1] = {
                    "type": "text",
                    "text": (prev.get("text") or "") + (item.get("text") or ""),
                }
            else:
                items.append(item)
        return {**part, nested: items}
    return part

"""The OpenAI Responses API: ``ResponseAccumulator`` folds its stream events into the ``response``.

Theory of operation
-------------------
A Responses stream is a sequence of typed events (``response.created``, ``response.output_item.
added``, ``response.output_text.delta``, ..., ``response.completed``). The accumulator keeps:

* the response's top-level keys, each lifecycle event's ``response`` written over the previous
  one key by key (``output`` aside): the terminal event's values win, every key it sends is kept;
* the output items by ``output_index`` (and by ``item_id``, so that an event naming only a known
  item's id reaches it; an item met by id alone waits, unplaced, until an event gives its index).
  Each item holds its latest JSON (``output_item.added`` then ``.done`` written over it key by
  key), its content parts and reasoning summary parts by index, and one text slot for the item's
  own streamed field (``arguments``, ``input``, ``code``);
* per text slot: the fragments of the ``*.delta`` events (joined once, at build), the full value
  of the latest ``*.done`` / ``content_part.done`` / ``output_item.done`` that carried it, the
  logprob entries of the deltas, and the annotations by ``annotation_index``.

Building (``snapshot()`` / ``completion()``) writes each slot's value into a copy of its item's
JSON: the full value when one arrived, else the joined fragments, else what the item's JSON said.
When a full value and non-empty fragments differ, the full value is used and the difference is
recorded as a :class:`Disagreement` (``ResponseAccumulator.disagreements``, and one warning on the
``streamfold`` logger at ``completion()``): the JSON of the response stays exactly the API's
shape. The terminal event's ``output`` replaces the folded output when it is non-empty (gateways
send ``output: []``); when the two differ, that is recorded the same way.

Order. Events carrying a ``sequence_number`` are applied in its order: the next expected one is
applied at once (the common case, O(1)); a later one is checked and held in a heap until the gap
fills, at most ``HOLD`` events (then the gap is given up and the held events are applied in
order); an exact repeat of a sequence number already seen is dropped (``duplicates``); an event
older than the first one seen is applied as it comes. ``completion()`` and ``end_events()`` apply
whatever is still held. A malformed event still uses up its sequence number.

What is kept. Unknown keys of the response, of items, of parts and of annotations are kept where
they arrived. Unknown event *types* are not folded (nothing tells where their data would belong
in the non-streamed object, and the stream carries non-response events such as
``rate_limits.updated``): they are counted by type in ``unknown_events``, never fatal. Keys of the
events themselves (``sequence_number``, ``obfuscation``, ...) are the stream's envelope, not part
of the response. Partial images of an image generation call are previews: the item's final JSON
(``output_item.done``) holds the result.

Partial folds merge (``merge``): fragment lists concatenate, JSON and full values keep the later
segment's, items meet by ``output_index`` or ``item_id``, so fold(A) merged with fold(B) is the
fold of A+B for a stream whose sequence numbers do not cross the cut. Where they do, the order
depends on the earlier segments (what is held, the number expected next): a segment
(``mark_segment``) keeps its events while there are at most ``RAW`` of them, and the merge
replays them as the whole fold reads them; a longer segment is merged by its state only where
that is the whole fold's (``_follows``), else the merge raises :class:`PartialMergeError`. A
segment told to (``keep_events``: one that may continue a stream begun in an earlier piece, where
nothing can read its lines again) keeps all its events, and so does a merge of such segments.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, NoReturn

from attrs import frozen

from . import _model as m
from ._convert import to_dict
from ._errors import (
    IncompleteStreamError,
    InvalidChunkError,
    StreamError,
    UsageError,
    _OrderMergeError,
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
    RefusalDelta,
    RefusalDone,
    ToolCallArgumentsDelta,
    ToolCallDone,
    ToolCallStarted,
    UsageReport,
)
from ._partial import try_parse_arguments
from ._values import _as_mapping, _fail, _Invalid, _plain, text_object

__all__ = ["Disagreement", "ResponseAccumulator", "event_kind", "to_events"]

log = logging.getLogger("streamfold")

_SDK_CLASSES: set[type] = set()  # pydantic event classes met (read through __dict__)
HOLD: Final = 64  # events held at most while waiting for a missing sequence number
RAW: Final = 2 * HOLD + 2  # a segment's events kept for a merge to replay (``mark_segment``)

# the kinds of a stream's end for the logs (the values of _logs.IDLE / CLOSE / CHOICES)
IDLE: Final = 0
CLOSE: Final = 1
CHOICES: Final = 2

_TERMINAL: Final = {
    "response.completed": "completed",
    "response.incomplete": "incomplete",
    "response.failed": "failed",
}
_STOPS: Final = frozenset({"error", "response.failed"})  # the events that raise StreamError
_LIFECYCLE: Final = frozenset({"response.created", "response.in_progress", "response.queued"})
_TOOL_CALLS: Final = frozenset({"function_call", "custom_tool_call"})
# the item's own streamed field, by item type
_ITEM_FIELD: Final = {
    "function_call": "arguments",
    "custom_tool_call": "input",
    "mcp_call": "arguments",
    "code_interpreter_call": "code",
}


@frozen
class Disagreement:
    """A full value the stream sent that differs from what its deltas folded into.

    ``path`` names the value in the response (``output[0].content[0].text``, ``output[2]``,
    ``output``); ``folded`` is what the deltas (or the folded output) gave, ``sent`` the value
    used, from ``source`` (the event type that carried it).
    """

    path: str
    folded: Any
    sent: Any
    source: str


class _Slot:
    """One streamed text: a content part, a summary part, or an item's arguments / input / code."""

    __slots__ = ("anns", "anns_full", "anns_loose", "base", "fired", "frags", "full", "kind")

    def __init__(self, kind: str) -> None:
        self.kind = kind  # the part type (output_text, refusal, ...) or the item's field name
        self.base: dict[str, Any] | None = None  # the part's JSON, added then done written over
        self.frags: list[Any] = []  # text fragments, joined once at build
        self.full: str | None = None
        self.anns: dict[int, Any] = {}
        self.anns_loose: list[Any] = []
        self.anns_full: list[Any] | None = None
        self.fired = False  # its done event was reported

    def set_base(self, data: dict[str, Any]) -> None:
        if self.base is None:
            self.base = dict(data)
        else:
            self.base.update(data)

    def merge(self, other: _Slot) -> None:
        if other.base is not None:
            self.set_base(other.base)
        self.frags.extend(other.frags)
        if other.full is not None:
            self.full = other.full
        self.anns.update(other.anns)
        self.anns_loose.extend(other.anns_loose)
        if other.anns_full is not None:
            self.anns_full = other.anns_full


class _Part(_Slot):
    __slots__ = ("lp", "lp_full")

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.lp: list[Any] = []
        self.lp_full: list[Any] | None = None

    @property
    def field(self) -> str:
        return "refusal" if self.kind == "refusal" else "text"

    def merge(self, other: _Slot) -> None:
        mine = self.full
        super().merge(other)
        assert isinstance(other, _Part)
        if other.full is not None and other.kind != self.kind and other.field != self.field:
            # the later segment took its full value from its own kind's field; the whole fold
            # keeps the first kind of the part and reads that one's field (``take_full``)
            got = other.base.get(self.field) if other.base is not None else None
            self.full = got if type(got) is str else mine
        self.lp.extend(other.lp)
        if other.lp_full is not None:
            self.lp_full = other.lp_full

    def take_full(self, data: dict[str, Any]) -> None:
        """The full values a part's final JSON carries (content_part.done, output_item.done)."""
        text = data.get(self.field)
        if type(text) is str:
            self.full = text
        lp = data.get("logprobs")
        if type(lp) is list:
            self.lp_full = lp
        anns = data.get("annotations")
        if type(anns) is list:
            self.anns_full = anns


class _Item:
    __slots__ = ("base", "done", "hint", "id", "index", "parts", "slot", "started", "summary")

    def __init__(self, index: int | None, item_id: str | None, hint: str) -> None:
        self.index = index
        self.id = item_id
        self.hint = hint  # the item type the first event implied (for an item never announced)
        self.base: dict[str, Any] | None = None
        self.parts: dict[int, _Part] = {}
        self.summary: dict[int, _Part] = {}
        self.slot: _Slot | None = None
        self.started = False  # ToolCallStarted reported
        self.done = False  # ToolCallDone reported

    @property
    def type(self) -> str:
        base = self.base
        kind = base.get("type") if base is not None else None
        return kind if type(kind) is str else self.hint

    def set_base(self, data: dict[str, Any]) -> None:
        if self.base is None:
            self.base = dict(data)
        else:
            self.base.update(data)

    def part(self, collection: dict[int, _Part], index: int, kind: str) -> _Part:
        part = collection.get(index)
        if part is None:
            part = collection[index] = _Part(kind)
        return part

    def field_slot(self, field: str) -> _Slot:
        slot = self.slot
        if slot is None:
            slot = self.slot = _Slot(field)
        return slot

    def merge(self, other: _Item) -> None:
        if other.base is not None:
            self.set_base(other.base)
        for mine, theirs in ((self.parts, other.parts), (self.summary, other.summary)):
            for index, part in theirs.items():
                self.part(mine, index, part.kind).merge(part)
        if other.slot is not None:
            self.field_slot(other.slot.kind).merge(other.slot)

    # -- building ------------------------------------------------------------------------------

    def build(self, path: str, out: list[Disagreement]) -> dict[str, Any]:
        base = self.base or {}
        item: dict[str, Any] = {}
        if "type" not in base:  # never announced: the type its events implied
            item["type"] = self.hint
            if self.hint == "message" and "role" not in base:
                item["role"] = "assistant"
        if "id" not in base and self.id is not None:
            item["id"] = self.id
        item.update(base)
        for key, parts in (("content", self.parts), ("summary", self.summary)):
            if parts:
                item[key] = [
                    _build_part(parts[i], f"{path}.{key}[{i}]", out) for i in sorted(parts)
                ]
        slot = self.slot
        if slot is not None:
            value = _text_value(slot, f"{path}.{slot.kind}", out)
            if value is not None:
                item[slot.kind] = value
        return item


def _text_value(slot: _Slot, path: str, out: list[Disagreement]) -> str | None:
    """The slot's text: its full value, else its joined fragments; None when neither came."""
    folded = "".join(slot.frags) if slot.frags else None
    if slot.full is None:
        return folded
    if folded is not None and folded != slot.full:
        out.append(Disagreement(path, folded, slot.full, "done"))
    return slot.full


def _build_part(part: _Part, path: str, out: list[Disagreement]) -> dict[str, Any]:
    base = part.base
    if base is None:
        data: dict[str, Any] = {"type": part.kind}
        if part.kind == "output_text":  # the shape content_part.added sends
            data["annotations"] = []
    else:
        data = dict(base) if "type" in base else {"type": part.kind, **base}
    text = _text_value(part, f"{path}.{part.field}", out)
    if text is not None:
        data[part.field] = text
    if part.anns_full is not None:
        if part.anns or part.anns_loose:
            folded = _annotations(data.get("annotations"), part)
            if folded != part.anns_full:
                out.append(Disagreement(f"{path}.annotations", folded, part.anns_full, "done"))
        data["annotations"] = part.anns_full
    elif part.anns or part.anns_loose:
        data["annotations"] = _annotations(data.get("annotations"), part)
    if part.lp_full is not None:
        if part.lp and part.lp != part.lp_full:
            out.append(Disagreement(f"{path}.logprobs", part.lp, part.lp_full, "done"))
        data["logprobs"] = part.lp_full
    elif part.lp:
        data["logprobs"] = list(part.lp)
    return data


def _annotations(start: Any, part: _Part) -> list[Any]:
    result = list(start) if type(start) is list else []
    for index in sorted(part.anns):
        if index < len(result):
            result[index] = part.anns[index]
        else:
            result.append(part.anns[index])
    result.extend(part.anns_loose)
    return result


# ---------------------------------------------------------------------------------------------
# reading events


def _dump(value: Any, path: str) -> dict[str, Any]:
    """A nested object of an event (item, part, response, annotation) as plain JSON."""
    if type(value) is dict:
        return value
    dump = getattr(value, "model_dump", None)
    if dump is not None and hasattr(value, "__pydantic_fields_set__"):
        data = dump(mode="json", exclude_unset=True, by_alias=True, warnings=False)
    elif isinstance(value, Mapping) or hasattr(value, "__dict__"):
        data = _plain(value)
    else:
        _fail(path, "an object", value)
    if type(data) is not dict:
        _fail(path, "an object", value)
    return data


def _int(ev: dict[str, Any], key: str) -> int | None:
    value = ev.get(key)
    if value is None or type(value) is int:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    _fail(key, "an int", value)


def _index(ev: dict[str, Any], key: str) -> int | None:
    """A position in a list (``output_index``, ``content_index``, ...): a non-negative int."""
    value = _int(ev, key)
    if value is not None and value < 0:
        _fail(key, "a non-negative int", value)
    return value


def _str(ev: dict[str, Any], key: str) -> str | None:
    value = ev.get(key)
    if value is None or type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    _fail(key, "a string", value)


def _place(ev: dict[str, Any]) -> tuple[int | None, str | None]:
    """The item an event names: ``(output_index, item_id)``, at least one of them."""
    oi = _index(ev, "output_index")
    iid = _str(ev, "item_id")
    if oi is None and iid is None:
        raise _Invalid("output_index", "missing, and no item_id names the item")
    return oi, iid


def _objects(value: Any, path: str) -> list[Any]:
    """A list of objects (logprob entries, annotations) as plain JSON: the list itself when
    every item is a dict already; each other item dumped (``_dump``: an object, or refused)."""
    if type(value) is not list:
        if type(value) is not tuple:
            _fail(path, "a list", value)
        value = list(value)
    items: list[Any] = value
    for item in items:
        if type(item) is not dict:
            return [_dump(v, f"{path}[{i}]") for i, v in enumerate(items)]
    return items


def _logprobs(ev: dict[str, Any], key: str = "logprobs") -> list[Any] | None:
    value = ev.get(key)
    return None if value is None else _objects(value, key)


def _part_shape(value: Any, path: str) -> dict[str, Any]:
    """A content or summary part (of an item, a part event, the terminal event's output) as
    plain JSON: its ``type`` a string, its ``annotations`` and ``logprobs`` lists of objects."""
    data = _dump(value, path)
    ptype = data.get("type")
    if ptype is not None and type(ptype) is not str:
        _fail(f"{path}.type", "a string", ptype)
    for key in ("annotations", "logprobs"):
        values = data.get(key)
        if values is not None:
            plain = _objects(values, f"{path}.{key}")
            if plain is not values:  # (a copy: the event's own dict stays as sent)
                data = {**data, key: plain}
    return data


def _item_shape(value: Any, path: str) -> tuple[dict[str, Any], list[tuple[str, list[Any]]]]:
    """An output item (of an item event, the terminal event's output) as plain JSON, checked:
    its ``id`` and ``type`` strings, its ``content`` and ``summary`` lists of parts; and those
    parts, per collection."""
    data = _dump(value, path)
    iid = data.get("id")
    if iid is not None and type(iid) is not str:
        _fail(f"{path}.id", "a string", iid)
    kind = data.get("type")
    if kind is not None and type(kind) is not str:
        _fail(f"{path}.type", "a string", kind)
    collections = []
    for key in ("content", "summary"):
        parts = data.get(key)
        if parts is not None:
            if type(parts) is not list:
                _fail(f"{path}.{key}", "a list", parts)
            shaped = [_part_shape(p, f"{path}.{key}[{i}]") for i, p in enumerate(parts)]
            collections.append((key, shaped))
    return data, collections


Handler = Callable[["ResponseAccumulator", dict[str, Any], Any, int, bool], None]


class ResponseAccumulator(EventFold[m.Response]):
    """Fold OpenAI Responses API stream events into the complete ``response`` (:class:`Response`).

    A sans-I/O object like :class:`Accumulator`: ``add(event)`` one event at a time (a dict, the
    JSON text of one event with an optional ``data:`` prefix, or an openai SDK event object),
    ``snapshot()`` any number of times, ``completion()`` once at the end. See the module
    docstring for the rules (order by ``sequence_number``, full values and disagreements, what is
    kept).
    """

    __slots__ = (
        "_dups",
        "_ended",
        "_final_dis",
        "_first",
        "_held",
        "_held_seqs",
        "_ids",
        "_items",
        "_keep",
        "_late",
        "_loose",
        "_moved",
        "_next",
        "_old",
        "_orphans",
        "_out",
        "_raw",
        "_started",
        "_terminal",
        "_terminal_output",
        "_top",
        "_unknown",
    )

    def __init__(self) -> None:
        super().__init__()
        self._top: dict[str, Any] = {}
        self._items: dict[int, _Item] = {}
        self._ids: dict[str, _Item] = {}
        self._orphans: list[_Item] = []  # items known by id only, in arrival order
        self._terminal: str | None = None  # completed / incomplete / failed
        self._terminal_output: list[Any] | None = None
        self._unknown: dict[str, int] = {}
        self._next: int | None = None  # the sequence number expected next
        self._first: int | None = None
        self._held: list[tuple[int, int, dict[str, Any]]] = []  # (sequence, position, event)
        self._held_seqs: set[int] = set()
        self._late: set[int] = set()
        self._old = False  # an event came older than the next sequence number (dropped or late)
        self._moved = False  # an event came that was not the next (held, dropped or late)
        # an event without a sequence number came before the first HOLD + 1 numbered ones
        self._loose = False
        # (a segment, ``mark_segment``) every event given, while there are at most RAW of them:
        # what ``merge`` replays when the segment's order depends on the segments before it
        self._raw: list[Any] | None = None
        self._keep = RAW  # how many events a segment keeps at most (``keep_events``)
        self._dups = 0
        self._final_dis: tuple[Disagreement, ...] = ()
        self._out: list[Event] | None = None  # set while add_events runs
        self._started = False
        self._ended = False

    # -- public ---------------------------------------------------------------------------------

    @property
    def is_complete(self) -> bool:
        """True once ``response.completed`` or ``response.incomplete`` was applied."""
        return self._terminal in ("completed", "incomplete")

    @property
    def key(self) -> str | None:
        """The response id, once an event carried it."""
        rid = self._top.get("id")
        return rid if type(rid) is str else None

    @property
    def unknown_events(self) -> Mapping[str, int]:
        """Events of types the fold does not know, counted by type (not folded: module doc)."""
        return dict(self._unknown)

    @property
    def duplicates(self) -> int:
        """Events dropped because their sequence number had been seen already."""
        return self._dups

    @property
    def disagreements(self) -> tuple[Disagreement, ...]:
        """Full values that differ from the folded deltas (module docstring), for the fold so far
        (builds the response when ``completion()`` was not called)."""
        if self._final is not None:
            return self._final_dis
        return tuple(self._build()[1])

    def __repr__(self) -> str:
        return (
            f"<ResponseAccumulator events={self._count}, items="
            f"{len(self._items) + len(self._orphans)}, complete={self.is_complete}>"
        )

    def add(self, event: Any) -> None:
        """Fold one event.

        Raises :class:`InvalidChunkError` for a malformed event (not applied; the accumulator
        stays usable), :class:`StreamError` for ``response.failed`` and ``error`` events (after
        folding what they carried; ``add()`` is then a :class:`UsageError`), and
        :class:`UsageError` after ``completion()``.
        """
        position = self._count
        self._count = position + 1
        if self._final is not None or self._error is not None:
            self._refuse(position)
        raw = self._raw
        if raw is not None:
            if len(raw) < self._keep:
                raw.append(event)
            else:
                self._raw = None
        try:
            if type(event) is not dict:
                event = self._coerce(event)
                if event is None:  # data: [DONE]
                    self._count = position
                    return
            kind = event.get("type")
            handler = _HANDLERS.get(kind) if type(kind) is str else None
            if handler is None:
                if type(kind) is not str:
                    _fail("type", "a string", kind)
                handler = _HANDLERS[""]
            seq = event.get("sequence_number")
            nxt = self._next
            if seq is None or seq == nxt or nxt is None:
                if seq is not None:
                    if type(seq) is not int:
                        seq = _int(event, "sequence_number")
                        assert seq is not None
                    if nxt is None:
                        self._first = seq
                    self._next = seq + 1
                elif not self._loose:
                    self._loose = nxt is None or nxt - self._first <= HOLD  # type: ignore[operator]
                handler[0](self, event, handler[1], position, False)
                if self._held:
                    self._drain()
            else:
                self._order(event, seq, handler, position)
        except _Invalid as exc:
            raise exc.located("event", position, self.snapshot(), event) from None

    def add_events(self, event: Any) -> list[Event]:
        """Fold one event like :meth:`add` and return the events it caused (``_events``).

        ``response.failed`` and ``error`` come as an :class:`ErrorEvent` at the end of the list
        rather than raised. Raises :class:`InvalidChunkError` and :class:`UsageError` as ``add``.
        """
        out: list[Event] = []
        self._out = out
        try:
            self.add(event)
        except StreamError as exc:
            out.append(ErrorEvent(error=exc.error, exception=exc))
        finally:
            self._out = None
        return out

    def end_events(self) -> list[Event]:
        """The done events not reported yet (call once, when the stream has ended); events held
        for a missing sequence number are applied first, and their events come too."""
        out: list[Event] = []
        if self._ended:
            return out
        self._ended = True
        self._out = out
        try:
            if self._held and self._final is None and self._error is None:
                self._flush()
            self._fire_all()
        except StreamError as exc:
            out.append(ErrorEvent(error=exc.error, exception=exc))
        finally:
            self._out = None
        return out

    def snapshot(self) -> m.Response:
        """The response folded so far (events held for a sequence gap not included); any number
        of times."""
        if self._final is not None:
            return self._final
        return self._build()[0]

    def completion(self, *, strict: bool = False) -> m.Response:
        """The final response, built once (held events applied first); ``add()`` is a
        :class:`UsageError` afterwards. Disagreements are logged once, as a warning.

        With ``strict=True``, raises :class:`IncompleteStreamError` when neither
        ``response.completed`` nor ``response.incomplete`` arrived. May raise the
        :class:`StreamError` of a held ``error`` event applied here.
        """
        if self._final is None:
            if self._held and self._error is None:
                self._flush()
            self._final, dis = self._build()
            self._final_dis = tuple(dis)
            if dis:
                log.warning(
                    "response %s: %d value(s) the stream sent differ from the folded deltas;"
                    " the sent values are used (first: %s)",
                    self.key,
                    len(dis),
                    dis[0].path,
                )
        if strict and not self.is_complete:
            raise IncompleteStreamError(
                "the stream ended early: no response.completed or response.incomplete event",
                position=self._count - 1 if self._count else None,
                completion=self._final,
            )
        return self._final

    def mark_segment(self) -> None:
        """Fold a segment of a stream (see ``PartialFold``): as ``EventFold``'s, and the segment
        keeps its first events (at most ``RAW``) for ``merge`` to replay."""
        self._segment = True
        if self._count == 0 and self._raw is None:
            self._raw = []

    def keep_events(self) -> None:
        """(A segment, before its first event) Keep every event, not only the first ``RAW``:
        ``merge`` then replays them all, so a merge with the segments before it is the whole
        fold's whatever their order (a segment that may continue a stream begun in an earlier
        piece, where nothing can read its lines again: Dask's partitions)."""
        self._keep = sys.maxsize

    def merge(self, later: ResponseAccumulator) -> None:
        """Fold ``later``'s state into this one, as if its events had followed (in place).

        Order by ``sequence_number`` depends on what came before: a segment that kept all its
        events (``mark_segment``, at most ``RAW``) is replayed here, event by event, as the
        whole fold reads them; a longer one's state is merged, which is the whole fold's when
        its sequence numbers follow this fold's (see ``_follows``).

        ``later`` is left as it was. Raises :class:`UsageError` after ``completion()``, and
        :class:`PartialMergeError` for a longer segment whose sequence numbers do not follow
        this fold's (its events would have been ordered otherwise: a merge would differ).
        """
        if self._final is not None:
            raise UsageError("merge() after completion()")
        if self._count == 0:  # (a fresh fold the segments merge into) keeps as the first kept
            self._keep = later._keep
        raw = later._raw
        if raw is not None and self._error is None:
            self._replay(raw, later._count)
            return
        if self._error is None and not self._follows(later):
            raise _OrderMergeError(
                "a Responses segment whose sequence numbers do not follow the earlier segments'"
                f" (the next expected is {self._next}, it begins at {later._first}"
                f"{', held events wait' if self._held else ''}): the order by sequence number"
                " crosses the cut, and a merge would differ from the whole fold",
                ranges=[],
            )
        self._raw = None
        if self._held and later._next is not None and self._error is None:
            self._flush()  # the gap given up (``_follows``)
        self._old = self._old or later._old
        self._moved = self._moved or later._moved
        self._loose = self._loose or later._loose
        self._count += later._count
        self._top.update(later._top)
        if later._terminal is not None:
            self._terminal = later._terminal
        if later._terminal_output is not None:
            self._terminal_output = later._terminal_output
        for kind, n in later._unknown.items():
            self._unknown[kind] = self._unknown.get(kind, 0) + n
        self._dups += later._dups
        for theirs in [*(later._items[i] for i in sorted(later._items)), *later._orphans]:
            self._item(theirs.index, theirs.id, theirs.hint).merge(theirs)
        if later._next is not None and (self._next is None or later._next > self._next):
            self._next = later._next
        if self._first is None:
            self._first = later._first
        for entry in later._held:
            if entry[0] not in self._held_seqs:
                heapq.heappush(self._held, entry)
                self._held_seqs.add(entry[0])
        self._late |= later._late
        if self._error is None and later._error is not None:
            self._error = later._error

    def _follows(self, later: ResponseAccumulator) -> bool:
        """Whether ``later``'s fold, made as if nothing came before it, is what the whole fold
        makes of its events after this one's: one side saw no sequence number; or nothing is
        held here, nothing in ``later`` came older than its own next (whether such an event is
        dropped or applied depends on the earlier segments), and ``later`` begins at the number
        expected next, or after a gap that the whole fold gave up as ``later`` read it."""
        if later._next is None or self._next is None:
            return True
        if later._old:
            return False
        held = self._held
        if not held and later._first == self._next:
            return True
        # a gap across the cut, never filled: the whole fold held the events held here (numbered
        # in a row up to ``later``'s first) and ``later``'s first ones (numbered in order, none
        # without a number among them) until more than HOLD waited, gave the gap up and applied
        # them all in their order: as ``merge`` does, applying those held here first
        assert later._first is not None
        if held:
            top = max(held)[0]
            if top + 1 != later._first or top - held[0][0] + 1 != len(held):
                return False
            if any(entry[2].get("type") in _STOPS for entry in held):
                return False  # (an error the whole fold raised there: the stream ends)
        return (
            self._next < later._first
            and not later._moved
            and not later._loose
            and later._next - later._first + len(held) > HOLD
        )

    def _replay(self, events: list[Any], later_count: int) -> None:
        """Fold a segment's events here, as ``add`` would have after this fold's events."""
        count = self._count + later_count
        try:
            for event in events:
                try:
                    self.add(event)
                except InvalidChunkError:
                    continue  # (the segment reported it when it folded the event)
                except StreamError:
                    return  # the stream ended there, as the segment's did
        finally:
            self._count = count  # (the segment counted what it was given, refused ones too)

    # -- reading input --------------------------------------------------------------------------

    def _coerce(self, event: Any) -> dict[str, Any] | None:
        cls = type(event)
        if cls in _SDK_CLASSES or (
            hasattr(cls, "__pydantic_fields__") and type(getattr(event, "__dict__", None)) is dict
        ):
            # the SDK's event object as it comes, no copy: its declared fields are all the fold
            # reads; keys it does not declare (obfuscation) are the envelope, but an error's
            # are part of its payload
            _SDK_CLASSES.add(cls)
            fields: dict[str, Any] = event.__dict__
            if fields.get("type") == "error":
                extra = getattr(event, "__pydantic_extra__", None)
                if extra:
                    fields = {**fields, **extra}
            return fields
        if isinstance(event, (str, bytes, bytearray, memoryview)):
            return text_object(event)
        return _as_mapping(event, "")

    def _order(self, event: dict[str, Any], seq: Any, handler: Any, position: int) -> None:
        """An event whose sequence number is not the next one: hold, drop or apply it late."""
        if type(seq) is not int:
            seq = _int(event, "sequence_number")
            assert seq is not None
        assert self._next is not None
        assert self._first is not None
        self._moved = True
        if seq >= self._next:
            if seq in self._held_seqs:
                self._dups += 1
                return
            handler[0](self, event, handler[1], position, True)  # checked now, applied later
            heapq.heappush(self._held, (seq, position, event))
            self._held_seqs.add(seq)
            if len(self._held) > HOLD:  # the gap is given up
                self._next = self._held[0][0]
                self._drain()
        elif seq >= self._first or seq in self._late:
            self._old = True
            self._dups += 1
        else:  # older than the first event seen: applied as it comes
            self._old = True
            self._late.add(seq)
            handler[0](self, event, handler[1], position, False)

    def _drain(self) -> None:
        held = self._held
        while held and held[0][0] <= self._next:  # type: ignore[operator]
            seq, position, event = heapq.heappop(held)
            self._held_seqs.discard(seq)
            self._next = seq + 1
            handler = _HANDLERS.get(event["type"]) or _HANDLERS[""]
            handler[0](self, event, handler[1], position, False)

    def _flush(self) -> None:
        while self._held:
            self._next = self._held[0][0]
            self._drain()

    # -- the fold -------------------------------------------------------------------------------

    def _item(self, oi: int | None, iid: str | None, hint: str) -> _Item:
        items = self._items
        if oi is not None:
            item = items.get(oi)
            if item is None:
                known = self._ids.get(iid) if iid is not None else None
                if known is not None and known.index is None:  # an unplaced item gets its place
                    known.index = oi
                    items[oi] = known
                    self._orphans.remove(known)
                    return known
                item = items[oi] = _Item(oi, iid, hint)
                if iid is not None:
                    self._ids.setdefault(iid, item)
            elif iid is not None and item.id is None:
                item.id = iid
                orphan = self._ids.get(iid)
                if orphan is not None and orphan.index is None:  # met by id before: one item
                    self._orphans.remove(orphan)
                    item.merge(orphan)
                self._ids[iid] = item
            return item
        assert iid is not None
        item = self._ids.get(iid)
        if item is None:
            item = self._ids[iid] = _Item(None, iid, hint)
            self._orphans.append(item)
        return item

    def _start(self) -> None:
        self._started = True
        assert self._out is not None
        self._out.append(ChoiceStarted(choice_index=0, role="assistant"))

    def _lifecycle(self, ev: dict[str, Any], status: str | None, pos: int, dry: bool) -> None:
        value = ev.get("response")
        response: dict[str, Any] | None = None
        if value is not None:
            response = _dump(value, "response")
            for key in ("id", "status", "model"):
                got = response.get(key)
                if got is not None and type(got) is not str:
                    _fail(f"response.{key}", "a string", got)
            for key in ("usage", "incomplete_details"):
                got = response.get(key)
                if got is not None and type(got) is not dict:
                    _fail(f"response.{key}", "an object", got)
            output = response.get("output")
            if output is not None:
                if type(output) is not list:
                    _fail("response.output", "a list", output)
                for i, item in enumerate(output):
                    _item_shape(item, f"response.output[{i}]")
        if dry:
            return
        out = self._out
        if out is not None and not self._started:
            self._start()
        if response is not None:
            top = self._top
            for key, got in response.items():
                if key != "output":
                    top[key] = got
            if status is not None and response.get("output"):
                self._terminal_output = response["output"]
        if status is None:
            return
        if response is None or response.get("status") is None:
            self._top["status"] = status
        self._terminal = status
        if out is not None:
            self._fire_all()
            usage = self._top.get("usage")
            if status != "failed":
                out.append(ChoiceFinished(choice_index=0, finish_reason=status))
            if usage is not None:
                out.append(UsageReport(usage=usage))
        if status == "failed":
            error = self._top.get("error")
            self._raise(error if error is not None else {"message": "response.failed"}, pos)

    def _error_event(self, ev: dict[str, Any], _: Any, pos: int, dry: bool) -> None:
        nested = ev.get("error")
        if nested is not None:
            payload: Any = _plain(nested)
        else:
            payload = {k: _plain(v) for k, v in ev.items() if k not in ("type", "sequence_number")}
        if dry:
            return
        self._raise(payload, pos)

    def _raise(self, payload: Any, pos: int) -> NoReturn:
        if self._out is not None:  # nothing can follow: what is open is done
            self._fire_all()
        err = StreamError.reported("event", pos, payload, self._build()[0])
        self._error = err
        raise err

    def _output_item(self, ev: dict[str, Any], done: bool, pos: int, dry: bool) -> None:
        value = ev.get("item")
        if value is None:
            _fail("item", "an object", value)
        oi = _index(ev, "output_index")
        data, collections = _item_shape(value, "item")
        iid = data.get("id")
        if oi is None and iid is None:
            raise _Invalid("output_index", "missing, and the item has no id")
        kind = data.get("type")
        if dry:
            return
        if self._out is not None and not self._started:
            self._start()
        item = self._item(oi, iid, kind or "message")
        item.set_base(data)
        for key, parts in collections:
            target = item.parts if key == "content" else item.summary
            default = "summary_text" if key == "summary" else "output_text"
            for index, part in enumerate(parts):
                ptype = part.get("type")
                slot = item.part(target, index, ptype if type(ptype) is str else default)
                slot.set_base(part)
                if done:
                    slot.take_full(part)
        field = _ITEM_FIELD.get(item.type)
        if done and field is not None and type(data.get(field)) is str:
            item.field_slot(field).full = data[field]
        if self._out is not None:
            if item.type in _TOOL_CALLS:
                self._tool_started(item)
            if done:
                self._fire_item(item)

    def _part_event(self, ev: dict[str, Any], spec: Any, pos: int, dry: bool) -> None:
        collection, index_key, done = spec
        value = ev.get("part")
        part = _part_shape(value, "part") if value is not None else {}
        oi, iid = _place(ev)
        index = _index(ev, index_key) or 0
        ptype = part.get("type")
        if dry:
            return
        item = self._item(oi, iid, "reasoning" if collection == "summary" else "message")
        default = "summary_text" if collection == "summary" else "output_text"
        target = item.summary if collection == "summary" else item.parts
        slot = item.part(target, index, ptype or default)
        if part:
            slot.set_base(part)
        if done:
            slot.take_full(part)
            if self._out is not None:
                self._fire_part(item, slot)

    def _delta(self, ev: dict[str, Any], spec: Any, pos: int, dry: bool) -> None:
        collection, index_key, kind, hint = spec
        delta = ev.get("delta")
        if type(delta) is not str:
            delta = _str(ev, "delta")
            if delta is None:
                _fail("delta", "a string", None)
        lp = ev.get("logprobs") if collection == "content" else None
        if lp is not None and (lp or type(lp) is not list):  # entries, or a wrong type
            lp = _logprobs(ev)
        oi = ev.get("output_index")
        iid = ev.get("item_id")
        if type(oi) is not int or oi < 0 or (iid is not None and type(iid) is not str):
            oi, iid = _place(ev)  # checks, naming the field
        index = 0
        if index_key is not None:
            index = ev.get(index_key, 0)
            if type(index) is not int or index < 0:
                index = _index(ev, index_key) or 0
        if dry:
            return
        # the common case first: a placed item whose id is known (or not named)
        item = self._items.get(oi) if oi is not None else None
        if item is None or (iid is not None and item.id is None):
            item = self._item(oi, iid, hint)
        out = self._out
        if collection is None:
            slot = item.slot
            if slot is None:
                slot = item.field_slot(kind)
            slot.frags.append(delta)
            if out is not None:
                if not self._started:
                    self._start()
                if item.type in _TOOL_CALLS:
                    self._tool_started(item)
                    index, cid, name = _call(item)
                    out.append(
                        ToolCallArgumentsDelta(
                            choice_index=0, index=index, id=cid, name=name, delta=delta
                        )
                    )
            return
        parts = item.parts if collection == "content" else item.summary
        part = parts.get(index)
        if part is None:
            part = parts[index] = _Part(kind)
        part.frags.append(delta)
        if lp:
            part.lp.extend(lp)
        if out is not None:
            if not self._started:
                self._start()
            if part.kind == "output_text":
                out.append(ContentDelta(choice_index=0, delta=delta, item=item.index))
            elif part.kind == "refusal":
                out.append(RefusalDelta(choice_index=0, delta=delta, item=item.index))
            else:
                field = "reasoning_summary" if collection == "summary" else "reasoning_text"
                out.append(
                    ReasoningDelta(choice_index=0, field=field, delta=delta, item=item.index)
                )

    def _text_done(self, ev: dict[str, Any], spec: Any, pos: int, dry: bool) -> None:
        collection, index_key, kind, hint, key = spec
        full = _str(ev, key)
        lp = _logprobs(ev) if collection == "content" else None
        oi, iid = _place(ev)
        index = _index(ev, index_key) or 0 if index_key else 0
        name = _str(ev, "name") if collection is None else None
        if dry:
            return
        item = self._item(oi, iid, hint)
        if collection is None:
            slot = item.field_slot(kind)
            if full is not None:
                slot.full = full
            if name is not None and (item.base is None or "name" not in item.base):
                item.set_base({"name": name})
            if self._out is not None and item.type in _TOOL_CALLS:
                self._tool_started(item)
                self._tool_done(item)
            return
        part = item.part(item.summary if collection == "summary" else item.parts, index, kind)
        if full is not None:
            part.full = full
        if lp:  # an empty list brings nothing (servers send [] when logprobs were not asked)
            part.lp_full = lp
        if self._out is not None:
            self._fire_part(item, part)

    def _annotation(self, ev: dict[str, Any], _: Any, pos: int, dry: bool) -> None:
        value = ev.get("annotation")
        if value is None:
            _fail("annotation", "an object", value)
        annotation = _dump(value, "annotation")
        oi, iid = _place(ev)
        index = _index(ev, "content_index") or 0
        at = _index(ev, "annotation_index")
        if dry:
            return
        item = self._item(oi, iid, "message")
        part = item.part(item.parts, index, "output_text")
        if at is None:
            part.anns_loose.append(annotation)
        else:
            part.anns[at] = annotation

    def _status(self, ev: dict[str, Any], spec: Any, pos: int, dry: bool) -> None:
        hint, status = spec
        oi, iid = _place(ev)
        if dry:
            return
        item = self._item(oi, iid, hint)
        if status is not None:
            item.set_base({"status": status})

    def _unknown_event(self, ev: dict[str, Any], _: Any, pos: int, dry: bool) -> None:
        if not dry:
            kind = ev["type"]
            self._unknown[kind] = self._unknown.get(kind, 0) + 1

    # -- events ---------------------------------------------------------------------------------

    def _tool_started(self, item: _Item) -> None:
        if not item.started and self._out is not None:
            item.started = True
            index, cid, name = _call(item)
            self._out.append(ToolCallStarted(choice_index=0, index=index, id=cid, name=name))

    def _tool_done(self, item: _Item) -> None:
        if item.done or self._out is None:
            return
        item.done = True
        slot = item.slot
        arguments = ""
        if slot is not None:
            arguments = slot.full if slot.full is not None else "".join(slot.frags)
        elif item.base is not None:
            got = item.base.get(_ITEM_FIELD.get(item.type, "arguments"))
            arguments = got if type(got) is str else ""
        parsed: Any = None
        error: ValueError | None = None
        if item.type == "function_call":
            parsed, error = try_parse_arguments(arguments)
        index, cid, name = _call(item)
        self._out.append(
            ToolCallDone(
                choice_index=0,
                index=index,
                id=cid,
                name=name,
                arguments=arguments,
                parsed=parsed,
                parse_error=error,
            )
        )

    def _fire_part(self, item: _Item, part: _Part) -> None:
        out = self._out
        if part.fired or out is None:
            return
        part.fired = True
        if part.full is not None:
            text = part.full
        elif part.frags:
            text = "".join(part.frags)
        else:
            got = part.base.get(part.field) if part.base is not None else None
            text = got if type(got) is str else ""
        if part.kind == "output_text":
            out.append(ContentDone(choice_index=0, content=text, item=item.index))
        elif part.kind == "refusal":
            out.append(RefusalDone(choice_index=0, refusal=text, item=item.index))
        elif part.kind in ("summary_text", "reasoning_text"):
            field = "reasoning_summary" if part.kind == "summary_text" else "reasoning_text"
            out.append(ReasoningDone(choice_index=0, field=field, reasoning=text, item=item.index))

    def _fire_item(self, item: _Item) -> None:
        for collection in (item.summary, item.parts):
            for index in sorted(collection):
                self._fire_part(item, collection[index])
        if item.type in _TOOL_CALLS:
            self._tool_started(item)
            self._tool_done(item)

    def _fire_all(self) -> None:
        for index in sorted(self._items):
            self._fire_item(self._items[index])
        for item in self._orphans:
            self._fire_item(item)

    # -- building -------------------------------------------------------------------------------

    def _build(self) -> tuple[m.Response, list[Disagreement]]:
        dis: list[Disagreement] = []
        output: list[Any] = [
            self._items[index].build(f"output[{index}]", dis) for index in sorted(self._items)
        ]
        output.extend(item.build(f"output[?{n}]", dis) for n, item in enumerate(self._orphans))
        sent = self._terminal_output
        if sent:
            if sent != output:
                if len(sent) != len(output):
                    dis.append(Disagreement("output", output, sent, "terminal"))
                else:
                    dis.extend(
                        Disagreement(f"output[{i}]", mine, theirs, "terminal")
                        for i, (mine, theirs) in enumerate(zip(output, sent, strict=True))
                        if mine != theirs
                    )
            output = sent
        top = self._top
        extra = {k: v for k, v in top.items() if k not in _RESPONSE_FIELDS}
        obj = top.get("object")
        return (
            m.Response(
                id=top.get("id"),
                object=obj if type(obj) is str else "response",
                created_at=top.get("created_at"),
                status=top.get("status"),
                error=top.get("error"),
                incomplete_details=top.get("incomplete_details"),
                model=top.get("model"),
                output=tuple(output),
                usage=top.get("usage"),
                extra=extra,
            ),
            dis,
        )


_RESPONSE_FIELDS: Final = frozenset(
    {
        "id",
        "object",
        "created_at",
        "status",
        "error",
        "incomplete_details",
        "model",
        "output",
        "usage",
    }
)


def _call(item: _Item) -> tuple[int, str | None, str | None]:
    """A tool call item's index (-1 when not known), call id and name, for its events."""
    return (
        item.index if item.index is not None else -1,
        _base_str(item, "call_id"),
        _base_str(item, "name"),
    )


def _base_str(item: _Item, key: str) -> str | None:
    got = item.base.get(key) if item.base is not None else None
    return got if type(got) is str else None


RA = ResponseAccumulator
_HANDLERS: dict[str, tuple[Handler, Any]] = {
    "": (RA._unknown_event, None),
    "error": (RA._error_event, None),
    "response.output_item.added": (RA._output_item, False),
    "response.output_item.done": (RA._output_item, True),
    "response.content_part.added": (RA._part_event, ("content", "content_index", False)),
    "response.content_part.done": (RA._part_event, ("content", "content_index", True)),
    "response.reasoning_summary_part.added": (
        RA._part_event,
        ("summary", "summary_index", False),
    ),
    "response.reasoning_summary_part.done": (RA._part_event, ("summary", "summary_index", True)),
    "response.output_text.annotation.added": (RA._annotation, None),
}
for _kind in _LIFECYCLE:
    _HANDLERS[_kind] = (RA._lifecycle, None)
for _kind, _status in _TERMINAL.items():
    _HANDLERS[_kind] = (RA._lifecycle, _status)
# (collection, index key, part kind or item field, item type hint) and the done event's key
for _name_, _spec, _key in (
    ("output_text", ("content", "content_index", "output_text", "message"), "text"),
    ("refusal", ("content", "content_index", "refusal", "message"), "refusal"),
    ("reasoning_text", ("content", "content_index", "reasoning_text", "reasoning"), "text"),
    ("reasoning_summary_text", ("summary", "summary_index", "summary_text", "reasoning"), "text"),
    ("function_call_arguments", (None, None, "arguments", "function_call"), "arguments"),
    ("custom_tool_call_input", (None, None, "input", "custom_tool_call"), "input"),
    ("mcp_call_arguments", (None, None, "arguments", "mcp_call"), "arguments"),
    ("code_interpreter_call_code", (None, None, "code", "code_interpreter_call"), "code"),
):
    _HANDLERS[f"response.{_name_}.delta"] = (RA._delta, _spec)
    _HANDLERS[f"response.{_name_}.done"] = (RA._text_done, (*_spec, _key))
for _tool, _statuses in (
    ("web_search_call", ("in_progress", "searching", "completed")),
    ("file_search_call", ("in_progress", "searching", "completed")),
    ("code_interpreter_call", ("in_progress", "interpreting", "completed")),
    ("image_generation_call", ("in_progress", "generating", "completed")),
    ("mcp_call", ("in_progress", "completed", "failed")),
    ("mcp_list_tools", ("in_progress", "completed", "failed")),
):
    for _status in _statuses:
        _HANDLERS[f"response.{_tool}.{_status}"] = (RA._status, (_tool, _status))
_HANDLERS["response.image_generation_call.partial_image"] = (
    RA._status,
    ("image_generation_call", None),
)
del RA


def event_kind(event: Any) -> int:
    """How an event bears on the end of its stream in a log (``_logs.StreamEnd``): ``CLOSE`` for
    the terminal events and ``error`` (the stream ends there), ``CHOICES`` for the events that
    carry output, ``IDLE`` for the others (lifecycle, unknown types)."""
    kind = event.get("type") if type(event) is dict else getattr(event, "type", None)
    if kind in _TERMINAL or kind == "error":
        return CLOSE
    if type(kind) is str and kind in _HANDLERS and kind not in _LIFECYCLE:
        return CHOICES
    return IDLE


# ---------------------------------------------------------------------------------------------
# the way back: a response as the events that stream it


def to_events(
    response: m.Response, *, piece_size: int = 4, seed: int = 0
) -> Iterator[dict[str, Any]]:
    """A realistic event stream (plain dicts, in the API's shapes, numbered from 0) that folds
    back to exactly ``response``; text is sent in pieces of 1 to ``piece_size`` characters, the
    same ``seed`` giving the same events.

    A ``completed`` / ``incomplete`` / ``failed`` response ends with its terminal event (which
    carries the whole response, output included); any other status streams no terminal event
    (a cut stream). Raises ``ValueError`` when ``piece_size`` is below 1.
    """
    if piece_size < 1:
        raise ValueError(f"piece_size must be at least 1, got {piece_size}")
    rng = random.Random(seed)
    counter = itertools.count()

    def event(kind: str, **fields: Any) -> dict[str, Any]:
        return {"type": kind, "sequence_number": next(counter), **fields}

    def pieces(text: str) -> list[str]:
        out = []
        at = 0
        while at < len(text):
            size = rng.randint(1, piece_size)
            out.append(text[at : at + size])
            at += size
        return out

    full = to_dict(response)
    status = response.status
    terminal = status in ("completed", "incomplete", "failed")
    start = dict(full)
    start["output"] = []
    if terminal:
        start.update(status="in_progress", usage=None, error=None, incomplete_details=None)
    yield event("response.created", response=start)
    yield event("response.in_progress", response=start)
    for oi, item in enumerate(full["output"]):
        yield from _item_events(oi, item, event, pieces)
    if terminal:
        yield event(f"response.{status}", response=full)


def _item_events(
    oi: int,
    item: dict[str, Any],
    event: Callable[..., dict[str, Any]],
    pieces: Callable[[str], list[str]],
) -> Iterator[dict[str, Any]]:
    kind = item.get("type")
    iid = item.get("id")
    at: dict[str, Any] = {"output_index": oi}
    if iid is not None:
        at = {"item_id": iid, "output_index": oi}
    added = dict(item)
    if "status" in added:
        added["status"] = "in_progress"
    field = _ITEM_FIELD.get(kind) if type(kind) is str else None
    collections = [k for k in ("summary", "content") if type(item.get(k)) is list]
    for key in collections:
        added[key] = []
    if kind == "reasoning":
        added.pop("encrypted_content", None)
    if field is not None and type(item.get(field)) is str:
        added[field] = ""
    yield event("response.output_item.added", output_index=oi, item=added)
    if kind in ("web_search_call", "file_search_call"):
        yield event(f"response.{kind}.in_progress", **at)
        yield event(f"response.{kind}.searching", **at)
        yield event(f"response.{kind}.completed", **at)
    for key in collections:
        for index, part in enumerate(item[key]):
            if type(part) is dict:
                yield from _part_events(key, index, part, at, event, pieces)
    if field is not None and type(item.get(field)) is str:
        name = f"response.{kind}_{field}"
        for piece in pieces(item[field]):
            yield event(f"{name}.delta", **at, delta=piece)
        yield event(f"{name}.done", **at, **{field: item[field]})
    yield event("response.output_item.done", output_index=oi, item=item)


def _part_events(
    key: str,
    index: int,
    part: dict[str, Any],
    at: dict[str, Any],
    event: Callable[..., dict[str, Any]],
    pieces: Callable[[str], list[str]],
) -> Iterator[dict[str, Any]]:
    ptype = part.get("type")
    field = "refusal" if ptype == "refusal" else "text"
    text = part.get(field)
    if key == "summary":
        where = {**at, "summary_index": index}
        stream, part_event = "response.reasoning_summary_text", "response.reasoning_summary_part"
    else:
        where = {**at, "content_index": index}
        stream = {
            "output_text": "response.output_text",
            "refusal": "response.refusal",
            "reasoning_text": "response.reasoning_text",
        }.get(ptype if type(ptype) is str else "", "")
        part_event = "response.content_part"
    if not stream or type(text) is not str:
        yield event(f"{part_event}.added", **where, part=part)
        yield event(f"{part_event}.done", **where, part=part)
        return
    added = dict(part)
    added[field] = ""
    logprobs = part.get("logprobs")
    if "annotations" in added:
        added["annotations"] = []
    if "logprobs" in added:
        added["logprobs"] = []
    yield event(f"{part_event}.added", **where, part=added)
    chunks = pieces(text)
    lp = list(logprobs) if type(logprobs) is list else []
    for n, piece in enumerate(chunks):
        fields: dict[str, Any] = {"delta": piece}
        if stream == "response.output_text":
            share = lp[: max(1, len(lp) // len(chunks))] if n < len(chunks) - 1 else lp
            lp = lp[len(share) :]
            fields["logprobs"] = share
        yield event(f"{stream}.delta", **where, **fields)
    if stream == "response.output_text":
        annotations = part.get("annotations")
        if type(annotations) is list:
            for i, annotation in enumerate(annotations):
                yield event(
                    "response.output_text.annotation.added",
                    **where,
                    annotation_index=i,
                    annotation=annotation,
                )
    done: dict[str, Any] = {field: text}
    if stream == "response.output_text":
        done["logprobs"] = logprobs if type(logprobs) is list else []  # [] when not asked
    yield event(f"{stream}.done", **where, **done)
    yield event(f"{part_event}.done", **where, part=part)

"""Which stream an event of the Responses or Messages API belongs to, in one log or in pieces.

Only some events of these APIs name their stream (``response.created`` and the other lifecycle
events, ``message_start``); ``Router`` finds the stream of the others from what came before them
in the file: the item ids learned from the items, else the one open stream of that API (of
several, the Responses stream whose last ``sequence_number`` is one less). ``read_log`` asks it
once per event.

Folding a log in pieces (``fold_logs(jobs=N)``'s byte ranges, Dask's partitions) cuts that past
off: a piece that is not the first of its file does not know the streams open where it starts.
The continuation rule puts it back without reading anything twice:

* each piece routes with a ``SegmentRouter``. In the first piece of a file it routes as
  ``Router`` does, and sends its state at the end (``read_log``'s there). In a later one
  (*continuing*), where ``Router`` would consult the past (an
  event of an item it has not seen, but for ``response.output_item.added``; an unnamed event
  with no stream of its API open in the piece; a Responses event whose ``sequence_number``
  follows none of the piece's open streams) it opens a placeholder stream, ``Continued``: one per
  unknown item, so that interleaved streams stay apart. What it does not know is the stream's
  name: its chunks fold as any stream's do. When a stream of an API closes, the piece forgets
  its placeholders of that API (one may have been that stream, whose items ``read_log`` then
  routes anew): their next events open new ones.
* a continuing piece records, in line order, the routing decisions that change or read the
  routing state (the first event of a stream, of an item, an unnamed event after a change, a
  stream closed), each
  with a copy of the event's names (``_hint``) and, for the Responses API, the piece's
  ``sequence_number`` of each open stream; and at the end the same numbers (``RouteTrace``). A
  few per stream: the deltas of a known item or stream are not recorded.
* the reader of the whole (the parent process, Dask's resolving task) replays the traces in
  order on one ``Router`` per file (``RouteBook``; a first piece's state replaces it), which
  then holds the state ``read_log``'s holds at each recorded event: it gives each local key its
  real one (a placeholder becomes the stream it continues, ``(dialect, None)`` when none was
  open) and checks that the piece routed every recorded event where ``read_log`` routes it. The
  streams are then merged as chat streams are, by their real keys.

Where the replay disagrees with a piece's guess (an event ``read_log`` cannot route either, such
as an unnamed event while two Messages streams are open across the cut; a piece that routed an
event elsewhere; two guesses of one stream that interleave: ``Resolution.check``), the piece's
results are not ``read_log``'s. ``fold_logs`` then reads the byte range again in the parent with
a router that knows the past (``RouteBook.again``): exact, at the cost of one range read twice.
Dask cannot read a partition again from its resolving task: it raises :class:`UsageError`,
naming the partition and line, with ``read_log``'s message (which asks for ``key=``) or one
that says the pieces disagree, rather than give a different result.

What no piece sees, the reader does not replay: a stream the window closes (a finished Messages
stream whose ``message_stop`` comes more than ``window`` lines later) is still open to the
routing of the events after it, as it is when a worker reads a whole file (and Dask has no
window).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from itertools import pairwise
from typing import Any, Final

from attrs import define, field, frozen

from ._dialect import ANTHROPIC, RESPONSES, Dialect
from ._errors import UsageError, _DecodeError

__all__ = [
    "ROUTED",
    "Apart",
    "Continued",
    "Resolution",
    "RouteBook",
    "RouteTrace",
    "Routed",
    "Router",
    "SegmentRouter",
]


class Routed:
    """The stream key of an event of the Responses or Messages API, still to be found: only
    some of their events name their stream (``Router``)."""

    __slots__ = ("dialect",)

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    def __repr__(self) -> str:
        return f"Routed({self.dialect!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return _routed, (self.dialect,)  # one marker per dialect, also after a pickle


def _routed(dialect: Dialect) -> Routed:
    return ROUTED[dialect]


ROUTED: Final[dict[Dialect, Routed]] = {
    RESPONSES: Routed(RESPONSES),
    ANTHROPIC: Routed(ANTHROPIC),
}


class Router:
    """Which stream an event of the Responses or Messages API belongs to, per input file.

    Responses: the events that carry the ``response`` name it by its id; ``output_item.added``
    (and every event with an ``item_id`` or an ``item``) is mapped to the stream its item was
    first seen in; an event that names nothing known goes to the one open Responses stream of
    its file, or, of several, to the one whose last event's ``sequence_number`` is one less.
    Messages: ``message_start`` names the message; every later event goes to the one open
    Messages stream of its file. With several open and nothing to tell them apart, the event is
    an error telling the user to give a key (``key=``, ``--key``). An event with no open stream
    to go to opens one keyed ``(dialect, None)``.
    """

    __slots__ = ("items", "items_of", "open", "sequence", "where")

    def __init__(self) -> None:
        self.open: dict[tuple[str | None, Dialect], dict[Hashable, None]] = {}
        self.items: dict[tuple[str | None, str], Hashable] = {}  # (file, item id) -> key
        self.items_of: dict[Hashable, list[tuple[str | None, str]]] = {}
        self.where: dict[Hashable, tuple[str | None, Dialect]] = {}
        self.sequence: dict[Hashable, int] = {}  # a Responses stream's last sequence_number

    def copy_to(self, other: Router) -> None:
        """Give ``other`` this router's state (a copy: the two go on apart)."""
        other.open = {place: dict(keys) for place, keys in self.open.items()}
        other.items = dict(self.items)
        other.items_of = {key: list(items) for key, items in self.items_of.items()}
        other.where = dict(self.where)
        other.sequence = dict(self.sequence)

    def key(self, dialect: Dialect, event: dict[str, Any], source: str | None) -> Hashable:
        """The stream key of ``event``; raises ``_DecodeError`` when it cannot be told."""
        if dialect == RESPONSES:
            key = self._response(event, source)
            number = event.get("sequence_number")
            if type(number) is int:
                self.sequence[key] = number
            return key
        if event.get("type") == "message_start":
            message = event.get("message")
            if type(message) is dict and type(message.get("id")) is str:
                return self._opened(message["id"], source, dialect)
        return self._only(dialect, event, source)

    def _response(self, event: dict[str, Any], source: str | None) -> Hashable:
        dialect: Dialect = RESPONSES
        response = event.get("response")
        if type(response) is dict and type(response.get("id")) is str:
            return self._opened(response["id"], source, dialect)
        item_id = event.get("item_id")
        if item_id is None:
            item = event.get("item")
            item_id = item.get("id") if type(item) is dict else None
        if type(item_id) is str:
            known = self.items.get((source, item_id))
            if known is not None:
                return known
            key = self._only(dialect, event, source)
            self.items[source, item_id] = key
            self.items_of.setdefault(key, []).append((source, item_id))
            return key
        return self._only(dialect, event, source)

    def closed(self, key: Hashable) -> None:
        """The stream ``key`` was emitted: its events no longer go to it."""
        place = self.where.pop(key, None)
        if place is not None:
            self.open[place].pop(key, None)
        for item in self.items_of.pop(key, ()):
            self.items.pop(item, None)
        self.sequence.pop(key, None)

    def _opened(self, key: Hashable, source: str | None, dialect: Dialect) -> Hashable:
        if key not in self.where:
            self.where[key] = (source, dialect)
            self.open.setdefault((source, dialect), {})[key] = None
        return key

    def _only(self, dialect: Dialect, event: dict[str, Any], source: str | None) -> Hashable:
        streams = self.open.get((source, dialect))
        if not streams:
            return self._opened((dialect, None), source, dialect)
        if len(streams) == 1:
            return next(iter(streams))
        number = event.get("sequence_number")
        if type(number) is int:
            after = [key for key in streams if self.sequence.get(key) == number - 1]
            if len(after) == 1:
                return after[0]
        api = "OpenAI Responses API" if dialect == RESPONSES else "Anthropic Messages API"
        names = ", ".join(repr(key) for key in list(streams)[:3])
        raise _DecodeError(
            0,
            f"an event of the {api} ({event.get('type')!r}) that names no stream, while"
            f" {len(streams)} of its streams are open in this file ({names}): pass key= to"
            " read_log (--key FIELD on the command line) to say which stream each record"
            " belongs to",
        )


# ---------------------------------------------------------------------------------------------
# folding in pieces: the continuation rule (see the top)

Sequences = tuple[tuple[Hashable, int], ...]
Op = tuple[int, Dialect | None, Hashable, dict[str, Any] | None, Sequences | None]
"""A recorded decision, in a piece's line order: ``(line, dialect, local key, hint, sequences)``
for a routed event (local key ``None``: the piece found no stream for it), ``(line, None, local
key, None, None)`` for a stream closed."""

_UNROUTED: Final = (
    "the events of the Responses or Messages API here cannot be routed to their streams in"
    " pieces (the piece guessed otherwise than reading the lines in one piece does): pass key="
    " to say which stream each record belongs to, or fold these lines in one partition"
)


@frozen
class Continued:
    """A placeholder stream key: the stream, open where a piece of the log starts, that an event
    continues; ``RouteBook`` finds its real key. ``item``: the item id it was opened for."""

    dialect: Dialect
    number: int
    item: str | None = None


@frozen
class RouteTrace:
    """What a piece sends of its routing. A continuing piece: its recorded decisions (``Op``)
    in line order, and the ``sequence_number`` of each of its open Responses streams at the end.
    A piece that knew the past (the first of its file, or one read again): its router's state
    at the end, ``read_log``'s there (``state``; it records nothing on the way)."""

    ops: tuple[Op, ...]
    sequences: Sequences
    state: Router | None = None

    def local_keys(self) -> set[Hashable]:
        """The local keys the piece routed events to."""
        return {op[2] for op in self.ops if op[2] is not None}


def _hint(event: dict[str, Any]) -> dict[str, Any]:
    """The fields of an event ``Router`` reads: enough to route it again."""
    names = ("type", "sequence_number", "item_id")
    hint: dict[str, Any] = {name: event[name] for name in names if name in event}
    for name in ("response", "message", "item"):
        value = event.get(name)
        if type(value) is dict and "id" in value:
            hint[name] = {"id": value["id"]}
    return hint


def _item_id(event: dict[str, Any]) -> Any:
    item_id = event.get("item_id")
    if item_id is None:
        item = event.get("item")
        item_id = item.get("id") if type(item) is dict else None
    return item_id


class SegmentRouter(Router):
    """``Router`` for one piece of a file (a byte range, a Dask partition), which records its
    decisions (``trace``); ``continuing``: not the file's first piece, so the streams open where
    it starts are unknown (``Continued`` stands for them). See the top."""

    __slots__ = (
        "continuing",
        "dirty",
        "event",
        "line",
        "ops",
        "placeholders",
        "recorded",
        "routed",
        "sent",
    )

    def __init__(self, *, continuing: bool, after: Router | None = None) -> None:
        super().__init__()
        if after is not None:  # the state read_log's router has where the piece starts
            after.copy_to(self)
        self.continuing = continuing
        self.ops: list[Op] = []
        # the APIs whose open streams changed since the last unnamed event recorded
        self.dirty: set[Dialect] = {RESPONSES, ANTHROPIC}
        self.placeholders = 0
        self.event: dict[str, Any] = {}
        self.line = 0
        self.recorded = False
        self.routed = False  # (a piece that knew the past) it routed an event
        self.sent: dict[Hashable, int] = {}  # the sequence numbers recorded so far

    def route(self, dialect: Dialect, event: dict[str, Any], line: int) -> Hashable:
        """The local stream key of ``event`` at ``line`` of the piece (see ``Router.key``)."""
        if not self.continuing:
            self.routed = True
            return self.key(dialect, event, None)
        self.event, self.line, self.recorded = event, line, False
        key = self.key(dialect, event, None)
        if dialect == RESPONSES and key in self.sequence:  # the latest last: see RouteBook
            self.sequence[key] = self.sequence.pop(key)
        return key

    def closed(self, key: Hashable) -> None:
        place = self.where.get(key)
        if place is not None and self.continuing:
            self.ops.append((self.line, None, key, None, None))
            self.dirty.add(place[1])
            self._forget(place[1], key)
            self.sent.pop(key, None)
        super().closed(key)

    def trace(self) -> RouteTrace | None:
        """What the piece sends of its routing; ``None`` when it routed nothing."""
        if not self.continuing:
            if not self.routed:
                return None
            state = Router()
            self.copy_to(state)
            return RouteTrace((), (), state)
        if not self.ops:
            return None
        return RouteTrace(tuple(self.ops), tuple(self.sequence.items()))

    def _opened(self, key: Hashable, source: str | None, dialect: Dialect) -> Hashable:
        if self.continuing and key not in self.where:  # a stream's first event (of the piece)
            self._record(dialect, key)
            self.dirty.add(dialect)
        return super()._opened(key, source, dialect)

    def _only(self, dialect: Dialect, event: dict[str, Any], source: str | None) -> Hashable:
        if not self.continuing:  # (the exact router sends its state: it records nothing)
            return super()._only(dialect, event, source)
        streams = self.open.get((source, dialect)) or {}
        if dialect == ANTHROPIC and len(streams) == 1 and dialect not in self.dirty:
            return next(iter(streams))  # (a Messages stream's next unnamed event)
        try:
            key = self._continued(dialect, event, streams)
        except _DecodeError:
            self._record(dialect, None)
            raise
        if not self.recorded and (dialect == RESPONSES or dialect in self.dirty):
            # (a Messages stream's unnamed events go where the first went until a change)
            self._record(dialect, key)
        self.dirty.discard(dialect)
        return key

    def _continued(
        self, dialect: Dialect, event: dict[str, Any], streams: dict[Hashable, None]
    ) -> Hashable:
        """Where an event that names no stream known here goes, in a continuing piece."""
        item = None
        if dialect == RESPONSES:
            item = _item_id(event)
            item = item if type(item) is str else None
            if item is not None and event.get("type") != "response.output_item.added":
                return self._placeholder(dialect, item)  # an item that began before the piece
            number = event.get("sequence_number")
            if type(number) is int:
                after = [key for key in streams if self.sequence.get(key) == number - 1]
                return after[0] if len(after) == 1 else self._placeholder(dialect, item)
        if not streams:
            return self._placeholder(dialect, item)
        return super()._only(dialect, event, None)  # the one open here; of several, the error

    def _forget(self, dialect: Dialect, closing: Hashable) -> None:
        """A stream closes: any placeholder of its API may have been it, and ``read_log`` routes
        the events of a closed stream's items anew; so does the piece, from here (their next
        events open new placeholders). Their sequence numbers stay, to be sent."""
        streams = self.open.get((None, dialect), {})
        for key in [k for k in streams if type(k) is Continued and k != closing]:
            del streams[key]
            del self.where[key]
            for item in self.items_of.pop(key, ()):
                self.items.pop(item, None)

    def _placeholder(self, dialect: Dialect, item: str | None) -> Hashable:
        self.placeholders += 1
        return self._opened(Continued(dialect, self.placeholders, item), None, dialect)

    def _record(self, dialect: Dialect, key: Hashable) -> None:
        sequences = self._changed() if dialect == RESPONSES else None
        self.ops.append((self.line, dialect, key, _hint(self.event), sequences))
        self.recorded = True

    def _changed(self) -> Sequences:
        """The sequence numbers that changed since the last recorded, the latest last."""
        sent = self.sent
        changed = tuple((key, n) for key, n in self.sequence.items() if sent.get(key) != n)
        sent.update(changed)
        return changed


class Apart:
    """(A continuing piece) The open segments to cut before an event: a placeholder may turn out
    to be any stream of its API, so its segments and any other's of that API never overlap (the
    pieces of one stream merge in line order)."""

    __slots__ = ("guesses", "others")

    def __init__(self) -> None:
        self.guesses: dict[Dialect, set[Hashable]] = {}  # placeholders whose segment may be open
        self.others: dict[Dialect, set[Hashable]] = {}  # the other keys whose segment may be

    def cut(self, dialect: Dialect, key: Hashable) -> list[Hashable]:
        """The keys whose open segment ends before an event of ``key``."""
        guesses = self.guesses.setdefault(dialect, set())
        others = self.others.setdefault(dialect, set())
        if type(key) is Continued:
            found = [*(k for k in guesses if k != key), *others]
            guesses.clear()
            others.clear()
            guesses.add(key)
            return found
        if not guesses:
            others.add(key)
            return []
        found = list(guesses)
        guesses.clear()
        others.add(key)
        return found


@define
class Resolution:
    """What ``RouteBook`` made of a piece's trace: the real key of each local key, read_log's
    message for each line no stream takes, and the streams closed (line, local key, real key)."""

    keys: dict[Hashable, Hashable] = field(factory=dict)
    created: dict[Hashable, int] = field(factory=dict)  # each local key's first recorded line
    orphans: dict[int, str] = field(factory=dict)
    closes: list[tuple[int, Hashable, Hashable]] = field(factory=list)

    def real(self, key: Hashable) -> Hashable:
        """The real key of a local key (a key the piece did not route is its own)."""
        return self.keys.get(key, key)

    def check(
        self, spans: Iterable[tuple[Hashable, int, int]], place: Callable[[int], str]
    ) -> set[Hashable]:
        """Raise where the piece's streams cannot be put together as ``read_log`` reads them:
        ``spans`` are the piece's segments (local key, first line, last line). Returns the real
        keys that several local keys turned out to share (their pieces merge in line order)."""
        by_real: dict[Hashable, list[tuple[int, int, Hashable]]] = {}
        for key, first, last in spans:
            if key in self.keys:
                by_real.setdefault(self.keys[key], []).append((first, last, key))
        shared = {real for real, got in by_real.items() if len({k for *_, k in got}) > 1}
        for real in shared:
            got = sorted(by_real[real], key=lambda span: span[0])
            for (_, last, _), (first, _, _) in pairwise(got):
                if first <= last:  # two guesses of one stream interleave
                    raise UsageError(f"{place(first)}: {_UNROUTED}")
        for line, local, real in self.closes:
            if real not in shared:
                continue
            for _, last, key in by_real[real]:
                if key != local and self.created[key] < line < last:  # a stream goes on closed
                    raise UsageError(f"{place(line)}: {_UNROUTED}")
        return shared


class RouteBook:
    """``read_log``'s routing state of one file, replayed from its pieces' traces in order."""

    __slots__ = ("before", "router")

    def __init__(self) -> None:
        self.router = Router()
        self.before = self.router  # the state before the last piece

    def again(self) -> SegmentRouter:
        """Forget the last piece resolved; a router for reading it again that knows the past,
        so routes as ``read_log`` does (the way out when a piece's guesses fail and its lines can
        be read again)."""
        self.router = self.before
        return SegmentRouter(continuing=False, after=self.router)

    def resolve(self, trace: RouteTrace, place: Callable[[int], str]) -> Resolution:
        """The real keys of the next piece's local keys; raises :class:`UsageError` (naming
        ``place(line)``) where the piece routed an event where ``read_log`` does not (the state
        is then as before the call)."""
        self.before = self.router
        if trace.state is not None:  # read_log's state, already: its keys are the real ones
            self.router = trace.state
            return Resolution()
        router = Router()
        self.router.copy_to(router)
        found = Resolution()
        for line, dialect, local, hint, sequences in trace.ops:
            if dialect is None:
                real = found.real(local)
                found.closes.append((line, local, real))
                router.closed(real)
                continue
            assert hint is not None
            self._sequences(router, sequences or (), found)
            try:
                real = router.key(dialect, hint, None)
            except _DecodeError as exc:
                if local is None:  # read_log finds no stream for it either
                    found.orphans[line] = exc.message
                    continue
                raise UsageError(f"{place(line)}: {exc.message}") from None
            if local is None or found.keys.setdefault(local, real) != real:
                raise UsageError(f"{place(line)}: {_UNROUTED}")
            found.created.setdefault(local, line)
        self._sequences(router, trace.sequences, found)
        self.router = router
        return found

    @staticmethod
    def _sequences(router: Router, sequences: Sequences, found: Resolution) -> None:
        """The piece's last ``sequence_number`` of its open streams (the latest last)."""
        for local, number in sequences:
            real = found.real(local)
            if real in router.where:
                router.sequence[real] = number

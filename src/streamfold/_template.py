"""Templates: the bytes of a folded chunk, with holes where its changing leaves were.

The fast path of every reader of chunk text (SSE bodies and JSON-lines logs) lives here: a
``Template`` is made from a chunk just folded and the bytes it came in; later chunks that repeat
those bytes but for the holes are matched in place (``Template.match``, the tight ``repeat*``
loops of SSE runs, ``LineTemplates`` for log lines), their holes decoded in one parse and folded
by ``Accumulator.add_variants``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ._convert import json_bytes, json_dumps, json_loads
from ._fold import ChunkVariant, _with_leaves

_loads = json_loads  # the JSON parser of chunk text (orjson when installed, else json)
_write = json_bytes  # compact JSON as bytes, as json_dumps writes it (TypeError: it refuses)

# A server repeats one chunk's bytes in the next and changes only a few strings (the text, a tool
# call's arguments, OpenAI's random ``obfuscation``), so most chunks need no full parse. Once a
# chunk is folded, the core says which of its leaves may change in a chunk that repeats it
# (``Accumulator.variant``: strings, and logprob lists whole); the bytes around those leaves
# become a ``Template``. An event whose bytes are the template's outside the holes, with a JSON
# string in each string hole, is that chunk with new leaves: the strings of a whole batch of such
# events are decoded by one parse of ``["...","...",...]`` (a real JSON parser, never by hand)
# and folded by ``Accumulator.add_variants``. Anything else is parsed whole as before.
#
# Why that is exact: outside the holes the bytes are the template's, byte for byte, and each hole
# holds one JSON value of the template's kind, so the event parses to the template's chunk with
# those values, keys and numbers included. A string hole ends at its first quote not escaped
# (after an even run of backslashes), which is where a JSON parser ends it; the text in between
# then holds no quote that could end a string early, so the batch parse yields one string per
# hole, in order, or fails. A logprob-list hole (its length and numbers change) must be the last
# hole: it ends where the template's fixed tail begins, counted back from the end of the event,
# and is parsed on its own. When a batch does not parse (a bad escape, a raw control character,
# invalid UTF-8), its events are parsed whole, one by one, as if no template had matched.

MAX_TEMPLATES: Final = 16
_WINDOW: Final = 16384  # bytes searched for a separator (a wider search costs a set-up)
LIST_BATCH: Final = 1024  # events with logprob lists folded at a time (bounds the batch)
FREE_LEARNING: Final = 16  # templates learned before learning must pay off in hits
_LABELS: Final = frozenset({"role", "finish_reason", "type", "id", "name", "index"})
_STRUCTURE: Final = frozenset(b"{}[],")
_NOT_STRUCTURE: Final = bytes(c for c in range(256) if c not in _STRUCTURE)


def _string_end(buf: bytes, start: int) -> int:
    """The index of the quote closing the JSON string whose text starts at ``start`` (the first
    quote after an even run of backslashes), or -1."""
    end = buf.find(b'"', start)
    while end > 0 and buf[end - 1] == 92:  # a backslash before it: count the run
        text = buf[start:end]
        if (len(text) - len(text.rstrip(b"\\"))) % 2 == 0:
            break
        end = buf.find(b'"', end + 1)
    return end


def _compact_spans(
    data: bytes, chunk: dict[str, Any], paths: tuple[tuple[Any, ...], ...]
) -> dict[tuple[Any, ...], tuple[int, int, bool]] | None:
    """``_leaf_spans`` for a line written as ``json_dumps`` writes ``chunk`` (compact, as most
    servers send it), found at C speed; ``None`` when the line is written another way (spaces,
    escapes, key order, a repeated key) or a path is not a leaf of ``chunk``: then scan.

    ``chunk`` (parsed from ``data``) is written with the value at each path replaced by a
    marker, a string that does not occur in ``data`` and is written as it is (ASCII, no quote,
    no backslash), and each marker is found, with its quotes, in that text. ``data`` must then
    be that text with each marker found replaced by its value as written alone, byte for byte:
    that is checked, so nothing depends on how the writer writes. The marker found is the one
    written at its path: two quoted texts without quotes inside that overlap start at the same
    quote, so the one written there, were it another, would have been taken over into ``data``.
    So each value's text is where a parser reads it, and a repeated key (a parser keeps one)
    fails the check. A string's span is without its quotes, a container's (a logprob list) with
    its brackets; other values (numbers, literals) have none, as in ``_leaf_spans``.
    """
    for path in paths:  # (a path inside another's value: the scan leaves it out)
        for other in paths:
            if other is not path and other[: len(path)] == path:
                return None
    prefix = "#~"
    while prefix.encode() in data:  # (ends: a prefix longer than ``data`` is not in it)
        prefix += "~"
    markers = [f"{prefix}{i}" for i in range(len(paths))]
    try:
        written = [_write(_leaf(chunk, path)) for path in paths]
        marked = _write(_with_leaves(chunk, paths, markers))
    except (LookupError, TypeError, ValueError, RecursionError):
        return None  # not a leaf of the chunk; a value the writer refuses (or not UTF-8)
    found = sorted((marked.find(f'"{marker}"'.encode()), i) for i, marker in enumerate(markers))
    if found and found[0][0] < 0:
        return None
    pieces: list[bytes] = []  # ``data`` rebuilt, to check
    spans: dict[tuple[Any, ...], tuple[int, int, bool]] = {}
    done = shift = 0  # the text of ``marked`` taken over; where the next is in ``data``, minus it
    for at, i in found:
        value = written[i]
        pieces += (marked[done:at], value)
        start = at + shift
        if value[0] == 34:  # '"'
            spans[paths[i]] = (start + 1, start + len(value) - 1, True)
        elif value[0] == 123 or value[0] == 91:  # '{' '['
            spans[paths[i]] = (start, start + len(value), False)
        done = at + len(markers[i]) + 2
        shift += len(value) - (done - at)
    pieces.append(marked[done:])
    return spans if b"".join(pieces) == data else None


def _leaf(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def _leaf_spans(
    data: bytes, wanted: frozenset[tuple[Any, ...]], values: Mapping[tuple[Any, ...], Any]
) -> dict[tuple[Any, ...], tuple[int, int, bool]] | None:
    """Where the ``wanted`` values of the JSON text ``data`` are: ``path -> (start, end, is a
    string)``, a string without its quotes. ``data`` was just parsed: it is valid JSON. ``None``
    when an object repeats a key (which of the values a parser keeps is then its own choice).
    (``_compact_spans`` finds the same at C speed when ``data`` is written compactly.)

    The text is cut at its quotes: between two strings there is only structure (punctuation,
    numbers, literals), read character by character. A wanted container (a hole, parsed whole
    later) is not read inside: when ``values`` has it and it is written as ``json_dumps`` writes
    it (compact, as servers send it), the scan jumps over its text; else only its brackets count.
    """
    parts = data.split(b'"')
    if 92 in data:  # a quote after an odd run of backslashes is inside a string: rejoin
        joined = [parts[0]]
        i = 1
        while i < len(parts) - 1:
            text = parts[i]
            while (len(text) - len(text.rstrip(b"\\"))) % 2 and i < len(parts) - 2:
                i += 1
                text += b'"' + parts[i]
            joined += (text, parts[i + 1])
            i += 2
        parts = joined
    try:  # every string's text at once (the keys among them), by the JSON parser
        texts = _loads(b'["' + b'","'.join(parts[1::2]) + b'"]')
    except ValueError:  # pragma: no cover - the text was just parsed
        return None
    spans: dict[tuple[Any, ...], tuple[int, int, bool]] = {}
    stack: list[tuple[tuple[Any, ...], set[str] | None, int]] = []  # (path, keys seen, start)
    path: tuple[Any, ...] = ()  # of the value being read
    key_next = False
    depth = 0  # inside a wanted container read bracket by bracket: its depth
    jump = -1  # the end of a wanted container jumped over
    at = 0  # where the part starts
    for n, part in enumerate(parts):
        base = at  # where ``part`` starts
        if jump >= 0:  # (the container ends with a bracket, so in a gap)
            if n & 1 or at + len(part) < jump:
                at += len(part) + 1
                continue
            base = jump
            part = part[jump - at :]
            jump = -1
        if n & 1:  # a string
            if depth:
                pass
            elif key_next:
                keys = stack[-1][1]
                text = texts[n >> 1]
                if keys is None or text in keys:
                    return None
                keys.add(text)
                path = (*stack[-1][0], text)
                key_next = False
            elif path in wanted:
                spans[path] = (at, at + len(part), True)
        else:
            for k, c in enumerate(part.translate(None, _NOT_STRUCTURE)):
                if jump >= 0:  # the rest of this gap is inside the container
                    break
                if depth:
                    if c == 123 or c == 91:
                        depth += 1
                    elif c == 125 or c == 93:
                        depth -= 1
                        if not depth:  # the wanted container ends
                            path, _, start = stack.pop()
                            spans[path] = (start, base + _nth_structure(part, k) + 1, False)
                            key_next = False
                elif c == 44:  # ','
                    if stack[-1][1] is None:
                        path = (*stack[-1][0], path[-1] + 1)
                    else:
                        key_next = True
                elif c == 123 or c == 91:  # '{' '['
                    if path in wanted:  # its inside is not read
                        start = base + _nth_structure(part, k)
                        written = json_dumps(values[path]).encode() if path in values else b""
                        end = start + len(written)
                        if end > base + len(part) and data.startswith(written, start):
                            spans[path] = (start, end, False)  # and on from its end
                            jump = end
                        else:
                            stack.append((path, None, start))
                            depth = 1
                    elif c == 123:
                        stack.append((path, set(), -1))
                        key_next = True
                    else:
                        stack.append((path, None, -1))
                        path = (*path, 0)
                else:  # '}' ']'
                    path = stack.pop()[0]
                    key_next = False
        at += len(parts[n]) + 1
    return spans


def _nth_structure(gap: bytes, k: int) -> int:
    """Where the ``k``-th punctuation character of ``gap`` (a text between strings) is."""
    for i, c in enumerate(gap):
        if c in _STRUCTURE:
            if not k:
                return i
            k -= 1
    raise AssertionError("fewer punctuation characters than counted")  # pragma: no cover


class Template:
    """The SSE bytes of a folded chunk with holes for its changing leaves (see above).

    ``head`` runs from ``data: `` to the first hole; ``after[i]`` is what follows string hole
    i; with ``lists``, the last hole is a logprob list and ``tail`` is what follows it, found
    back from the end of the event. The last piece ends with the event's blank line.
    ``shape`` picks the walker's inline match: 1 for one string hole, 2 for one string hole and
    a logprob list, 0 for anything else (``match``).
    """

    __slots__ = (
        "after",
        "after_len",
        "batch",
        "fields",
        "head",
        "head_len",
        "lists",
        "next",
        "owner",
        "shape",
        "tail",
        "tail_len",
        "variant",
    )

    def __init__(self, head: bytes, pieces: list[bytes], variant: ChunkVariant) -> None:
        self.variant = variant
        self.next: Template | None = None  # the template of the event that followed it last
        self.owner: Any = None  # a log's: the stream it folds into (None once it is forgotten)
        # a log's: ``fields`` but the last, the variant, and the owner's batch lists
        self.batch: tuple[Any, ...] = ()
        self.head = head
        self.head_len = len(head)
        self.lists = bool(variant.strings) and not variant.strings[-1]
        after = pieces[:-1] if self.lists else pieces
        self.after = tuple((piece, len(piece)) for piece in after)
        self.after_len = len(after[0]) if after else 0
        self.tail = pieces[-1] if self.lists else b""
        self.tail_len = len(self.tail)
        self.shape = 0
        if len(after) == 1:
            self.shape = 2 if self.lists else 1
            if not self.lists:
                self.tail = after[0]  # the walker reads the one piece there
                self.tail_len = len(after[0])
        # what the walker's inline match reads, in one piece
        self.fields: tuple[int, bytes, int, bytes, int, bytes, int, ChunkVariant] = (
            self.shape,
            head,
            self.head_len,
            after[0] if after else b"",
            self.after_len,
            self.tail,
            self.tail_len,
            variant,
        )

    @classmethod
    def make(
        cls, data: bytes, variant: ChunkVariant, before: bytes = b"data: ", after: bytes = b"\n\n"
    ) -> Template | None:
        """The template of a chunk's JSON text ``data`` framed by ``before`` and ``after`` (an
        SSE data line by default), or ``None`` when its holes cannot be placed."""
        spans = _compact_spans(data, variant.chunk, variant.paths)
        if spans is None:  # not written compactly: scan the text
            holes = {
                path: _leaf(variant.chunk, path)  # a logprob list: its value, to find its end
                for path, string in zip(variant.paths, variant.strings, strict=True)
                if not string
            }
            spans = _leaf_spans(data, frozenset(variant.paths), holes)
            if spans is None:
                return None
        pieces = []
        done = 0
        last = len(variant.paths) - 1
        for i, (path, string) in enumerate(zip(variant.paths, variant.strings, strict=True)):
            span = spans.get(path)
            if span is None or span[2] is not string or span[0] < done:
                return None
            if not string and i != last:
                return None  # a logprob list is found from the end of the event: last only
            pieces.append(data[done : span[0]])
            done = span[1]
        pieces.append(data[done:] + after)
        return cls(before + pieces[0], pieces[1:], variant)

    def strings(self, buf: bytes, at: int, tokens: list[bytes]) -> int:
        """Match the string holes from ``at`` (where the head ends) on: append their bytes and
        return where the last piece after them ends; -1 (and nothing appended) when they are
        not this template's."""
        mark = len(tokens)
        for after, length in self.after:
            end = buf.find(b'"', at)
            if buf[end - 1] == 92:  # escaped, or part of an even run of backslashes
                end = _string_end(buf, at)
            if end < 0 or not buf.startswith(after, end):
                del tokens[mark:]
                return -1
            tokens.append(buf[at:end])
            at = end + length
        return at

    def match(self, buf: bytes, pos: int, tokens: list[bytes], lists: list[bytes]) -> int:
        """Match the event at ``pos``: append its holes' bytes, return where the next event
        starts; -1 (and nothing appended) when the event is not this template's."""
        if not buf.startswith(self.head, pos):
            return -1
        at = self.strings(buf, pos + self.head_len, tokens)
        if at >= 0 and self.lists:
            # the first newline after the hole must be the blank line that ends the tail
            end = buf.find(b"\n", at) + 2 - self.tail_len
            if end <= at or not buf.startswith(self.tail, end):
                del tokens[len(tokens) - len(self.after) :]
                return -1
            lists.append(buf[at:end])
            at = end + self.tail_len
        return at

    def match_line(self, line: bytes, tokens: list[bytes], lists: list[bytes]) -> bool:
        """Match a whole log line (it starts with ``head``, as the caller checked): append its
        holes' bytes and return True; False (and nothing appended) when it is not this
        template's. A logprob list ends where the fixed tail begins, counted back from the end
        of the line."""
        at = self.strings(line, self.head_len, tokens)
        if at < 0:
            return False
        if self.lists:
            end = len(line) - self.tail_len
            if end > at and line.endswith(self.tail):
                lists.append(line[at:end])
                return True
        elif at == len(line):
            return True
        del tokens[len(tokens) - len(self.after) :]
        return False


# The tight loops below are the fast path's hot spots. Each call of a bytes method with a start
# position costs its argument parsing (more than the comparison itself), so an event is checked
# with as few calls as possible: between two events of one template lies ``tail + head`` (the
# end of one, the start of the next), compared in one ``startswith``.


def repeat(run: bytes, pos: int, head: bytes, tail: bytes, tokens: list[bytes]) -> tuple[int, int]:
    """Match events of a one-string-hole template from ``pos`` on, as long as they come;
    return where the first other event starts and how many matched."""
    if not run.startswith(head, pos):
        return pos, 0
    startswith = run.startswith
    find = run.find
    append = tokens.append
    between = tail + head
    skip = len(between)
    at = pos + len(head)
    count = 0
    while True:
        end = find(b'"', at)
        if run[end - 1] == 92:  # an escape before the quote: for the careful match
            break
        if startswith(between, end):
            append(run[at:end])
            count += 1
            at = end + skip
        elif startswith(tail, end):  # (end -1 fails: tail is 3 bytes or more)
            append(run[at:end])
            return end + len(tail), count + 1
        else:
            break
    return at - len(head), count


def repeat_cycle(
    run: bytes, pos: int, pieces: list[tuple[bytes, bytes]], tokens: list[bytes]
) -> tuple[int, int]:
    """``repeat`` for templates that take turns, each ``(head, tail)`` in the order they come
    (choices interleaved)."""
    if not run.startswith(pieces[0][0], pos):
        return pos, 0
    startswith = run.startswith
    find = run.find
    append = tokens.append
    turns = len(pieces)
    steps = [(tail + pieces[(k + 1) % turns][0], tail) for k, (_, tail) in enumerate(pieces)]
    heads = [len(head) for head, _ in pieces]
    at = pos + heads[0]
    count = k = 0
    while True:
        end = find(b'"', at)
        if run[end - 1] == 92:
            break
        between, tail = steps[k]
        if startswith(between, end):
            append(run[at:end])
            count += 1
            at = end + len(between)
            k += 1
            if k == turns:
                k = 0
        elif startswith(tail, end):
            append(run[at:end])
            return end + len(tail), count + 1
        else:
            break
    return at - heads[k], count


def repeat_lists(
    run: bytes,
    pos: int,
    head: bytes,
    middle: bytes,
    tail: bytes,
    tokens: list[bytes],
    lists: list[bytes],
    limit: int,
) -> tuple[int, int]:
    """``repeat`` for a template with a string hole, then a logprob list up to the tail that
    ends the event (the first newline after the list must be its blank line); at most
    ``limit`` events."""
    if limit <= 0 or not run.startswith(head, pos):
        return pos, 0
    startswith = run.startswith
    find = run.find
    add_token = tokens.append
    add_list = lists.append
    between = tail + head
    skip = len(between)
    over = len(middle)
    back = 2 - len(tail)
    window = _WINDOW
    at = pos + len(head)
    count = 0
    limit -= 1
    while True:
        end = find(middle, at, at + window)  # the string ends there if no quote is before
        if end < 0:
            break
        token = run[at:end]
        if 34 in token or run[end - 1] == 92:  # (the ints: see _feed)
            break
        begin = end + over
        stop = find(b"\n", begin) + back
        if stop <= begin:
            break
        if count < limit and startswith(between, stop):
            add_token(token)
            add_list(run[begin:stop])
            count += 1
            at = stop + skip
        elif startswith(tail, stop):
            add_token(token)
            add_list(run[begin:stop])
            return stop + len(tail), count + 1
        else:
            break
    return at - len(head), count


def in_turn(template: Template) -> list[Template] | None:
    """The templates that follow one another from ``template`` back to it, each with one
    string hole; ``None`` when they do not come back to it."""
    cycle = [template]
    step = template.next
    while step is not None and step is not template and len(cycle) <= MAX_TEMPLATES:
        if step.shape != 1 or step in cycle:
            return None
        cycle.append(step)
        step = step.next
    return cycle if step is template else None


def carries_fragment(value: Any, key: Any = None) -> bool:
    """Whether a choice brings a piece of something (text, arguments, logprobs): the chunks
    that come in runs. A role, a finish reason, a tool call's id or name comes once."""
    if type(value) is str:
        return bool(value) and key not in _LABELS
    if type(value) is dict:  # (loops: a generator in any() costs more than the test)
        for name, item in value.items():
            if carries_fragment(item, name):
                return True
    elif type(value) is list:
        for item in value:
            if carries_fragment(item, key):
                return True
    return False


def decode_leaves(
    variants: list[ChunkVariant], tokens: list[bytes], lists: list[bytes]
) -> list[Any] | None:
    """The leaves of a batch of matched events (or log lines) for ``add_variants``: its string
    holes decoded by one parse of ``["...","...",...]``, its logprob lists one by one; ``None``
    when a hole does not decode (a bad escape, a raw control character, invalid UTF-8)."""
    try:
        strings = _loads(b'["' + b'","'.join(tokens) + b'"]') if tokens else []
        values = list(map(_loads, lists)) if lists else []
    except ValueError:  # orjson's and json's errors, UnicodeDecodeError
        return None
    if type(strings) is not list or len(strings) != len(tokens):
        return None
    return batch_leaves(variants, strings, values) if values else strings


def batch_leaves(batch: list[ChunkVariant], strings: list[Any], lists: list[Any]) -> list[Any]:
    """Each event's leaves in turn: its strings, then its logprob list."""
    width = len(batch[0].paths)
    if batch.count(batch[0]) == len(batch):  # one template: slices do it
        out: list[Any] = [None] * (len(strings) + len(lists))
        out[width - 1 :: width] = lists
        for k in range(width - 1):
            out[k::width] = strings[k :: width - 1]
        return out
    out = []
    s = v = 0
    for variant in batch:
        holes = variant.strings
        if holes and not holes[-1]:
            n = len(holes) - 1
            out += strings[s : s + n]
            out.append(lists[v])
            v += 1
        else:
            n = len(holes)
            out += strings[s : s + n]
        s += n
    return out


# ---------------------------------------------------------------------------------------------
# log lines: templates of many streams at once, found by a line's first bytes

LINE_KEY: Final = 128  # bytes of a line that find its templates (fewer when a head is shorter)
_LINE_KEY_MIN: Final = 16  # a shorter head is not worth a template
LINE_TEMPLATES: Final = 4  # per stream: the oldest goes
_LINE_CANDIDATES: Final = 8  # templates that begin alike: the oldest goes


class LineTemplates:
    """The templates of the open streams of a log, each found by a line's first ``key_len``
    bytes (its head's, which hold the chunk's id, so a match also names the stream).

    A template is learned from a log line whose chunk its stream's accumulator has just folded
    (``learn``); the line's framing (``data:``, the line end) becomes part of its fixed bytes.
    ``owner`` is the stream; ``forget`` drops a stream's templates when it completes or ends,
    so a line of a later stream with the same id is never folded into it.
    """

    __slots__ = ("by_key", "hits", "key_len", "learned", "tries")

    def __init__(self) -> None:
        self.by_key: dict[bytes, list[Template]] = {}
        self.key_len = LINE_KEY
        self.hits = 0  # lines folded through a template
        self.learned = 0
        self.tries = 0

    def find(self, line: bytes) -> Template | None:
        """The live template whose head ``line`` starts with, if any."""
        found = self.by_key.get(line[: self.key_len])
        if found is not None:
            for template in found:
                if line.startswith(template.head):
                    return template
        return None

    def learn(self, owner: Any, chunk: dict[str, Any], line: bytes) -> Template | None:
        """The template of ``line``, whose ``chunk`` the accumulator ``owner.acc`` has just
        folded, kept in ``owner.templates`` too; ``None`` when it cannot be one."""
        self.tries += 1
        if self.learned >= FREE_LEARNING + self.hits // 4 and self.tries % 32:
            return None  # templates that do not pay off: try again now and then only
        choices = chunk.get("choices")
        if type(choices) is not list or len(choices) != 1 or not carries_fragment(choices[0]):
            return None
        start = 0 if line[:1] == b"{" else line.find(b"{")
        if start < 0 or (start and line[:start].rstrip() != b"data:"):
            return None
        data = line[start:].rstrip()
        variant = owner.acc.variant(chunk)
        if variant is None:
            return None
        template = Template.make(data, variant, line[:start], line[start + len(data) :])
        if template is None or template.head_len < _LINE_KEY_MIN:
            return None
        self.learned += 1
        template.owner = owner
        template.batch = (  # the fields the log's loop reads, in one piece
            *template.fields[:7],
            variant,
            owner.batch,
            owner.raws,
            owner.numbers,
            owner.tokens,
            owner.lists,
        )
        templates: list[Template] = owner.templates
        templates.append(template)
        if len(templates) > LINE_TEMPLATES:
            self.drop(templates.pop(0))
        if template.head_len < self.key_len:  # a shorter key for every template
            self.key_len = template.head_len
            known = [t for found in self.by_key.values() for t in found]
            self.by_key.clear()  # (in place: the log's loop holds it)
            for t in known:
                self.by_key.setdefault(t.head[: self.key_len], []).append(t)
        found = self.by_key.setdefault(template.head[: self.key_len], [])
        found.append(template)
        if len(found) > _LINE_CANDIDATES:
            old = found[0]
            if old in old.owner.templates:
                old.owner.templates.remove(old)
            self.drop(old)
        return template

    def forget(self, templates: list[Template]) -> None:
        """Drop a stream's templates (it completed or ended)."""
        for template in templates:
            self.drop(template)
        templates.clear()

    def drop(self, template: Template) -> None:
        template.owner = None  # a link from another template may still lead to it: it is dead
        template.next = None
        key = template.head[: self.key_len]
        found = self.by_key.get(key)
        if found is not None and template in found:
            found.remove(template)
            if not found:
                del self.by_key[key]

"""The way back: a stored completion into a realistic chunk stream, and that stream into SSE.

``to_chunks`` writes what a server would have streamed: per choice, the role first, reasoning
and other delta text in pieces, the content cut into token-sized pieces (one token per chunk when
the logprobs tokens spell the content, with its logprob entry attached), the refusal likewise,
each tool call announced with its id, type and name and then its arguments in fragments, a
finish chunk; choices interleaved when n > 1; the usage chunk (``choices: []``) last.

``to_events`` is the way back for every dialect: the chunks for a chat completion, and the cores'
own ``to_events`` for a Responses API ``response`` and an Anthropic ``message``; ``to_sse`` writes
either as a server does (chat: ``data:`` lines and ``[DONE]``; the other APIs: an ``event:`` line
naming each event's type, and no ``[DONE]``).

Folding it back gives exactly the completion it came from, for every completion the fold can
produce (the fold never produces ``content: ""``, an empty ``tool_calls`` list, an ``id`` or
``model`` of ``""``, a ``created`` of 0, or ``null`` values among unknown keys). No merge rule
lives here: the chunks are only cut so that the core's rules put them back together.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

import attrs

from . import _model as m
from ._anthropic import to_events as message_events
from ._convert import from_dict, json_dumps, to_dict
from ._dialect import dialect_of_type
from ._errors import UsageError
from ._responses import to_events as response_events

__all__ = ["to_chunks", "to_events", "to_sse"]

Completion = m.ChatCompletion | m.TextCompletion

_COMPLETION_KNOWN: Final = frozenset(
    {"id", "object", "created", "model", "choices", "usage", "service_tier", "system_fingerprint"}
)
_CHOICE_KNOWN: Final = frozenset({"index", "message", "logprobs", "finish_reason"})
_TEXT_CHOICE_KNOWN: Final = frozenset({"index", "text", "logprobs", "finish_reason"})
_MESSAGE_KNOWN: Final = frozenset(
    {"role", "content", "refusal", "annotations", "tool_calls", "function_call", "audio"}
)
_LOGPROBS_KNOWN: Final = frozenset({"content", "refusal"})
_TEXT_LOGPROB_LISTS: Final = ("tokens", "token_logprobs", "top_logprobs", "text_offset")
_CALL_KNOWN: Final = frozenset({"id", "type", "function"})
_FUNCTION_KNOWN: Final = frozenset({"name", "arguments"})
_AUDIO_KNOWN: Final = frozenset({"id", "data", "transcript", "expires_at"})
# labels are set, never concatenated: sent whole, once
_LABELS: Final = frozenset({"type", "id", "name", "status", "channel", "format", "signature"})

Delta = tuple[dict[str, Any], Any, Any, dict[str, Any]]
"""One step of one choice: ``(delta, logprobs, finish_reason, choice extras)``."""


def to_chunks(
    completion: Completion | Mapping[str, Any], *, piece_size: int = 4, seed: int | None = 0
) -> Iterator[dict[str, Any]]:
    """Yield a realistic chunk stream (parsed JSON objects) that folds back to ``completion``.

    ``completion`` is a :class:`ChatCompletion` or :class:`TextCompletion`, or its plain JSON
    data. Text is cut into pieces of 1 to ``2 * piece_size - 1`` characters (``piece_size`` on
    average), or one logprobs token per chunk when the tokens spell the text; choices are
    interleaved when there are several. The same ``seed`` gives the same chunks (``None``: a
    fresh random cut each time).

    Raises :class:`InvalidChunkError` when plain data is not a completion and
    :class:`UsageError` for a ``piece_size`` below 1 or an input of another type.
    """
    if piece_size < 1:
        raise UsageError(f"piece_size must be at least 1, got {piece_size}")
    data, text = _plain(completion)
    rng = random.Random(seed)
    cutter = _Cutter(rng, piece_size)
    envelope: dict[str, Any] = {
        "id": data.get("id") or "",
        "object": "text_completion" if text else "chat.completion.chunk",
        "created": data.get("created") or 0,
        "model": data.get("model") or "",
    }
    for name in ("service_tier", "system_fingerprint"):
        if data.get(name) is not None:
            envelope[name] = data[name]
    usage = data.get("usage")
    # what include_usage streams send until the usage chunk
    tail: dict[str, Any] = {"usage": None} if usage is not None else {}
    extra = {k: v for k, v in data.items() if k not in _COMPLETION_KNOWN}

    steps = [
        (choice["index"], _text_steps(choice, cutter) if text else _chat_steps(choice, cutter))
        for choice in data.get("choices") or ()
    ]
    first = True
    for index, step in _interleave(steps, rng):
        delta, logprobs, finish, choice_extra = step
        body: dict[str, Any] = {"index": index}
        if text:
            body["text"] = delta.get("text", "")
        else:
            body["delta"] = delta
        body["logprobs"] = logprobs
        body["finish_reason"] = finish
        body.update(choice_extra)
        chunk = {**envelope, "choices": [body], **tail}
        if first:
            chunk.update(extra)  # keys outside the choices: the latest value wins, send once
            first = False
        yield chunk
    if usage is not None or first:
        chunk = {**envelope, "choices": []}
        if usage is not None:
            chunk["usage"] = usage
        if first:
            chunk.update(extra)
        yield chunk


def to_events(
    obj: m.ChatCompletion | m.TextCompletion | m.Response | m.AnthropicMessage | Mapping[str, Any],
    *,
    piece_size: int = 4,
    seed: int = 0,
) -> Iterator[dict[str, Any]]:
    """Yield a realistic event stream (plain dicts, in the API's shapes) that folds back to
    ``obj``: a Responses API :class:`Response`'s events, an :class:`AnthropicMessage`'s
    Messages events, a chat or legacy completion's chunks (:func:`to_chunks`). ``obj`` may be
    the plain JSON of any of them (``object: "response"``, ``type: "message"``, else a chat
    completion). The same ``seed`` gives the same events.

    Raises :class:`UsageError` for anything else, ``ValueError`` for a ``piece_size`` below 1.
    """
    if isinstance(obj, Mapping) and not isinstance(obj, (m.Response, m.AnthropicMessage)):
        if obj.get("object") == "response":
            obj = from_dict(m.Response, dict(obj))
        elif obj.get("type") == "message" and "choices" not in obj:
            obj = from_dict(m.AnthropicMessage, dict(obj))
    if isinstance(obj, m.Response):
        return response_events(obj, piece_size=piece_size, seed=seed)
    if isinstance(obj, m.AnthropicMessage):
        return message_events(obj, piece_size=piece_size, seed=seed)
    if piece_size < 1:
        raise ValueError(f"piece_size must be at least 1, got {piece_size}")
    return to_chunks(obj, piece_size=piece_size, seed=seed)


def to_sse(chunks: Iterable[Any]) -> Iterator[bytes]:
    """Yield the SSE body of ``chunks`` (parsed JSON or streamfold objects), one event per chunk.

    Chat chunks are ``data:`` events, and the body ends with ``data: [DONE]``; events of the
    Responses and Messages APIs (a ``type`` naming one, as :func:`to_events` yields them) each get
    an ``event:`` line with their type, and no ``[DONE]``, as those APIs send them.
    """
    named = None
    for chunk in chunks:
        data = chunk if isinstance(chunk, Mapping) else to_dict(chunk)
        if named is None:
            named = dialect_of_type(data.get("type"), data) is not None and "choices" not in data
        line = b"data: " + json_dumps(data).encode() + b"\n\n"
        if named:
            yield b"event: " + str(data.get("type")).encode() + b"\n" + line
        else:
            yield line
    if not named:
        yield b"data: [DONE]\n\n"


# ---------------------------------------------------------------------------------------------


def _plain(completion: Any) -> tuple[dict[str, Any], bool]:
    """The completion as plain data, checked and in the shape ``to_dict`` writes."""
    if isinstance(completion, (m.ChatCompletion, m.TextCompletion)):
        typed: Any = completion
    elif isinstance(completion, Mapping):
        cls = m.TextCompletion if completion.get("object") == "text_completion" else None
        typed = from_dict(cls or m.ChatCompletion, dict(completion))
    elif attrs.has(type(completion)):
        raise UsageError(f"to_chunks() takes a completion, got a {type(completion).__name__}")
    else:
        raise UsageError(
            "to_chunks() takes a ChatCompletion, a TextCompletion or its plain JSON data, "
            f"got {type(completion).__name__}"
        )
    data: dict[str, Any] = to_dict(typed)
    return data, isinstance(typed, m.TextCompletion)


class _Cutter:
    """Cuts text into token-sized pieces, the same way for the same seed."""

    def __init__(self, rng: random.Random, size: int) -> None:
        self.rng = rng
        self.size = size

    def cut(self, text: str) -> list[str]:
        pieces = []
        i = 0
        top = 2 * self.size - 1
        while i < len(text):
            n = self.rng.randint(1, top) if top > 1 else 1
            pieces.append(text[i : i + n])
            i += n
        return pieces

    def attach(self, text: str | None, entries: list[Any] | None) -> list[tuple[str, list[Any]]]:
        """Pieces of ``text``, each with the logprob entries that ride on it."""
        text = text or ""
        if entries and "".join(str(e.get("token", "")) for e in entries) == text:
            return [(e["token"], [e]) for e in entries]  # one token per chunk, as servers do
        pieces = self.cut(text)
        if not entries:
            return [(p, []) for p in pieces]
        if not pieces:
            return [("", list(entries))]
        k, n = len(pieces), len(entries)
        return [(p, entries[j * n // k : (j + 1) * n // k]) for j, p in enumerate(pieces)]


def _interleave(
    steps: list[tuple[int, list[Delta]]], rng: random.Random
) -> Iterator[tuple[int, Delta]]:
    """Merge the choices' steps, each choice in its order, choosing the next choice at random."""
    queues = [(index, iter(items), len(items)) for index, items in steps if items]
    left = [n for _, _, n in queues]
    live = [i for i, n in enumerate(left) if n]
    while live:
        pick = live[rng.randrange(len(live))] if len(live) > 1 else live[0]
        index, items, _ = queues[pick]
        yield index, next(items)
        left[pick] -= 1
        if not left[pick]:
            live.remove(pick)


def _chat_steps(choice: dict[str, Any], cutter: _Cutter) -> list[Delta]:
    message: dict[str, Any] = choice.get("message") or {}
    lp: dict[str, Any] | None = choice.get("logprobs")
    out: list[Delta] = []
    none: dict[str, Any] = {}

    def step(delta: dict[str, Any], logprobs: Any = None) -> None:
        out.append((delta, logprobs, None, none))

    # the role first; with logprobs, the (empty) lists that say which kinds arrived
    first_lp = None
    if lp is not None:
        first_lp = {
            "content": [] if lp.get("content") is not None else None,
            "refusal": [] if lp.get("refusal") is not None else None,
            **{k: v for k, v in lp.items() if k not in _LOGPROBS_KNOWN},
        }
    step({"role": message.get("role") or "assistant", "content": ""}, first_lp)

    # unknown delta keys (reasoning_content, reasoning, ...): strings streamed before the text
    for key, value in message.items():
        if key in _MESSAGE_KNOWN:
            continue
        if type(value) is str and key not in _LABELS and value:
            for piece in cutter.cut(value):
                step({key: piece})
        else:
            step({key: value})

    for name in ("content", "refusal"):
        text = message.get(name)
        entries = lp.get(name) if lp is not None else None
        for piece, mine in cutter.attach(text, entries):
            logprobs = None
            if mine:
                logprobs = {"content": None, "refusal": None, name: mine}
            if piece or logprobs is not None:
                step({name: piece} if piece else {}, logprobs)

    for i, call in enumerate(message.get("tool_calls") or ()):
        fn = call.get("function") or {}
        head: dict[str, Any] = {"index": i}
        if call.get("id") is not None:
            head["id"] = call["id"]
        head["type"] = call.get("type") or "function"
        head["function"] = {
            "name": fn.get("name", ""),
            "arguments": "",
            **{k: v for k, v in fn.items() if k not in _FUNCTION_KNOWN},
        }
        head.update({k: v for k, v in call.items() if k not in _CALL_KNOWN})
        step({"tool_calls": [head]})
        for piece in cutter.cut(fn.get("arguments") or ""):
            step({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})

    fcall = message.get("function_call")
    if fcall is not None:
        extra = {k: v for k, v in fcall.items() if k not in _FUNCTION_KNOWN}
        step({"function_call": {"name": fcall.get("name", ""), "arguments": "", **extra}})
        for piece in cutter.cut(fcall.get("arguments") or ""):
            step({"function_call": {"arguments": piece}})

    audio = message.get("audio")
    if audio is not None:
        head = {k: v for k, v in audio.items() if k not in ("data", "transcript")}
        step({"audio": head})
        for name in ("transcript", "data"):
            for piece in cutter.cut(audio.get(name) or ""):
                step({"audio": {name: piece}})

    if message.get("annotations"):
        step({"annotations": message["annotations"]})

    # the finish chunk carries the choice's own unknown keys (content_filter_results, ...)
    extra = {k: v for k, v in choice.items() if k not in _CHOICE_KNOWN}
    if choice.get("finish_reason") is not None or extra:
        out.append(({}, None, choice.get("finish_reason"), extra))
    return out


def _text_steps(choice: dict[str, Any], cutter: _Cutter) -> list[Delta]:
    lp: dict[str, Any] | None = choice.get("logprobs")
    lists = {}
    lp_extra: dict[str, Any] = {}
    if lp is not None:
        lists = {name: lp[name] for name in _TEXT_LOGPROB_LISTS if lp.get(name) is not None}
        lp_extra = {k: v for k, v in lp.items() if k not in _TEXT_LOGPROB_LISTS}
    tokens = lists.get("tokens")
    text = choice.get("text") or ""
    if tokens and "".join(tokens) == text:
        pieces = list(tokens)
    else:
        pieces = cutter.cut(text) or [""]
    k = len(pieces)
    out: list[Delta] = []
    for j, piece in enumerate(pieces):
        logprobs = None
        if lp is not None:
            logprobs = {
                name: values[j * len(values) // k : (j + 1) * len(values) // k]
                for name, values in lists.items()
            }
            if j == 0:
                logprobs.update(lp_extra)
        out.append(({"text": piece}, logprobs, None, {}))
    extra = {k: v for k, v in choice.items() if k not in _TEXT_CHOICE_KNOWN}
    if choice.get("finish_reason") is not None or extra:
        out.append(({"text": ""}, None, choice.get("finish_reason"), extra))
    return out

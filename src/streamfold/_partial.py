"""Tool-call arguments while they stream in, parsed in linear total time.

Theory of operation
-------------------
A tool call's arguments arrive as JSON text in small fragments. A caller that shows them growing
wants, after each fragment, the value parsed so far: open strings, arrays and objects closed as far
as they go. The SDKs re-parse the whole text on every fragment, so ``n`` characters in fragments of
``k`` cost about ``n**2 / 2k`` characters of parsing: a 1 MB argument in 20-byte fragments is 25 GB.

:class:`PartialJSON` parses only when :attr:`~PartialJSON.value` is read, and re-parses only when
the text has grown enough since the last parse. The policy, with the defaults:

* while the text is shorter than ``eager`` (1024) characters, every read that follows new text
  re-parses: small arguments (the common case) update on every fragment, for at most about
  ``eager * eager / fragment size`` characters of parsing in all;
* from there on, a read re-parses only when the text is at least ``growth`` (1.5) times as long as
  at the last parse. The parsed lengths grow geometrically, so they add up to at most
  ``growth / (growth - 1)`` (3) times the final length, and the number of parses grows with the
  logarithm of the length, not with the number of fragments; between parses the value is the
  previous one, which lags the text by at most a third;
* :meth:`~PartialJSON.final` parses the complete text once more, strictly.

So the total parsing work is linear in the final size, whatever the fragment size and however
often the value is read. ``parses`` and ``parsed_chars`` count the work actually done.

The partial parser is ``jiter``'s ``partial_mode="trailing-strings"`` (the optional extra
``streamfold[partial]``). Complete text is parsed with the standard library's ``json``, which
:func:`parse_arguments` shares (``""`` is ``{}``), so a finished call needs no extra.
"""

from __future__ import annotations

import contextlib
import json
import math
from typing import Any, Final, NoReturn

from . import _model as m
from ._convert import import_extra
from ._errors import InvalidArgumentsError, UsageError

__all__ = ["PartialJSON", "parse_arguments", "try_parse_arguments"]

_UNSET: Final[Any] = object()


def _jiter() -> Any:
    return import_extra("streamfold.PartialJSON", "partial", "jiter")


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _loads(text: str) -> Any:
    """Parse complete JSON text strictly; return the value, or the error (not raised).

    Empty (or blank) text is ``{}``: parameterless tools stream no arguments at all (vLLM and
    Vercel's AI SDK report ``""``).
    """
    if not text or text.isspace():
        return {}
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:  # json.JSONDecodeError, and NaN / Infinity above
        return exc
    except RecursionError:
        return ValueError("the JSON text is nested too deeply to parse")


def _arguments_of(call: m.ToolCall | m.FunctionCall | str, caller: str) -> tuple[str, Any, Any]:
    if isinstance(call, str):
        return call, None, None
    if isinstance(call, m.ToolCall):
        return call.function.arguments, call.function.name, call.id
    if isinstance(call, m.FunctionCall):
        return call.arguments, call.name, None
    raise TypeError(f"{caller} takes a ToolCall, FunctionCall or str, not {type(call).__name__}")


def _error(text: str, name: str | None, cid: str | None, exc: ValueError) -> InvalidArgumentsError:
    which = repr(name) if name else "(unnamed)"
    if cid:
        which += f" ({cid})"
    err = InvalidArgumentsError(
        f"the arguments of tool call {which} are not JSON: {exc}",
        arguments=text,
        name=name,
        id=cid,
    )
    err.__cause__ = exc
    return err


def parse_arguments(call: m.ToolCall | m.FunctionCall | str) -> Any:
    """Parse the arguments of a finished tool call (or ``function_call``, or the text itself).

    Returns the parsed value; ``""`` (a tool without parameters) parses as ``{}``. The parse is
    strict: trailing garbage, ``NaN`` and ``Infinity`` are errors. Raises
    :class:`InvalidArgumentsError` (a ``ValueError``) when the text is not JSON, and ``TypeError``
    for anything but a ``ToolCall``, ``FunctionCall`` or ``str``; :func:`try_parse_arguments`
    returns the error instead. Needs no optional extra.
    """
    text, name, cid = _arguments_of(call, "parse_arguments")
    value = _loads(text)
    if isinstance(value, ValueError):
        raise _error(text, name, cid, value)  # the parser's error is its __cause__
    return value


def try_parse_arguments(
    call: m.ToolCall | m.FunctionCall | str,
) -> tuple[Any, InvalidArgumentsError | None]:
    """Non-raising :func:`parse_arguments`: ``(value, None)``, or ``(None, error)`` when the text
    is not JSON, so that a caller can hand the error back to the model.

    Raises ``TypeError`` only for anything but a ``ToolCall``, ``FunctionCall`` or ``str``.
    """
    text, name, cid = _arguments_of(call, "try_parse_arguments")
    value = _loads(text)
    if isinstance(value, ValueError):
        return None, _error(text, name, cid, value)
    return value, None


class PartialJSON:
    """JSON text fed in fragments, readable at any time as the value parsed so far.

    ``feed(fragment)`` adds text (cheap: nothing is parsed). :attr:`value` is the partial value
    (``None`` before anything parseable arrived), re-parsed only when the text has grown enough:
    see the module's theory of operation; :attr:`text` is the text so far. :meth:`final` ends the
    feed and parses the complete text strictly. ``growth`` (> 1) and ``eager`` tune the policy.

    Raises ``ModuleNotFoundError`` when jiter (``streamfold[partial]``) is not installed.
    """

    __slots__ = (
        "_eager",
        "_final",
        "_growth",
        "_jiter",
        "_next",
        "_parts",
        "_size",
        "_value",
        "parsed_chars",
        "parses",
    )

    def __init__(self, text: str = "", *, growth: float = 1.5, eager: int = 1024) -> None:
        if not growth > 1.0:
            raise ValueError(f"growth must be greater than 1, got {growth!r}")
        self._jiter = _jiter()
        self._growth = growth
        self._eager = eager
        self._parts: list[str] = []
        self._size = 0
        self._next: float = 1  # the text length from which a read re-parses
        self._value: Any = None
        self._final: Any = _UNSET
        self.parses = 0
        """How many times the text was parsed (partial and final parses)."""
        self.parsed_chars = 0
        """How many characters were parsed in all."""
        if text:
            self.feed(text)

    def feed(self, fragment: str) -> None:
        """Add a fragment of the text. Raises :class:`UsageError` after :meth:`final`."""
        if self._final is not _UNSET:
            raise UsageError("feed() after final(): the text is complete")
        if type(fragment) is not str:
            raise TypeError(f"feed() takes a str, not {type(fragment).__name__}")
        if fragment:
            self._parts.append(fragment)
            self._size += len(fragment)

    @property
    def text(self) -> str:
        """The text fed so far (joined when read, then kept until the next fragment)."""
        parts = self._parts
        if len(parts) > 1:
            parts[:] = ["".join(parts)]
        return parts[0] if parts else ""

    def __len__(self) -> int:
        return self._size

    @property
    def value(self) -> Any:
        """The value parsed so far; re-parsed only when the policy says so.

        Before anything parseable arrived it is ``None``; if the text stops being JSON, it stays
        the last value that parsed (:meth:`final` returns the error). After :meth:`final`, it is
        the final value when the text is JSON.
        """
        if self._size >= self._next:
            self._parse_partial()
        return self._value

    @property
    def done(self) -> bool:
        """True once :meth:`final` was called."""
        return self._final is not _UNSET

    def final(self) -> Any:
        """End the feed and parse the complete text strictly, once.

        Returns the value, or the ``ValueError`` saying why the text is not JSON (returned, not
        raised); later calls return the same object. The strict parse is :func:`parse_arguments`'
        (no text at all is ``{}``).
        """
        if self._final is _UNSET:
            text = self.text
            self.parses += 1
            self.parsed_chars += len(text)
            self._final = result = _loads(text)
            if not isinstance(result, Exception):
                self._value = result
                self._next = math.inf  # the value is final: never re-parse
        return self._final

    def _parse_partial(self) -> None:
        text = self.text
        size = self._size
        self.parses += 1
        self.parsed_chars += size
        # not JSON (yet, or at all): the last value stays; final() returns the error
        with contextlib.suppress(ValueError):
            self._value = self._jiter.from_json(
                text.encode(),
                partial_mode="trailing-strings",
                allow_inf_nan=False,
                cache_mode="keys",
            )
        if size < self._eager:
            self._next = size + 1
        else:
            self._next = max(size + 1, math.ceil(size * self._growth))

    def __repr__(self) -> str:
        return f"PartialJSON({self._size} chars, parses={self.parses}, done={self.done})"

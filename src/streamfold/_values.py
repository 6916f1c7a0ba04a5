"""Reading values for the fold: dicts as they are, objects through ``_as_mapping``; plain data.

Everything the fold is given is read here one level at a time: a dict as it is, the openai SDK's
pydantic objects from their ``__dict__`` (one cached lookup), streamfold's own attrs objects by
their fields. ``_plain`` turns a value kept for the result into plain JSON data. A value that is
not what its field needs raises ``_Invalid`` (via ``_fail``), which ``Accumulator.add`` turns
into an ``InvalidChunkError`` naming the chunk and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, NoReturn

import attrs

from ._convert import json_loads
from ._errors import InvalidChunkError


class _Invalid(Exception):
    """Internal: a field failed its check. ``add()`` turns it into ``InvalidChunkError``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message

    def located(self, noun: str, position: int, completion: Any, chunk: Any) -> InvalidChunkError:
        """The public error: names the chunk or event (``noun``) by ``position``, then the
        field; carries what was folded before it and the refused input."""
        where = f"{self.path}: " if self.path else ""
        return InvalidChunkError(
            f"{noun} {position}: {where}{self.message}",
            path=self.path,
            position=position,
            completion=completion,
            chunk=chunk,
        )


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return f"an int ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return repr(text)
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return f"a {type(value).__name__}"


def _fail(path: str, expected: str, value: Any) -> NoReturn:
    raise _Invalid(path, f"expected {expected}, got {_type_name(value)}")


# ---------------------------------------------------------------------------------------------
# reading input: dicts as they are, everything else through _as_mapping


def _attrs_fields(cls: type) -> tuple[str, ...]:
    return tuple(a.name for a in attrs.fields(cls) if a.name != "extra")


_FIELDS_CACHE: dict[type, tuple[str, ...] | None] = {}


_PYDANTIC: Final = ("pydantic",)  # a _FIELDS_CACHE value: read __dict__ and __pydantic_extra__


def _as_mapping(value: Any, path: str, *args: Any) -> dict[str, Any]:
    """Return a dict view of ``value`` (a Mapping or an object with attributes).

    ``path`` names the value in an error; with ``args`` it is a format string, formatted only then.
    """
    cls = type(value)
    names = _FIELDS_CACHE.get(cls, ())
    if names is _PYDANTIC:  # the openai SDK's objects: one cached lookup, no copy
        extra = value.__pydantic_extra__
        return {**value.__dict__, **extra} if extra else value.__dict__
    if names == ():
        if attrs.has(cls):
            names = _attrs_fields(cls)
        elif hasattr(cls, "__pydantic_fields__") and hasattr(cls, "__pydantic_extra__"):
            names = _PYDANTIC
        else:
            names = None
        _FIELDS_CACHE[cls] = names
        if names is _PYDANTIC:
            return _as_mapping(value, path, *args)
    if isinstance(value, Mapping):
        return dict(value)
    if names is not None:  # streamfold's own attrs classes: named fields plus their extras
        out = {name: getattr(value, name) for name in names}
        extra = value.extra
        if extra:
            out.update(extra)
        return out
    fields = getattr(value, "__dict__", None)
    if isinstance(fields, dict) and not isinstance(value, type):
        # pydantic models (the openai SDK) keep fields in __dict__ and unknown keys apart
        extra = getattr(value, "__pydantic_extra__", None)
        if extra:
            return {**fields, **extra}
        if hasattr(value, "__pydantic_fields__"):
            return fields
        return {k: v for k, v in fields.items() if not k.startswith("_")}
    _fail(path.format(*args) if args else path, "an object", value)


def _sent_fields(value: Any) -> dict[str, Any]:
    """The fields a pydantic model was built with (not its defaults), plus its extras."""
    fields: dict[str, Any] = value.__dict__
    sent = getattr(value, "__pydantic_fields_set__", None)
    out = {k: v for k, v in fields.items() if k in sent} if sent is not None else dict(fields)
    extra = getattr(value, "__pydantic_extra__", None)
    if extra:
        out.update(extra)
    return out


def _plain(value: Any) -> Any:
    """Turn ``value`` into plain JSON data (for stored values that may be SDK objects)."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    if type(value) is dict:
        return {k: _plain(v) for k, v in value.items()}
    if type(value) is list or type(value) is tuple:
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float)):
        return value
    if hasattr(value, "__pydantic_fields_set__"):
        # stored as it was sent: the SDK's defaults for fields the server did not send stay out
        return {k: _plain(v) for k, v in _sent_fields(value).items()}
    return {k: _plain(v) for k, v in _as_mapping(value, "").items()}


def _sdk_fields(value: Any) -> dict[str, Any] | None:
    """The fields of a pydantic object (the openai SDK's) that has no extra keys, else None."""
    if _FIELDS_CACHE.get(type(value)) is _PYDANTIC and not value.__pydantic_extra__:
        fields: dict[str, Any] = value.__dict__
        return fields
    return None


def _is_list(value: Any) -> bool:
    return type(value) is list or type(value) is tuple


def text_object(value: str | bytes | bytearray | memoryview) -> dict[str, Any] | None:
    """One chunk or event given as text (JSON, with or without an SSE ``data:`` prefix) as a
    dict; None for ``data: [DONE]``, the end marker. Raises ``_Invalid`` for anything else."""
    text = _data_payload(value if isinstance(value, (str, bytes)) else bytes(value))
    if text is None:
        return None
    try:
        data = json_loads(text)
    except ValueError as exc:  # orjson.JSONDecodeError and json.JSONDecodeError
        raise _Invalid("", f"invalid JSON: {exc}{_body_hint(value)}") from None
    if type(data) is not dict:
        _fail("", "a JSON object", data)
    return data


def _data_payload(text: str | bytes) -> str | bytes | None:
    """A chunk given as text: its JSON, without an SSE ``data:`` prefix; None for ``[DONE]``."""
    if isinstance(text, str):
        head = text.lstrip()
        if not head.startswith("data:"):
            return text
        body = head[5:]
        return None if body.strip() == "[DONE]" else body
    head_b = text.lstrip()
    if not head_b.startswith(b"data:"):
        return text
    body_b = head_b[5:]
    return None if body_b.strip() == b"[DONE]" else body_b


def _body_hint(chunk: str | bytes | bytearray | memoryview) -> str:
    """A hint for text that is a whole SSE body rather than one chunk (read on errors only)."""
    text = bytes(chunk).decode("utf-8", "replace") if not isinstance(chunk, str) else chunk
    head = text.lstrip()
    if head.startswith(("event:", ":")) or (head.startswith("data:") and "data:" in head[5:]):
        return " (this is an SSE body of several events, not one chunk: use streamfold.from_sse)"
    return ""

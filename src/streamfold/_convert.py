"""The one cattrs converter: typed objects to plain data and back, and JSON.

Each model class keeps the keys it does not name in ``extra``; the hooks generated here lift
those keys out on the way in and write them back at the same level on the way out, so
``from_dict(type(x), to_dict(x)) == x`` and a chunk or completion survives the round trip whole.
Fields listed in ``_OMIT_IF_NONE`` are left out of the output when ``None``, mirroring what the
API itself writes (a non-streamed message has no ``tool_calls`` key when there are none, but it
does write ``"refusal": null``).
"""

from __future__ import annotations

import importlib
import json
import typing
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from . import _model as m
from ._errors import InvalidChunkError

try:  # optional fast path: `pip install streamfold[fast]`
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised when the extra is absent
    _orjson = None  # type: ignore[assignment]

__all__ = [
    "converter",
    "from_dict",
    "from_json",
    "import_extra",
    "json_dumps",
    "json_loads",
    "schema_error",
    "to_dict",
    "to_json",
]

T = TypeVar("T")

_OMIT_IF_NONE: dict[type, frozenset[str]] = {
    m.ChatCompletionMessage: frozenset({"tool_calls", "function_call", "audio"}),
    m.CompletionUsage: frozenset(
        {
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
            "prompt_tokens_details",
            "completion_tokens_details",
        }
    ),
    m.PromptTokensDetails: frozenset({"audio_tokens", "cached_tokens"}),
    m.CompletionTokensDetails: frozenset(
        {
            "accepted_prediction_tokens",
            "audio_tokens",
            "reasoning_tokens",
            "rejected_prediction_tokens",
        }
    ),
    m.ChatCompletionChunk: frozenset({"service_tier", "system_fingerprint", "usage"}),
    m.ChoiceDelta: frozenset(
        {"role", "content", "refusal", "tool_calls", "function_call", "audio"}
    ),
    m.ChoiceDeltaToolCall: frozenset({"index", "id", "type", "function"}),
    m.ChoiceDeltaToolCallFunction: frozenset({"name", "arguments"}),
    m.ChoiceDeltaFunctionCall: frozenset({"name", "arguments"}),
    m.ChoiceDeltaAudio: frozenset({"id", "data", "transcript", "expires_at"}),
    m.TextLogprobs: frozenset({"tokens", "token_logprobs", "top_logprobs", "text_offset"}),
    m.TextCompletionChunk: frozenset({"system_fingerprint", "usage"}),
    m.TextCompletion: frozenset({"system_fingerprint"}),
}

MODEL_CLASSES: tuple[type, ...] = tuple(
    getattr(m, name) for name in m.__all__ if attrs.has(getattr(m, name))
)

converter = cattrs.Converter()


def _register(cls: type) -> None:
    names = tuple(a.name for a in attrs.fields(cls) if a.name != "extra")
    known = frozenset(names)
    # A null for a field that is never null but has a default (``"annotations": null`` from
    # some SDK versions and servers) means that default.
    attrs.resolve_types(cls, globalns=vars(m))
    null_is_default = frozenset(
        a.name
        for a in attrs.fields(cls)
        if a.default is not attrs.NOTHING and type(None) not in typing.get_args(a.type)
    )
    omit = _OMIT_IF_NONE.get(cls, frozenset())
    # generated on first use, once every class has its hook, so nested classes use theirs
    generated: list[Any] = []

    def known_hooks() -> list[Any]:
        if not generated:
            generated.append(make_dict_structure_fn(cls, converter, extra=override(omit=True)))
            generated.append(make_dict_unstructure_fn(cls, converter, extra=override(omit=True)))
        return generated

    def structure(data: Any, _: Any) -> Any:
        if not isinstance(data, Mapping):
            raise TypeError(f"expected an object for {cls.__name__}, got {type(data).__name__}")
        if null_is_default and any(data.get(name, 0) is None for name in null_is_default):
            data = {k: v for k, v in data.items() if not (v is None and k in null_is_default)}
        obj = known_hooks()[0](data, cls)
        extra = {k: v for k, v in data.items() if k not in known}
        if extra:
            obj = attrs.evolve(obj, extra=extra)
        return obj

    def unstructure(obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = known_hooks()[1](obj)
        for name in omit:
            if out.get(name, 0) is None:
                del out[name]
        if obj.extra:
            out.update(converter.unstructure(obj.extra))
        return out

    converter.register_structure_hook(cls, structure)
    converter.register_unstructure_hook(cls, unstructure)


for _cls in MODEL_CLASSES:
    _register(_cls)


def _number(data: Any, _: Any) -> int | float | None:
    # Response.created_at: an int stays an int, so that the JSON is written back as it came
    if data is None or type(data) is int or type(data) is float:
        return data
    if isinstance(data, (bool, str)) or not isinstance(data, (int, float)):
        raise TypeError(f"expected a number, got {type(data).__name__}")
    return data


converter.register_structure_hook_func(lambda t: t == (int | float | None), _number)
converter.register_structure_hook(
    m.TokenLogprobs,
    lambda data, _: m.TokenLogprobs(converter.structure(data, tuple[m.TokenLogprob, ...])),
)
converter.register_unstructure_hook(
    m.TokenLogprobs, lambda seq: [converter.unstructure(t) for t in seq]
)


@typing.overload
def to_dict(obj: attrs.AttrsInstance) -> dict[str, Any]: ...


@typing.overload
def to_dict(obj: object) -> Any: ...


def to_dict(obj: object) -> Any:
    """Return ``obj`` (a streamfold model object, or anything holding them) as plain JSON data.

    A model object (a completion, a chunk, ...) gives a ``dict``; a list or tuple of them a
    ``list``; ``None`` gives ``None``.
    """
    return converter.unstructure(obj)


def from_dict(cls: type[T], data: Any) -> T:
    """Build a ``cls`` from plain data (parsed JSON); keys ``cls`` does not name go to ``extra``.

    Raises :class:`InvalidChunkError` (a ``ValueError``) when the data does not fit ``cls``.
    """
    try:
        return converter.structure(data, cls)
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError, AttributeError) as exc:
        found = _located_messages(exc)
        detail = "; ".join(f"{path}: {what}" if path else what for path, what in found)
        raise InvalidChunkError(
            f"cannot build {cls.__name__}: {detail or exc}", path=found[0][0] if found else ""
        ) from exc


def _located_messages(exc: BaseException) -> list[tuple[str, str]]:
    """What did not fit, each with the path of its field (``choices[0].index``)."""
    if not isinstance(exc, cattrs.BaseValidationError):
        return [("", str(exc))]
    out = []
    for line in cattrs.transform_error(exc, path="$"):
        what, _, where = line.rpartition(" @ $")
        out.append((where.lstrip("."), what) if what else ("", line))
    return out


def _stdlib_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


json_loads: Callable[[str | bytes], Any]
json_bytes: Callable[[Any], bytes]  # compact JSON as bytes; TypeError for what orjson refuses
if _orjson is not None:
    json_loads = _orjson.loads
    json_bytes = _orjson.dumps
else:  # pragma: no cover
    json_loads = json.loads
    json_bytes = _stdlib_bytes


def json_dumps(data: Any, *, pretty: bool = False) -> str:
    """Serialise plain data as JSON text (orjson when installed, else the stdlib)."""
    try:
        if not pretty:
            return json_bytes(data).decode()
        if _orjson is not None:
            return _orjson.dumps(data, option=_orjson.OPT_INDENT_2).decode()
    except TypeError:  # integers beyond 64 bits and other values orjson refuses
        pass
    if pretty:
        return json.dumps(data, ensure_ascii=False, indent=2)
    return _stdlib_bytes(data).decode()


def to_json(obj: Any, *, pretty: bool = False) -> str:
    """Return ``obj`` as JSON text, in the shape the API itself sends."""
    return json_dumps(to_dict(obj), pretty=pretty)


def from_json(cls: type[T], text: str | bytes) -> T:
    """Parse JSON text and build a ``cls`` from it. Raises :class:`InvalidChunkError`."""
    try:
        data = json_loads(text)
    except ValueError as exc:
        raise InvalidChunkError(f"cannot build {cls.__name__}: invalid JSON: {exc}") from exc
    return from_dict(cls, data)


def import_extra(what: str, extra: str, *modules: str) -> ModuleType:
    """Import an optional package (``modules``, the top level first: a package blocked or
    missing stops there) and return the first; raise ``ModuleNotFoundError`` naming the extra
    that installs it, for ``what`` (the feature that needs it)."""
    try:
        imported = [importlib.import_module(name) for name in modules]
    except ImportError as exc:
        raise ModuleNotFoundError(
            f"{what} needs the {modules[0]} package: pip install 'streamfold[{extra}]'",
            name=modules[0],
        ) from exc
    return imported[0]


def schema_error(exc: Any, built: str, call: str) -> InvalidChunkError:
    """The error for data an SDK's pydantic model refused (``exc``, a ``ValidationError``):
    ``built`` names the model, ``call`` the function that has a ``validate=False``."""
    errors = exc.errors()
    path = ".".join(str(p) for p in errors[0]["loc"])
    got = f" (got {errors[0]['input']!r:.80})" if "input" in errors[0] else ""
    return InvalidChunkError(
        f"cannot build {built}: {len(errors)} field(s) do not fit the SDK's schema; first:"
        f" {path}: {errors[0]['msg']}{got}; {call}(..., validate=False) builds it unchecked,"
        " as the SDK builds responses",
        path=path,
    )

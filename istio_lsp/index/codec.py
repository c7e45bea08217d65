"""Summaries and snapshots as plain data, for the cache: JSON that builds only the classes listed here.

The cache is shared (a CI cache restored from another branch, a team's cache directory), so a
row is untrusted input. Nothing in it is executed: a row decodes to the project's own data
classes, found by name in a fixed registry, each field checked against its annotation; anything
else (an unknown class, a wrong field count or type, malformed JSON) is a `CodecError`, and
the cache treats the row as missing.

The format, versioned by `FORMAT`: scalars as JSON scalars; a list, tuple, dict or frozenset as
an array that starts with a small integer saying which; a `Span` as `[5, l, c, l, c]`; any other
registered class as an array that starts with its name, then its fields in order.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from collections.abc import Callable
from enum import IntEnum
from typing import Any

from istio_lsp.findings import Finding, Severity
from istio_lsp.syntax import Span

FORMAT = 1

_LIST, _TUPLE, _DICT, _FROZENSET, _ENUM, _SPAN = range(6)
_SCALARS = (str, int, float, bool, type(None))

Check = Callable[[Any], bool]


class CodecError(ValueError):
    """A row that is not a value this codec wrote."""


# ---- the registry -------------------------------------------------------------------------------


def _roots() -> list[type]:
    from istio_lsp.index.cache import FileState, Snapshot
    from istio_lsp.index.summary import FileSummary

    return [FileSummary, Snapshot, FileState, Finding]


class _Class:
    """How to build one registered class: its fields, and a check of each field's value."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.is_tuple = issubclass(cls, tuple)
        hints = typing.get_type_hints(cls)
        if self.is_tuple:
            names: tuple[str, ...] = cls._fields  # type: ignore[attr-defined]
        else:
            names = tuple(f.name for f in dataclasses.fields(cls))
        self.names = names
        self.hints = [hints[name] for name in names]
        self.checks: list[Check] = []


_REGISTRY: dict[str, _Class] = {}
_ENUMS: dict[str, type[IntEnum]] = {"Severity": Severity}


def _registry() -> dict[str, _Class]:
    """Every class a summary or a snapshot may hold: those the roots' annotations name, and every kind of
    resource (fields hold them as `Resource`), by class name."""
    if not _REGISTRY:
        pending = [*_roots(), *_subclasses_of_resource()]
        while pending:
            cls = pending.pop()
            known = _REGISTRY.get(cls.__name__)
            if known is not None:
                if known.cls is not cls:
                    raise AssertionError(f"two classes named {cls.__name__}: {known.cls} and {cls}")
                continue
            if cls is Span:
                continue
            entry = _REGISTRY[cls.__name__] = _Class(cls)
            for hint in entry.hints:
                pending.extend(_classes_in(hint))
        for entry in _REGISTRY.values():
            entry.checks = [_check_for(hint) for hint in entry.hints]
    return _REGISTRY


def _subclasses_of_resource() -> list[type]:
    from istio_lsp.model.resources import Resource

    found: list[type] = []
    todo = [Resource]
    while todo:
        cls = todo.pop()
        # `dataclass(slots=True)` replaces a class by a new one: the old one lingers among the subclasses
        if getattr(sys.modules.get(cls.__module__), cls.__qualname__, None) is cls:
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def _classes_in(hint: Any) -> list[type]:
    """The registrable classes an annotation names (dataclasses and named tuples)."""
    found: list[type] = []
    for arg in typing.get_args(hint):
        found.extend(_classes_in(arg))
    if isinstance(hint, type) and (dataclasses.is_dataclass(hint) or hasattr(hint, "_fields")):
        found.append(hint)
    return found


def _plain_types(hint: Any) -> tuple[type, ...] | None:
    """The classes a plain annotation admits (`str`, `Span | None`), None for a generic one."""
    if hint is float:
        return (int, float)
    if isinstance(hint, type) and typing.get_origin(hint) is None:
        return (hint,)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        found: tuple[type, ...] = ()
        for arg in typing.get_args(hint):
            plain = _plain_types(arg)
            if plain is None:
                return None
            found += plain
        return found
    return None


def _check_for(hint: Any) -> Check:
    """A predicate that a decoded value fits an annotation (containers: their items too)."""
    if hint is Any:
        return lambda value: True
    plain = _plain_types(hint)
    if plain is not None:  # most fields: one isinstance
        return lambda value: isinstance(value, plain)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        options = [_check_for(arg) for arg in args if arg is not type(None)]
        if len(options) == 1 and len(args) == 2:  # `X | None`
            only = options[0]
            return lambda value: value is None or only(value)
        return lambda value: (value is None and type(None) in args) or any(option(value) for option in options)
    if origin in (list, frozenset, set):
        item = _check_for(args[0]) if args else _check_for(Any)
        kind = list if origin is list else frozenset
        return lambda value: isinstance(value, kind) and all(item(v) for v in value)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _check_for(args[0])
            return lambda value: isinstance(value, tuple) and all(item(v) for v in value)
        parts = [_check_for(arg) for arg in args]
        return lambda value: (
            isinstance(value, tuple)
            and len(value) == len(parts)
            and all(p(v) for p, v in zip(parts, value, strict=True))
        )
    if origin is dict:
        key, val = (_check_for(args[0]), _check_for(args[1])) if args else (_check_for(Any), _check_for(Any))
        return lambda value: isinstance(value, dict) and all(key(k) and val(v) for k, v in value.items())
    return lambda value: True  # a literal or an alias the codec does not need to judge


# ---- encoding -----------------------------------------------------------------------------------


def dumps(value: object) -> bytes:
    # ASCII: a lone surrogate (which a file's text may hold) travels escaped
    return json.dumps([FORMAT, _encode(value)], separators=(",", ":")).encode("ascii")


def _encode(value: object) -> Any:
    if isinstance(value, Span):
        return [_SPAN, value[0], value[1], value[2], value[3]]
    if isinstance(value, IntEnum):
        return [_ENUM, type(value).__name__, int(value)]
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list):
        return [_LIST, *map(_encode, value)]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return [_TUPLE, *map(_encode, value)]
    if isinstance(value, dict):
        out: list[Any] = [_DICT]
        for key, item in value.items():
            out.append(_encode(key))
            out.append(_encode(item))
        return out
    if isinstance(value, (frozenset, set)):
        return [_FROZENSET, *map(_encode, sorted(value, key=repr))]
    entry = _registry().get(type(value).__name__)
    if entry is None or entry.cls is not type(value):
        raise CodecError(f"cannot encode a {type(value).__name__}")
    return [entry.cls.__name__, *(_encode(getattr(value, name)) for name in entry.names)]


# ---- decoding -----------------------------------------------------------------------------------


def loads(data: bytes | str) -> Any:
    """The value `dumps` wrote; CodecError for anything else."""
    try:
        raw = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise CodecError(f"not JSON: {exc}") from None
    if not (isinstance(raw, list) and len(raw) == 2 and raw[0] == FORMAT):
        raise CodecError("not a row of this format")
    try:
        return _decode(raw[1], _registry())
    except RecursionError:
        raise CodecError("nested too deeply") from None


def _decode(raw: Any, registry: dict[str, _Class]) -> Any:
    """A decoded value; JSON scalars stand for themselves (callers skip the call for them: most values
    are scalars, and a warm start decodes millions)."""
    if type(raw) is not list:
        if type(raw) is dict:
            raise CodecError("a JSON object")
        return raw
    if not raw:
        raise CodecError("an empty array")
    head = raw[0]
    if type(head) is str:
        entry = registry.get(head)
        if entry is None:
            raise CodecError(f"unknown class {head!r}")
        if len(raw) != len(entry.names) + 1:
            raise CodecError(f"{head}: {len(raw) - 1} fields, not {len(entry.names)}")
        values = [item if type(item) is not list else _decode(item, registry) for item in raw[1:]]
        for name, check, value in zip(entry.names, entry.checks, values, strict=True):
            if not check(value):
                raise CodecError(f"{head}.{name}: unexpected {type(value).__name__}")
        if entry.is_tuple:
            return entry.cls._make(values)  # type: ignore[attr-defined]
        obj: Any = object.__new__(entry.cls)
        for name, value in zip(entry.names, values, strict=True):
            object.__setattr__(obj, name, value)
        return obj
    if type(head) is not int:
        raise CodecError("an array without a type")
    if head == _SPAN:
        if len(raw) != 5 or not (type(raw[1]) is type(raw[2]) is type(raw[3]) is type(raw[4]) is int):
            raise CodecError("a malformed span")
        return Span(raw[1], raw[2], raw[3], raw[4])
    if head == _LIST:
        return [item if type(item) is not list else _decode(item, registry) for item in raw[1:]]
    if head == _TUPLE:
        return tuple([item if type(item) is not list else _decode(item, registry) for item in raw[1:]])
    if head == _DICT:
        if len(raw) % 2 != 1:
            raise CodecError("a dict with an odd number of items")
        keys = raw[1::2]
        if not all(type(key) is str or type(key) is int for key in keys):
            raise CodecError("a dict key that is not a string or a number")
        values = [item if type(item) is not list else _decode(item, registry) for item in raw[2::2]]
        return dict(zip(keys, values, strict=True))
    if head == _FROZENSET:
        items = raw[1:]
        if not all(type(item) in _SCALARS for item in items):
            raise CodecError("a set of values that are not scalars")
        return frozenset(items)
    if head == _ENUM:
        if len(raw) != 3 or raw[1] not in _ENUMS or type(raw[2]) is not int:
            raise CodecError("a malformed enum")
        try:
            return _ENUMS[raw[1]](raw[2])
        except ValueError:
            raise CodecError(f"no {raw[1]} {raw[2]}") from None
    raise CodecError(f"unknown array type {head}")

"""A job's return value as JSON (docs/python.md, "Results")."""

from __future__ import annotations

import base64
import collections.abc
import datetime
import enum
import math

_MAX_DEPTH = 200


def to_json(value):
    """Plain JSON values for `value`: dict (keys as strings), list, tuple, set (sorted when it can be),
    numbers (NaN and infinities become null), str, bool, None, nested; dataclasses, objects with
    to_dict() / tolist() / _asdict() / asDict(); bytes as base64; enums by name; dates in ISO 8601;
    anything else by str(). A cycle is cut with the str() of the repeated object."""
    return _convert(value, set(), 0)


def _key(k):
    if isinstance(k, str):
        return k
    if isinstance(k, bool):
        return "true" if k else "false"
    if k is None:
        return "null"
    if isinstance(k, enum.Enum):
        return str(k.name)
    return str(k)


def _float(f):
    return None if math.isnan(f) or math.isinf(f) else f


def _convert(v, active, depth):
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return _float(float(v))
    if isinstance(v, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(v)).decode("ascii")
    if isinstance(v, enum.Enum):
        return str(v.name)
    if isinstance(v, (datetime.date, datetime.time)):
        return v.isoformat()
    if depth > _MAX_DEPTH or id(v) in active:
        return _str(v)
    active.add(id(v))
    try:
        return _container(v, active, depth + 1)
    finally:
        active.discard(id(v))


def _container(v, active, depth):
    if isinstance(v, collections.abc.Mapping):
        return {_key(k): _convert(x, active, depth) for k, x in v.items()}
    if hasattr(type(v), "__dataclass_fields__") and not isinstance(v, type):
        import dataclasses
        return {f.name: _convert(getattr(v, f.name, None), active, depth) for f in dataclasses.fields(v)}
    for method in ("_asdict", "asDict", "to_dict", "tolist"):  # namedtuple, pyspark Row, pandas, numpy
        fn = getattr(v, method, None)
        if callable(fn) and not isinstance(v, type):
            try:
                out = fn()
            except Exception:  # noqa: BLE001 (a method of the same name with other meaning)
                continue
            if out is v:
                break
            return _convert(out, active, depth)
    if isinstance(v, (set, frozenset)):
        items = [_convert(x, active, depth) for x in v]
        try:
            return sorted(items)
        except TypeError:
            try:
                return sorted(items, key=lambda x: (str(type(x)), str(x)))
            except Exception:  # noqa: BLE001
                return items
    if isinstance(v, (list, tuple, range, collections.deque)) or (
            isinstance(v, collections.abc.Sequence) and not isinstance(v, (str, bytes))):
        return [_convert(x, active, depth) for x in v]
    if isinstance(v, complex):
        return str(v)
    if isinstance(v, (int, float)):  # numbers.Number look-alikes
        return v
    try:
        import decimal
        import fractions
        if isinstance(v, (decimal.Decimal, fractions.Fraction)):
            return _float(float(v)) if isinstance(v, fractions.Fraction) else str(v)
    except ImportError:
        pass
    return _str(v)


def _str(v):
    try:
        return str(v)
    except Exception as e:  # noqa: BLE001
        return "<%s: str() failed: %s>" % (type(v).__name__, e)

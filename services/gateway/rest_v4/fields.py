"""Typed access to Tencent request fields, accepting old and new names for the same field."""

from __future__ import annotations

from typing import Any

from services.common.errors import ErrorCode, TidingsError
from services.gateway.bounds import IntRange, checked_int

_MISSING = object()


def _lookup(body: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if name in body:
            return body[name]
    return _MISSING


def text(
    body: dict[str, Any],
    *names: str,
    code: ErrorCode,
    required: bool = True,
    default: str = "",
    max_len: int | None = None,
) -> str:
    value = _lookup(body, names)
    if value is _MISSING or value is None:
        if required:
            raise TidingsError(code, f"{names[0]} is required")
        return default
    if not isinstance(value, str):
        raise TidingsError(code, f"{names[0]} must be a string")
    if required and not value:
        raise TidingsError(code, f"{names[0]} must not be empty")
    if max_len is not None and len(value.encode()) > max_len:
        raise TidingsError(code, f"{names[0]} is longer than {max_len} bytes")
    return value


def integer(
    body: dict[str, Any],
    *names: str,
    code: ErrorCode,
    within: IntRange,
    required: bool = True,
    default: int = 0,
    type_code: ErrorCode | None = None,
) -> int:
    """An integer field in its range (bounds.py): every integer a command reads has one.
    type_code: Tencent's code for a field that is missing or not an integer, where it has its
    own; `code` otherwise."""
    value = optional_integer(body, *names, code=code, within=within, type_code=type_code)
    if value is None:
        if required:
            raise TidingsError(type_code or code, f"{names[0]} is required")
        return default
    return value


def optional_integer(
    body: dict[str, Any],
    *names: str,
    code: ErrorCode,
    within: IntRange,
    type_code: ErrorCode | None = None,
) -> int | None:
    """An integer field in its range, or None when it is absent (or null)."""
    value = _lookup(body, names)
    if value is _MISSING or value is None:
        return None
    if type_code is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise TidingsError(type_code, f"{names[0]} must be an integer")
    return checked_int(value, names[0], within, code)


def raw(body: dict[str, Any], *names: str) -> Any:
    value = _lookup(body, names)
    return None if value is _MISSING else value

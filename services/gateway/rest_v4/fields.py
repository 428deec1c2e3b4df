"""Typed access to Tencent request fields, accepting old and new names for the same field."""

from __future__ import annotations

from typing import Any

from services.common.errors import ErrorCode, TidingsError

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
    required: bool = True,
    default: int = 0,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    value = _lookup(body, names)
    if value is _MISSING or value is None:
        if required:
            raise TidingsError(code, f"{names[0]} is required")
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise TidingsError(code, f"{names[0]} must be an integer")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise TidingsError(code, f"{names[0]} must be in [{minimum}, {maximum}]")
    return value


def raw(body: dict[str, Any], *names: str) -> Any:
    value = _lookup(body, names)
    return None if value is _MISSING else value

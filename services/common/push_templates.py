"""Push templates, as Easemob's console and REST API define them. Pure: no I/O.

A template has a name (letters and digits, at most 64) and a title and a content pattern.
Easemob's console shows the title and the content as arrays, its REST API as one pattern string
each (`title_pattern`, `content_pattern`): both are taken, and an array's elements are the
pattern's pieces, joined in order (so `["Hello, ", "{0}"]` is `Hello, {0}`).

Placeholders, filled in one pass (a value is never expanded again, so an argument that holds
`{0}` or `{$msg}` shows as it is):
- `{$dynamicFrom}`: the receiver's remark for the sender if there is one, else the sender's
  group nickname (group messages only, `ext.em_push_ext.group_user_nickname`), else the
  sender's push nickname;
- `{$fromNickname}`: the sender's push nickname;
- `{$msg}`: the message's content (its text, or a summary of a non-text message);
- `{0}`..`{n}`: the message's `ext.em_push_template.title_args` (in the title) and
  `content_args` (in the content).
A `{...}` that is none of these is left as it is.

Which template: the one the message names (`ext.em_push_template.name`), else the app's
`default`, else none (the caller's plain notification). Bad arguments (not an array of strings,
too many or too long, an index with no argument, a name that is not a template) raise
TemplateError with a message saying which; the push service then falls back to the default
notification and logs the error, and nothing crashes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DEFAULT = "default"
NAME = re.compile(r"[A-Za-z0-9]{1,64}")
MAX_PATTERN_CHARS = 1024
MAX_PIECES = 16
MAX_ARGS = 32
MAX_ARG_CHARS = 1024
# The rendered title and content are cut to what the vendors show at most.
MAX_TITLE_CHARS = 128
MAX_CONTENT_CHARS = 1024

_PLACEHOLDER = re.compile(r"\{\$(dynamicFrom|fromNickname|msg)\}|\{(\d{1,3})\}")


class TemplateError(ValueError):
    """A template or a message's template arguments that cannot be used, and why."""


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    title: str
    content: str


@dataclass(frozen=True, slots=True)
class Sender:
    """What the placeholders say of the message and its sender, for one receiver."""

    msg: str
    from_nickname: str
    # The receiver's remark for the sender (friend remark), if any.
    remark: str = ""
    # The sender's nickname in the group, for group messages.
    group_nickname: str = ""

    @property
    def dynamic_from(self) -> str:
        return self.remark or self.group_nickname or self.from_nickname


@dataclass(frozen=True, slots=True)
class TemplateArgs:
    """`ext.em_push_template` of a message."""

    name: str | None = None
    title_args: tuple[str, ...] = ()
    content_args: tuple[str, ...] = ()


def pattern_of(raw: object, field: str) -> str:
    """A title or content pattern: a string, or an array of string pieces."""
    if isinstance(raw, str):
        pieces: Sequence[object] = [raw]
    elif isinstance(raw, list) and raw:
        if len(raw) > MAX_PIECES:
            raise TemplateError(f"{field} holds at most {MAX_PIECES} pieces")
        pieces = raw
    else:
        raise TemplateError(f"{field} must be a string or a non-empty array of strings")
    if not all(isinstance(p, str) for p in pieces):
        raise TemplateError(f"every piece of {field} must be a string")
    pattern = "".join(str(p) for p in pieces)
    if not pattern:
        raise TemplateError(f"{field} must not be empty")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise TemplateError(f"{field} is at most {MAX_PATTERN_CHARS} characters")
    return pattern


def template_of(name: object, title: object, content: object) -> Template:
    """A template from the console's or the REST API's fields, checked."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise TemplateError("a template name is 1 to 64 letters (a-z, A-Z) and digits (0-9)")
    return Template(name, pattern_of(title, "title"), pattern_of(content, "content"))


def _args(raw: object, field: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
        raise TemplateError(f"em_push_template.{field} must be an array of strings")
    if len(raw) > MAX_ARGS:
        raise TemplateError(f"em_push_template.{field} holds at most {MAX_ARGS} arguments")
    if any(len(a) > MAX_ARG_CHARS for a in raw):
        raise TemplateError(f"each of em_push_template.{field} is at most {MAX_ARG_CHARS} chars")
    return tuple(raw)


def template_args(ext: object) -> TemplateArgs:
    """The template arguments of a message's ext (a parsed JSON object, or anything else: no
    arguments)."""
    if not isinstance(ext, Mapping):
        return TemplateArgs()
    raw = ext.get("em_push_template")
    if raw is None:
        return TemplateArgs()
    if not isinstance(raw, Mapping):
        raise TemplateError("em_push_template must be an object")
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise TemplateError("em_push_template.name must be a string")
    return TemplateArgs(
        name=name or None,
        title_args=_args(raw.get("title_args"), "title_args"),
        content_args=_args(raw.get("content_args"), "content_args"),
    )


def chosen(templates: Mapping[str, Template], args: TemplateArgs) -> Template | None:
    """The template the message names, else `default`, else None."""
    if args.name is not None:
        found = templates.get(args.name)
        if found is None:
            raise TemplateError(f"there is no push template named {args.name!r}")
        return found
    return templates.get(DEFAULT)


def fill(pattern: str, sender: Sender, args: Sequence[str], field: str) -> str:
    """The pattern with its placeholders filled, in one pass."""

    def value(m: re.Match[str]) -> str:
        builtin, index = m.group(1), m.group(2)
        if builtin == "dynamicFrom":
            return sender.dynamic_from
        if builtin == "fromNickname":
            return sender.from_nickname
        if builtin == "msg":
            return sender.msg
        i = int(index)
        if i >= len(args):
            raise TemplateError(
                f"the {field} uses {{{i}}} but em_push_template.{field}_args has {len(args)}"
            )
        return args[i]

    return _PLACEHOLDER.sub(value, pattern)


def render(template: Template, sender: Sender, args: TemplateArgs) -> tuple[str, str]:
    """The notification's title and content."""
    title = fill(template.title, sender, args.title_args, "title")
    content = fill(template.content, sender, args.content_args, "content")
    return title[:MAX_TITLE_CHARS], content[:MAX_CONTENT_CHARS]

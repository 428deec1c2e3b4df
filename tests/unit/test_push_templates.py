"""Push templates: every placeholder, the choice of template, and bad arguments (a clear
TemplateError, never another exception)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.push_templates import (
    DEFAULT,
    MAX_ARGS,
    MAX_CONTENT_CHARS,
    MAX_TITLE_CHARS,
    Sender,
    Template,
    TemplateArgs,
    TemplateError,
    chosen,
    render,
    template_args,
    template_of,
)

SENDER = Sender(msg="see you at 8", from_nickname="Ann", remark="Annie (work)", group_nickname="A.")


def test_easemob_s_example_fills_the_indexed_arguments() -> None:
    template = template_of("test7", "你好,{0}", "推送测试,{0}")
    args = {"title_args": ["环信"], "content_args": ["欢迎使用im-push", "加油"]}
    ext = {"em_push_template": args}
    assert render(template, SENDER, template_args(ext)) == ("你好,环信", "推送测试,欢迎使用im-push")
    two = template_of("two", "{0}", "{0} {1}")
    assert render(two, SENDER, template_args(ext)) == ("环信", "欢迎使用im-push 加油")


def test_the_builtin_placeholders() -> None:
    template = template_of(DEFAULT, "{$dynamicFrom} / {$fromNickname}", "{$fromNickname}: {$msg}")
    assert render(template, SENDER, TemplateArgs()) == (
        "Annie (work) / Ann",
        "Ann: see you at 8",
    )


@pytest.mark.parametrize(
    ("remark", "group_nickname", "expected"),
    [("Annie", "A.", "Annie"), ("", "A.", "A."), ("", "", "Ann")],
)
def test_dynamic_from_prefers_remark_then_group_nickname_then_nickname(
    remark: str, group_nickname: str, expected: str
) -> None:
    sender = Sender(msg="m", from_nickname="Ann", remark=remark, group_nickname=group_nickname)
    assert sender.dynamic_from == expected


def test_title_and_content_may_be_arrays_of_pieces() -> None:
    template = template_of("pieces", ["Hello, ", "{0}"], ["{$msg}", " (", "{0}", ")"])
    args = TemplateArgs(title_args=("Bo",), content_args=("1 new",))
    assert render(template, SENDER, args) == ("Hello, Bo", "see you at 8 (1 new)")


def test_a_value_is_never_expanded_again() -> None:
    template = template_of("t", "{0}", "{$msg}")
    sender = Sender(msg="{0} and {$fromNickname}", from_nickname="Ann")
    args = TemplateArgs(title_args=("{$msg}",))
    assert render(template, sender, args) == ("{$msg}", "{0} and {$fromNickname}")


def test_unknown_braces_stay_as_they_are() -> None:
    template = template_of("t", "{name} {$other} {}", "{{0}}")
    args = TemplateArgs(content_args=("x",))
    assert render(template, SENDER, args) == ("{name} {$other} {}", "{x}")


def test_the_rendered_text_is_cut_to_what_vendors_show() -> None:
    template = template_of("long", "{0}", "{0}{0}")
    args = TemplateArgs(title_args=("t" * 1000,), content_args=("c" * 1000,))
    title, content = render(template, SENDER, args)
    assert (len(title), len(content)) == (MAX_TITLE_CHARS, MAX_CONTENT_CHARS)


def test_the_named_template_wins_then_default_then_none() -> None:
    default = template_of(DEFAULT, "New message", "{$msg}")
    sale = template_of("sale", "Sale", "{0}")
    templates = {DEFAULT: default, "sale": sale}
    assert chosen(templates, TemplateArgs(name="sale")) is sale
    assert chosen(templates, TemplateArgs()) is default
    assert chosen({"sale": sale}, TemplateArgs()) is None
    with pytest.raises(TemplateError, match="no push template named 'gone'"):
        chosen(templates, TemplateArgs(name="gone"))


@pytest.mark.parametrize(
    "name", ["", "a" * 65, "with space", "dash-ed", "点", "under_score", None, 7]
)
def test_template_names_are_1_to_64_letters_and_digits(name: Any) -> None:
    with pytest.raises(TemplateError, match="letters"):
        template_of(name, "t", "c")
    assert template_of("a" * 64, "t", "c").name == "a" * 64


@pytest.mark.parametrize(
    ("title", "message"),
    [
        ("", "must not be empty"),
        ([], "non-empty array"),
        (["a", 1], "must be a string"),
        (None, "string or a non-empty array"),
        ({"a": 1}, "string or a non-empty array"),
        ("x" * 1025, "at most 1024"),
        (["x"] * 17, "at most 16 pieces"),
    ],
)
def test_bad_patterns_are_refused(title: Any, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        template_of("t", title, "c")


@pytest.mark.parametrize(
    ("ext", "message"),
    [
        ({"em_push_template": "sale"}, "must be an object"),
        ({"em_push_template": {"name": 3}}, "name must be a string"),
        ({"em_push_template": {"title_args": "x"}}, "title_args must be an array of strings"),
        ({"em_push_template": {"content_args": [1, 2]}}, "content_args must be an array"),
        ({"em_push_template": {"title_args": ["a"] * (MAX_ARGS + 1)}}, "at most 32 arguments"),
        ({"em_push_template": {"content_args": ["a" * 1025]}}, "at most 1024"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_error(ext: Any, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        template_args(ext)


def test_an_index_without_an_argument_says_which() -> None:
    template = template_of("t", "{0}", "{0} {2}")
    args = TemplateArgs(title_args=("a",), content_args=("b", "c"))
    with pytest.raises(TemplateError, match=r"content uses \{2\} but em_push_template"):
        render(template, SENDER, args)


@pytest.mark.parametrize("ext", [None, "text", 3, [], {}, {"other": 1}, {"em_push_template": None}])
def test_no_template_arguments_is_not_an_error(ext: Any) -> None:
    assert template_args(ext) == TemplateArgs()


@given(
    title=st.text(max_size=200),
    content=st.text(max_size=200),
    ext=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
        max_leaves=20,
    ),
)
def test_anything_either_renders_or_raises_template_error(
    title: str, content: str, ext: Any
) -> None:
    wrapped = {"em_push_template": ext}
    try:
        template = Template("t", title or "x", content or "x")
        render(template, SENDER, template_args(wrapped))
    except TemplateError:
        pass

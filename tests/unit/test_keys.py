"""Keys built from ids are unambiguous: no two different id tuples share a key, whatever
characters the ids hold (issue 9: `c2c:cx:cy:cz` was both (cx, cy:cz) and (cx:cy, cz))."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.common import conversation, keys, recent, redis_state
from services.gateway import receipts, reports
from services.gateway.ids import MAX_USER_ID_BYTES, user_id_problem
from tidings_client.frames import conversation_parts

# Ids that import accepts (1..32 bytes, no control characters), biased towards the characters
# that keys use as structure.
_ALPHABET = st.sampled_from([*"ab:%{}_-3", "é", "群", " ", "|", "#"])
user_ids = (
    st.text(_ALPHABET, min_size=1, max_size=12)
    | st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=8)
).filter(lambda u: user_id_problem(u) is None)
# Group ids are printable ASCII, 1..48 bytes.
group_ids = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=48)
pairs = st.tuples(user_ids, user_ids)


def test_the_probe_pairs_get_different_conversations() -> None:
    assert conversation.c2c("cx", "cy:cz") != conversation.c2c("cx:cy", "cz")
    assert conversation.c2c("b", "a") == conversation.c2c("a", "b") == "c2c:a:b"
    assert conversation.group("g") == "group:g"


@settings(max_examples=500)
@given(pairs, pairs)
def test_c2c_conversations_are_unambiguous(p: tuple[str, str], q: tuple[str, str]) -> None:
    same_pair = sorted(p) == sorted(q)
    assert (conversation.c2c(*p) == conversation.c2c(*q)) == same_pair
    # And so is every key scoped by a conversation.
    app = 1400000001
    assert (
        recent.counter_key(app, conversation.c2c(*p))
        == recent.counter_key(app, conversation.c2c(*q))
    ) == same_pair


@settings(max_examples=300)
@given(pairs, group_ids)
def test_c2c_and_group_conversations_never_meet(p: tuple[str, str], g: str) -> None:
    assert conversation.c2c(*p) != conversation.group(g)


@settings(max_examples=300)
@given(pairs)
def test_a_conversation_names_its_parties(p: tuple[str, str]) -> None:
    conv = conversation.c2c(*p)
    a, b = p
    assert conversation.peer_of(conv, a) == b
    assert conversation.peer_of(conv, b) == a
    # The SDK reads the same ids out of it.
    assert sorted(conversation_parts(conv)[1:]) == sorted(p)
    assert conversation.group_of(conv) is None


@settings(max_examples=300)
@given(group_ids, group_ids)
def test_group_conversations_are_unambiguous(g: str, h: str) -> None:
    assert (conversation.group(g) == conversation.group(h)) == (g == h)
    assert conversation.group_of(conversation.group(g)) == g
    assert conversation_parts(conversation.group(g)) == ["group", g]


@settings(max_examples=500)
@given(
    st.tuples(pairs, user_ids, user_ids, st.integers(0, 2**63 - 1)),
    st.tuples(pairs, user_ids, user_ids, st.integers(0, 2**63 - 1)),
)
def test_redis_keys_from_ids_are_unambiguous(
    x: tuple[tuple[str, str], str, str, int], y: tuple[tuple[str, str], str, str, int]
) -> None:
    """Every Redis key made from ids: dedupe, recall claims, sessions, receipts, reports."""
    app = 1400000001
    (pa, sa, ca, na), (pb, sb, cb, nb) = x, y
    conv_a, conv_b = conversation.c2c(*pa), conversation.c2c(*pb)
    same_conv = conv_a == conv_b

    def same(f_a: str, f_b: str, equal: bool) -> None:
        assert (f_a == f_b) == equal, (f_a, f_b)

    same(
        recent.dedupe_key(app, conv_a, sa, ca),
        recent.dedupe_key(app, conv_b, sb, cb),
        same_conv and sa == sb and ca == cb,
    )
    same(
        recent.recall_claim_key(app, conv_a, na),
        recent.recall_claim_key(app, conv_b, nb),
        same_conv and na == nb,
    )
    same(redis_state.session_key(app, sa), redis_state.session_key(app, sb), sa == sb)
    same(
        reports.claim_key(app, sa, conv_a, na),
        reports.claim_key(app, sb, conv_b, nb),
        same_conv and sa == sb and na == nb,
    )
    same(keys.join("send", sa), keys.join("send", sb), sa == sb)


@settings(max_examples=500)
@given(group_ids, group_ids, st.integers(0, 2**63 - 1), st.integers(0, 2**63 - 1))
def test_receipt_keys_are_unambiguous(g: str, h: str, m: int, n: int) -> None:
    app = 1400000001
    # An index key never equals a readers key (group "g:5" against group "g", seq 5).
    assert receipts.index_key(app, g) != receipts.readers_key(app, h, n)
    assert (receipts.index_key(app, g) == receipts.index_key(app, h)) == (g == h)
    assert (receipts.readers_key(app, g, m) == receipts.readers_key(app, h, n)) == (
        g == h and m == n
    )


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_join_splits_back(parts: list[str]) -> None:
    assert keys.split(keys.join(*parts)) == parts


def test_redis_keys_keep_their_hash_tag() -> None:
    """Braces in ids are escaped, so the slot is chosen by the whole {app:scope}."""
    key = recent.counter_key(1, conversation.c2c("a}", "{b"))
    tag = key[key.index("{") + 1 : key.index("}")]
    assert tag == f"1:{conversation.c2c('a}', '{b')}"


def test_user_id_rules() -> None:
    assert user_id_problem("cy:cz") is None
    assert user_id_problem("a" * MAX_USER_ID_BYTES) is None
    assert user_id_problem("a" * (MAX_USER_ID_BYTES + 1)) is not None
    assert user_id_problem("群" * 11) is not None  # 33 bytes
    assert user_id_problem("") is not None
    assert user_id_problem("a\nb") is not None
    assert user_id_problem("a\x00") is not None
    assert user_id_problem(3) is not None

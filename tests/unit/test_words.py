from services.router.words import Action, WordFilter, WordList, mask


def test_mask_is_case_insensitive_and_merges_overlaps() -> None:
    f = WordFilter([WordList(["bad", "badger", "Darn"], Action.MASK)])
    v = f.check("A BADGER said darn!")
    assert not v.blocked
    assert v.text == "A *** said ***!"
    assert set(v.matched) == {"BADGER", "darn"}


def test_cjk_words_match_inside_text_without_spaces() -> None:
    f = WordFilter([WordList(["敏感词", "违禁"], Action.MASK)])
    assert f.check("这是一个敏感词测试，含违禁内容").text == "这是一个***测试，含***内容"


def test_block_wins_over_mask() -> None:
    f = WordFilter([WordList(["meh"], Action.MASK), WordList(["forbidden"], Action.BLOCK)])
    v = f.check("meh, this is Forbidden")
    assert v.blocked
    assert v.matched == ("Forbidden",)


def test_no_lists_and_no_match_leave_the_text() -> None:
    assert WordFilter([]).check("anything").text == "anything"
    assert WordFilter([WordList([" ", ""], Action.MASK)]).check("x").text == "x"
    assert WordFilter([WordList(["zzz"], Action.MASK)]).check("hello").text == "hello"


def test_offsets_survive_characters_that_lower_to_two() -> None:
    f = WordFilter([WordList(["word"], Action.MASK)])
    assert f.check("İ WORD İ").text == "İ *** İ"


def test_mask_spans() -> None:
    assert mask("abcdef", [(0, 2), (1, 3), (4, 5)]) == "***d***f"

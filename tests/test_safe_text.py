from rich.text import Text

from supervisor_tui.domain.text import clean, markup


def test_escape_sequences_and_controls_are_removed() -> None:
    nasty = "Sales\x1b[2J\x1b[31m red\x1b]0;pwned\x07 \x07bell\x00"
    out = clean(nasty)
    assert "\x1b" not in out and "\x07" not in out and "\x00" not in out
    assert out.startswith("Sales") and "red" in out and "bell" in out


def test_markup_is_escaped_not_interpreted() -> None:
    name = "[bold red]VIP[/]"
    assert Text.from_markup(markup(name)).plain == name


def test_long_text_is_cut_with_ellipsis() -> None:
    assert clean("x" * 500, 10) == "x" * 9 + "…"


def test_plain_text_is_untouched() -> None:
    assert clean("Billing — EMEA") == "Billing — EMEA"


# -- issue #11: every hostile string is plain text ----------------------------------------

def test_bidi_dcs_and_c1_are_removed() -> None:
    assert clean("\u202eevil.txt\u202c") == "evil.txt"
    assert clean("a\u2066b\u2069c\u200fd") == "abcd"
    assert clean("\x1bP+q544e\x1b\\ok") == "ok"
    assert clean("\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\") == "link"
    assert "\x9b" not in clean("\x9b31m")
    assert clean("one\u2028two") == "one two"


def test_hostile_strings_lose_every_control_but_keep_their_text() -> None:
    import re

    from rich.text import Text

    from supervisor_tui.domain.text import markdown, terminal
    from tests import hostile

    bad = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
    for text in hostile.require():
        for out in (clean(text), markup(text), markdown(text), terminal(text).replace("\n", "")):
            assert not bad.search(out), (text, out)
        assert Text.from_markup(markup(text), emoji=False).plain == clean(text)
        assert "\x1b" not in terminal(text) and "\x07" not in terminal(text)


def test_markdown_cannot_add_headings_links_tables_or_html() -> None:
    from supervisor_tui.domain.text import markdown

    assert markdown("# heading") == "\\# heading"
    assert markdown("| a | b |") == "\\| a \\| b \\|"
    assert markdown("[x](https://evil.example)") == "\\[x\\](https://evil.example)"
    assert markdown("<script>alert(1)</script>") == "\\<script\\>alert(1)\\</script\\>"
    assert markdown("1. item") == "1\\. item" and markdown("- item") == "\\- item"
    assert markdown("+4477", block=False) == "+4477"
    assert markdown("Billing — EMEA 12:05") == "Billing — EMEA 12:05"

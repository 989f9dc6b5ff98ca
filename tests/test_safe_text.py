from rich.text import Text

from supervisor_tui.safe_text import clean, markup


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

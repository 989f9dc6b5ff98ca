"""Themes: the Textual default, and a high-contrast, colour-blind-safe one.

The high-contrast theme uses the Okabe-Ito palette: sky blue for "ok", yellow for
"at risk", vermillion for "missed" — told apart by people with any common form of
colour blindness, unlike red and green. Status is never carried by colour alone anyway
(every status also has a symbol and a word), so this is a second line of defence.

Many widgets colour text with Rich's named ANSI colours ("green", "red", ...). Textual
converts those to RGB through the app's ANSI terminal theme, so the high-contrast theme
also swaps that mapping: every "green" on every screen becomes Okabe-Ito blue, without
each widget having to know about themes.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from rich.terminal_theme import TerminalTheme
from textual.app import App
from textual.theme import Theme

HIGH_CONTRAST = "high-contrast"

# Okabe & Ito (2008), "Color Universal Design".
BLACK = "#000000"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
BLUISH_GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
REDDISH_PURPLE = "#CC79A7"
WHITE = "#FFFFFF"

HIGH_CONTRAST_THEME = Theme(
    name=HIGH_CONTRAST,
    primary=SKY_BLUE,
    secondary=BLUE,
    accent=ORANGE,
    success=SKY_BLUE,
    warning=YELLOW,
    error=VERMILLION,
    foreground=WHITE,
    background=BLACK,
    surface=BLACK,
    panel="#1C1C1C",
    dark=True,
    variables={
        # Muted text is still read from across a room: keep it near white.
        "text-muted": "#D8D8D8",
        "text-disabled": "#8C8C8C",
        "footer-key-foreground": YELLOW,
        "block-cursor-background": SKY_BLUE,
        "block-cursor-foreground": BLACK,
    },
)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


# ANSI slots: black, red, green, yellow, blue, magenta, cyan, white (then bright ones).
# Red -> vermillion and green -> sky blue: the pair stays apart for every colour vision.
HIGH_CONTRAST_ANSI = TerminalTheme(
    _rgb(BLACK),
    _rgb(WHITE),
    [_rgb(c) for c in (BLACK, VERMILLION, SKY_BLUE, YELLOW, BLUE, REDDISH_PURPLE,
                       BLUISH_GREEN, "#E8E8E8")],
    [_rgb(c) for c in ("#7F7F7F", ORANGE, "#8FD0F5", "#FFF27A", "#3D9BE0", "#E0A3C4",
                       "#33C49D", WHITE)],
)


# Each app's own ANSI mapping, restored when it leaves the high-contrast theme.
_ORIGINAL_ANSI: WeakKeyDictionary[App, TerminalTheme] = WeakKeyDictionary()


def install_themes(app: App) -> None:
    """Register our themes with ``app`` (call once, in its constructor)."""
    app.register_theme(HIGH_CONTRAST_THEME)
    _ORIGINAL_ANSI.setdefault(app, app.ansi_theme_dark)


def textual_theme_name(choice: str | None) -> str | None:
    """Our config/CLI theme name -> the Textual theme to set (None: leave the default)."""
    return HIGH_CONTRAST if choice == HIGH_CONTRAST else None


def sync_ansi_theme(app: App) -> None:
    """Match the ANSI -> RGB mapping to ``app.theme``; call whenever the theme changes."""
    original = _ORIGINAL_ANSI.get(app, app.ansi_theme_dark)
    wanted = HIGH_CONTRAST_ANSI if app.theme == HIGH_CONTRAST else original
    if app.ansi_theme_dark is not wanted:
        app.ansi_theme_dark = wanted

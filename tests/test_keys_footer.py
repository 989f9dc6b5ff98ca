"""The footer a supervisor reads is rebuilt only when its keys change: not once per
"bindings may have changed" (focus moves, screen switches, every poll's check), which
cost a big centre's console ~10 rebuilds while its first snapshot was decoding, and could
let a paint catch the footer empty (issue 15)."""

from __future__ import annotations

from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.widgets.keys_footer import KeysFooter
from tests.dialog_helpers import AgentStateSource
from tests.helpers import centre, make_config, screen_text, wait_for


def footer_line(app: SupervisorApp) -> str:
    return screen_text(app).splitlines()[-1]


async def test_told_again_and_again_the_footer_keeps_its_keys_until_they_change() -> None:
    app = SupervisorApp(make_config(), [AgentStateSource([centre()])],
                        store=Store.open(None), user="sam")
    builds: list[KeysFooter] = []
    recompose = KeysFooter.recompose

    async def counted(self: KeysFooter) -> None:
        builds.append(self)
        await recompose(self)

    KeysFooter.recompose = counted  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await wait_for(pilot, lambda: app.board is not None and "a Agents" in footer_line(app))
            dashboard = app.screen
            footer = dashboard.query_one(KeysFooter)
            keys = list(footer.children)
            assert keys and builds.count(footer) == 1  # built once, with the keys
            for _ in range(5):  # told five times, with nothing changed
                dashboard.refresh_bindings()
                await pilot.pause()
            await pilot.pause(0.2)
            assert builds.count(footer) == 1 and list(footer.children) == keys
            assert "a Agents" in footer_line(app)

            await pilot.press("a")  # another screen, its own keys: its footer built once
            await wait_for(pilot, lambda: "Ana" in screen_text(app)
                           and "/ Search" in footer_line(app))
            agents_footer = app.screen.query_one(KeysFooter)
            await pilot.pause(0.3)
            assert builds.count(agents_footer) == 1

            await pilot.press("/")  # the search box takes the keys: the footer follows
            await wait_for(pilot, lambda: builds.count(agents_footer) == 2)
            await pilot.press("escape")
            await wait_for(pilot, lambda: builds.count(agents_footer) == 3
                           and "/ Search" in footer_line(app))
    finally:
        KeysFooter.recompose = recompose  # type: ignore[method-assign]

"""Live thresholds (issue 13 item 6): the store's compare-and-set, validation with the
config models' own limits, and every console applying a change at its next poll."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from supervisor_tui.config.live import (
    LiveSettingError,
    config_value,
    effective,
    encode,
    keys_for,
    parse_text,
    validate,
)
from supervisor_tui.domain.board import SLStatus
from supervisor_tui.domain.escalation import EscalationKind
from supervisor_tui.store import Store
from supervisor_tui.ui.state import ConsoleState
from tests.helpers import T0, centre, make_config


def _state(store: Store) -> ConsoleState:
    return ConsoleState(make_config(), [], store, clock=lambda: T0, monotonic=time.monotonic)


def _set(store: Store, key: str, value: object, user: str = "ada") -> None:
    row = store.live_settings().get(key)
    text = None if value is None else encode(validate(make_config(), key, value))
    change = store.set_live_setting(key, text, user, T0, row["seq"] if row else 0)
    assert change.done, change.why


def test_compare_and_set_two_stores_on_one_file(store_at: Path | str) -> None:
    db = store_at
    one, two = Store.open(db), Store.open(db)
    assert one.live_settings() == {} and one.live_settings_seq() == 0
    # Both admins opened the screen before either saved: both saw "never set" (seq 0).
    first = one.set_live_setting("escalations.acw_limit_s", "300", "ada", T0, 0)
    assert first.done and first.after is not None and first.after["seq"] == 1
    second = two.set_live_setting("escalations.acw_limit_s", "60", "bob", T0, 0)
    assert not second.done
    assert "ada changed it since" in second.why
    assert two.live_settings()["escalations.acw_limit_s"]["value"] == "300"
    # With what is there now, bob's change goes through; seq only grows, clears too.
    again = two.set_live_setting("escalations.acw_limit_s", "60", "bob", T0, 1)
    assert again.done and again.before is not None and again.before["value"] == "300"
    cleared = one.set_live_setting("escalations.acw_limit_s", None, "ada", T0, 2)
    assert cleared.done
    row = two.live_settings()["escalations.acw_limit_s"]
    assert row["value"] is None and row["updated_by"] == "ada" and row["seq"] == 3
    assert two.live_settings_seq() == 3


@pytest.mark.parametrize(("key", "value", "reason"), [
    ("queue.sales.sl_target", 1.5, "less than or equal to 1"),
    ("queue.sales.sl_target", "lots", "valid number"),
    ("queue.sales.threshold_s", -5, "greater than"),
    ("escalations.acw_limit_s", -1, "greater than 0"),
    ("escalations.abandon_limit", 2, "less than or equal to 1"),
    ("escalations.away_limits_s.lunch", 0, "greater than 0"),
    ("escalations.critical_wait_multiple", 1, "greater than 1"),
    ("notify.bell", ["tier_wait", "nonsense"], "nonsense"),
    ("notify.every_s", 99999, "less than or equal to 3600"),
])
def test_validation_refuses_nonsense_with_the_reason(key: str, value: object,
                                                     reason: str) -> None:
    with pytest.raises(LiveSettingError) as err:
        validate(make_config(), key, value)
    assert key in str(err.value)
    assert reason in str(err.value) or reason in str(err.value).lower()


def test_parsing_and_keys() -> None:
    config = make_config()
    assert parse_text("queue.sales.sl_target", "85%") == pytest.approx(0.85)
    assert validate(config, "queue.sales.sl_target", parse_text("queue.sales.sl_target",
                                                                "0.9")) == 0.9
    assert parse_text("notify.bell", "tier_wait, contact_flag") == ["tier_wait",
                                                                    "contact_flag"]
    assert validate(config, "notify.bell", ["tier_wait"]) == ["tier_wait"]
    with pytest.raises(LiveSettingError, match="not a live setting"):
        validate(config, "console.timezone", "UTC")
    keys = keys_for(config, centre().queues)
    assert keys[:2] == ["queue.sales.sl_target", "queue.sales.threshold_s"]
    assert "escalations.away_limits_s.lunch" in keys and "notify.mute" in keys
    queues = {q.id: q for q in centre().queues}
    assert config_value(config, queues, "queue.support.sl_target") == 0.9
    assert config_value(config, queues, "escalations.acw_limit_s") == 120.0


def test_a_bad_stored_row_is_ignored_and_said_not_fatal() -> None:
    base = make_config()
    live = effective(base, {"escalations.acw_limit_s": "-3", "escalations.sl_breach_minutes":
                            "9", "notify.mute": None})
    assert live.config.escalations.acw_limit_s == base.escalations.acw_limit_s
    assert live.config.escalations.sl_breach_minutes == 9
    assert "escalations.acw_limit_s" in live.ignored
    assert base.escalations.sl_breach_minutes == 5  # the file's config is never changed


def test_a_change_on_one_store_is_applied_by_another_console_at_its_next_poll(
        store_at: Path | str) -> None:
    db = store_at
    admin_store, other_store = Store.open(db), Store.open(db)
    other = _state(other_store)
    board = other.take_snapshot(centre())
    sales = board.rows_by_id["sales"]
    assert sales.status_in("interval") is SLStatus.AT_RISK  # 75% against 80%
    assert not sales.live_target
    acw = other.tracker.update(board.snapshot, other.config.escalations).active
    assert any(e.kind is EscalationKind.AGENT_ACW for e in acw)  # 10 min > 120 s
    assert not any(e.kind is EscalationKind.AGENT_AWAY for e in acw)  # lunch 5 min < 1 h

    _set(admin_store, "queue.sales.sl_target", 0.7)
    _set(admin_store, "escalations.acw_limit_s", 900)
    _set(admin_store, "escalations.away_limits_s.lunch", 60)
    later = centre(T0 + timedelta(seconds=2))
    board = other.take_snapshot(later)
    sales = board.rows_by_id["sales"]
    assert sales.queue.sl_target == 0.7 and sales.live_target
    assert sales.status_in("interval") is SLStatus.OK
    assert not board.rows_by_id["support"].live_target
    assert other.base_config.escalations.acw_limit_s == 120  # the file's stays
    active = other.tracker.update(board.snapshot, other.config.escalations).active
    kinds = {e.kind for e in active if e.last_seen is None}
    assert EscalationKind.AGENT_AWAY in kinds  # lunch 5 min > 60 s
    assert EscalationKind.AGENT_ACW not in kinds  # 10 min < 900 s (held, clearing)
    assert other.config.escalations.acw_limit_s == 900

    # Nothing changed since: the next poll does not rebuild the config (same object).
    config = other.config
    other.take_snapshot(centre(T0 + timedelta(seconds=4)))
    assert other.config is config

    # Cleared: back to the config's value at the next poll.
    _set(admin_store, "queue.sales.sl_target", None)
    _set(admin_store, "escalations.acw_limit_s", None)
    board = other.take_snapshot(centre(T0 + timedelta(seconds=6)))
    assert board.rows_by_id["sales"].queue.sl_target == 0.8
    assert not board.rows_by_id["sales"].live_target
    assert other.config.escalations.acw_limit_s == 120
    assert other.config.escalations.away_limits_s["lunch"] == 60

"""Config: defaults, the example file, and clear messages for broken files."""

from __future__ import annotations

from pathlib import Path

import pytest

from supervisor_tui.cli import main
from supervisor_tui.config import Config, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]


def test_no_file_means_the_builtin_simulator(tmp_path: Path) -> None:
    config = load_config(tmp_path / "absent.toml", required=False)
    assert config == Config()
    assert len(config.simulator.queues) == 8


def test_example_config_is_valid() -> None:
    config = load_config(ROOT / "config.example.toml", required=True)
    assert config.console.timezone == "Europe/London"
    assert [q.id for q in config.simulator.queues] == ["sales", "chat"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[console]\npoll_interval_s = -1\n", "console.poll_interval_s"),
        ("[console]\npoll_intervall_s = 2\n", "unknown key"),
        ("[console]\ntimezone = 'Mars/Base'\n", "unknown time zone"),
        ("[console]\ninterval_minutes = 7\n", "divide a day"),
        ("[console\n", "not valid TOML"),
        ("[simulator]\nscenario = 'apocalypse'\n", "simulator.scenario"),
    ],
)
def test_broken_files_name_the_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path, required=True)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_named_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.toml", required=True)


def test_check_config_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = ROOT / "config.example.toml"
    assert main(["check-config", str(example)]) == 0
    assert capsys.readouterr().out.startswith(f"{example}: OK — poll every ")
    bad = tmp_path / "bad.toml"
    bad.write_text("[console]\npoll_interval_s = 'fast'\n")
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "console.poll_interval_s" in err and "Traceback" not in err


def test_running_with_a_broken_config_exits_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[nonsense]\nx = 1\n")
    assert main(["--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "nonsense" in err and "Traceback" not in err


def test_clock_and_waits_refresh_every_2_s_over_ssh_unless_configured() -> None:
    from supervisor_tui.config import parse_config

    console = parse_config({}, "t").console
    assert console.tick_interval({}) == 1.0
    assert console.tick_interval({"SSH_CONNECTION": "192.0.2.10 50022 192.0.2.1 22"}) == 2.0
    configured = parse_config({"console": {"tick_s": 1.5}}, "t").console
    assert configured.tick_interval({"SSH_CONNECTION": "x"}) == 1.5

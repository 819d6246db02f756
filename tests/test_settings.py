"""The environment switches: defaults, explicit values and clear errors for bad ones."""

from pathlib import Path

import pytest

from helpers import settings
from helpers.settings import SettingsError, read_settings


def test_defaults_follow_the_hardware(monkeypatch):
    monkeypatch.setattr(settings, "_gpu_available", lambda: False)
    s = read_settings({})
    assert s.fast and s.fast_source == "auto" and s.mode == "fast"
    assert not s.offline
    assert s.seed == 0
    assert s.data_dir == settings.REPO_ROOT / "data"
    monkeypatch.setattr(settings, "_gpu_available", lambda: True)
    assert read_settings({}).mode == "full"


@pytest.mark.parametrize(
    "value, fast", [("1", True), ("true", True), ("ON", True), ("0", False), ("no", False)]
)
def test_explicit_fast_mode_wins_over_the_hardware(monkeypatch, value, fast):
    monkeypatch.setattr(settings, "_gpu_available", lambda: not fast)
    s = read_settings({"COURSE_FAST": value})
    assert s.fast is fast and s.fast_source == "env"


def test_paths_seed_and_offline_are_read(tmp_path):
    s = read_settings(
        {
            "COURSE_DATA_DIR": str(tmp_path / "d"),
            "COURSE_CACHE_DIR": str(tmp_path / "c"),
            "COURSE_SEED": "42",
            "COURSE_OFFLINE": "1",
            "COURSE_FAST": "0",
        }
    )
    assert s.data_dir == Path(tmp_path / "d") and s.cache_dir == Path(tmp_path / "c")
    assert s.seed == 42 and s.offline and not s.fast


@pytest.mark.parametrize(
    "env, variable, allowed",
    [
        ({"COURSE_FAST": "maybe"}, "COURSE_FAST", "auto, 1, 0"),
        ({"COURSE_OFFLINE": "auto"}, "COURSE_OFFLINE", "1, 0"),
        ({"COURSE_SEED": "seven"}, "COURSE_SEED", "an integer"),
        ({"COURSE_SEED": "-3"}, "COURSE_SEED", "an integer >= 0"),
    ],
)
def test_a_bad_value_names_the_variable_and_the_allowed_values(env, variable, allowed):
    with pytest.raises(SettingsError) as err:
        read_settings(env)
    message = str(err.value)
    assert variable in message and allowed in message
    assert "\n" not in message  # one clear line


def test_settings_are_read_once_and_can_be_reloaded(course_env, monkeypatch):
    course_env(COURSE_SEED="5")
    assert settings.get_settings().seed == 5
    monkeypatch.setenv("COURSE_SEED", "6")
    assert settings.get_settings().seed == 5  # remembered
    assert settings.reload_settings().seed == 6


def test_pick_follows_fast_mode(course_env):
    course_env(COURSE_FAST="1")
    assert settings.pick(2, 30) == 2
    course_env(COURSE_FAST="0")
    assert settings.pick(2, 30) == 30

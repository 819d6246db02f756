"""Recorded full-scale runs: the JSON records notebooks show beside their live runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers.results import (
    REQUIRED,
    RESULTS_DIR,
    ResultsError,
    load_recorded_run,
    load_recorded_runs,
    recorded_label,
    save_recorded_run,
)

RECORDS = sorted(RESULTS_DIR.glob("[0-9][0-9]_*.json"))


def _record(**changes) -> dict:
    record = {
        "notebook": "99",
        "name": "probe",
        "device": "Some CPU, 2 threads",
        "torch": "2.9.0",
        "date": "2026-12-01 21:00 UTC",
        "commit": "0" * 40,
        "command": "python benchmarks/record_full_runs.py 99 probe",
        "wall_s": 12.5,
        "history": [{"epoch": 1, "val_acc": 0.5}],
        "final": {"test_acc": 0.5},
    }
    record.update(changes)
    return record


def test_recorded_runs_keep_the_given_order_and_labels_and_skip_missing_ones(tmp_path, capsys):
    for name in ("b", "a"):
        save_recorded_run(_record(name=name), tmp_path)
    runs = load_recorded_runs("99", {"a": "first", "missing": "never", "b": "second"}, tmp_path)
    assert list(runs) == ["first", "second"] and runs["second"]["name"] == "b"
    assert "Some CPU, 2 threads, torch 2.9.0, 2026-12-01 21:00 UTC" in capsys.readouterr().out
    assert list(load_recorded_runs("99", ["b"], tmp_path)) == ["b"]
    assert load_recorded_runs("98", ["a"], tmp_path) == {}
    assert "no recorded full run here" in capsys.readouterr().out


def test_round_trip_and_label(tmp_path):
    path = save_recorded_run(_record(), tmp_path)
    assert path.name == "99_probe.json" and not list(tmp_path.glob(".tmp-*"))
    loaded = load_recorded_run("99", "probe", tmp_path)
    assert loaded == _record()
    assert recorded_label(loaded) == "recorded full run on Some CPU, 2 threads"
    assert load_recorded_run("99", "absent", tmp_path) is None


def test_incomplete_or_damaged_records_are_refused(tmp_path):
    with pytest.raises(ResultsError, match="needs commit"):
        save_recorded_run({k: v for k, v in _record().items() if k != "commit"}, tmp_path)
    (tmp_path / "99_cut.json").write_text('{"notebook": "99"')
    with pytest.raises(ResultsError, match="99_cut.json is not a JSON record"):
        load_recorded_run("99", "cut", tmp_path)
    (tmp_path / "99_thin.json").write_text(json.dumps({"notebook": "99"}))
    with pytest.raises(ResultsError, match="99_thin.json lacks name"):
        load_recorded_run("99", "thin", tmp_path)


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.stem)
def test_committed_records_carry_their_provenance(path: Path):
    record = load_recorded_run(*path.stem.split("_", 1))
    assert set(REQUIRED) <= set(record)
    commit = record["commit"].removesuffix("-dirty")
    assert re.fullmatch(r"[0-9a-f]{40}", commit), f"not a commit hash: {record['commit']!r}"
    if commit != record["commit"]:  # made from uncommitted code: the record must say what differed
        assert len(record.get("note", "")) >= 40, (
            f"{path.name} is -dirty and has no note saying why"
        )
    assert record["wall_s"] > 0 and len(record["history"]) >= 1
    assert all(0 <= v <= 1 for k, v in record["final"].items() if k.endswith("_acc"))
    assert re.match(
        r"(OMP_NUM_THREADS=\d+ )?python benchmarks/record_full_runs\.py ", record["command"]
    )


def test_a_run_name_or_a_missing_run_is_named_not_looped_over(tmp_path):
    with pytest.raises(TypeError, match=r"names is a list of run names, e.g. \['plain_deep'\]"):
        load_recorded_runs("04", "plain_deep", tmp_path)
    with pytest.raises(TypeError, match="is the run recorded here"):
        recorded_label(load_recorded_run("04", "no_such_run", tmp_path))

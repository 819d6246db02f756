"""`python -m helpers doctor`: a table, a fix-it line per problem, and a telling exit code."""

import subprocess
import sys

import pytest

from helpers import doctor


@pytest.fixture
def healthy(monkeypatch):
    monkeypatch.setattr(doctor.shutil, "which", lambda name: f"/usr/bin/{name}")


def test_every_row_of_the_table_is_there(healthy, capsys):
    doctor.main()
    out = capsys.readouterr().out
    for item in (
        "python",
        "torch",
        "torchvision",
        "device",
        "mixed precision",
        "torchvision compiled ops",
        "mode",
        "offline",
        "data directory",
        "data: cifar10",
        "data: mnist",
        "data: fashion_mnist",
        "graphviz",
        "widget frontend extension",
    ):
        assert item in out, f"the doctor's table has no row for {item!r}"


def test_missing_graphviz_exits_non_zero_with_a_fix(monkeypatch, capsys):
    monkeypatch.setattr(doctor.shutil, "which", lambda name: None)
    assert doctor.main() == 1
    out = capsys.readouterr().out
    assert "FIX  graphviz" in out
    assert "install graphviz" in out.split("To fix:")[1]


def test_a_bad_setting_is_reported_not_raised(course_env, healthy, capsys):
    course_env(COURSE_FAST="sometimes")
    assert doctor.main() == 1
    out = capsys.readouterr().out
    assert "COURSE_FAST='sometimes'" in out and "correct or unset" in out


def test_a_crashing_check_becomes_a_finding(monkeypatch, healthy):
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(doctor, "CHECKS", [broken])
    findings = doctor.diagnose()
    assert len(findings) == 1 and not findings[0].ok and "boom" in findings[0].value


def test_missing_data_directory_is_a_problem(course_env, tmp_path, healthy):
    course_env(COURSE_DATA_DIR=str(tmp_path / "nowhere"))
    rows = {f.item: f for f in doctor._settings()}
    assert not rows["data directory"].ok and "mkdir" in rows["data directory"].fix


def test_command_line_runs():
    done = subprocess.run(
        [sys.executable, "-m", "helpers", "doctor"], capture_output=True, text=True
    )
    assert done.returncode in (0, 1)
    assert "torchvision compiled ops" in done.stdout
    assert done.stderr == "" or "Traceback" not in done.stderr


def test_data_directory_that_is_a_file_or_unreadable_gets_the_right_fix(
    monkeypatch, course_env, tmp_path, healthy
):
    afile = tmp_path / "data.txt"
    afile.write_text("not a folder")
    course_env(COURSE_DATA_DIR=str(afile))
    row = {f.item: f for f in doctor._settings()}["data directory"]
    assert not row.ok and "a file, not a folder" in row.value and "mkdir" not in row.fix
    folder = tmp_path / "locked"
    folder.mkdir()
    course_env(COURSE_DATA_DIR=str(folder))
    real_listdir = doctor.os.listdir

    def listdir(path):  # as root chmod does not stop reads: simulate a locked folder
        if str(path) == str(folder):
            raise PermissionError(13, "Permission denied", str(path))
        return real_listdir(path)

    monkeypatch.setattr(doctor.os, "listdir", listdir)
    row = {f.item: f for f in doctor._settings()}["data directory"]
    assert not row.ok and "permission denied" in row.value and "chmod" in row.fix

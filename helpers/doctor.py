"""`python -m helpers doctor`: is this machine ready for the course? A short table, and a
fix-it line for each problem; exits non-zero when something needs fixing."""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Finding:
    item: str
    value: str
    ok: bool = True
    fix: str = ""


def _versions() -> list[Finding]:
    import torch
    import torchvision

    return [
        Finding("python", platform.python_version()),
        Finding("torch", torch.__version__),
        Finding("torchvision", torchvision.__version__),
    ]


def _device() -> list[Finding]:
    import torch

    from .devices import autocast_dtype, best_device, device_name

    device = best_device()
    findings = [Finding("device", f"{device.type}: {device_name(device)}")]
    dtype = autocast_dtype(device)  # what fit's mixed precision uses
    try:
        with torch.autocast(device.type, dtype=dtype):
            y = torch.ones(8, 8, device=device) @ torch.ones(8, 8, device=device)
        findings.append(
            Finding("mixed precision", f"works ({str(dtype).removeprefix('torch.')}, {y.dtype})")
        )
    except (RuntimeError, AssertionError) as err:
        findings.append(
            Finding(
                "mixed precision",
                f"fails: {err}".splitlines()[0],
                ok=device.type == "cpu",
                fix="update torch; training then runs in float32",
            )
        )
    return findings


def _torchvision_ops() -> list[Finding]:
    try:
        import torch
        from torchvision.ops import nms

        nms(torch.zeros(1, 4), torch.ones(1), 0.5)
        return [Finding("torchvision compiled ops", "load")]
    except Exception as err:  # a broken torch/torchvision pair raises RuntimeError or ImportError
        return [
            Finding(
                "torchvision compiled ops",
                f"fail: {str(err).splitlines()[0][:60]}",
                ok=False,
                fix="reinstall matching builds: pip install --force-reinstall torch torchvision",
            )
        ]


def _settings() -> list[Finding]:
    from .settings import SettingsError, get_settings

    try:
        s = get_settings()
    except SettingsError as err:
        return [Finding("settings", str(err), ok=False, fix="correct or unset that variable")]
    problem, fix = _folder_problem(s.data_dir)
    return [
        Finding("mode", f"{s.mode} ({'auto' if s.fast_source == 'auto' else 'COURSE_FAST'})"),
        Finding("offline", "yes (COURSE_OFFLINE=1)" if s.offline else "no: downloads are tried"),
        Finding(
            "data directory",
            f"{s.data_dir}" + (f" ({problem})" if problem else ""),
            ok=not problem,
            fix=fix,
        ),
    ]


def _folder_problem(folder: Path) -> tuple[str, str]:
    """(what is wrong with the data folder, how to fix it); ("", "") when it can be read."""
    try:
        if not folder.exists():
            return "missing", f"create it (mkdir -p {folder}) or point COURSE_DATA_DIR at your data"
        if not folder.is_dir():
            return "a file, not a folder", "point COURSE_DATA_DIR at the folder that holds the data"
        os.listdir(folder)
    except PermissionError:
        return "not readable: permission denied", (
            f"give your user access (chmod -R u+rwX {folder}) or point COURSE_DATA_DIR at a "
            "folder you own"
        )
    return "", ""


def _datasets() -> list[Finding]:
    from .data import where_from

    return [Finding(f"data: {name}", where) for name, where in where_from().items()]


def _graphviz() -> list[Finding]:
    dot = shutil.which("dot")
    return [
        Finding(
            "graphviz (dot)",
            dot or "missing",
            ok=dot is not None,
            fix="install graphviz: apt-get install graphviz / brew install graphviz / conda install graphviz",
        )
    ]


def _widgets() -> list[Finding]:
    found = importlib.util.find_spec("jupyterlab_widgets") is not None
    return [
        Finding(
            "widget frontend extension",
            "installed" if found else "missing",
            ok=found,
            fix="pip install 'ipywidgets>=8' (it brings jupyterlab_widgets)",
        )
    ]


CHECKS: list[Callable[[], list[Finding]]] = [
    _versions,
    _device,
    _torchvision_ops,
    _settings,
    _datasets,
    _graphviz,
    _widgets,
]


def diagnose() -> list[Finding]:
    """Run every check; a check that crashes becomes a finding, never a traceback."""
    findings: list[Finding] = []
    for check in CHECKS:
        try:
            findings += check()
        except Exception as err:  # noqa: BLE001 - report, do not crash the doctor
            findings.append(
                Finding(
                    check.__name__.strip("_"),
                    f"check failed: {err}",
                    ok=False,
                    fix="run `python -m pytest tests` for details",
                )
            )
    return findings


def report(findings: list[Finding]) -> str:
    width = max(len(f.item) for f in findings)
    lines = [f"{'ok' if f.ok else 'FIX':<4} {f.item:<{width}}  {f.value}" for f in findings]
    fixes = [f"- {f.item}: {f.fix}" for f in findings if not f.ok]
    if fixes:
        lines += ["", "To fix:", *fixes]
    else:
        lines += ["", "All good: open the course with `jupyter lab notebooks/`."]
    return "\n".join(lines)


def main() -> int:
    findings = diagnose()
    print(report(findings))
    return 0 if all(f.ok for f in findings) else 1

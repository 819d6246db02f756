"""Recorded full-scale runs: the JSON files in `notebooks/results/` that a notebook shows beside
its live fast-mode run.

`benchmarks/record_full_runs.py` trains in full mode and writes one file per run with its
provenance (device, torch, date, commit, command, wall time), the per-epoch history and the
final metrics the notebook's text quotes. A notebook reads them with `load_recorded_run`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Hashable, Iterable, Mapping
from pathlib import Path
from typing import Any

from .checkpoints import atomic_write

RESULTS_DIR = Path(__file__).resolve().parent.parent / "notebooks" / "results"
REQUIRED: tuple[str, ...] = ("notebook", "name", "device", "torch", "date", "commit", "command")
REQUIRED += ("wall_s", "history", "final")


class ResultsError(RuntimeError):
    """A recorded-run file is missing an entry or is not JSON."""


def results_path(notebook: str, name: str, folder: str | os.PathLike | None = None) -> Path:
    """Where the recorded run `name` of notebook `notebook` (e.g. "08") lives."""
    return Path(folder or RESULTS_DIR) / f"{notebook}_{name}.json"


def load_recorded_runs(
    notebook: str,
    names: Mapping[str, Hashable] | Iterable[str],
    folder: str | os.PathLike | None = None,
) -> dict[Hashable, dict[str, Any]]:
    """The recorded runs `names` of `notebook` that exist, in that order, keyed by their name or
    by the label a mapping gives each name ({"gru": "GRU", ...}; any hashable label, e.g. a
    tuple). Prints where they were made (device, torch, date), or that there is none here.

    Used by notebooks 04, 05, 06, 07, 09.
    """
    if isinstance(names, str):
        raise TypeError(
            f"names is a list of run names, e.g. [{names!r}]; got the string {names!r}."
        )
    labels = names if isinstance(names, Mapping) else {name: name for name in names}
    found = {label: load_recorded_run(notebook, name, folder) for name, label in labels.items()}
    runs = {label: record for label, record in found.items() if record is not None}
    if runs:
        first = next(iter(runs.values()))
        print(f"recorded full run: {first['device']}, torch {first['torch']}, {first['date']}")
    else:
        print("no recorded full run here (it lives in the course repository's notebooks/results/)")
    return runs


def load_recorded_run(
    notebook: str, name: str, folder: str | os.PathLike | None = None
) -> dict[str, Any] | None:
    """The recorded run as a dict, or None when it was never recorded (e.g. on Colab).

    A file that exists but is not a complete record stops with one message naming it.

    Used by notebook 08.
    """
    path = results_path(notebook, name, folder)
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ResultsError(f"{path.name} is not a JSON record ({err}); re-record it.") from None
    missing = [key for key in REQUIRED if key not in record] if isinstance(record, dict) else ["*"]
    if missing:
        raise ResultsError(f"{path.name} lacks {', '.join(missing)}; re-record it.")
    return record


def save_recorded_run(record: dict[str, Any], folder: str | os.PathLike | None = None) -> Path:
    """Write `record` (all of REQUIRED) as `<notebook>_<name>.json`, atomically."""
    missing = [key for key in REQUIRED if key not in record]
    if missing:
        raise ResultsError(f"a recorded run needs {', '.join(missing)}")
    path = results_path(record["notebook"], record["name"], folder)
    return atomic_write(path, (json.dumps(record, indent=1) + "\n").encode("utf-8"))


def recorded_label(record: dict[str, Any]) -> str:
    """How a plot legend names a recorded run: "recorded full run on <device>".

    Used by notebooks 04, 05, 06, 07, 08, 09.
    """
    if not isinstance(record, Mapping) or "device" not in record:
        raise TypeError(
            f"recorded_label takes one recorded run (a dict from load_recorded_run), got "
            f"{type(record).__name__}: is the run recorded here?"
        )
    return f"recorded full run on {record['device']}"

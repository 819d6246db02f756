"""Checkpoints that survive crashes: atomic save, safe load, and state-dict loading that
explains a mismatch in plain words instead of a long traceback."""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import torch
from torch import nn

from .arguments import check_model
from .devices import resolve_device

TEMP_PREFIX = ".tmp-"  # temporary files start with this; they never end in ".pt"


class CheckpointError(RuntimeError):
    """A checkpoint is missing, damaged, or does not fit the model.

    Used by notebook 06.
    """


STALE_AFTER_S = 3600.0  # a temporary file untouched this long belongs to a killed save


def save_checkpoint(
    path: str | os.PathLike, state: Mapping[str, Any] | None = None, **more: Any
) -> Path:
    """Save `state` (a dict; keyword arguments are added to it) to `path` atomically.

    A crash at any moment leaves either the old complete file or the new complete file, never a
    half-written one (see `atomic_write`). A failed write (e.g. a full disk) raises
    `CheckpointError` saying so; the old file stays as it was.

    Used by notebook 06.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"save_checkpoint(path, state): the file name comes first; got a "
            f"{type(path).__name__} as path."
        )
    if state is not None and not isinstance(state, Mapping):
        raise TypeError(
            f"state must be a dict such as {{'model': model.state_dict()}}, got a "
            f"{type(state).__name__}."
        )
    data = dict(state or {})
    data.update(more)
    try:
        return atomic_write(path, lambda f: torch.save(data, f))
    except (OSError, RuntimeError) as exc:  # torch reports a full disk as a RuntimeError
        raise CheckpointError(_save_failed(Path(path), exc)) from None


def atomic_write(path: str | os.PathLike, data: bytes | Callable[[BinaryIO], object]) -> Path:
    """Write `data` (bytes, or a function that writes into the open file) to `path` atomically.

    The data goes to a temporary file in the same folder (one per process and write), is
    flushed to disk, and is then renamed onto `path`; temporary files that killed writes left
    behind are removed. Used for checkpoints, the decoded-data cache and every download.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(path)
    prefix = f"{TEMP_PREFIX}{path.name}.{os.getpid()}."
    fd, tmp_name = tempfile.mkstemp(prefix=prefix, dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict:
    """Load a checkpoint written by `save_checkpoint` (or any dict saved by `torch.save`).

    Uses `weights_only=True`, so a file can only hold tensors and plain Python values, never
    code: a file that holds anything else is refused before any of it runs. Raises
    `CheckpointError` naming the file when it is missing, not a weights file, or not a dict.

    Used by notebook 06.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name, got a {type(path).__name__}.")
    if isinstance(map_location, (str, torch.device)):  # "cuda" without a GPU: one clear message
        map_location = resolve_device(map_location)
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"no checkpoint at {path}: check the path, or train first (fit(..., checkpoint_path=...))."
        )
    try:
        with warnings.catch_warnings():  # torch warns about the pickle protocol of foreign files
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure means: not a file of weights
        raise CheckpointError(_not_weights(path, exc)) from None
    if not isinstance(obj, dict):
        raise CheckpointError(
            f"the checkpoint {path} holds a {type(obj).__name__}, not a dict: it was not saved "
            "with save_checkpoint / torch.save(model.state_dict()); save a dict instead."
        )
    return obj


def check_writable(folder: str | os.PathLike) -> Path:
    """Make sure checkpoints can be written in `folder` (created if missing): write, flush and
    delete a small probe file there. Raises `CheckpointError` naming the folder and the
    choices when the disk is full, the folder is read-only, or it cannot be created.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_probe(folder)
    except OSError as exc:
        raise CheckpointError(
            f"cannot write checkpoints in {folder}: {_os_reason(exc)}. Free some space there, "
            "or choose a checkpoint path in a folder you can write to (fit(..., "
            "checkpoint_path=None) trains without checkpoints)."
        ) from None
    return folder


def load_state_dict_checked(
    model: nn.Module, state_dict: Mapping[str, Any], strip_prefix: str | None = None
) -> None:
    """Load `state_dict` into `model`, first removing `strip_prefix` (e.g. "module.") from keys.

    On any mismatch raises `CheckpointError` listing the missing keys, the unexpected keys and
    the shape mismatches, instead of PyTorch's long message.

    Used by notebook 06.
    """
    check_model(model)
    if not isinstance(state_dict, Mapping):
        raise CheckpointError(
            f"expected a state dict (a dict of tensors), got {type(state_dict).__name__}."
        )
    nested = [k for k in ("model", "state_dict") if isinstance(state_dict.get(k), Mapping)]
    if nested:  # a whole checkpoint: the weights are one of its entries
        raise CheckpointError(
            f"this is a whole checkpoint (entries {', '.join(map(str, state_dict))}); the "
            f"weights are its {nested[0]!r} entry: pass checkpoint[{nested[0]!r}]."
        )
    sd = _strip(state_dict, strip_prefix)
    own = model.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    shapes = [
        f"{k}: checkpoint {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in sd and hasattr(sd[k], "shape") and tuple(sd[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or shapes:
        lines = [f"the checkpoint does not fit this {type(model).__name__}:"]
        lines += _listing("missing keys", "in the model, not in the checkpoint", missing)
        lines += _listing("unexpected keys", "in the checkpoint, not in the model", unexpected)
        lines += _listing("shape mismatches", "checkpoint vs model", shapes)
        hint = "hint: this checkpoint was saved from another architecture (or another size of it); "
        hint += "build the same model that was saved, or load it with the matching loader."
        prefix = _common_prefix_to_strip(unexpected, set(own))
        if prefix and not strip_prefix:
            hint += f" Every unexpected key is a model key with {prefix!r} in front: "
            hint += f"pass strip_prefix={prefix!r}."
        lines.append(hint)
        raise CheckpointError("\n".join(lines))
    model.load_state_dict(sd)


# ---------------------------------------------------------------- reading and writing, in detail


def _not_weights(path: Path, exc: Exception) -> str:
    """The one message for a file torch's safe loader refused: what it holds, what to do."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # no terminal colour codes
    code = re.search(r"GLOBAL ([\w.]+)", text)
    if code:
        return (
            f"{path} is not a weights file: it holds Python objects or code ({code.group(1)}), "
            "not only tensors and plain values, so it was refused and nothing in it was run. "
            "If it is a whole model you saved with torch.save(model), save model.state_dict() "
            "instead; if it came from elsewhere, delete it and download the weights again."
        )
    return (
        f"{path} is not a weights file: it is damaged, truncated or in another format "
        f"({type(exc).__name__}: {_first_reason(text)}). Delete it and train again, or "
        "download it again."
    )


def _first_reason(text: str) -> str:
    """The informative line of a loader error, without torch's advice to load unsafely."""
    detail = re.search(r"WeightsUnpickler error:\s*(\S[^\n]*)", text)
    if detail:
        return detail.group(1).strip()[:200]
    if "weights_only" in text:  # torch's advice, but no detail worth quoting
        return "the safe loader could not read it"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0][:200] if lines else "no data"


def _save_failed(path: Path, exc: Exception) -> str:
    """Why a save failed, how much room is left, and that the old file is intact."""
    if isinstance(exc, OSError):
        reason = _os_reason(exc)
    else:
        reason = f"{type(exc).__name__}: {_first_reason(str(exc))}"
    free_mib = shutil.disk_usage(path.parent).free / 2**20
    return (
        f"could not save the checkpoint {path} ({reason}; {free_mib:,.0f} MiB free in "
        f"{path.parent}). The checkpoint saved before, if any, is unchanged. Free some space or "
        "choose a folder you can write to; fit(..., resume=True) continues from the last saved epoch."
    )


def _write_probe(folder: Path) -> None:
    """Create, fill, flush and delete a small temporary file in `folder`."""
    fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}probe.", dir=folder)
    try:
        os.write(fd, b"\0" * 4096)
        os.fsync(fd)
    finally:
        os.close(fd)
        Path(name).unlink(missing_ok=True)


def _os_reason(exc: OSError) -> str:
    """A plain-words reason for a failed write."""
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "your disk quota is used up",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "you have no permission to write there",
        errno.EPERM: "you have no permission to write there",
    }
    plain = reasons.get(exc.errno) if exc.errno is not None else None
    return f"{plain} ({exc.strerror})" if plain else str(exc.strerror or exc)


def _fsync_dir(folder: Path) -> None:
    """Make a rename inside `folder` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_stale_temps(path: Path) -> None:
    """Delete temporary files that killed earlier saves of `path` left behind.

    Only stale ones: another process saving to the same path right now owns a fresh one.
    """
    now = time.time()
    for temp in path.parent.glob(f"{TEMP_PREFIX}{path.name}.*"):
        try:
            if now - temp.stat().st_mtime > STALE_AFTER_S:
                temp.unlink(missing_ok=True)
        except OSError:  # removed by its owner meanwhile
            pass


def _strip(state_dict: Mapping[str, Any], prefix: str | None) -> dict[str, Any]:
    if not prefix:
        return dict(state_dict)
    return {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in state_dict.items()}


def _listing(title: str, meaning: str, items: list[str], limit: int = 10) -> list[str]:
    if not items:
        return []
    shown = items[:limit]
    more = f" ... and {len(items) - limit} more" if len(items) > limit else ""
    return [f"  {title} ({len(items)}, {meaning}): {', '.join(shown)}{more}"]


def _common_prefix_to_strip(unexpected: list[str], model_keys: set[str]) -> str | None:
    """'module.' when every unexpected key is 'module.' + a model key (a DataParallel save)."""
    if not unexpected or "." not in unexpected[0]:
        return None
    prefix = unexpected[0].split(".", 1)[0] + "."
    if all(k.startswith(prefix) and k[len(prefix) :] in model_keys for k in unexpected):
        return prefix
    return None

"""Figures the notebooks share: image grids, training curves, kernels, feature maps and the
confusion matrix. Each function returns the matplotlib Figure; every figure has a title, and
every axis that shows numbers has a label.

In Jupyter, a cell shows each figure once whether the call is the cell's last line, is
assigned (`fig = show_images(...)`) or sits in the middle of the cell.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import Tensor


class CourseFigure(Figure):
    """A Figure that Jupyter displays once.

    With the inline backend a figure that is still open at the end of a cell is shown, and a
    figure that is the cell's value is shown too: usually two copies. This figure shows itself
    as a PNG and closes itself the first time Jupyter displays it (as the cell's value, at the
    end of the cell, or on `plt.show()`), so the second copy never comes; typing `fig` in a
    later cell shows it again.
    """

    def _ipython_display_(self) -> None:
        from IPython.display import Image, display

        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        plt.close(self)
        display(Image(data=buffer.getvalue()))


def _subplots(nrows: int, ncols: int, figsize: tuple[float, float], **kw: Any):
    return plt.subplots(
        nrows, ncols, figsize=figsize, squeeze=False, FigureClass=CourseFigure, **kw
    )


def _numpy(x: Any) -> np.ndarray:
    if isinstance(x, Tensor):
        return (
            x.detach().cpu().float().numpy() if x.is_floating_point() else x.detach().cpu().numpy()
        )
    return np.asarray(x)


def _grid(n: int, ncols: int) -> tuple[int, int]:
    ncols = max(1, min(ncols, n))
    return math.ceil(n / ncols), ncols


def _images_for_display(images: Tensor, mean: Any, std: Any) -> np.ndarray:
    """(N, C, H, W) or (N, H, W), uint8 or float (possibly normalised) -> (N, H, W[, 3]) in [0, 1]."""
    x = torch.as_tensor(images).detach().cpu()
    if x.dim() == 3:
        x = x.unsqueeze(1)  # (N, 1, H, W)
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(
            f"images must be (N, C, H, W) with C = 1 or 3, or (N, H, W); got {tuple(x.shape)}"
        )
    x = x.float() / 255 if x.dtype == torch.uint8 else x.float()
    if mean is not None and std is not None:
        m = torch.as_tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
        s = torch.as_tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
        x = x * s + m  # undo (x - mean) / std
    x = x.clamp(0, 1).permute(0, 2, 3, 1).numpy()  # (N, H, W, C)
    return x[..., 0] if x.shape[-1] == 1 else x


def _name(label: int | str, classes: Sequence[str] | None) -> str:
    """A class index -> its name (when `classes` is given); a string label stays as it is."""
    if isinstance(label, int) and classes is not None and 0 <= label < len(classes):
        return str(classes[label])
    return str(label)


def _labels(values: Sequence | Tensor | None) -> list | None:
    if values is None:
        return None
    values = values.tolist() if isinstance(values, (Tensor, np.ndarray)) else list(values)
    return [v if isinstance(v, str) else int(v) for v in values]


def show_images(
    images: Tensor,
    labels: Sequence[int] | Tensor | None = None,
    classes: Sequence[str] | None = None,
    preds: Sequence[int] | Tensor | None = None,
    ncols: int = 8,
    title: str = "Images",
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    max_images: int = 64,
) -> Figure:
    """A grid of images, with the label (and the prediction, green if right, red if wrong)."""
    pics = _images_for_display(images[:max_images], mean, std)
    n = len(pics)
    rows, cols = _grid(n, ncols)
    fig, axes = _subplots(
        rows, cols, (1.5 * cols, 1.5 * rows + (0.5 if preds is not None else 0.3))
    )
    labels, preds = _labels(labels), _labels(preds)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= n:
            continue
        ax.imshow(pics[i], cmap="gray" if pics[i].ndim == 2 else None, vmin=0, vmax=1)
        if preds is not None:
            right = labels is not None and preds[i] == labels[i]
            text = f"pred: {_name(preds[i], classes)}"
            if labels is not None and not right:
                text += f"\ntrue: {_name(labels[i], classes)}"
            ax.set_title(text, fontsize=8, color="green" if right else "red")
        elif labels is not None:
            ax.set_title(_name(labels[i], classes), fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _mark_best(ax, epochs: list[int], values: list[float | None], best: int | None) -> None:
    if best is None or best not in epochs or values[epochs.index(best)] is None:
        return
    ax.axvline(best, color="gray", linestyle=":", linewidth=1)
    ax.plot(
        [best],
        [values[epochs.index(best)]],
        marker="*",
        markersize=12,
        color="gold",
        markeredgecolor="black",
        linestyle="none",
        label=f"best epoch ({best})",
    )


def _plot_column(ax, history, column: str, label: str) -> bool:
    values = history[column]
    if not any(v is not None for v in values):
        return False
    pts = [(e, v) for e, v in zip(history["epoch"], values) if v is not None]
    ax.plot(*zip(*pts), marker="o", markersize=3, label=label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    return True


def plot_history(history, title: str = "Training curves") -> Figure:
    """Loss per epoch (train and validation) and, when there is one, accuracy; best epoch marked."""
    has_acc = any(v is not None for v in history["train_acc"] + history["val_acc"])
    fig, axes = _subplots(1, 2 if has_acc else 1, (11 if has_acc else 6, 4))
    epochs, best = history["epoch"], history.best_epoch
    panels = [("loss", "train_loss", "val_loss")]
    if has_acc:
        panels.append(("accuracy", "train_acc", "val_acc"))
    for ax, (name, tr, va) in zip(axes.flat, panels):
        _plot_column(ax, history, tr, "train")
        if _plot_column(ax, history, va, "validation"):
            _mark_best(ax, epochs, history[va], best)
        elif tr == "train_loss":
            _mark_best(ax, epochs, history[tr], best)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(name.capitalize())
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_histories(
    histories: Mapping[str, Any], metric: str = "val_acc", title: str | None = None
) -> Figure:
    """One curve per run of `metric` (a History column) against the epoch."""
    fig, axes = _subplots(1, 1, (7, 4))
    ax = axes[0, 0]
    for name, history in histories.items():
        if not _plot_column(ax, history, metric, name):
            raise ValueError(f"run {name!r} has no values for {metric!r}")
    pretty = metric.replace("_", " ").replace("val", "validation").replace("acc", "accuracy")
    ax.set_xlabel("epoch")
    ax.set_ylabel(pretty)
    ax.set_title(f"{pretty.capitalize()} per run")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.suptitle(title or "Comparison of runs")
    fig.tight_layout()
    return fig


def show_kernels(
    weight: Tensor,
    title: str = "Convolution kernels",
    ncols: int = 8,
    rgb: bool = False,
    in_channel: int = 0,
    max_kernels: int = 64,
) -> Figure:
    """Kernels of a conv layer, (O, I, kh, kw) or (O, kh, kw).

    Shown with a diverging colour map centred at 0 (blue < 0 < red, one scale for all) for input
    channel `in_channel`; with rgb=True and I == 3, as colour images (each kernel min-max scaled).
    """
    w = torch.as_tensor(weight).detach().cpu().float()
    if w.dim() == 3:
        w = w.unsqueeze(1)  # (O, 1, kh, kw)
    if w.dim() != 4:
        raise ValueError(f"weight must be (O, I, kh, kw) or (O, kh, kw); got {tuple(w.shape)}")
    if rgb and w.shape[1] != 3:
        raise ValueError(f"rgb=True needs 3 input channels; this weight has {w.shape[1]}")
    w = w[:max_kernels]
    rows, cols = _grid(len(w), ncols)
    fig, axes = _subplots(rows, cols, (1.2 * cols + (1 if not rgb else 0), 1.2 * rows + 0.6))
    limit = float(w.abs().max()) or 1.0
    image = None
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= len(w):
            continue
        if rgb:
            k = w[i]
            k = (k - k.min()) / (k.max() - k.min() + 1e-12)
            ax.imshow(k.permute(1, 2, 0).numpy())
        else:
            image = ax.imshow(w[i, in_channel].numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(str(i), fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label="weight")
    return fig


def show_feature_maps(
    maps: Tensor, title: str = "Feature maps", max_maps: int = 16, ncols: int = 8
) -> Figure:
    """The first `max_maps` channels of one image's activations (C, H, W), each on its own scale."""
    m = torch.as_tensor(maps).detach().cpu().float()
    if m.dim() == 4 and m.shape[0] == 1:
        m = m[0]
    if m.dim() != 3:
        raise ValueError(f"maps must be (C, H, W) for one image; got {tuple(m.shape)}")
    m = m[:max_maps]
    rows, cols = _grid(len(m), ncols)
    fig, axes = _subplots(rows, cols, (1.5 * cols, 1.5 * rows + 0.5))
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < len(m):
            ax.imshow(m[i].numpy(), cmap="viridis")
            ax.set_title(f"channel {i}", fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(
    preds: Sequence[int] | Tensor,
    labels: Sequence[int] | Tensor,
    classes: Sequence[str],
    title: str = "Confusion matrix",
    normalize: bool = True,
) -> Figure:
    """Rows: true class, columns: predicted class; normalize=True shows each row as fractions."""
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

    y_true, y_pred = _numpy(labels).astype(int).ravel(), _numpy(preds).astype(int).ravel()
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_pred)} predictions but {len(y_true)} labels")
    cm = confusion_matrix(
        y_true, y_pred, labels=list(range(len(classes))), normalize="true" if normalize else None
    )
    size = max(5.0, 0.6 * len(classes) + 2)
    fig, axes = _subplots(1, 1, (size, size))
    ax = axes[0, 0]
    ConfusionMatrixDisplay(cm, display_labels=list(classes)).plot(
        ax=ax,
        cmap="Blues",
        values_format=".2f" if normalize else "d",
        colorbar=True,
        xticks_rotation=45 if len(classes) > 4 else "horizontal",
    )
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.tight_layout()
    fig.confusion_matrix = cm  # the numbers behind the picture
    return fig

"""Figures the notebooks share: image grids, training curves, kernels, feature maps and the
confusion matrix. Each function returns the matplotlib Figure; every figure has a title, and
every axis that shows numbers has a label.

In Jupyter, a cell shows each figure once whether the call is the cell's last line, is
assigned (`fig = show_images(...)`) or sits in the middle of the cell.
"""

from __future__ import annotations

import io
import math
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import Tensor

from .arguments import check_int
from .data.sets import ImageSet, channel_stats
from .loaders import looks_like_0_to_255


class CourseFigure(Figure):
    """A Figure that Jupyter displays once.

    With the inline backend a figure that is still open at the end of a cell is shown, and a
    figure that is the cell's value is shown too: usually two copies. This figure shows itself
    as a PNG and closes itself the first time Jupyter displays it (as the cell's value, at the
    end of the cell, or on `plt.show()`), so the second copy never comes; typing `fig` in a
    later cell shows it again.
    """

    confusion_matrix: np.ndarray  # set by plot_confusion_matrix: the numbers behind the picture

    def _ipython_display_(self) -> None:
        from IPython.display import Image, display

        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        plt.close(self)
        display(Image(data=buffer.getvalue()))


def show_images(
    images: Tensor | ImageSet,
    labels: Sequence[int] | Tensor | None = None,
    classes: Sequence[str] | None = None,
    preds: Sequence[int] | Tensor | None = None,
    ncols: int = 8,
    title: str = "Images",
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    max_images: int = 64,
) -> Figure:
    """A grid of images, with the label (and the prediction, green if right, red if wrong).

    `images`: uint8 or float in [0, 1] (normalised: give its mean and std; other floats are
    clipped to [0, 1]), (N, C, H, W) with C = 1 or 3, or (N, H, W); or an ImageSet (its labels
    and classes are used when not given). `labels` and `preds` give one class index (or name)
    per image; `classes` the names (a list, or a dict index -> name).

    Used by notebooks 03, 06, 08.
    """
    batch, labels, classes = _checked(images, labels, classes)
    ncols = check_int(ncols, "ncols", minimum=1)
    max_images = check_int(max_images, "max_images", minimum=1)
    pics = _images_for_display(batch[:max_images], mean, std)
    n = len(pics)
    labels = _labels(labels, "labels", len(batch))
    preds = _labels(preds, "preds", len(batch))
    rows, cols = _grid(n, ncols)
    fig, axes = _subplots(
        rows, cols, (1.5 * cols, 1.5 * rows + (0.5 if preds is not None else 0.3))
    )
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


def plot_histories(
    histories: Mapping[str, Any], metric: str = "val_acc", title: str | None = None
) -> Figure:
    """One curve per run of `metric` (a History column) against the epoch.

    Used by notebooks 04, 05, 06, 07.
    """
    if not isinstance(histories, Mapping) or not histories:
        raise ValueError(
            f"histories must be a non-empty dict of run name -> History, got "
            f"{type(histories).__name__}: e.g. plot_histories({{'baseline': h1, 'deeper': h2}})."
        )
    for name, history in histories.items():
        _check_history(history, f"histories[{name!r}]")
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

    Used by notebook 02.
    """
    ncols = check_int(ncols, "ncols", minimum=1)
    max_kernels = check_int(max_kernels, "max_kernels", minimum=1)
    w = _float_tensor(weight, "weight")
    if w.dim() == 3:
        w = w.unsqueeze(1)  # (O, 1, kh, kw)
    if w.dim() != 4:
        raise ValueError(
            f"weight must be (O, I, kh, kw) or (O, kh, kw); got {tuple(w.shape)}. A layer? "
            "Pass layer.weight."
        )
    if rgb and w.shape[1] != 3:
        raise ValueError(f"rgb=True needs 3 input channels; this weight has {w.shape[1]}")
    in_channel = check_int(in_channel, "in_channel", minimum=0)
    if in_channel >= w.shape[1]:
        raise ValueError(
            f"in_channel={in_channel}, but this weight has {w.shape[1]} input channel(s) "
            f"(0 to {w.shape[1] - 1})."
        )
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
    """The first `max_maps` channels of one image's activations (C, H, W), each on its own scale.

    Used by notebook 02.
    """
    max_maps = check_int(max_maps, "max_maps", minimum=1)
    ncols = check_int(ncols, "ncols", minimum=1)
    m = _float_tensor(maps, "maps")
    if m.dim() == 4 and m.shape[0] == 1:
        m = m[0]
    if m.dim() != 3:
        raise ValueError(
            f"maps must be (C, H, W) for one image; got {tuple(m.shape)}. A batch? Pass maps[0]."
        )
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
    """Rows: true class, columns: predicted class; normalize=True shows each row as fractions.

    Used by notebook 08.
    """
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

    _check_class_names(classes)
    classes = list(classes.values()) if isinstance(classes, Mapping) else list(classes)
    y_true = _class_indices(labels, "labels", len(classes))
    y_pred = _class_indices(preds, "preds", len(classes))
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


def _checked(images: Any, labels: Any, classes: Any) -> tuple[Tensor | np.ndarray, Any, Any]:
    """show_images' arguments: an ImageSet unpacked, a list of images stacked, and class names
    that are names; anything else, or an ambiguous (3, H, W), refused with what to pass."""
    if isinstance(images, ImageSet):
        labels = images.labels if labels is None else labels
        classes = images.classes if classes is None else classes
        images = images.images
    if classes is not None:
        _check_class_names(classes)
    if isinstance(images, (list, tuple)) and images and isinstance(images[0], Tensor):
        images = torch.stack(list(images))  # one image per entry -> (N, ...)
    if not isinstance(images, (Tensor, np.ndarray)):
        raise TypeError(f"images must be a tensor (N, C, H, W), got {type(images).__name__}.")
    if images.ndim == 3 and images.shape[0] == 3:
        raise ValueError(
            f"images of shape {tuple(images.shape)}: one colour image, or three gray ones? Pass "
            "image[None] for one colour image, images[:, None] for gray ones."
        )
    return images, labels, classes


def _check_class_names(classes: Any) -> None:
    """A non-empty list of class names (or a dict index -> name, in index order)."""
    names = list(classes.values()) if isinstance(classes, Mapping) else classes
    ok = isinstance(names, Sequence) and not isinstance(names, str) and len(names) > 0
    if not ok or not all(isinstance(c, str) for c in names):
        raise TypeError(
            f"classes must be a list of class names such as ['cat', 'dog'], got {classes!r:.60}; "
            "predictions go in preds=..."
        )


def _check_history(history: Any, name: str) -> None:
    if not hasattr(history, "best_epoch"):
        raise ValueError(
            f"{name} must be the History that fit() returns, got {type(history).__name__}: "
            "history = fit(...), then plot_histories({'my run': history})."
        )


def _float_tensor(x: Any, name: str) -> Tensor:
    try:
        return torch.as_tensor(x).detach().cpu().float()
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name} must be a tensor, got {type(x).__name__}.") from None


def _class_indices(values: Any, name: str, n_classes: int) -> np.ndarray:
    """Integer class indices in [0, n_classes) as a flat array; scores, floats or indices out of
    range are refused (they would be truncated or dropped without a word)."""
    array = _numpy(values)
    if array.ndim == 2 and array.shape[1] == n_classes and array.shape[0] != 1:
        raise ValueError(
            f"{name} has shape {array.shape}: scores per class, not class indices. Pass "
            f"{name}.argmax(1)."
        )
    array = array.ravel()
    if array.size and not np.issubdtype(array.dtype, np.integer):
        whole = np.issubdtype(array.dtype, np.floating) and np.all(array == np.round(array))
        if not whole:
            raise ValueError(
                f"{name} must be integer class indices, got {array.dtype} values such as "
                f"{array[0]!r}. Probabilities? Pass {name}.argmax(1)."
            )
    array = array.astype(int)
    outside = array[(array < 0) | (array >= n_classes)]
    if outside.size:
        raise ValueError(
            f"{name} holds {outside[0]}, outside the {n_classes} classes (0 to {n_classes - 1})."
        )
    return array


def _subplots(
    nrows: int, ncols: int, figsize: tuple[float, float], **kw: Any
) -> tuple[CourseFigure, np.ndarray]:
    """A CourseFigure and its axes, always as a 2-D array (squeeze=False)."""
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


def _images_for_display(images: Tensor | np.ndarray, mean: Any, std: Any) -> np.ndarray:
    """(N, C, H, W) or (N, H, W), uint8 or float (possibly normalised) -> (N, H, W[, 3]) in [0, 1]."""
    x = torch.as_tensor(images).detach().cpu()
    if x.dim() == 3:
        x = x.unsqueeze(1)  # (N, 1, H, W)
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(
            f"images must be (N, C, H, W) with C = 1 or 3, or (N, H, W); got shape "
            f"{tuple(torch.as_tensor(images).shape)}. One image (C, H, W)? Pass images[None]."
        )
    if x.dtype != torch.uint8 and not x.is_floating_point():
        raise ValueError(
            f"images must be uint8 (0-255) or float (0-1, or normalised with mean/std); got "
            f"{x.dtype}. Labels or indices passed as images? Convert with .to(torch.uint8)."
        )
    if (mean is None) != (std is None):
        raise ValueError("give both mean and std (to undo a normalisation) or neither.")
    if x.is_floating_point() and mean is None and len(x) and looks_like_0_to_255(x):
        raise ValueError(
            f"these float images hold whole numbers up to {x.max().item():.4g}, as 0-255 pixels "
            "do, and would all show white: divide them by 255, or pass the uint8 images."
        )
    x = x.float() / 255 if x.dtype == torch.uint8 else x.float()
    if mean is not None and std is not None:
        m, s = channel_stats(mean, std, x.shape[1])
        x = x * s + m  # undo normalize: (x - mean) / std
    shown = x.clamp(0, 1).permute(0, 2, 3, 1).numpy()  # (N, H, W, C)
    return shown[..., 0] if shown.shape[-1] == 1 else shown


def _name(label: int | str, classes: Sequence[str] | None) -> str:
    """A class index -> its name (when `classes` is given); a string label stays as it is."""
    if isinstance(label, int) and classes is not None and 0 <= label < len(classes):
        return str(classes[label])
    return str(label)


def _labels(values: Sequence | Tensor | None, name: str, n_images: int) -> list | None:
    """One class index or name per image, as a list; anything else is refused."""
    if values is None:
        return None
    if isinstance(values, (Tensor, np.ndarray)) and values.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one per image); got shape {tuple(values.shape)}. Scores or "
            f"logits? Pass {name}.argmax(1)."
        )
    values = values.tolist() if isinstance(values, (Tensor, np.ndarray)) else list(values)
    if len(values) != n_images:
        raise ValueError(f"{len(values)} {name} for {n_images} images; give one per image.")
    bad = [v for v in values if not isinstance(v, str) and _class_index(v) is None]
    if bad:
        raise ValueError(f"{name} must be class indices (ints) or names; got {bad[0]!r}.")
    return [v if isinstance(v, str) else _class_index(v) for v in values]


def _class_index(value: Any) -> int | None:
    """An int (or a float equal to one); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    try:
        return operator.index(value)  # int, numpy int
    except TypeError:
        return None


def _plot_column(ax: Axes, history: Any, column: str, label: str) -> bool:
    """Plot one History column against the epochs (its missing values left out); False when
    the column is empty."""
    values = history[column]
    if not any(v is not None for v in values):
        return False
    pts = [(e, v) for e, v in zip(history["epoch"], values) if v is not None]
    ax.plot(*zip(*pts), marker="o", markersize=3, label=label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    return True

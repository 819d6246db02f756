"""An editable 3x3 kernel applied live to a picked image (notebook 02).

The convolution itself is the notebook's: `kernel_editor(images, apply, presets)` calls
`apply(image (H, W), kernel (3, 3)) -> filtered (H', W')` on every change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import ipywidgets as w
import numpy as np
import torch
from matplotlib.figure import Figure

from ._fallback import WidgetWithFallback, array_png

KernelLike = torch.Tensor | np.ndarray | Sequence[Sequence[float]]
ApplyFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
CUSTOM = "(custom)"


def _as_kernel(kernel: KernelLike, name: str) -> torch.Tensor:
    k = torch.as_tensor(np.asarray(kernel, dtype=np.float32))
    if k.shape != (3, 3):
        raise ValueError(f"preset {name!r} must be a 3x3 kernel; got shape {tuple(k.shape)}.")
    return k


def _as_image(image: torch.Tensor | np.ndarray, name: str) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(image, dtype=np.float32))
    if x.dim() == 3 and x.shape[0] == 1:
        x = x[0]  # (1, H, W) -> (H, W)
    if x.dim() != 2:
        raise ValueError(f"image {name!r} must be gray, (H, W) or (1, H, W); got {tuple(x.shape)}.")
    return x


class KernelEditor(WidgetWithFallback):
    """A 3x3 grid of number boxes, a preset picker and an image picker; the result updates live.

    Stable parts for tests and curious students: `cells` (9 FloatText, row-major),
    `preset_picker`, `image_picker`, `kernel` (3x3 tensor), `output` (the filtered image as a
    NumPy array) and `widget` (the root container).
    """

    def __init__(
        self,
        images: Mapping[str, torch.Tensor | np.ndarray],
        apply: ApplyFn,
        presets: Mapping[str, KernelLike],
        preset: str | None = None,
    ) -> None:
        if not isinstance(images, Mapping) or not isinstance(presets, Mapping):
            raise TypeError(
                "kernel_editor(images, apply, presets): images and presets are dicts of name -> "
                "image and name -> 3x3 kernel, e.g. {'camera': photo}; got "
                f"{type(images).__name__} and {type(presets).__name__}."
            )
        if not images or not presets:
            raise ValueError("kernel_editor needs at least one image and one preset.")
        self.images = {name: _as_image(img, name) for name, img in images.items()}
        self.presets = {name: _as_kernel(k, name) for name, k in presets.items()}
        self.apply = apply
        first = preset if preset is not None else next(iter(self.presets))
        if first not in self.presets:
            raise ValueError(f"unknown preset {first!r}; choose one of {list(self.presets)}.")
        self._syncing = False
        self.output = np.zeros((1, 1))

        start = self.presets[first]
        self.cells = [
            w.FloatText(value=float(start[r, c]), step=0.5, layout=w.Layout(width="70px"))
            for r in range(3)
            for c in range(3)
        ]
        self.preset_picker = w.Dropdown(
            options=[*self.presets, CUSTOM], value=first, description="preset"
        )
        self.image_picker = w.Dropdown(options=list(self.images), description="image")
        self.original_view = w.Image(format="png")
        self.result_view = w.Image(format="png")
        self.status = w.HTML()
        grid = w.GridBox(self.cells, layout=w.Layout(grid_template_columns="repeat(3, 76px)"))
        controls = w.VBox([self.preset_picker, self.image_picker, w.HTML("<b>kernel</b>"), grid])
        views = w.HBox(
            [
                w.VBox([w.HTML("<b>input</b>"), self.original_view]),
                w.VBox([w.HTML("<b>filtered</b>"), self.result_view]),
            ]
        )
        self.widget = w.VBox([w.HBox([controls, views]), self.status])

        for cell in self.cells:
            cell.observe(self._on_cell, names="value")
        self.preset_picker.observe(self._on_preset, names="value")
        self.image_picker.observe(self._on_image, names="value")
        self._show_original()
        self._refresh()

    @property
    def kernel(self) -> torch.Tensor:
        """The kernel in the number boxes, (3, 3) float32."""
        return torch.tensor([c.value for c in self.cells], dtype=torch.float32).reshape(3, 3)

    def set_kernel(self, kernel: KernelLike) -> None:
        """Write a 3x3 kernel into the boxes (one update, not nine)."""
        k = _as_kernel(kernel, "kernel")
        self._syncing = True
        try:
            for cell, value in zip(self.cells, k.flatten().tolist()):
                cell.value = value
        finally:
            self._syncing = False
        self._refresh()

    def _on_preset(self, change: dict) -> None:
        if not self._syncing and change["new"] != CUSTOM:
            self.set_kernel(self.presets[change["new"]])

    def _on_cell(self, change: dict) -> None:
        if not self._syncing:
            self._refresh()

    def _on_image(self, change: dict) -> None:
        self._show_original()
        self._refresh()

    def _matching_preset(self) -> str:
        k = self.kernel
        return next((n for n, p in self.presets.items() if torch.equal(p, k)), CUSTOM)

    def _show_original(self) -> None:
        self.original_view.value = array_png(self.images[self.image_picker.value].numpy())

    def _refresh(self) -> None:
        image = self.images[self.image_picker.value]
        with torch.no_grad():
            result = self.apply(image, self.kernel)
        self.output = torch.as_tensor(result).detach().cpu().float().numpy()
        self.result_view.value = array_png(self.output, signed=bool(self.output.min() < 0))
        self._syncing = True
        try:
            self.preset_picker.value = self._matching_preset()
        finally:
            self._syncing = False
        self.status.value = (
            f"output {self.output.shape[0]}x{self.output.shape[1]}, "
            f"values from {self.output.min():.3g} to {self.output.max():.3g} "
            "(mid-grey = 0 when there are negative values)"
        )

    def static_figure(self, image: str | None = None) -> Figure:
        """Every preset applied to one image (default: the picked one), as a grid of panels."""
        name = image or self.image_picker.value
        x = self.images[name]
        panels = [(f"input: {name}", x.numpy())]
        with torch.no_grad():
            for preset, k in self.presets.items():
                panels.append((preset, torch.as_tensor(self.apply(x, k)).float().numpy()))
        cols = min(4, len(panels))
        rows = -(-len(panels) // cols)
        fig = Figure(figsize=(3.2 * cols, 3.3 * rows))
        fig.suptitle("Kernel presets (static view: run the notebook in Jupyter to edit them)")
        for idx, (title, arr) in enumerate(panels):
            ax = fig.add_subplot(rows, cols, idx + 1)
            m = float(np.abs(arr).max()) or 1.0
            if arr.min() < 0:
                ax.imshow(arr, cmap="gray", vmin=-m, vmax=m)
            else:
                ax.imshow(arr, cmap="gray")
            ax.set_title(title)
            ax.set_axis_off()
        return fig

    def _text_summary(self) -> str:
        return (
            f"<KernelEditor: preset {self.preset_picker.value!r} on image "
            f"{self.image_picker.value!r}; run in Jupyter to edit the kernel live>"
        )


def kernel_editor(
    images: Mapping[str, torch.Tensor | np.ndarray],
    apply: ApplyFn,
    presets: Mapping[str, KernelLike],
    preset: str | None = None,
) -> KernelEditor:
    """Build the live kernel editor; display it (last line of a cell) to use it.

    `images`: name -> gray image (H, W) or (1, H, W); `apply(image, kernel)` is the notebook's
    own convolution; `presets`: name -> 3x3 kernel. Without a widget frontend it shows a
    static figure of every preset instead (see `static_figure()`).

    Used by notebook 02.
    """
    return KernelEditor(images, apply, presets, preset)

"""Show a widget live where a frontend exists, and a static picture everywhere else."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def figure_png(fig: Figure, dpi: int = 80) -> bytes:
    """PNG bytes of a matplotlib figure (drawn off-screen, no pyplot state touched)."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def array_png(image: np.ndarray, signed: bool = False) -> bytes:
    """PNG bytes of a 2-D array, scaled to its own range (`signed`: 0 maps to mid-grey)."""
    from matplotlib.image import imsave

    image = np.asarray(image, dtype=np.float64)
    if signed:
        m = float(np.abs(image).max()) or 1.0
        vmin, vmax = -m, m
    else:
        vmin, vmax = float(image.min()), float(image.max())
        if vmax == vmin:
            vmax = vmin + 1.0
    buffer = io.BytesIO()
    imsave(buffer, image, cmap="gray", vmin=vmin, vmax=vmax, format="png")
    return buffer.getvalue()


class WidgetWithFallback:
    """Base for the course widgets: `widget` is the live view, `static_figure()` the picture.

    Displaying the object in Jupyter sends one MIME bundle that holds both the widget view
    and a PNG of the static figure: a live frontend renders the widget, while nbval, a
    static HTML export or a viewer without widgets shows the picture.
    """

    widget: Any  # the root ipywidgets container

    def static_figure(self) -> Figure:
        raise NotImplementedError

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, object]:
        png = figure_png(self.static_figure())  # sent base64-encoded, as Jupyter expects
        return {
            "application/vnd.jupyter.widget-view+json": {
                "version_major": 2,
                "version_minor": 0,
                "model_id": self.widget.model_id,
            },
            "image/png": base64.b64encode(png).decode("ascii"),
            "text/plain": self._text_summary(),
        }

    def _text_summary(self) -> str:
        return f"<{type(self).__name__}: open in Jupyter for the live widget>"

    def __repr__(self) -> str:
        return self._text_summary()

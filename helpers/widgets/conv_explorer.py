"""Sliders for input size, kernel, stride, padding and dilation -> output size and a picture of
where every window lands (notebook 03)."""

from __future__ import annotations

import ipywidgets as w
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..arguments import check_int
from ..conv_arithmetic import conv_output_size
from ._fallback import WidgetWithFallback, figure_png

EXAMPLES = [  # (i, k, s, p, d) shown by the static view
    (7, 3, 1, 0, 1),
    (7, 3, 1, 1, 1),
    (7, 3, 2, 1, 1),
    (7, 3, 1, 0, 2),
]


def output_size_or_none(i: int, k: int, s: int, p: int, d: int) -> int | None:
    """`conv_output_size`, or None when the window does not fit into the padded input."""
    try:
        return conv_output_size(i, k, s, p, d)
    except ValueError:
        return None


def draw_windows(
    ax: Axes, i: int, k: int, s: int = 1, p: int = 0, d: int = 1, rows: int = 12
) -> None:
    """One axis of a convolution: a row per output position, the input cells it reads filled.

    The top row is the padded input (padding shaded); below it, output position `j` reads
    input cells `j*s - p + t*d` for `t = 0..k-1`.
    """
    o = output_size_or_none(i, k, s, p, d)
    shown = 0 if o is None else min(o, rows)
    for x in range(-p, i + p):
        pad = x < 0 or x >= i
        ax.add_patch(
            Rectangle(
                (x, 0),
                1,
                1,
                facecolor="0.85" if pad else "white",
                edgecolor="0.3",
                hatch="//" if pad else None,
            )
        )
    for j in range(shown):
        y = -(j + 1.4)
        for x in range(-p, i + p):
            ax.add_patch(Rectangle((x, y), 1, 1, facecolor="none", edgecolor="0.85"))
        for t in range(k):
            x = j * s - p + t * d
            ax.add_patch(Rectangle((x, y), 1, 1, facecolor="tab:blue", edgecolor="0.3", alpha=0.8))
    ax.set_xlim(-p - 0.5, i + p + 0.5)
    ax.set_ylim(-(shown + 0.6), 1.2)
    ax.set_yticks([0.5] + [-(j + 0.9) for j in range(shown)])
    ax.set_yticklabels(["input"] + [f"out {j}" for j in range(shown)])
    ax.set_xticks([x + 0.5 for x in range(-p, i + p)])
    ax.set_xticklabels([str(x) for x in range(-p, i + p)], fontsize=7)
    ax.set_xlabel("input position (hatched = padding)")
    ax.set_ylabel("output position")
    result = "window does not fit" if o is None else f"o = {o}"
    more = "" if o is None or o <= rows else f" (first {rows} shown)"
    ax.set_title(f"i={i}, k={k}, s={s}, p={p}, d={d}: {result}{more}")


SLIDERS = {  # name -> (label, lowest, highest)
    "input_size": ("input i", 1, 16),
    "kernel": ("kernel k", 1, 7),
    "stride": ("stride s", 1, 4),
    "padding": ("padding p", 0, 4),
    "dilation": ("dilation d", 1, 3),
}


class ConvExplorer(WidgetWithFallback):
    """Five sliders -> the output size (from `helpers.conv_arithmetic`) and a window picture.

    Stable parts: `sliders` (dict: input_size, kernel, stride, padding, dilation),
    `output_size` (int, or None when the window does not fit), `label`, `picture`, `widget`.
    """

    def __init__(self, i: int = 7, k: int = 3, s: int = 1, p: int = 0, d: int = 1) -> None:
        self.sliders = {}
        for name, value in zip(SLIDERS, (i, k, s, p, d)):
            label, low, high = SLIDERS[name]
            value = check_int(value, label, minimum=low)
            if value > high:  # a slider would silently show its maximum instead
                raise ValueError(f"{label} = {value} is beyond the slider's range {low}-{high}.")
            self.sliders[name] = w.IntSlider(value=value, min=low, max=high, description=label)
        self.label = w.HTML()
        self.picture = w.Image(format="png")
        self.widget = w.HBox([w.VBox([*self.sliders.values(), self.label]), self.picture])
        for slider in self.sliders.values():
            slider.observe(self._refresh, names="value")
        self._refresh()

    @property
    def settings(self) -> tuple[int, int, int, int, int]:
        """(i, k, s, p, d) as the sliders stand."""
        v = {name: slider.value for name, slider in self.sliders.items()}
        return v["input_size"], v["kernel"], v["stride"], v["padding"], v["dilation"]

    @property
    def output_size(self) -> int | None:
        return output_size_or_none(*self.settings)

    def _refresh(self, change: dict | None = None) -> None:
        i, k, s, p, d = self.settings
        o = self.output_size
        k_eff = d * (k - 1) + 1
        formula = f"floor(({i} + 2*{p} - {k_eff}) / {s}) + 1"
        self.label.value = f"effective kernel k_eff = {d}*({k}-1)+1 = {k_eff}<br>" + (
            f"o = {formula} = <b>{o}</b>"
            if o is not None
            else f"<b>the window ({k_eff}) is larger than the padded input ({i + 2 * p})</b>"
        )
        fig = Figure(figsize=(6, 4))
        draw_windows(fig.add_subplot(1, 1, 1), i, k, s, p, d)
        self.picture.value = figure_png(fig)

    def static_figure(self) -> Figure:
        """The current setting and three examples (no padding, same padding, stride, dilation)."""
        settings = [self.settings] + [e for e in EXAMPLES if e != self.settings][:3]
        fig = Figure(figsize=(12, 8))
        fig.suptitle("Where the windows land (static view: run in Jupyter to move the sliders)")
        for idx, (i, k, s, p, d) in enumerate(settings):
            draw_windows(fig.add_subplot(2, 2, idx + 1), i, k, s, p, d)
        fig.tight_layout()
        return fig

    def _text_summary(self) -> str:
        i, k, s, p, d = self.settings
        return f"<ConvExplorer i={i} k={k} s={s} p={p} d={d} -> output size {self.output_size}>"


def conv_explorer(i: int = 7, k: int = 3, s: int = 1, p: int = 0, d: int = 1) -> ConvExplorer:
    """Build the explorer; display it (last line of a cell) to use it. Falls back to a static
    figure of a few settings where no widget frontend is present.

    Used by notebook 03.
    """
    return ConvExplorer(i, k, s, p, d)

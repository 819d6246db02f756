"""The kernel editor and the conv explorer: structure, live updates, static fallback."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from helpers.widgets import conv_explorer, kernel_editor

SOBEL_X = [[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]
IDENTITY = [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def notebook_conv(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """The kind of convolution notebook 02 passes in: same-size output, zero padding."""
    return F.conv2d(image[None, None], kernel[None, None], padding=1)[0, 0]


@pytest.fixture
def editor():
    g = torch.Generator().manual_seed(0)
    images = {"noise": torch.rand(12, 15, generator=g), "ramp": torch.arange(80.0).reshape(8, 10)}
    return kernel_editor(images, notebook_conv, {"sobel x": SOBEL_X, "identity": IDENTITY})


def test_editor_builds_with_nine_cells_and_the_first_preset(editor) -> None:
    assert len(editor.cells) == 9
    assert editor.preset_picker.value == "sobel x"
    assert list(editor.image_picker.options) == ["noise", "ramp"]
    assert torch.equal(editor.kernel, torch.tensor(SOBEL_X))
    expected = notebook_conv(editor.images["noise"], torch.tensor(SOBEL_X)).numpy()
    np.testing.assert_allclose(editor.output, expected, rtol=1e-6)
    assert bytes(editor.result_view.value).startswith(PNG_MAGIC)


def test_editing_one_cell_changes_the_output_as_the_convolution_predicts(editor) -> None:
    before = editor.output.copy()
    editor.cells[4].value = 2.5  # centre of the kernel
    kernel = torch.tensor(SOBEL_X)
    kernel[1, 1] = 2.5
    expected = notebook_conv(editor.images["noise"], kernel).numpy()
    np.testing.assert_allclose(editor.output, expected, rtol=1e-6)
    # a centre tap of 2.5 adds exactly 2.5 * image to the old output
    np.testing.assert_allclose(
        editor.output - before, 2.5 * editor.images["noise"].numpy(), atol=1e-5
    )
    assert editor.preset_picker.value == "(custom)"


def test_presets_and_image_picker_update_the_output(editor) -> None:
    editor.image_picker.value = "ramp"
    editor.preset_picker.value = "identity"
    assert torch.equal(editor.kernel, torch.tensor(IDENTITY))
    np.testing.assert_array_equal(editor.output, editor.images["ramp"].numpy())
    editor.set_kernel(SOBEL_X)
    assert editor.preset_picker.value == "sobel x"  # recognised as a preset again


def test_editor_rejects_bad_presets_and_images() -> None:
    with pytest.raises(ValueError, match="3x3"):
        kernel_editor({"a": torch.rand(5, 5)}, notebook_conv, {"bad": [[1.0, 2.0]]})
    with pytest.raises(ValueError, match="gray"):
        kernel_editor({"rgb": torch.rand(3, 5, 5)}, notebook_conv, {"id": IDENTITY})


def _png_of(bundle: dict) -> bytes:
    return base64.b64decode(bundle["image/png"])


def test_static_fallback_is_a_figure_and_a_png_in_the_mime_bundle(editor) -> None:
    fig = editor.static_figure()
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1 + 2  # the input and one panel per preset
    assert all(ax.get_title() for ax in fig.axes)
    bundle = editor._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == editor.widget.model_id
    assert _png_of(bundle).startswith(PNG_MAGIC)
    assert "KernelEditor" in bundle["text/plain"] and "KernelEditor" in repr(editor)


def test_ipython_formatter_shows_the_picture_without_a_frontend(editor) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    data, _ = InteractiveShell.instance().display_formatter.format(editor)
    assert "image/png" in data and "application/vnd.jupyter.widget-view+json" in data


@pytest.mark.parametrize(
    "i, k, s, p, d",
    [
        (7, 3, 1, 0, 1),
        (7, 3, 2, 1, 1),
        (5, 2, 2, 0, 1),
        (16, 5, 3, 2, 2),
        (4, 2, 2, 1, 1),
        (9, 3, 4, 4, 3),
    ],
)
def test_explorer_output_size_equals_pytorch(i: int, k: int, s: int, p: int, d: int) -> None:
    explorer = conv_explorer()
    for name, value in zip(
        ["input_size", "kernel", "stride", "padding", "dilation"], [i, k, s, p, d]
    ):
        explorer.sliders[name].value = value
    out = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)(torch.zeros(1, 1, i, i))
    assert explorer.output_size == out.shape[-1]
    assert f"<b>{out.shape[-1]}</b>" in explorer.label.value
    assert bytes(explorer.picture.value).startswith(PNG_MAGIC)


def test_explorer_says_when_the_window_does_not_fit() -> None:
    explorer = conv_explorer(i=3, k=5, p=0)
    assert explorer.output_size is None
    assert "larger than the padded input" in explorer.label.value
    fig = explorer.static_figure()
    assert "does not fit" in fig.axes[0].get_title()
    assert _png_of(explorer._repr_mimebundle_()).startswith(PNG_MAGIC)


def test_static_html_export_shows_the_png_not_the_widget(editor) -> None:
    """nbconvert skips a widget view whose state was not saved and falls back to the PNG."""
    import nbformat
    from nbconvert import HTMLExporter

    bundle = editor._repr_mimebundle_()
    output = nbformat.v4.new_output("display_data", data=bundle)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("editor", outputs=[output])])
    html, _ = HTMLExporter().from_notebook_node(nb)
    assert f'src="data:image/png;base64,{bundle["image/png"][:40]}' in html


@pytest.mark.parametrize(
    "kwargs, problem", [({"i": 40}, "beyond the slider's range 1-16"), ({"i": 7.5}, "whole number")]
)
def test_conv_explorer_refuses_a_value_its_slider_would_change(kwargs, problem):
    with pytest.raises((ValueError, TypeError), match=problem):
        conv_explorer(**kwargs)


def test_kernel_editor_refuses_a_tensor_where_a_dict_of_images_goes():
    with pytest.raises(TypeError, match="images and presets are dicts"):
        kernel_editor(torch.zeros(8, 8), F.conv2d, {"identity": torch.eye(3)})

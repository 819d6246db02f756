"""Every figure has a title, labelled axes (or images), the right panels and the right numbers."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix

from helpers import plotting
from helpers.training import History


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _history(with_val: bool = True, with_acc: bool = True) -> History:
    h = History()
    for e, (tl, vl) in enumerate([(1.0, 0.9), (0.6, 0.7), (0.4, 0.8)], start=1):
        h.append(
            {
                "epoch": e,
                "train_loss": tl,
                "val_loss": vl if with_val else None,
                "train_acc": 0.5 + 0.1 * e if with_acc else None,
                "val_acc": [0.55, 0.7, 0.65][e - 1] if with_val and with_acc else None,
                "lr": 0.1,
                "seconds": 1.0,
            }
        )
    return h


def _title(fig: Figure) -> str:
    return fig.get_suptitle()  # "" without one


def _image_axes(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>"]


def _assert_labelled(ax) -> None:
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def test_show_images_grid_labels_and_prediction_colours():
    images = torch.randint(0, 256, (10, 3, 8, 8), dtype=torch.uint8)
    labels, preds = torch.arange(10) % 2, torch.zeros(10, dtype=torch.long)
    fig = plotting.show_images(images, labels, ["cat", "dog"], preds=preds, ncols=4, title="Pets")
    assert isinstance(fig, Figure) and _title(fig) == "Pets"
    shown = _image_axes(fig)
    assert len(shown) == 10 and len(fig.axes) == 12  # 3 rows x 4 columns, 2 left empty
    first, second = shown[0].get_title(), shown[1].get_title()
    assert first == "pred: cat" and second == "pred: cat\ntrue: dog"
    assert shown[0].title.get_color() == "green" and shown[1].title.get_color() == "red"


def test_show_images_undoes_normalisation_and_accepts_grayscale():
    gray = torch.rand(4, 6, 6)  # (N, H, W) floats in [0, 1]
    fig = plotting.show_images(gray, title="Digits")
    assert len(_image_axes(fig)) == 4
    np.testing.assert_allclose(
        _image_axes(fig)[0].images[0].get_array(), gray[0].numpy(), rtol=1e-6
    )
    mean, std = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]
    raw = torch.rand(2, 3, 5, 5)
    normalised = (raw - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    fig = plotting.show_images(normalised, mean=mean, std=std)
    shown = _image_axes(fig)[1].images[0].get_array()
    np.testing.assert_allclose(shown, raw[1].permute(1, 2, 0).numpy(), atol=1e-6)
    fig = plotting.show_images(gray[:2], labels=["left", "right"])
    assert [ax.get_title() for ax in _image_axes(fig)] == ["left", "right"]
    with pytest.raises(ValueError, match="C = 1 or 3"):
        plotting.show_images(torch.rand(2, 5, 4, 4))


def test_plot_histories_one_curve_per_run():
    runs = {"plain": _history(), "residual": _history(), "wide": _history()}
    fig = plotting.plot_histories(runs, metric="val_acc", title="Depth")
    (ax,) = fig.axes
    _assert_labelled(ax)
    assert _title(fig) and [ln.get_label() for ln in ax.get_lines()] == list(runs)
    assert list(ax.get_lines()[0].get_ydata()) == [0.55, 0.7, 0.65]
    with pytest.raises(ValueError, match="no values for 'val_acc'"):
        plotting.plot_histories({"no val": _history(with_val=False)})


def test_show_kernels_centred_colour_scale_and_rgb():
    w = torch.randn(10, 3, 5, 5)
    fig = plotting.show_kernels(w, title="conv1", ncols=5)
    assert _title(fig) == "conv1" and len(_image_axes(fig)) == 10
    lo, hi = _image_axes(fig)[0].images[0].get_clim()
    assert lo == -hi == -float(w.abs().max())  # the colour scale is centred at 0
    assert any(ax.get_label() == "<colorbar>" for ax in fig.axes)
    np.testing.assert_allclose(_image_axes(fig)[3].images[0].get_array(), w[3, 0].numpy())
    rgb = plotting.show_kernels(w, rgb=True)
    assert _image_axes(rgb)[0].images[0].get_array().shape == (5, 5, 3)
    assert len(plotting.show_kernels(torch.randn(4, 3, 3)).axes) >= 4  # (O, kh, kw)
    with pytest.raises(ValueError, match="3 input channels"):
        plotting.show_kernels(torch.randn(4, 2, 3, 3), rgb=True)


def test_show_feature_maps_respects_max_maps():
    fig = plotting.show_feature_maps(torch.randn(20, 7, 7), title="layer 1", max_maps=12, ncols=6)
    assert _title(fig) == "layer 1" and len(_image_axes(fig)) == 12
    assert [ax.get_title() for ax in _image_axes(fig)][:2] == ["channel 0", "channel 1"]


@pytest.mark.parametrize("normalize", [False, True])
def test_confusion_matrix_matches_sklearn(normalize):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 200)
    preds = np.where(rng.random(200) < 0.7, labels, rng.integers(0, 4, 200))
    classes = ["a", "b", "c", "d"]
    fig = plotting.plot_confusion_matrix(
        torch.tensor(preds), torch.tensor(labels), classes, normalize=normalize
    )
    want = confusion_matrix(labels, preds, normalize="true" if normalize else None)
    np.testing.assert_allclose(fig.confusion_matrix, want)
    ax = fig.axes[0]
    _assert_labelled(ax)
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 16
    shown = np.array([float(t) for t in texts]).reshape(4, 4)
    np.testing.assert_allclose(shown, want, atol=0.005)  # the numbers printed in the cells
    assert [t.get_text() for t in ax.get_xticklabels()] == classes


def test_figure_is_shown_once_in_jupyter(monkeypatch):
    """Displaying the figure shows a PNG and closes it, so the inline backend shows no copy."""
    shown = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    fig = plotting.show_feature_maps(torch.randn(2, 4, 4))
    assert plt.fignum_exists(fig.number)
    fig._ipython_display_()
    assert len(shown) == 1 and shown[0].data[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)  # nothing left for the backend to show again
    fig._ipython_display_()  # `fig` in a later cell
    assert len(shown) == 2


# --- bad arguments: each message says what it got and what it expects ------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: plotting.show_images(torch.randint(0, 10, (4, 3, 8, 8))),
            r"images must be uint8 .* or float .*; got torch\.int64",
        ),
        (
            lambda: plotting.show_images(torch.zeros(3, 8)),
            r"images must be \(N, C, H, W\) .*; got shape \(3, 8\)",
        ),
        (
            lambda: plotting.show_images(torch.zeros(4, 3, 8, 8), labels=[0, 1]),
            r"2 labels for 4 images; give one per image",
        ),
        (
            lambda: plotting.show_images(torch.zeros(4, 3, 8, 8), preds=torch.zeros(4, 10)),
            r"preds must be 1-D .*got shape \(4, 10\).*preds\.argmax\(1\)",
        ),
        (
            lambda: plotting.show_images(torch.zeros(4, 3, 8, 8), ncols=2.5),
            r"ncols must be a whole number \(an int\) >= 1, got 2\.5 \(float\)",
        ),
        (
            lambda: plotting.show_images(torch.zeros(4, 3, 8, 8), mean=(0.5, 0.5), std=(0.2, 0.2)),
            r"mean and std need one value per channel \(3\); got 2 and 2",
        ),
        (
            lambda: plotting.show_kernels(torch.zeros(8, 3, 3, 3), in_channel=3),
            r"in_channel=3, but this weight has 3 input channel\(s\) \(0 to 2\)",
        ),
        (
            lambda: plotting.show_kernels(torch.zeros(8, 3, 3, 3), max_kernels=0),
            r"max_kernels must be an int >= 1, got 0",
        ),
        (
            lambda: plotting.show_feature_maps(torch.zeros(2, 4, 8, 8)),
            r"maps must be \(C, H, W\) for one image; got \(2, 4, 8, 8\)\. A batch\? Pass maps\[0\]",
        ),
        (
            lambda: plotting.plot_confusion_matrix(
                torch.rand(6, 3), [0, 1, 2] * 2, ["a", "b", "c"]
            ),
            r"preds has shape \(6, 3\): scores per class, not class indices.*argmax\(1\)",
        ),
        (
            lambda: plotting.plot_confusion_matrix([0.2, 0.7], [0, 1], ["a", "b"]),
            r"preds must be integer class indices, got float64",
        ),
        (
            lambda: plotting.plot_confusion_matrix([0, 3], [0, 1], ["a", "b"]),
            r"preds holds 3, outside the 2 classes \(0 to 1\)",
        ),
        (
            lambda: plotting.plot_histories({"run": {"epoch": [1], "train_loss": [0.5]}}),
            r"histories\['run'\] must be the History that fit\(\) returns, got dict",
        ),
        (
            lambda: plotting.plot_histories([_history()]),
            r"histories must be a non-empty dict of run name -> History, got list",
        ),
    ],
)
def test_bad_arguments_say_what_they_got_and_expect(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()


@pytest.mark.parametrize(
    "images, kwargs, problem",
    [
        (torch.rand(3, 16, 16), {}, r"one colour image, or three gray ones"),
        ((torch.rand(2, 3, 8, 8) * 255).round(), {}, "divide them by 255"),
        (torch.rand(2, 3, 8, 8), {"mean": [0.5] * 3}, "both mean and std"),
        (torch.rand(2, 3, 8, 8), {"labels": [0, 1], "classes": "ab"}, "list of class names"),
        (None, {}, "images must be a tensor"),
    ],
)
def test_show_images_refuses_what_it_would_draw_wrongly(images, kwargs, problem):
    with pytest.raises((ValueError, TypeError), match=problem):
        plotting.show_images(images, **kwargs)


def test_show_images_takes_an_image_set_and_a_list_of_images():
    from helpers.data import ImageSet

    ds = ImageSet("tiny", torch.zeros(2, 1, 8, 8, dtype=torch.uint8), torch.tensor([0, 1]),
                  ["zero", "one"], "made here")  # fmt: skip
    fig = plotting.show_images(ds)
    assert [ax.get_title() for ax in fig.axes[:2]] == ["zero", "one"]
    assert len(plotting.show_images([torch.rand(3, 8, 8), torch.rand(3, 8, 8)]).axes) == 2


def test_show_images_clips_filtered_floats_and_checks_the_whole_batch_for_ambiguity():
    """A Sobel response (-4..4) is drawn clipped, as before; three gray images cut down by
    max_images are not mistaken for one colour image; class names may come as a dict."""
    sobel = torch.randn(2, 1, 8, 8) * 4
    assert len(plotting.show_images(sobel).axes) == 2
    assert len(plotting.show_images(torch.rand(5, 8, 8), max_images=3).axes) == 3
    fig = plotting.show_images(torch.rand(2, 1, 8, 8), [0, 1], {0: "zero", 1: "one"})
    assert [ax.get_title() for ax in fig.axes[:2]] == ["zero", "one"]

"""DeviceLoader: every sample once per epoch, repeatable order, correct augmentation and
normalisation, clear errors."""

from __future__ import annotations

import pytest
import torch

from helpers.loaders import DeviceLoader, random_crop_flip


def _ids_as_images(n: int, size: int = 6) -> torch.Tensor:
    """uint8 images (n, 1, size, size) whose every pixel is the sample's index: easy to trace."""
    return torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, size, size).clone()


@pytest.mark.parametrize("drop_last", [False, True])
def test_every_sample_once_per_epoch(drop_last):
    n, bs = 23, 5
    loader = DeviceLoader(
        torch.arange(n), torch.arange(n) * 10, batch_size=bs, device="cpu", drop_last=drop_last
    )
    assert len(loader) == (4 if drop_last else 5)
    orders = []
    for _ in range(3):
        xs, ys = zip(*loader)
        x, y = torch.cat(xs), torch.cat(ys)
        assert torch.equal(y, x * 10)  # inputs and targets stay paired
        assert [len(b) for b in xs] == ([bs] * 4 if drop_last else [bs] * 4 + [3])
        if drop_last:
            assert len(set(x.tolist())) == 20
        else:
            assert sorted(x.tolist()) == list(range(n))
        orders.append(x.tolist())
    assert orders[0] != orders[1] != orders[2]  # a new order each epoch


def test_no_shuffle_keeps_order():
    loader = DeviceLoader(
        torch.arange(10), torch.arange(10), batch_size=4, shuffle=False, device="cpu"
    )
    assert torch.cat([x for x, _ in loader]).tolist() == list(range(10))


def test_same_seed_same_batches_other_seed_other_batches():
    x = _ids_as_images(40, 8)
    y = torch.arange(40)

    def epochs(seed):
        loader = DeviceLoader(x, y, batch_size=16, augment=True, device="cpu", seed=seed)
        return [torch.cat([b for b, _ in loader]) for _ in range(2)]

    a, b, c = epochs(1), epochs(1), epochs(2)
    assert all(torch.equal(p, q) for p, q in zip(a, b))
    assert not torch.equal(a[0], c[0])


def test_augmentation_keeps_shape_and_dtype():
    x = torch.randint(0, 256, (32, 3, 8, 8), dtype=torch.uint8)
    xb, yb = next(
        iter(
            DeviceLoader(
                x, torch.zeros(32, dtype=torch.long), batch_size=32, augment=True, device="cpu"
            )
        )
    )
    assert xb.shape == (32, 3, 8, 8) and xb.dtype == torch.float32 and yb.shape == (32,)
    assert 0.0 <= xb.min() and xb.max() <= 1.0


def _gradient_image(h: int = 5, w: int = 7) -> torch.Tensor:
    """One image (1, 2, h, w): pixel (c, i, j) = 1 + 10*i + j + 100*c, every value different."""
    i = torch.arange(h).view(h, 1)
    j = torch.arange(w).view(1, w)
    return torch.stack([1 + 10 * i + j, 101 + 10 * i + j]).unsqueeze(0).to(torch.uint8)


def test_crop_and_flip_against_a_hand_made_image():
    img = _gradient_image()  # (1, 2, 5, 7)
    p = 2
    padded = torch.nn.functional.pad(img, (p, p, p, p))  # the reference: pad with zeros, then cut
    for dy in range(2 * p + 1):
        for dx in range(2 * p + 1):
            for flip in (False, True):
                out = random_crop_flip(
                    img, torch.tensor([dy]), torch.tensor([dx]), torch.tensor([flip]), p
                )
                want = padded[:, :, dy : dy + 5, dx : dx + 7]
                want = want.flip(-1) if flip else want
                assert out.dtype == torch.uint8
                assert torch.equal(out, want), (dy, dx, flip)


def test_reflect_padding_against_torch_pad():
    img = _gradient_image().float()
    p = 2
    padded = torch.nn.functional.pad(img, (p, p, p, p), mode="reflect")
    for dy, dx in [(0, 0), (4, 4), (1, 3)]:
        out = random_crop_flip(
            img, torch.tensor([dy]), torch.tensor([dx]), torch.tensor([False]), p, mode="reflect"
        )
        assert torch.equal(out, padded[:, :, dy : dy + 5, dx : dx + 7])


def test_each_image_gets_its_own_crop_in_one_batch():
    imgs = _gradient_image().expand(3, 2, 5, 7).clone()
    # offset (2, 2) is the centred window; smaller offsets move the content right/down
    dy, dx, flip = (
        torch.tensor([2, 2, 4]),
        torch.tensor([2, 0, 4]),
        torch.tensor([True, False, False]),
    )
    out = random_crop_flip(imgs, dy, dx, flip, 2)
    assert torch.equal(out[0], imgs[0].flip(-1))  # not shifted, mirrored
    assert (out[1, :, :, :2] == 0).all() and torch.equal(out[1, :, :, 2:], imgs[0, :, :, :-2])
    assert torch.equal(out[2, :, :3, :5], imgs[0, :, 2:, 2:])  # content moved up and left
    assert (out[2, :, 3:, :] == 0).all() and (out[2, :, :, 5:] == 0).all()


def test_loader_augmentation_flips_some_and_shifts_content():
    x = _gradient_image(8, 8).expand(200, 2, 8, 8).clone()
    loader = DeviceLoader(
        x,
        torch.zeros(200, dtype=torch.long),
        batch_size=50,
        augment=True,
        crop_padding=2,
        device="cpu",
        seed=0,
    )
    out = (torch.cat([b for b, _ in loader]) * 255).round()  # back to the original integers
    original = x[0].float()
    unchanged = (out == original).flatten(1).all(1)
    mirrored = (out == original.flip(-1)).flatten(1).all(1)
    shifted = ~(unchanged | mirrored)
    assert 0 < unchanged.sum() < 200  # (dy, dx) = (p, p) without flip happens ~1 in 50
    assert 50 < (out[:, 0, 4, 4] < out[:, 0, 4, 3]).sum() < 150  # about half are mirrored
    assert shifted.sum() > 150
    # every output row is a row of the padded, possibly mirrored original
    padded = torch.nn.functional.pad(original, (2, 2, 2, 2))
    windows = {
        tuple(padded[:, dy : dy + 8, dx : dx + 8].flip(-1).flatten().tolist())
        for dy in range(5)
        for dx in range(5)
    }
    windows |= {
        tuple(padded[:, dy : dy + 8, dx : dx + 8].flatten().tolist())
        for dy in range(5)
        for dx in range(5)
    }
    assert all(tuple(o.flatten().tolist()) in windows for o in out)


def test_normalisation_is_x_over_255_minus_mean_over_std():
    x = torch.randint(0, 256, (10, 3, 4, 4), dtype=torch.uint8)
    mean, std = [0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]
    loader = DeviceLoader(
        x, torch.arange(10), batch_size=10, shuffle=False, mean=mean, std=std, device="cpu"
    )
    xb, _ = next(iter(loader))
    want = (x.float() / 255 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(
        1, 3, 1, 1
    )
    torch.testing.assert_close(xb, want, rtol=1e-5, atol=1e-5)
    plain, _ = next(
        iter(DeviceLoader(x, torch.arange(10), batch_size=10, shuffle=False, device="cpu"))
    )
    torch.testing.assert_close(plain, x.float() / 255)


def test_token_sequences_pass_through_unchanged():
    tokens = torch.randint(0, 50, (12, 7))  # (N, T) int64
    loader = DeviceLoader(tokens, tokens.roll(-1, 1), batch_size=5, shuffle=False, device="cpu")
    xb, yb = next(iter(loader))
    assert (
        xb.dtype == torch.int64
        and torch.equal(xb, tokens[:5])
        and torch.equal(yb, tokens[:5].roll(-1, 1))
    )


def test_state_dict_continues_the_random_stream():
    x, y = torch.arange(30), torch.arange(30)
    a = DeviceLoader(x, y, batch_size=30, device="cpu", seed=3)
    next(iter(a))
    saved = a.state_dict()
    second = next(iter(a))[0]
    b = DeviceLoader(x, y, batch_size=30, device="cpu", seed=3)
    b.load_state_dict(saved)
    assert torch.equal(next(iter(b))[0], second)


@pytest.mark.parametrize(
    ("inputs", "targets", "kwargs", "message"),
    [
        (torch.zeros(5, 3), torch.zeros(4), {}, "same length: 5 inputs but 4 targets"),
        (torch.zeros(0, 3), torch.zeros(0), {}, "empty"),
        (
            torch.zeros(5, 3),
            torch.zeros(5),
            {"batch_size": 0},
            "batch_size must be an int >= 1, got 0",
        ),
        (torch.zeros(5, 7), torch.zeros(5), {"augment": True}, r"augment=True needs images"),
        (torch.zeros(5, 3, 4, 4), torch.zeros(5), {"mean": [0.5] * 3}, "both mean and std"),
        (
            torch.zeros(5, 3, 4, 4),
            torch.zeros(5),
            {"mean": [0.5] * 2, "std": [1] * 2},
            r"one value per channel \(3\); got 2 and 2",
        ),
        (
            torch.zeros(5, 3, 4, 4),
            torch.zeros(5),
            {"mean": [0.5] * 3, "std": [0, 1, 1]},
            "positive",
        ),
        (torch.zeros(5, 7), torch.zeros(5), {"mean": [0.5], "std": [1.0]}, "not images"),
        (
            torch.zeros(5, 1, 4, 4),
            torch.zeros(5),
            {"augment": True, "crop_padding": 9},
            "between 0",
        ),
        (torch.zeros(5, 1, 4, 4), torch.zeros(5), {"padding_mode": "wrap"}, "'zeros', 'reflect'"),
    ],
)
def test_bad_inputs_raise_clear_value_errors(inputs, targets, kwargs, message):
    with pytest.raises(ValueError, match=message):
        DeviceLoader(inputs, targets, device="cpu", **kwargs)


@pytest.mark.parametrize(
    "inputs, targets, kwargs, problem",
    [
        (torch.zeros(5, 8, 8, 3, dtype=torch.uint8), torch.zeros(5), {}, r"permute\(0, 3, 1, 2\)"),
        ([torch.zeros(1, 4, 4)] * 5, torch.zeros(5), {}, r"torch.stack\(inputs\)"),
        (torch.zeros(5, 1, 4, 4), None, {}, "targets must be a tensor"),
        (
            torch.zeros(5, 1, 4, 4),
            torch.zeros(5),
            {"shuffle": "no"},
            "shuffle must be True or False",
        ),
        (torch.zeros(5, 1, 4, 4), torch.zeros(5), {"augment": "False"}, "augment must be"),
    ],
)
def test_inputs_in_another_form_are_refused_with_the_fix(inputs, targets, kwargs, problem):
    with pytest.raises((TypeError, ValueError), match=problem):
        DeviceLoader(inputs, targets, device="cpu", **kwargs)


def test_float_images_in_0_255_and_mean_in_0_255_units_are_refused():
    with pytest.raises(ValueError, match="whole numbers up to 255"):
        DeviceLoader(torch.full((4, 3, 8, 8), 255.0), torch.zeros(4), device="cpu")
    with pytest.raises(ValueError, match="divide them by 255"):
        DeviceLoader(torch.zeros(4, 3, 8, 8, dtype=torch.uint8), torch.zeros(4), device="cpu",
                     mean=(125.3, 123.0, 113.9), std=(63.0, 62.1, 66.7))  # fmt: skip
    normalised = (torch.rand(4, 1, 8, 8) - 0.13) / 0.31  # up to 2.8: still fine
    assert len(DeviceLoader(normalised, torch.zeros(4), device="cpu")) == 1
    per_pixel = torch.randn(4, 1, 8, 8) * 20  # standardised per pixel: large, not 0-255
    assert len(DeviceLoader(per_pixel, torch.zeros(4), device="cpu")) == 1
    features = torch.rand(4, 32, 4, 4) * 8  # feature maps may be normalised in raw units
    assert len(DeviceLoader(features, torch.zeros(4), device="cpu", mean=[4.0], std=[2.0])) == 1


def test_float_feature_maps_of_any_scale_are_batched_as_they_are():
    """Frozen features (N, 32, 16, 16) are not images: large values are fine there."""
    features = torch.randn(4, 32, 16, 16) * 30
    (x, _), *_ = DeviceLoader(features, torch.zeros(4), device="cpu", shuffle=False)
    assert torch.equal(x, features)

"""Generated stand-ins for the image datasets: same shapes, dtypes and classes as the real
ones, with real class structure (shapes, strokes, colours plus noise) so a CNN can learn them.
They are NOT the real data; every loader says so when it uses one."""

from __future__ import annotations

from typing import cast

import numpy as np
import torch

_DATASET_IDS = {"cifar10": 1, "mnist": 2, "fashion_mnist": 3}
_SPLIT_IDS = {"train": 0, "test": 1}

# 5x7 bitmaps of the digits 0-9 (one string per row).
_DIGITS = [
    ".XXX. X...X X..XX X.X.X XX..X X...X .XXX.",
    "..X.. .XX.. ..X.. ..X.. ..X.. ..X.. .XXX.",
    ".XXX. X...X ....X ...X. ..X.. .X... XXXXX",
    "XXXXX ...X. ..X.. ...X. ....X X...X .XXX.",
    "...X. ..XX. .X.X. X..X. XXXXX ...X. ...X.",
    "XXXXX X.... XXXX. ....X ....X X...X .XXX.",
    "..XX. .X... X.... XXXX. X...X X...X .XXX.",
    "XXXXX ....X ...X. ..X.. .X... .X... .X...",
    ".XXX. X...X X...X .XXX. X...X X...X .XXX.",
    ".XXX. X...X X...X .XXXX ....X ...X. .XX..",
]
# 7x7 silhouettes of the Fashion-MNIST classes, in their official order.
_CLOTHES = [
    ".XX.XX. XXXXXXX X.XXX.X ..XXX.. ..XXX.. ..XXX.. ..XXX..",  # T-shirt/top
    ".XXXXX. .XXXXX. .XX.XX. .XX.XX. .XX.XX. .XX.XX. .XX.XX.",  # Trouser
    ".XXXXX. XXXXXXX XXXXXXX XXXXXXX XXXXXXX X.XXX.X X.XXX.X",  # Pullover
    "..XXX.. ..XXX.. ..XXX.. .XXXXX. .XXXXX. XXXXXXX XXXXXXX",  # Dress
    "XXX.XXX XXX.XXX XXX.XXX XXX.XXX XXX.XXX XXX.XXX XX...XX",  # Coat
    "....... ....... .....X. X.X.XX. .X.X.XX XXXXXXX .......",  # Sandal
    "XX.X.XX XXX.XXX XXXXXXX .XXXXX. .XX.XX. .XXXXX. .XXXXX.",  # Shirt
    "....... ....... ....XX. ...XXXX XXXXXXX XXXXXXX .......",  # Sneaker
    "..XXX.. .X...X. XXXXXXX XXXXXXX XXXXXXX XXXXXXX XXXXXXX",  # Bag
    "...XXX. ...XXX. ...XXX. ...XXX. ..XXXXX XXXXXXX XXXXXXX",  # Ankle boot
]
# A typical colour per CIFAR-10 class (RGB in [0, 1]), blended with a random one per image.
_CIFAR_COLOURS = np.array(
    [
        [0.75, 0.80, 0.90],
        [0.85, 0.15, 0.15],
        [0.55, 0.40, 0.20],
        [0.90, 0.60, 0.25],
        [0.50, 0.35, 0.15],
        [0.70, 0.55, 0.40],
        [0.20, 0.70, 0.20],
        [0.40, 0.25, 0.10],
        [0.15, 0.30, 0.80],
        [0.90, 0.85, 0.20],
    ],
    dtype=np.float32,
)


def cifar_like(split: str, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(images uint8 (n, 3, 32, 32), labels int64 (n,)) with class-dependent shapes/colours."""
    rng = _rng("cifar10", split, seed)
    labels = _balanced_labels(rng, n)
    chunks = []
    for start in range(0, n, 4096):
        lab = labels[start : start + 4096]
        m = len(lab)
        mask = _cifar_masks(lab, rng)[:, None]  # (m, 1, 32, 32)
        fg = 0.6 * _CIFAR_COLOURS[lab] + 0.4 * rng.uniform(0, 1, (m, 3)).astype(np.float32)
        bg = rng.uniform(0.05, 0.8, (m, 3)).astype(np.float32)
        img = bg[:, :, None, None] * (1 - mask) + fg[:, :, None, None] * mask
        img = _blur(img) + 0.07 * rng.standard_normal(img.shape, dtype=np.float32)
        chunks.append(_to_uint8(img))
    return torch.cat(chunks), torch.from_numpy(labels.astype(np.int64))


def mnist_like(split: str, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Digit-shaped stand-in for MNIST: (n, 1, 28, 28) uint8, labels 0-9."""
    return _glyph_images(_DIGITS, "mnist", split, n, seed)


def fashion_like(split: str, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Clothing-silhouette stand-in for Fashion-MNIST: (n, 1, 28, 28) uint8, labels 0-9."""
    return _glyph_images(_CLOTHES, "fashion_mnist", split, n, seed)


def _rng(name: str, split: str, seed: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), _DATASET_IDS[name], _SPLIT_IDS[split]])


def _balanced_labels(rng: np.random.Generator, n: int, n_classes: int = 10) -> np.ndarray:
    labels = np.arange(n) % n_classes
    rng.shuffle(labels)
    return labels


def _bitmap(rows: str) -> np.ndarray:
    return np.array([[c == "X" for c in row] for row in rows.split()], dtype=np.float32)


def _blur(x: np.ndarray) -> np.ndarray:
    """A 3x3 box blur over the last two axes (edges padded by repetition)."""
    p = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(1, 1), (1, 1)], mode="edge")
    h, w = x.shape[-2:]
    total = sum(p[..., i : i + h, j : j + w] for i in range(3) for j in range(3))
    return cast(np.ndarray, total) / 9.0


def _to_uint8(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8))


def _shape_mask(c: int, dx: np.ndarray, dy: np.ndarray, s: np.ndarray, phase: np.ndarray):
    """The foreground mask of CIFAR stand-in class `c` (its shape says the class)."""
    xx, yy = dx + 16, dy + 16
    if c == 0:  # a plane-like cross
        wings = (np.abs(dy) < s * 0.25) & (np.abs(dx) < s * 1.4)
        return wings | (np.abs(dx) < s * 0.25) & (dy > -s) & (dy < s * 0.3)
    if c == 1:  # a wide box
        return (np.abs(dx) < s * 1.3) & (np.abs(dy) < s * 0.55)
    if c == 2:  # a triangle
        return (dy < s * 0.7) & (dy > -s * 0.9) & (np.abs(dx) < (dy + s * 0.9) * 0.7)
    r = np.sqrt(dx**2 + dy**2)
    if c == 3:  # a disc
        return r < s
    if c == 4:  # a ring
        return (r > s * 0.55) & (r < s)
    if c == 5:  # a square
        return (np.abs(dx) < s * 0.8) & (np.abs(dy) < s * 0.8)
    if c == 6:  # a checker texture
        return np.sin(xx * 1.2 + phase) * np.sin(yy * 1.2 + phase) > 0
    if c == 7:  # a tall bar
        return (np.abs(dx) < s * 0.35) & (np.abs(dy) < s * 1.3)
    if c == 8:  # horizontal stripes
        return np.sin(yy * 0.9 + phase) > 0.2
    return np.sin((xx + yy) * 0.7 + phase) > 0.2  # diagonal stripes


def _cifar_masks(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One foreground mask (N, 32, 32) per image, at a random place and size."""
    n = len(labels)
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32)
    centre = rng.uniform(11, 21, (n, 2, 1, 1)).astype(np.float32)
    size = rng.uniform(6, 10, (n, 1, 1)).astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1)).astype(np.float32)
    masks = np.zeros((n, 32, 32), dtype=np.float32)
    for c in range(10):
        rows = labels == c
        dy, dx = yy - centre[rows, 0], xx - centre[rows, 1]
        masks[rows] = _shape_mask(c, dx, dy, size[rows], phase[rows])
    return masks


def _scaled(bitmap: np.ndarray, sy: int, sx: int) -> np.ndarray:
    return np.kron(bitmap, np.ones((sy, sx), np.float32))


def _glyph_images(
    templates: list[str], name: str, split: str, n: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """28x28 gray images: the class's bitmap, stretched by a random factor (2 or 3 per axis),
    near the centre, sometimes with thicker strokes, blurred and noisy."""
    rng = _rng(name, split, seed)
    labels = _balanced_labels(rng, n)
    bitmaps = [_bitmap(t) for t in templates]
    glyphs = {(c, sy, sx): _scaled(b, sy, sx) for c, b in enumerate(bitmaps)
              for sy in (2, 3) for sx in (2, 3)}  # fmt: skip
    out = np.zeros((n, 28, 28), dtype=np.float32)
    scales = rng.integers(2, 4, (n, 2))
    for i, c in enumerate(labels):
        g = glyphs[(c, scales[i, 0], scales[i, 1])]
        h, w = g.shape
        y = np.clip((28 - h) // 2 + rng.integers(-2, 3), 0, 28 - h)  # roughly centred,
        x = np.clip((28 - w) // 2 + rng.integers(-2, 3), 0, 28 - w)  # as in MNIST
        out[i, y : y + h, x : x + w] = g
    thick = rng.random(n) < 0.5
    out[thick, :, 1:] = np.maximum(out[thick, :, 1:], out[thick, :, :-1])  # bolder strokes
    out *= rng.uniform(0.6, 1.0, (n, 1, 1)).astype(np.float32)
    out = _blur(out) + 0.08 * rng.standard_normal(out.shape, dtype=np.float32)
    return _to_uint8(out)[:, None], torch.from_numpy(labels.astype(np.int64))

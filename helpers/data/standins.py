"""Generated stand-ins for the datasets and corpora, NOT the real data (every loader says so
when it uses one). They have the real shapes, dtypes and classes, and real structure to learn:
images of class-dependent shapes, strokes and colours plus noise; a play-like text; review
sentences whose label depends on word order ("not good" is negative, "not bad" positive), so a
sequence model can beat a bag-of-words model on them."""

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
_CIFAR_COLOURS = np.array([
    [0.75, 0.80, 0.90], [0.85, 0.15, 0.15], [0.55, 0.40, 0.20], [0.90, 0.60, 0.25],
    [0.50, 0.35, 0.15], [0.70, 0.55, 0.40], [0.20, 0.70, 0.20], [0.40, 0.25, 0.10],
    [0.15, 0.30, 0.80], [0.90, 0.85, 0.20]], dtype=np.float32)  # fmt: skip
# The shape that says a CIFAR stand-in's class (0 a plane-like cross, 1 a wide box, 2 a
# triangle, 3 a disc, 4 a ring, 5 a square, 6 a checker texture, 7 a tall bar, 8 horizontal
# stripes, 9 diagonal ones): its mask from the offset (dx, dy) to the centre, size s, phase p.
_SHAPES = [
    lambda dx, dy, s, p: (
        (abs(dy) < s * 0.25) & (abs(dx) < s * 1.4)
        | (abs(dx) < s * 0.25) & (dy > -s) & (dy < s * 0.3)
    ),
    lambda dx, dy, s, p: (abs(dx) < s * 1.3) & (abs(dy) < s * 0.55),
    lambda dx, dy, s, p: (dy < s * 0.7) & (dy > -s * 0.9) & (abs(dx) < (dy + s * 0.9) * 0.7),
    lambda dx, dy, s, p: np.sqrt(dx**2 + dy**2) < s,
    lambda dx, dy, s, p: (np.sqrt(dx**2 + dy**2) > s * 0.55) & (np.sqrt(dx**2 + dy**2) < s),
    lambda dx, dy, s, p: (abs(dx) < s * 0.8) & (abs(dy) < s * 0.8),
    lambda dx, dy, s, p: np.sin((dx + 16) * 1.2 + p) * np.sin((dy + 16) * 1.2 + p) > 0,
    lambda dx, dy, s, p: (abs(dx) < s * 0.35) & (abs(dy) < s * 1.3),
    lambda dx, dy, s, p: np.sin((dy + 16) * 0.9 + p) > 0.2,
    lambda dx, dy, s, p: np.sin(((dx + 16) + (dy + 16)) * 0.7 + p) > 0.2,
]

_SPEAKERS = ["ANTONIO", "MARIA", "GREGORY", "LUCETTA", "BALTHASAR", "ISABEL", "First Lord",
             "Second Lord", "NURSE", "DUKE"]  # fmt: skip
_SUBJECTS = ["I", "thou", "he", "she", "we", "you", "my lord", "the king", "this man", "our foe"]
_MODALS = ["shall", "will", "must", "would", "dare", "cannot", "should", "may"]
_VERBS = ["love", "see", "find", "know", "hear", "speak of", "bear", "forget", "serve", "fear"]
_DETS = ["the", "thy", "my", "his", "her", "our", "this", "that"]
_ADJS = ["", "", "noble ", "gentle ", "sweet ", "cruel ", "honest ", "poor ", "fair ", "old "]
_NOUNS = ["crown", "heart", "sword", "daughter", "father", "night", "grave", "friend", "honour",
          "tongue", "blood", "house", "word", "queen", "fortune", "tears"]  # fmt: skip
_OPENERS = ["", "", "", "O, ", "Nay, ", "Ay, ", "Come, ", "Alas, ", "Good sir, ", "Well, "]
_ENDS = [".", ".", ".", "!", "?", ";", ","]
_REVIEW_SUBJECTS = ["the movie", "the film", "this place", "the food", "the service",
                    "the plot", "the acting", "this phone", "the battery", "the staff"]  # fmt: skip
_LINKS = ["was", "is", "felt", "seemed"]
_INTENSIFIERS = ["", "", "very ", "really ", "quite ", "so "]
_POSITIVE = ["good", "great", "excellent", "wonderful", "fun", "pleasant", "lovely", "enjoyable"]
_NEGATIVE = ["bad", "awful", "terrible", "boring", "dull", "poor", "horrible", "disappointing"]
# past tense -> base form ("i loved it" / "i did not love it")
_LIKE = {"liked": "like", "loved": "love", "enjoyed": "enjoy", "recommended": "recommend"}
_DISLIKE = {"hated": "hate", "disliked": "dislike", "regretted": "regret", "avoided": "avoid"}
_PREFIXES = ["", "", "", "overall , ", "honestly , ", "to be fair , ", "in the end , "]
NEGATION_RATE = 0.35


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


def play_text(n_chars: int, seed: int) -> str:
    """`n_chars` characters of a generated play (speaker names, verse from a small grammar)."""
    rng = np.random.default_rng([int(seed), 11])
    parts: list[str] = []
    size = 0
    while size < n_chars:
        speaker = _SPEAKERS[rng.integers(len(_SPEAKERS))]
        lines = [_verse(rng) for _ in range(int(rng.integers(1, 5)))]
        parts.append(f"{speaker}:\n" + "\n".join(lines) + "\n\n")
        size += len(parts[-1])
    return "".join(parts)[:n_chars]


def review_sentences(n: int, seed: int, split: str) -> tuple[list[str], np.ndarray]:
    """`n` class-balanced review sentences and labels (0 negative, 1 positive): the words carry
    polarity and a negation ("not", "did not") flips it, equally often in both classes."""
    rng = np.random.default_rng([int(seed), 12, 0 if split == "train" else 1])
    labels = np.arange(n) % 2
    rng.shuffle(labels)
    pick = lambda words: words[rng.integers(len(words))]  # noqa: E731
    sentences = []
    for label in labels:
        negated = rng.random() < NEGATION_RATE
        word_positive = bool(label) != negated
        if rng.random() < 0.7:
            adj = pick(_POSITIVE if word_positive else _NEGATIVE)
            neg = "not " if negated else ""
            core = f"{pick(_REVIEW_SUBJECTS)} {pick(_LINKS)} {neg}{pick(_INTENSIFIERS)}{adj}"
        else:
            forms = _LIKE if word_positive else _DISLIKE
            verb = pick(list(forms))
            obj = pick(_REVIEW_SUBJECTS)
            core = f"i did not {forms[verb]} {obj}" if negated else f"i {verb} {obj}"
        sentences.append(f"{pick(_PREFIXES)}{core} .")
    return sentences, labels.astype(np.int64)


def _rng(name: str, split: str, seed: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), _DATASET_IDS[name], _SPLIT_IDS[split]])


def _balanced_labels(rng: np.random.Generator, n: int) -> np.ndarray:
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    return labels


def _blur(x: np.ndarray) -> np.ndarray:
    """A 3x3 box blur over the last two axes (edges padded by repetition)."""
    p = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(1, 1), (1, 1)], mode="edge")
    h, w = x.shape[-2:]
    total = sum(p[..., i : i + h, j : j + w] for i in range(3) for j in range(3))
    return cast(np.ndarray, total) / 9.0


def _to_uint8(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8))


def _cifar_masks(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One foreground mask (N, 32, 32) per image, at a random place and size."""
    n = len(labels)
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32)
    centre = rng.uniform(11, 21, (n, 2, 1, 1)).astype(np.float32)
    size = rng.uniform(6, 10, (n, 1, 1)).astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1)).astype(np.float32)
    masks = np.zeros((n, 32, 32), dtype=np.float32)
    for c, shape in enumerate(_SHAPES):
        rows = labels == c
        masks[rows] = shape(xx - centre[rows, 1], yy - centre[rows, 0], size[rows], phase[rows])
    return masks


def _glyph_images(
    templates: list[str], name: str, split: str, n: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """28x28 gray images: the class's bitmap, stretched by a random factor (2 or 3 per axis),
    near the centre, sometimes with thicker strokes, blurred and noisy."""
    rng = _rng(name, split, seed)
    labels = _balanced_labels(rng, n)
    bitmaps = [np.array([[c == "X" for c in row] for row in t.split()]) for t in templates]
    glyphs = {(c, sy, sx): np.kron(b, np.ones((sy, sx), np.float32)) for c, b in enumerate(bitmaps)
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


def _verse(rng: np.random.Generator) -> str:
    pick = lambda words: words[rng.integers(len(words))]  # noqa: E731
    if rng.random() < 0.25:
        body = f"{pick(['go', 'look', 'speak', 'hark', 'stay'])}, {pick(_DETS)} {pick(_ADJS)}{pick(_NOUNS)}"
    else:
        body = (
            f"{pick(_SUBJECTS)} {pick(_MODALS)} {pick(_VERBS)} "
            f"{pick(_DETS)} {pick(_ADJS)}{pick(_NOUNS)}"
        )
        if rng.random() < 0.4:
            body += f" and {pick(_DETS)} {pick(_NOUNS)}"
    text = pick(_OPENERS) + body
    return text[0].upper() + text[1:] + pick(_ENDS)

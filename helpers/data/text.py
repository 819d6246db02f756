"""Text corpora: tiny Shakespeare (character models) and SST-2 sentence sentiment (sequence
models)."""

from __future__ import annotations

from pathlib import Path

import torch

from ..settings import get_settings
from . import sources as src
from . import standins
from .sets import TextSet, balanced_pick
from .sources import DataError, announce, permission_errors_explained

SHAKESPEARE_PATH = "text/tinyshakespeare/input.txt"
SHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
)
SHAKESPEARE_MD5 = "6fb458f1232090904fb40fe944165e91"
SHAKESPEARE_CHARS = 1_115_394
SHAKESPEARE_FAST_CHARS = 200_000

SENTIMENT_CORPORA = ("sst2",)  # each read from <data>/text/<name>/{train,test}.tsv
SENTIMENT_CLASSES = ["negative", "positive"]
SENTIMENT_FAST = {"train": 2_000, "test": 500}
SENTIMENT_STANDIN_FULL = {"train": 8_000, "test": 2_000}
SPLIT_SEED = 0  # the fast subset never changes with COURSE_SEED


@permission_errors_explained()
def load_shakespeare(fast: bool | None = None) -> str:
    """Tiny Shakespeare (1,115,394 characters); fast mode: the first 200,000 characters.

    Used by notebook 07.
    """
    fast = src.resolve_fast(fast)
    path, reason = src.find_or_download(
        "Shakespeare", lambda: src.find(SHAKESPEARE_PATH), _download_shakespeare
    )
    if path is None:
        n = SHAKESPEARE_FAST_CHARS if fast else SHAKESPEARE_CHARS
        announce(
            f"Shakespeare: {n:,} characters of a generated stand-in play, NOT the real text "
            f"({reason}). To use the real text, put input.txt at "
            f"<COURSE_DATA_DIR>/{SHAKESPEARE_PATH}, or go online with COURSE_OFFLINE=0."
        )
        return standins.play_text(n, get_settings().seed)
    again = f"Delete it and download it again ({SHAKESPEARE_URL})."
    raw = path.read_bytes()
    if len(raw) == SHAKESPEARE_CHARS:
        src.check_hash(raw, "md5", SHAKESPEARE_MD5, path, again)
    text = _decode(raw, path)
    if not text.strip():
        raise DataError(f"{path} is empty. {again}")
    kept = text[:SHAKESPEARE_FAST_CHARS] if fast else text
    size = src.describe_size(len(kept), len(text), "characters", fast, "a fixed prefix")
    announce(f"Shakespeare: {size} from {src.shown(path)}")
    return kept


@permission_errors_explained()
def load_sentiment(corpus: str = "sst2", split: str = "train", fast: bool | None = None) -> TextSet:
    """Sentences labelled negative (0) / positive (1) from `corpus` (see SENTIMENT_CORPORA: only
    "sst2", SST-2's train.tsv and test.tsv). Fast mode: a fixed class-balanced subset (2,000
    train / 500 test).

    Used by notebook 07.
    """
    if corpus not in SENTIMENT_CORPORA:
        raise DataError(
            f"Unknown sentiment corpus {corpus!r}; the known names are: "
            f"{', '.join(SENTIMENT_CORPORA)}."
        )
    src.check_split(split)
    fast = src.resolve_fast(fast)
    folder = src.find(f"text/{corpus}")
    if folder is None:
        n = SENTIMENT_FAST[split] if fast else SENTIMENT_STANDIN_FULL[split]
        generated, generated_labels = standins.review_sentences(n, get_settings().seed, split)
        line = (
            f"Sentiment ({corpus}) {split}: {n:,} generated stand-in sentences, NOT the real "
            f"corpus (no files in the data directory). To use the real data, set "
            f"COURSE_DATA_DIR to a folder holding text/{corpus}/."
        )
        return TextSet(
            generated, torch.from_numpy(generated_labels), list(SENTIMENT_CLASSES), announce(line),
            f"sentiment stand-in {split}", real=False,
        )  # fmt: skip
    where = folder / f"{split}.tsv"
    sentences, label_list = _read_tsv(where)
    labels, total = torch.tensor(label_list, dtype=torch.int64), len(sentences)
    if fast and SENTIMENT_FAST[split] < total:
        keep = balanced_pick(labels, SENTIMENT_FAST[split], SPLIT_SEED)
        sentences, labels = [sentences[i] for i in keep.tolist()], labels[keep]
    size = src.describe_size(len(sentences), total, "sentences", fast)
    line = f"Sentiment ({corpus}) {split}: {size} from {src.shown(where)}"
    name = f"sentiment {corpus} {split}"
    return TextSet(sentences, labels, list(SENTIMENT_CLASSES), announce(line), name)


def _download_shakespeare(root: Path) -> None:
    src.fetch_url(SHAKESPEARE_URL, root / SHAKESPEARE_PATH, "md5", SHAKESPEARE_MD5)


def _read_tsv(path: Path) -> tuple[list[str], list[int]]:
    """SST-2's `sentence<TAB>label` lines after that header; a missing or empty file, a line
    without a TAB or a label other than 0 or 1 stops with a message naming the file (and line)."""
    if not path.is_file():
        raise DataError(f"{path} is missing; copy the complete {path.parent.name} folder.")
    text = _decode(path.read_bytes(), path)
    lines = [(i, line) for i, line in enumerate(text.split("\n"), 1) if line.strip()]
    if not lines:
        raise DataError(f"{path} holds no sentences; restore the original file.")
    if lines[0][1].split("\t") != ["sentence", "label"]:
        raise DataError(f"{path} does not start with the header 'sentence<TAB>label'.")
    if len(lines) == 1:
        raise DataError(f"{path} holds no sentences after its header; restore the original file.")
    sentences, labels = [], []
    for i, line in lines[1:]:
        if "\t" not in line:
            raise DataError(
                f"{path}, line {i}: no TAB between sentence and label; restore the original file."
            )
        sentence, label = line.rsplit("\t", 1)
        if label.strip() not in ("0", "1"):
            raise DataError(
                f"{path}, line {i}: the label {label.strip()!r} is not 0 or 1; the file is "
                "damaged or not in the expected format. Restore the original file."
            )
        sentences.append(sentence.strip())
        labels.append(int(label))
    return sentences, labels


def _decode(raw: bytes, path: Path) -> str:
    """`raw` as UTF-8 text; other bytes stop with a message naming the file and the offset,
    never a silent guess."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(
            f"{path} is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start:,}); "
            "restore the original file or save it as UTF-8."
        ) from None

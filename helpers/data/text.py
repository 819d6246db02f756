"""Text corpora: tiny Shakespeare (character models) and sentence sentiment (sequence models).
`CORPORA` has one entry per sentiment corpus (its folder and its reader; SST-2 is the one the
course uses); `load_sentiment`, `SENTIMENT_CORPORA` and `where_from` read it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

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

SENTIMENT_CLASSES = ["negative", "positive"]
SENTIMENT_FAST = {"train": 2_000, "test": 500}
SENTIMENT_STANDIN_FULL = {"train": 8_000, "test": 2_000}
SPLIT_SEED = 0  # the fast subset never changes with COURSE_SEED

Sentences = tuple[list[str], list[int], Path]  # sentences, labels 0/1, the file or folder


@permission_errors_explained()
def load_shakespeare(fast: bool | None = None) -> str:
    """Tiny Shakespeare (1,115,394 characters); fast mode: the first 200,000 characters.

    Used by notebook 07.
    """
    fast = src.resolve_fast(fast)
    path = src.find(SHAKESPEARE_PATH)
    reason = "offline mode and no file in the data directory"
    if path is None and not get_settings().offline:
        failure = src.download("shakespeare", _download_shakespeare)
        reason = f"download failed: {failure}"
        path = src.find(SHAKESPEARE_PATH) if failure is None else None
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
    if corpus not in CORPORA:
        raise DataError(
            f"Unknown sentiment corpus {corpus!r}; the known names are: "
            f"{', '.join(SENTIMENT_CORPORA)}."
        )
    src.check_split(split)
    fast = src.resolve_fast(fast)
    folder = src.find(Path("text") / CORPORA[corpus].folder)
    if folder is None:
        n = SENTIMENT_FAST[split] if fast else SENTIMENT_STANDIN_FULL[split]
        generated, generated_labels = standins.review_sentences(n, get_settings().seed, split)
        line = (
            f"Sentiment ({corpus}) {split}: {n:,} generated stand-in sentences, NOT the real "
            f"corpus (no files in the data directory). To use the real data, set "
            f"COURSE_DATA_DIR to a folder holding text/{CORPORA[corpus].folder}/."
        )
        return TextSet(
            generated, torch.from_numpy(generated_labels), list(SENTIMENT_CLASSES), announce(line),
            f"sentiment stand-in {split}", real=False,
        )  # fmt: skip
    sentences, label_list, where = CORPORA[corpus].read(folder, split)
    labels, total = torch.tensor(label_list, dtype=torch.int64), len(sentences)
    if fast and SENTIMENT_FAST[split] < total:
        keep = balanced_pick(labels, SENTIMENT_FAST[split], SPLIT_SEED)
        sentences, labels = [sentences[i] for i in keep.tolist()], labels[keep]
    size = src.describe_size(len(sentences), total, "sentences", fast)
    line = f"Sentiment ({corpus}) {split}: {size} from {src.shown(where)}"
    name = f"sentiment {corpus} {split}"
    return TextSet(sentences, labels, list(SENTIMENT_CLASSES), announce(line), name)


def _read_sst2(folder: Path, split: str) -> Sentences:
    """SST-2: `train.tsv` / `test.tsv`, a header `sentence<TAB>label`, one example a line."""
    path = _file(folder / f"{split}.tsv")
    lines = _lines(path)
    if lines[0][1].split("\t") != ["sentence", "label"]:
        raise DataError(f"{path} does not start with the header 'sentence<TAB>label'.")
    if len(lines) == 1:
        raise DataError(f"{path} holds no sentences after its header; restore the original file.")
    sentences, labels = zip(*_labelled_lines(path, lines[1:]))
    return list(sentences), list(labels), path


class Corpus(NamedTuple):
    folder: str  # under <data>/text/
    read: Callable[[Path, str], Sentences]  # (its folder, split) -> the split's sentences


CORPORA = {"sst2": Corpus("sst2", _read_sst2)}
SENTIMENT_CORPORA = tuple(CORPORA)


def _download_shakespeare(root: Path) -> None:
    src.fetch_url(SHAKESPEARE_URL, root / SHAKESPEARE_PATH, "md5", SHAKESPEARE_MD5)


def _file(path: Path) -> Path:
    if not path.is_file():
        raise DataError(f"{path} is missing; copy the complete {path.parent.name} folder.")
    return path


def _labelled_lines(path: Path, lines: list[tuple[int, str]]) -> Iterator[tuple[str, int]]:
    """(sentence, label) for each `sentence<TAB>label` line of `path`; a line without a TAB or
    with a label other than 0 or 1 stops with a message naming the file and the line."""
    for i, line in lines:
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
        yield sentence.strip(), int(label)


def _lines(path: Path) -> list[tuple[int, str]]:
    """(line number, line) for every non-blank line; an empty file is an error naming it."""
    text = _decode(path.read_bytes(), path)
    kept = [(i, line) for i, line in enumerate(text.split("\n"), 1) if line.strip()]
    if not kept:
        raise DataError(f"{path} holds no sentences; restore the original file.")
    return kept


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

"""Text corpora: tiny Shakespeare (character models) and sentence sentiment (sequence models)."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

import torch

from ..settings import get_settings
from . import text_standins
from .errors import DataError
from .sets import TextSet, balanced_pick
from .sources import (
    announce,
    bounded_network,
    describe_size,
    download_root,
    earlier_failure,
    permission_errors_explained,
    remember_failure,
    resolve_fast,
    search_roots,
    shown,
)

SHAKESPEARE_PATH = Path("text/tinyshakespeare/input.txt")
SHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
)
SHAKESPEARE_MD5 = "6fb458f1232090904fb40fe944165e91"
SHAKESPEARE_BYTES = 1_115_394
SHAKESPEARE_FAST_CHARS = 200_000

SENTIMENT_CORPORA = ("uci", "sst2", "rt")
CORPUS_FOLDERS = {
    "uci": "uci_sentiment_labelled_sentences",
    "sst2": "sst2",
    "rt": "rt-polaritydata",
}
SENTIMENT_CLASSES = ["negative", "positive"]
SENTIMENT_FAST = {"train": 2_000, "test": 500}
SENTIMENT_STANDIN_FULL = {"train": 8_000, "test": 2_000}
TEST_FRACTION = 0.2  # for the corpora published without a split (uci, rt)
SPLIT_SEED = 0  # the fixed split never changes with COURSE_SEED
_UCI_FILES = ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt")


def _find(relative: Path) -> Path | None:
    for root in search_roots():
        if (root / relative).exists():
            return root / relative
    return None


def _read_text(path: Path, legacy: str | None = None) -> str:
    """The file as UTF-8 text; `legacy`: the one other encoding this corpus was published in.

    Bytes that are neither stop with one message naming the file and the offset, never a
    silent guess that would put wrong characters into the data.
    """
    try:
        raw = path.read_bytes()
    except PermissionError:
        raise  # explained once, by the loader
    except OSError as e:
        raise DataError(f"{path} cannot be read ({e}); check its permissions.") from e
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        utf8_error = e
    if legacy is not None:
        try:
            return raw.decode(legacy)
        except UnicodeDecodeError:
            pass
    also = f" nor {legacy}" if legacy else ""
    raise DataError(
        f"{path} is not UTF-8{also} text (byte 0x{raw[utf8_error.start]:02x} at offset "
        f"{utf8_error.start:,}); restore the original file or save it as UTF-8."
    )


def _lines(path: Path, legacy: str | None = None) -> list[tuple[int, str]]:
    """(line number, line) for every non-blank line; an empty file is an error naming it."""
    lines = [(i, line) for i, line in enumerate(_read_text(path, legacy).split("\n"), 1)]
    kept = [(i, line) for i, line in lines if line.strip()]
    if not kept:
        raise DataError(f"{path} holds no sentences; restore the original file.")
    return kept


def _split_tab(line: str, path: Path, line_no: int) -> tuple[str, str]:
    if "\t" not in line:
        raise DataError(
            f"{path}, line {line_no}: no TAB between sentence and label; restore the original file."
        )
    sentence, label = line.rsplit("\t", 1)
    return sentence, label


# ---------------------------------------------------------------- tiny Shakespeare


def _download_shakespeare() -> Path:
    """Fetch the public file (bounded), check its md5, write it atomically; return its path."""
    with bounded_network(), urllib.request.urlopen(SHAKESPEARE_URL) as response:
        data = response.read()
    if hashlib.md5(data).hexdigest() != SHAKESPEARE_MD5:
        raise DataError(f"The file downloaded from {SHAKESPEARE_URL} has the wrong md5.")
    target = download_root() / SHAKESPEARE_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, target)
    return target


@permission_errors_explained()
def load_shakespeare(fast: bool | None = None) -> str:
    """Tiny Shakespeare (1,115,394 characters); fast mode: the first 200,000 characters."""
    fast = resolve_fast(fast)
    path = _find(SHAKESPEARE_PATH)
    reason = "offline mode and no file in the data directory"
    if path is None and not get_settings().offline:
        earlier = earlier_failure("shakespeare")
        if earlier is not None:
            reason = f"{earlier} (earlier in this session; not retried)"
        else:
            try:
                path = _download_shakespeare()
            except Exception as e:  # any network failure falls through to the stand-in
                text = f"download failed: {type(e).__name__}: {e}"[:160]
                reason = remember_failure("shakespeare", text)
    if path is None:
        n = SHAKESPEARE_FAST_CHARS if fast else SHAKESPEARE_BYTES
        text = text_standins.play_text(n, get_settings().seed)
        announce(
            f"Shakespeare: {n:,} characters of a generated stand-in play, NOT the real text "
            f"({reason}). To use the real text, put input.txt at "
            f"<COURSE_DATA_DIR>/{SHAKESPEARE_PATH}, or go online with COURSE_OFFLINE=0."
        )
        return text
    raw = path.read_bytes()
    if len(raw) == SHAKESPEARE_BYTES and hashlib.md5(raw).hexdigest() != SHAKESPEARE_MD5:
        raise DataError(
            f"{path}: md5 differs from the published {SHAKESPEARE_MD5}; the file is damaged. "
            f"Delete it and download it again ({SHAKESPEARE_URL})."
        )
    text = _read_text(path)
    if not text.strip():
        raise DataError(f"{path} is empty. Delete it and download it again ({SHAKESPEARE_URL}).")
    kept = text[:SHAKESPEARE_FAST_CHARS] if fast else text
    announce(
        f"Shakespeare: {describe_size(len(kept), len(text), 'characters', fast, 'a fixed prefix')} from {shown(path)}"
    )
    return kept


# ---------------------------------------------------------------- sentiment


def _label(text: str, path: Path, line_no: int) -> int:
    value = text.strip()
    if value not in ("0", "1"):
        raise DataError(
            f"{path}, line {line_no}: the label {value!r} is not 0 or 1; the file is damaged "
            f"or not in the expected format. Restore the original file."
        )
    return int(value)


def _read_uci(folder: Path) -> tuple[list[str], list[int]]:
    """Each line: sentence, TAB, label; split on the LAST tab (some sentences hold quotes)."""
    sentences, labels = [], []
    for name in _UCI_FILES:
        path = folder / name
        if not path.is_file():
            raise DataError(f"{path} is missing; copy the complete {folder.name} folder.")
        for i, line in _lines(path):
            sentence, label = _split_tab(line, path, i)
            sentences.append(sentence.strip())
            labels.append(_label(label, path, i))
    return sentences, labels


def _read_rt(folder: Path) -> tuple[list[str], list[int]]:
    sentences, labels = [], []
    for name, label in (("rt-polarity.neg", 0), ("rt-polarity.pos", 1)):
        path = folder / name
        if not path.is_file():
            raise DataError(f"{path} is missing; copy the complete {folder.name} folder.")
        lines = [s.strip() for _, s in _lines(path, legacy="cp1252")]  # the original encoding
        sentences += lines
        labels += [label] * len(lines)
    return sentences, labels


def _read_tsv(path: Path) -> tuple[list[str], list[int]]:
    """SST-2: a header `sentence<TAB>label`, then one example a line."""
    if not path.is_file():
        raise DataError(f"{path} is missing; copy the complete {path.parent.name} folder.")
    lines = _lines(path)
    if lines[0][1].split("\t") != ["sentence", "label"]:
        raise DataError(f"{path} does not start with the header 'sentence<TAB>label'.")
    sentences, labels = [], []
    for i, line in lines[1:]:
        sentence, label = _split_tab(line, path, i)
        sentences.append(sentence.strip())
        labels.append(_label(label, path, i))
    if not sentences:
        raise DataError(f"{path} holds no sentences after its header; restore the original file.")
    return sentences, labels


def _fixed_split(labels: torch.Tensor, split: str) -> torch.Tensor:
    """Indices of `split` in a fixed, stratified train/test split (test: 20 % of each class)."""
    gen = torch.Generator().manual_seed(SPLIT_SEED)
    test_parts = []
    for c in range(2):
        members = torch.nonzero(labels == c).flatten()
        members = members[torch.randperm(len(members), generator=gen)]
        test_parts.append(members[: round(len(members) * TEST_FRACTION)])
    is_test = torch.zeros(len(labels), dtype=torch.bool)
    is_test[torch.cat(test_parts)] = True
    return torch.nonzero(is_test if split == "test" else ~is_test).flatten()


def _corpus(corpus: str, split: str) -> tuple[list[str], torch.Tensor, Path] | None:
    folder = _find(Path("text") / CORPUS_FOLDERS[corpus])
    if folder is None:
        return None
    if corpus == "sst2":
        path = folder / f"{split}.tsv"
        sentences, labels = _read_tsv(path)
        return sentences, torch.tensor(labels, dtype=torch.int64), path
    sentences, labels = _read_uci(folder) if corpus == "uci" else _read_rt(folder)
    label_tensor = torch.tensor(labels, dtype=torch.int64)
    keep = _fixed_split(label_tensor, split)
    return [sentences[i] for i in keep.tolist()], label_tensor[keep], folder


@permission_errors_explained()
def load_sentiment(corpus: str = "uci", split: str = "train", fast: bool | None = None) -> TextSet:
    """Sentences labelled negative (0) / positive (1) from `corpus` ("uci", "sst2", "rt").

    uci and rt have a fixed stratified 80/20 train/test split; sst2 uses its train.tsv and
    test.tsv. Fast mode: a fixed class-balanced subset (2,000 train / 500 test).
    """
    if corpus not in SENTIMENT_CORPORA:
        raise DataError(
            f"Unknown sentiment corpus {corpus!r}; the known names are: "
            f"{', '.join(SENTIMENT_CORPORA)}."
        )
    if split not in ("train", "test"):
        raise DataError(f"split={split!r} is not known; use 'train' or 'test'.")
    fast = resolve_fast(fast)
    found = _corpus(corpus, split)
    if found is None:
        n = SENTIMENT_FAST[split] if fast else SENTIMENT_STANDIN_FULL[split]
        sentences, labels = text_standins.review_sentences(n, get_settings().seed, split)
        line = (
            f"Sentiment ({corpus}) {split}: {n:,} generated stand-in sentences, NOT the real "
            f"corpus (no files in the data directory). To use the real data, set "
            f"COURSE_DATA_DIR to a folder holding text/{CORPUS_FOLDERS[corpus]}/."
        )
        return TextSet(
            sentences,
            torch.from_numpy(labels),
            list(SENTIMENT_CLASSES),
            announce(line),
            f"sentiment stand-in {split}",
            real=False,
        )
    sentences, labels, where = found
    total = len(sentences)
    if fast and SENTIMENT_FAST[split] < total:
        keep = balanced_pick(labels, SENTIMENT_FAST[split], SPLIT_SEED)
        sentences, labels = [sentences[i] for i in keep.tolist()], labels[keep]
    line = (
        f"Sentiment ({corpus}) {split}: "
        f"{describe_size(len(sentences), total, 'sentences', fast)} from {shown(where)}"
    )
    return TextSet(
        sentences, labels, list(SENTIMENT_CLASSES), announce(line), f"sentiment {corpus} {split}"
    )

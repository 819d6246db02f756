"""Text corpora and photos: the real file formats read exactly, fixed splits, clear errors."""

from __future__ import annotations

import pytest
import torch

from helpers.data import (
    PHOTO_NAMES,
    DataError,
    TextSet,
    load_photo,
    load_sentiment,
    load_shakespeare,
)


@pytest.fixture
def text_dir(course_env, tmp_path, monkeypatch):
    data = tmp_path / "data"
    (data / "text").mkdir(parents=True)
    course_env(
        COURSE_DATA_DIR=str(data),
        COURSE_CACHE_DIR=str(tmp_path / "cache"),
        COURSE_OFFLINE="1",
        COURSE_FAST="0",
    )
    yield data / "text"


def write_sst2(text_dir, per_split: dict[str, int]) -> dict[str, int]:
    """SST-2's train.tsv / test.tsv; some sentences hold a TAB or quotes themselves."""
    folder = text_dir / "sst2"
    folder.mkdir()
    truth = {}
    for split, n in per_split.items():
        lines = ["sentence\tlabel"]
        for i in range(n):
            sentence = f'{split} "review\t{i}'  # an inner TAB: split on the LAST one
            truth[sentence] = i % 2
            lines.append(f"{sentence}\t{i % 2}")
        (folder / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    return truth


def test_sst2_reads_header_and_both_files(text_dir):
    folder = text_dir / "sst2"
    folder.mkdir()
    (folder / "train.tsv").write_text("sentence\tlabel\na fine film \t1\na dull one \t0\n")
    (folder / "test.tsv").write_text("sentence\tlabel\nlovely \t1\n")
    train = load_sentiment("sst2", "train")
    assert isinstance(train, TextSet) and train.classes == ["negative", "positive"]
    assert train.sentences == ["a fine film", "a dull one"] and train.labels.tolist() == [1, 0]
    assert load_sentiment("sst2", "test").sentences == ["lovely"]
    assert load_sentiment().sentences == train.sentences  # sst2 and train are the defaults


def test_sst2_splits_each_line_on_its_last_tab(text_dir):
    truth = write_sst2(text_dir, {"train": 10, "test": 6})
    train, test = load_sentiment("sst2", "train"), load_sentiment("sst2", "test")
    assert (len(train), len(test)) == (10, 6)
    for part in (train, test):
        assert [truth[s] for s in part.sentences] == part.labels.tolist()


def test_fast_mode_subset_is_fixed_and_balanced(course_env, text_dir, monkeypatch):
    write_sst2(text_dir, {"train": 2_400, "test": 600})
    course_env(COURSE_FAST="1")
    train = load_sentiment("sst2", "train")
    assert len(train) == 2_000 and train.class_counts() == {"negative": 1000, "positive": 1000}
    assert load_sentiment("sst2", "train").sentences == train.sentences
    assert "2,000 of 2,400 sentences (fast mode, class-balanced)" in train.source
    assert len(load_sentiment("sst2", "test")) == 500


def test_bad_sentiment_files_name_the_file(text_dir):
    folder = text_dir / "sst2"
    write_sst2(text_dir, {"train": 4, "test": 2})
    (folder / "train.tsv").write_text("sentence\tlabel\nfine\t1\nbroken line without label\n")
    with pytest.raises(DataError, match=r"train\.tsv, line 3"):
        load_sentiment("sst2")
    (folder / "train.tsv").write_text("sentence\tlabel\nfine\t7\n")
    with pytest.raises(DataError, match=r"train\.tsv, line 2: the label '7'"):
        load_sentiment("sst2")
    (folder / "test.tsv").unlink()
    with pytest.raises(DataError, match=r"test\.tsv is missing"):
        load_sentiment("sst2", "test")
    (folder / "train.tsv").write_text("text,label\n")
    with pytest.raises(DataError, match=r"train\.tsv does not start with the header"):
        load_sentiment("sst2")


def test_unknown_corpus_and_split(text_dir):
    with pytest.raises(DataError, match=r"Unknown sentiment corpus 'imdb'.* known names are: sst2"):
        load_sentiment("imdb")
    with pytest.raises(DataError, match="split='dev'"):
        load_sentiment("sst2", "dev")


@pytest.mark.parametrize("corpus", ["uci", "rt"])
def test_corpora_no_longer_read_are_refused_with_the_known_names(text_dir, corpus):
    for old in ("uci_sentiment_labelled_sentences", "rt-polaritydata"):  # folders no longer read
        (text_dir / old).mkdir()
    with pytest.raises(
        DataError, match=rf"^Unknown sentiment corpus '{corpus}'; the known names are: sst2\.$"
    ):
        load_sentiment(corpus)


def test_shakespeare_from_the_data_dir(course_env, text_dir, monkeypatch):
    path = text_dir / "tinyshakespeare" / "input.txt"
    path.parent.mkdir()
    play = "First Citizen:\nBefore we proceed any further, hear me speak.\n\n" * 5000
    path.write_text(play)
    assert load_shakespeare() == play
    course_env(COURSE_FAST="1")
    assert load_shakespeare() == play[:200_000]


def test_damaged_full_size_shakespeare_is_reported(text_dir):
    path = text_dir / "tinyshakespeare" / "input.txt"
    path.parent.mkdir()
    path.write_bytes(b"x" * 1_115_394)
    with pytest.raises(DataError, match=r"input\.txt: md5 \w+ differs from the published"):
        load_shakespeare()


def test_photos_are_float_images_in_unit_range(capsys):
    for name in ("astronaut", "camera", "coffee", "horse"):
        photo = load_photo(name)
        assert photo.dtype == torch.float32 and photo.ndim == 3 and photo.shape[0] in (1, 3)
        assert 0.0 <= photo.min() and photo.max() <= 1.0 and photo.std() > 0.05
    gray = load_photo("astronaut", gray=True)
    colour = load_photo("astronaut")
    assert gray.shape == (1, *colour.shape[1:])
    weights = torch.tensor([0.2125, 0.7154, 0.0721]).view(3, 1, 1)
    assert torch.allclose(gray[0], (colour * weights).sum(0), atol=1e-5)
    assert "skimage.data.astronaut" in capsys.readouterr().out


def test_every_listed_photo_loads_without_network():
    for name in PHOTO_NAMES:
        assert load_photo(name).shape[0] in (1, 3)


def test_unknown_photo_lists_the_names():
    with pytest.raises(DataError, match="camera"):
        load_photo("mona_lisa")


def test_shakespeare_download_from_a_loopback_server(
    course_env, text_dir, tmp_path, monkeypatch, serve_folder
):
    import hashlib

    from helpers.data import text as text_module

    served = tmp_path / "served"
    served.mkdir()
    play = b"KING:\nWhat news?\n\n" * 1000
    (served / "input.txt").write_bytes(play)
    monkeypatch.setattr(text_module, "SHAKESPEARE_URL", serve_folder(served) + "input.txt")
    monkeypatch.setattr(text_module, "SHAKESPEARE_MD5", hashlib.md5(play).hexdigest())
    course_env(COURSE_OFFLINE="0")
    assert load_shakespeare() == play.decode()
    assert (text_dir / "tinyshakespeare" / "input.txt").read_bytes() == play
    monkeypatch.setattr(text_module, "SHAKESPEARE_MD5", "0" * 32)  # a wrong file is refused
    (text_dir / "tinyshakespeare" / "input.txt").unlink()
    assert "download failed: DataError" in _announced(load_shakespeare)
    assert not (text_dir / "tinyshakespeare" / "input.txt").exists()


def _announced(loader) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        loader()
    return out.getvalue()


def test_damaged_corpora_stop_with_one_message_naming_file_and_line(text_dir):
    (text_dir / "sst2").mkdir()
    (text_dir / "sst2" / "test.tsv").write_text("\n\n")  # emptied
    with pytest.raises(DataError, match=r"test\.tsv holds no sentences; restore"):
        load_sentiment("sst2", "test")
    (text_dir / "sst2" / "train.tsv").write_text("sentence\tlabel\nfine\t1\nno tab here 1\n")
    with pytest.raises(DataError, match=r"train\.tsv, line 3: no TAB between sentence and label"):
        load_sentiment("sst2")
    (text_dir / "sst2" / "train.tsv").write_text("sentence\tlabel\n")
    with pytest.raises(DataError, match=r"train\.tsv holds no sentences after its header"):
        load_sentiment("sst2")


def test_text_that_is_not_utf8_is_refused_not_guessed(text_dir):
    (text_dir / "sst2").mkdir()
    (text_dir / "sst2" / "train.tsv").write_bytes(b"sentence\tlabel\ncaf\xe9\t1\n")  # latin-1
    with pytest.raises(DataError, match=r"train\.tsv is not UTF-8 text \(byte 0xe9 at offset 18\)"):
        load_sentiment("sst2")

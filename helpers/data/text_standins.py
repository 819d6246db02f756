"""Generated stand-ins for the text corpora, with real structure. NOT the real data.

- A play-like text (speaker names, verse lines from a small word grammar) for character models.
- Review sentences whose label depends on word order: "not good" is negative and "not bad" is
  positive, so a sequence model can beat a bag-of-words model on them.
"""

from __future__ import annotations

import numpy as np

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


def play_text(n_chars: int, seed: int) -> str:
    """About `n_chars` characters (exactly, cut at the end) of a generated play."""
    rng = np.random.default_rng([int(seed), 11])
    parts: list[str] = []
    size = 0
    while size < n_chars:
        speaker = _SPEAKERS[rng.integers(len(_SPEAKERS))]
        lines = [_line(rng) for _ in range(int(rng.integers(1, 5)))]
        speech = f"{speaker}:\n" + "\n".join(lines) + "\n\n"
        parts.append(speech)
        size += len(speech)
    return "".join(parts)[:n_chars]


def review_sentences(n: int, seed: int, split: str) -> tuple[list[str], np.ndarray]:
    """`n` class-balanced review sentences and labels (0 negative, 1 positive).

    A sentence's words carry polarity, and a negation ("not", "did not") flips it; negations
    appear equally often in both classes.
    """
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
            base = forms[verb]
            obj = pick(_REVIEW_SUBJECTS)
            core = f"i did not {base} {obj}" if negated else f"i {verb} {obj}"
        sentences.append(f"{pick(_PREFIXES)}{core} .")
    return sentences, labels.astype(np.int64)


def _line(rng: np.random.Generator) -> str:
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

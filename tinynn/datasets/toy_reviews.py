"""Short synthetic movie reviews with a known sentiment, made on the spot
(no download): a small text data set for the text-classification notebook
and tests.

Each review is a few clauses, like "the plot was dull but the acting was
superb and i loved it". Every clause carries one opinion word from a
positive or a negative list (with an optional intensifier, "really",
"truly"...); around them are neutral words (subjects, verbs, fillers).
The rule: **a review is positive (label 1) when it has more positive than
negative opinion words**. The number of opinions is odd, so there are no
ties. A bag-of-words model (an Embedding averaged over the words) can learn
the rule exactly; the neutral words are noise it must learn to ignore.

The reviews depend only on `seed` and the sizes: the same arguments give
the same texts on every machine (NumPy's PCG64 generator).
"""

from __future__ import annotations

import numpy as np

from .._checks import non_negative_int

__all__ = ["POSITIVE", "NEGATIVE", "load_data", "reviews"]

POSITIVE = (
    "great",
    "superb",
    "wonderful",
    "brilliant",
    "moving",
    "delightful",
    "excellent",
    "charming",
    "gripping",
    "beautiful",
    "funny",
    "clever",
)
NEGATIVE = (
    "dull",
    "boring",
    "awful",
    "terrible",
    "clumsy",
    "tedious",
    "weak",
    "predictable",
    "bland",
    "messy",
    "silly",
    "painful",
)
_SUBJECTS = (
    "the plot",
    "the acting",
    "the script",
    "the music",
    "the ending",
    "the cast",
    "the director's work",
    "the story",
    "the dialogue",
    "the camera work",
    "this film",
    "the movie",
    "the lead actor",
    "the second half",
)
_VERBS = ("was", "is", "felt", "seemed", "looked", "sounded")
_INTENSIFIERS = ("", "", "", "really ", "truly ", "quite ", "very ", "rather ")
_JOINERS = (" and ", " but ", ", ", " while ", " although ", "; ")
_OPENINGS = ("", "", "", "honestly, ", "overall ", "i think ", "in short, ")
_ENDINGS = ("", "", "", ".", "!", " to me.", " in my view.")


def reviews(
    n: int, seed: int = 0, opinions: tuple[int, ...] = (1, 3, 5)
) -> tuple[np.ndarray, np.ndarray]:
    """`n` reviews (a str array of shape (n,)) and their labels (int64 0/1,
    shape (n,)). Each review has one of `opinions` (odd counts) opinion
    clauses; labels come out about half and half."""
    n = non_negative_int(n, "toy_reviews.reviews", "n")
    if not opinions or any(
        not isinstance(k, int) or k < 1 or k % 2 == 0 for k in opinions
    ):
        raise ValueError(
            "toy_reviews.reviews: opinions must be odd positive clause counts "
            f"(no ties between positive and negative words); got {opinions!r}"
        )
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        count = int(rng.choice(opinions))
        # decide the label first, then how many of the opinions agree with it
        label = int(rng.integers(2))
        majority = int(rng.integers(count // 2 + 1, count + 1))
        signs = [label] * majority + [1 - label] * (count - majority)
        rng.shuffle(signs)
        clauses = []
        for sign in signs:
            words = POSITIVE if sign else NEGATIVE
            clauses.append(
                f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} "
                f"{rng.choice(_INTENSIFIERS)}{rng.choice(words)}"
            )
        text = clauses[0]
        for clause in clauses[1:]:
            text += rng.choice(_JOINERS) + clause
        texts.append(rng.choice(_OPENINGS) + text + rng.choice(_ENDINGS))
        labels.append(label)
    return np.array(texts, dtype=str), np.array(labels, dtype=np.int64)


def load_data(
    num_train: int = 800, num_test: int = 200, seed: int = 113
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)`` as ``imdb.load_data`` gives
    them, but as raw texts: str arrays of reviews and int64 labels (1 for
    positive). Train and test come from one stream of `num_train +
    num_test` reviews generated from `seed`."""
    where = "toy_reviews.load_data"
    num_train = non_negative_int(num_train, where, "num_train")
    num_test = non_negative_int(num_test, where, "num_test")
    x, y = reviews(num_train + num_test, seed)
    return (x[:num_train], y[:num_train]), (x[num_train:], y[num_train:])

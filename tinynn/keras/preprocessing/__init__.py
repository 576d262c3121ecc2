"""``tf.keras.preprocessing``: ``sequence.pad_sequences`` and ``text.*``
(re-exported from tinynn.text)."""

from . import sequence, text

__all__ = ["sequence", "text"]

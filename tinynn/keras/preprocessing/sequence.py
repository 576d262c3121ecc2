"""``tf.keras.preprocessing.sequence`` (re-exported from tinynn.text)."""

from tinynn.text import pad_sequences

__all__ = ["pad_sequences"]

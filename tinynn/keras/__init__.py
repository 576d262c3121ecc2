"""tf.keras-compatible namespace."""

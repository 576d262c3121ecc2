"""``tf.keras.backend``: floatx, set_floatx, clear_session, epsilon."""

from tinynn.backend import clear_session, epsilon, floatx, set_floatx

__all__ = ["clear_session", "epsilon", "floatx", "set_floatx"]

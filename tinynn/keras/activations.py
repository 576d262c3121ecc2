"""``tf.keras.activations`` names (re-exported from tinynn.activations)."""

from tinynn.activations import *  # noqa: F401,F403
from tinynn.activations import __all__  # noqa: F401

"""``tf.keras.layers`` names (re-exported from tinynn.layers)."""

from tinynn.layers import *  # noqa: F401,F403
from tinynn.layers import __all__  # noqa: F401

"""``tf.keras.metrics`` names (re-exported from tinynn.metrics)."""

from tinynn.metrics import *  # noqa: F401,F403
from tinynn.metrics import __all__  # noqa: F401

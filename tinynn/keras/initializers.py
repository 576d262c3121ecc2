"""``tf.keras.initializers`` names (re-exported from tinynn.initializers)."""

from tinynn.initializers import *  # noqa: F401,F403
from tinynn.initializers import __all__  # noqa: F401

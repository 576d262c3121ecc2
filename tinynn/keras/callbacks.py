"""``tf.keras.callbacks`` names (re-exported from tinynn.callbacks)."""

from tinynn.callbacks import *  # noqa: F401,F403
from tinynn.callbacks import __all__  # noqa: F401

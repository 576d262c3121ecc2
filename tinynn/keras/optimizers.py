"""``tf.keras.optimizers`` names (re-exported from tinynn.optimizers)."""

from tinynn.optimizers import *  # noqa: F401,F403
from tinynn.optimizers import __all__  # noqa: F401

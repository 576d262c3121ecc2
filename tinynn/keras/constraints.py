"""``tf.keras.constraints`` names (re-exported from tinynn.constraints)."""

from tinynn.constraints import *  # noqa: F401,F403
from tinynn.constraints import __all__  # noqa: F401

"""``tf.keras.losses`` names (re-exported from tinynn.losses)."""

from tinynn.losses import *  # noqa: F401,F403
from tinynn.losses import __all__  # noqa: F401

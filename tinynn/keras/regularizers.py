"""``tf.keras.regularizers`` names (re-exported from tinynn.regularizers)."""

from tinynn.regularizers import *  # noqa: F401,F403
from tinynn.regularizers import __all__  # noqa: F401

"""``tf.keras.utils`` names (re-exported from tinynn.utils)."""

from tinynn.utils import *  # noqa: F401,F403
from tinynn.utils import __all__  # noqa: F401

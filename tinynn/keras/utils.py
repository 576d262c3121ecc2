"""``tf.keras.utils`` names (re-exported from tinynn.utils)."""

from tinynn.utils import *  # noqa: F401,F403
from tinynn.utils import __all__  # noqa: F401
from tinynn._unsupported import UTILS as _UNSUPPORTED, module_getattr  # noqa: E402

__getattr__ = module_getattr(__name__, _UNSUPPORTED, "tf.keras.utils")

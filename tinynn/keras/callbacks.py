"""``tf.keras.callbacks`` names (re-exported from tinynn.callbacks)."""

from tinynn.callbacks import *  # noqa: F401,F403
from tinynn.callbacks import __all__  # noqa: F401
from tinynn._unsupported import CALLBACKS as _UNSUPPORTED, module_getattr  # noqa: E402

__getattr__ = module_getattr(__name__, _UNSUPPORTED, "tf.keras.callbacks")

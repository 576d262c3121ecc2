"""``tf.keras.layers`` names (re-exported from tinynn.layers)."""

from tinynn.layers import *  # noqa: F401,F403
from tinynn.layers import __all__ as _LAYERS
from tinynn._unsupported import LAYERS as _UNSUPPORTED, module_getattr

__all__ = list(_LAYERS)
__getattr__ = module_getattr(__name__, _UNSUPPORTED, "tf.keras.layers")

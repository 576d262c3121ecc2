"""``tf.keras.optimizers`` names (re-exported from tinynn.optimizers);
``tinynn.keras.optimizers.schedules`` is tinynn.schedules, importable by
that name too."""

import sys

from tinynn import schedules
from tinynn.optimizers import *  # noqa: F401,F403
from tinynn.optimizers import __all__  # noqa: F401

sys.modules[__name__ + ".schedules"] = schedules
from tinynn._unsupported import OPTIMIZERS as _UNSUPPORTED, module_getattr  # noqa: E402

__getattr__ = module_getattr(__name__, _UNSUPPORTED, "tf.keras.optimizers")

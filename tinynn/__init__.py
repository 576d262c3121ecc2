"""tinynn: a small Keras-like neural-network library with a C core."""
__version__ = "0.1.0"

"""Support package of the course: the NumPy/CuPy toggle and the lessons' reference code."""

from . import backend, similarity
from .backend import asarray, gpu_available, to_numpy, use, xp
from .display import show_source

__all__ = ["asarray", "backend", "gpu_available", "show_source", "similarity", "to_numpy",
           "use", "xp"]

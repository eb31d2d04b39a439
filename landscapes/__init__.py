"""Loss surfaces: classic 2-D test functions and teaching surfaces, with their known minima.

>>> import landscapes
>>> f = landscapes.get("rosenbrock")
>>> float(f([1.0, 1.0]))
0.0
"""

from . import classic, teaching  # noqa: F401  (registers the surfaces)
from .base import Landscape, Minimum, Parameter, Saddle
from .registry import available, get, parameters, register

__all__ = [
    "Landscape",
    "Minimum",
    "Parameter",
    "Saddle",
    "available",
    "get",
    "parameters",
    "register",
]

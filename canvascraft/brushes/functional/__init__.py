"""Pure functions behind the brushes, for the few operations the wrapped libraries lack.

They take every random value as an argument (the brush draws it in ``make_params``), so they are
deterministic and can be tested and reused without a brush around them.
"""

from canvascraft.brushes.functional.image import add_noise_uint8

__all__ = ["add_noise_uint8"]

"""Deprecated name of :mod:`tnn.sweeps.presets` (the ``tnn sweep`` presets moved into the sweeps package).

Importing it warns (``DeprecationWarning``) and gives the same objects; it goes in the next version.
"""

import warnings

from tnn.sweeps.presets import PRESETS, SweepAxis, SweepPreset, boundary_lines, run_preset

__all__ = ["SweepAxis", "SweepPreset", "PRESETS", "run_preset", "boundary_lines"]

warnings.warn("tnn.sweep_presets moved to tnn.sweeps.presets; import it from there "
              "(the old name goes in the next version)", DeprecationWarning, stacklevel=2)

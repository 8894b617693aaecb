"""Deprecated name of :mod:`tnn.study.trainability` (the trainability runs train and draw: they moved
into the study, issue 21).

Importing it, or a submodule (``tnn.trainability.ensemble``), warns (``DeprecationWarning``) and gives
the same objects; it goes in the next version.
"""

from tnn._moved import alias_package
from tnn.study import trainability as _new

alias_package(__name__, _new, ("ensemble", "gradvar", "phase", "report", "sensitivity", "targets"))

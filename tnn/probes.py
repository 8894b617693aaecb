"""Deprecated name of :mod:`tnn.study.probes` (the edge probes train and test networks: they moved into
the study, issue 21).

Importing it, or a submodule (``tnn.probes.sets``), warns (``DeprecationWarning``) and gives the same
objects; it goes in the next version.
"""

from tnn._moved import alias_package
from tnn.study import probes as _new

alias_package(__name__, _new, ("common", "edges", "paired", "run", "saliency", "sets", "widths"))

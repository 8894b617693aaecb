r"""Static lattice geometry: ``chain``, ``square``, ``honeycomb`` and any Bravais lattice a user brings.

A :class:`Lattice` is a frozen, hashable description of a finite sample (kind, sizes, boundary
condition). Everything derived from it -- cell coordinates, Cartesian site positions, sublattice
labels, bond lists -- is plain NumPy, computed once and cached on the instance. Because equality and
hashing depend only on ``(kind, dims, pbc, order, n_orb, vectors, offsets)``, a lattice can be passed as a static argument of
``jax.jit`` and two equal lattices share one compilation. It is also registered as a JAX pytree
with no leaves (the geometry is static aux data), so it can be passed to a jitted or vmapped
function like any other argument, without ``static_argnames``: ``jax.jit(f)(H, lat)``.

Index conventions (see ``docs/conventions.md``)
--------------------------------------
* ``chain(L)``: cell ``n = 0..L-1`` holds sites A_n (index ``2n``) and B_n (index ``2n+1``).
  Cell coordinate ``n``; Cartesian position of both sites ``n`` (the invariants use the cell
  index, not the site index).
* ``square(lx, ly, n_orb=2)``: ``n_orb`` orbitals per cell (two by default: QWZ; four: two spins of two), all at
  the cell's position; site index ``n_orb*(x*ly + y) + s``; cell area 1.
* ``honeycomb(lx, ly)``: Bravais vectors ``a1 = (1, 0)``, ``a2 = (1/2, sqrt(3)/2)``; sublattice
  ``s = 0`` (A) at ``(0, 0)`` and ``s = 1`` (B) at ``(1/2, sqrt(3)/6)`` inside the cell; site index
  ``2*(x*ly + y) + s`` with ``(x, y)`` the integer coordinates along ``a1, a2``.
* ``bravais(vectors, basis, dims)`` (kind ``"bravais"``): any Bravais lattice in 1D or 2D with any
  number of orbitals per cell at any offsets (``basis``); site index ``n_orb * cell + orbital``, the
  cell index in C order as above. :func:`from_sites` finds these from a user's per-site arrays.
  The real-space Chern invariants (marker, Bott, Kitaev, localizer, KPM) read any 2D one; the winding
  number any 1D one: orbital 0 the A and orbital 1 the B sublattice for two orbitals per cell (the
  chiral operator ``diag(+1, -1)`` per cell), the user's chiral operator (``chiral=``) for more.

Shapes: ``N = n_sites = n_cells * n_orb``; ``d`` is the spatial dimension (1 or 2).
"""

from tnn.lattice.geometry import (ANY_KIND, BRAVAIS, CHAINS, PLANES, Lattice, bravais, chain, check_lattice, honeycomb,
                                  square)
from tnn.lattice.sites import from_sites

Lattice.__module__ = __name__  # pickles and reprs name tnn.lattice.Lattice, as before the split

__all__ = ["Lattice", "chain", "square", "honeycomb", "bravais", "from_sites", "check_lattice", "CHAINS", "PLANES",
           "ANY_KIND", "BRAVAIS"]

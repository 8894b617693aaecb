r"""The real-space invariants as tensor networks, and the exact tensors that make them exact.

Every invariant of :mod:`tnn.invariants` is written here once as a network whose nodes are the
eigenvector tensor ``psi`` and its conjugate, spectral weights, coordinate vectors or distance
kernels, sublattice mixings and masks. The networks take *all* of these as explicit arguments: with
the tensors returned by the ``exact_*`` builders they compute the invariant; with free (trainable)
tensors in their place they are the layers of the "topo" model. This is the only package that imports
``tensornetwork`` (in :mod:`tnn.contractions.engine`).

How a network is contracted
---------------------------
:func:`contract` takes an einsum-style description (``"ion,o,jpn,...->"``), asks ``opt_einsum`` for a
contraction path (pairwise order chosen by an optimizer, never by hand, cached per description and
shapes) and executes each pairwise step with ``tensornetwork.ncon`` on the JAX backend: indices that
survive the step become ncon's open (negative) labels, the others its contracted (positive) labels,
so hyperedges (an index shared by three or more nodes, such as a site index carried by ``psi``,
``conj(psi)`` and a coordinate vector) are handled as ncon batch labels. Everything is traceable:
networks run under ``jit``, ``vmap`` and ``grad``. ``engine="einsum"`` runs the same path through
``jnp.einsum`` instead (the tests check both agree to 1e-12).

Index conventions (those of :mod:`tnn.lattice`)
-----------------------------------------------
* ``psi`` has shape ``(n_cells, n_orb, n_states)``: ``psi[r, o, n]`` is the amplitude of state ``n``
  on orbital ``o`` of cell ``r`` (a site-ordered eigenvector matrix ``V`` of shape ``(N, n_states)``
  is accepted and reshaped, since site ``i = n_orb * r + o``). Columns are states.
* Spectral weights are real vectors over states: ``s_n = sign(E_n - E_F)`` for the winding number,
  occupations ``f_n`` (1 occupied, 0 empty) for projectors ``P = sum_n f_n psi_n psi_n^dag``.
  The exact ones split the spectrum at half filling (:func:`exact_occupation`), as
  :mod:`tnn.kspace` does (lower half of the bands).
* Site vectors (coordinates, masks, Bott phases) have shape ``(N,)`` or ``(n_cells, n_orb)``.
* SSH chains: cell index ``x`` is the position (docs/conventions.md); ``A_i`` is site ``2i``, ``B_j`` site ``2j+1``.

Channels
--------
Networks are written for one channel. Several channels (``K`` kernels, weights, mixings, ...) are
one ``jax.vmap`` away, e.g. ``jax.vmap(winding_network, in_axes=(None, 0, 0, 0))(psi, s, K, M)``
for stacked ``(K, ...)`` tensors; :func:`winding_from_polar` also accepts a kernel with a leading
channel axis directly.

Modules
-------
:mod:`~tnn.contractions.engine` (``contract``, ``contraction_path``: the only module that imports
``tensornetwork``), :mod:`~tnn.contractions.networks` (the networks), :mod:`~tnn.contractions.exact`
(the exact tensors). Every public name is re-exported here (``tnn.contractions.contract``).
"""

from tnn.contractions.engine import contract, contraction_path
from tnn.contractions.exact import (
    bulk_cells,
    bulk_window,
    check_trim,
    default_kitaev_radius,
    default_trim,
    exact_bott_phases,
    exact_coordinates,
    exact_kitaev_sectors,
    exact_marker_scale,
    exact_mixing,
    exact_occupation,
    exact_winding_kernel,
    exact_winding_weights,
    fractional_coordinates,
    site_mask_from_cells,
)
from tnn.contractions.networks import (
    KITAEV_SCALE,
    as_cell_orbital,
    bott_from_unitaries,
    bott_unitaries,
    kitaev_network,
    marker_network,
    winding_from_polar,
    winding_network,
    window_average,
)

__all__ = [
    "contract",
    "contraction_path",
    "as_cell_orbital",
    # networks
    "winding_from_polar",
    "winding_network",
    "marker_network",
    "kitaev_network",
    "bott_unitaries",
    "bott_from_unitaries",
    "window_average",
    # exact tensors
    "default_trim",
    "bulk_cells",
    "bulk_window",
    "exact_winding_kernel",
    "exact_mixing",
    "exact_winding_weights",
    "exact_occupation",
    "exact_coordinates",
    "exact_marker_scale",
    "exact_kitaev_sectors",
    "default_kitaev_radius",
    "exact_bott_phases",
    "fractional_coordinates",
    "site_mask_from_cells",
    "check_trim",
    "KITAEV_SCALE",
]

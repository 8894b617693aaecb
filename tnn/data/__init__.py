r"""Datasets for the learnability studies: specs, generation, shards + manifest, streaming loaders.

Quick use::

    from tnn import data
    spec = data.preset("ssh", n=2000, seed=0)          # a frozen DatasetSpec (validated)
    ds = data.generate(spec, "data/ssh")               # resumable; bit-identical for equal specs
    train = ds.load("train")                           # {name: (n_train, ...)} NumPy arrays
    for batch in ds.batches("train", 64, seed=0, epoch=3):
        ...

or from the shell: ``tnn data generate --preset ssh --n 2000 --out data/ssh`` and
``tnn data info data/ssh``.

Modules: :mod:`~tnn.data.spec` (specs, presets), :mod:`~tnn.data.samples` (draws, rejection,
labels and features of each sample: :func:`compute_samples`, :func:`preflight`),
:mod:`~tnn.data.features` (the feature registry), :mod:`~tnn.data.exact` (the exact labels, ``xi`` and the
distance to the transition),
:mod:`~tnn.data.eigensystem` (eigenvector gauge, chiral eigensystem), :mod:`~tnn.data.generation`
(shards, manifest, resume, worker processes: :func:`generate`), :mod:`~tnn.data.store` (reading),
:mod:`~tnn.data.info` (what a dataset holds; ``tnn data info``, whose parser is :mod:`tnn.cli.data`).

Stored arrays (leading sample axis ``S``; ``N = n_orb * n_cells`` sites, ``L`` chain cells)
------------------------------------------------------------------------------------------
Features (``spec.dtype``: float64/complex128, or float32/complex64; real for the SSH chain,
complex for QWZ and Haldane). Their one registry is :mod:`tnn.data.features` (a record per feature:
source, shape kind, dtype rule); a system adds its own through ``System.features``:

* ``wavefunctions`` ``(S, N, N)``: eigenvectors of ``H`` as columns, ``wavefunctions[s, i, n]`` the
  amplitude on site ``i`` (site order of :mod:`tnn.lattice`) of the ``n``-th state, states sorted by
  energy (ascending, ``eigh`` order). The phase of each eigenvector is fixed by ``spec.gauge``
  (:func:`fix_gauge`; default ``"overlap"``: the overlap with a fixed generic real vector is real
  positive). A model that is not gauge invariant sees this convention; rotations inside degenerate
  eigenspaces (clean periodic samples) are not fixed.
* ``density`` ``(S, N, N)``: ``|psi_n(i)|^2``, same layout, averaged over each degenerate cluster of
  states (:mod:`tnn.data.features`), so it is gauge invariant (phases and rotations inside a
  degenerate eigenspace), on the eigh and the chiral SVD route alike.
* ``edge_modes`` ``(S, N, k)``, ``k = EDGE_MODES_K = 4``: the ``density`` columns of the ``k`` states
  nearest zero energy, ordered by ``|E|`` then ``E`` (the edge modes of an open topological chain first).
* ``hamiltonian`` ``(S, N, N)``: the real-space ``H``.
* ``hoppings`` ``(S, R + 2, L)`` (SSH's own, :mod:`tnn.systems.ssh`): row ``r < R`` holds the amplitude of the bond
  ``B_n -> A_{n + ranges[r]}`` at column ``n`` (0 where an open chain has no such bond); rows
  ``R`` and ``R + 1`` the onsite energies of ``A_n`` and ``B_n``.
* ``projector``: SSH ``(S, L, L)`` the chiral block ``U = P_A Q P_B`` of ``Q = sign(H)`` (the object
  of the winding number); 2D ``(S, N, N)`` the flattened Hamiltonian ``Q = P_+ - P_- = 1 - 2 P``.
  ``Q = V sign(E) V^dag`` with ``sign(0) = 0`` for exact zero modes (``|E| <= 1e-12 max|E|``, as
  :mod:`tnn.invariants`: the arbitrary pairing of an exact zero-mode pair drops out).

Always stored (labels float64 / int32 / bool):

* ``energies`` ``(S, N)`` float64, ascending.
* ``label`` int32: the training label as ``spec.label`` says: ``"exact"`` (every preset's default)
  the reference of the infinite system (:mod:`tnn.data.exact`: clean k space, the zero-energy
  Lyapunov winding of disordered chiral chains, the certified real-space value of disordered 2D
  samples), ``"realspace"`` ``class``, ``"kspace"`` ``kspace_class``.
* ``label_source`` int32 (0 k space, 1 Lyapunov, 2 certified real space, -1 none: ill-defined),
  ``label_reason`` int32 (0 ok, 1 kspace_gapless, 2 symmetry_broken, 3 at_transition,
  4 uncertified; :data:`tnn.data.exact.LABEL_REASONS`), ``xi`` (correlation / localization length
  in cells; NaN where no exact reference exists), ``transition_distance`` (chains ``1/xi``; 2D the
  clean k-space gap) and ``transition_error`` (its statistical error): :mod:`tnn.data.exact`. They
  are computed for every label kind.
* ``invariant``: the real-space invariant, raw (never NaN-ed): chiral chains the polar route of
  :func:`tnn.invariants.winding_number` (its SVD of the chiral block,
  :func:`tnn.invariants.winding_polar_energies`, or :func:`tnn.invariants.winding_number_from_svd`
  when eigenvector features need the eigenvectors; the same numbers); SSH with onsite disorder
  :func:`tnn.invariants.winding_number_from_eigh`; 2D :func:`tnn.invariants.chern_number_from_eigh`
  with ``spec.method``;
  ``class`` its rounded value (``INVALID_CLASS`` if not finite).
* ``kspace``, ``kspace_class``: the clean model's k-space invariant (:mod:`tnn.kspace`, same
  parameters without disorder) and its rounding; ``kspace_gap`` its gap.
* ``invariant`` is the raw value; its certificate (:mod:`tnn.validity`) is stored beside it:
  ``tail`` (the tail moment of the correlations), ``reason`` (0 valid; see
  :data:`tnn.validity.REASONS`), ``gap`` the real-space (bulk) spectral gap. ``invalid``: no
  certified value (``reason != 0``; with an explicit ``spec.gap_tol``: ``gap`` below it instead);
  ``kspace_gapless``; ``symmetry_broken``: SSH with onsite disorder ``W > 0`` (chiral symmetry
  broken, the winding number is not protected); ``ill_defined``: the training label should not be
  trusted (``symmetry_broken``, plus ``invalid`` or a NaN value for real-space labels, or
  ``kspace_gapless`` for k-space labels). A valid clean sample agrees with k space
  (``experiments/bench_labels.py`` measures it).
* ``params`` ``(S, P)`` (:func:`tnn.data.spec.param_names` order), ``strength`` (disorder ``W``),
  ``near_boundary`` (drawn by the boundary oversampling), ``attempts`` (rejection draws),
  ``index`` (the sample's PRNG index: ``spec.index_offset`` plus its position).

Compact datasets (``spec.compact``, ``tnn data generate --compact``): the shards hold only the
arrays above ("always stored"); every feature is recomputed on loading from ``params``,
``strength`` and ``index`` (:func:`rebuild_features`: the computation of generation, so the loaded
arrays equal those a stored dataset holds, bit for bit). ``Dataset.arrays`` lists them all;
``Dataset.derived`` names the recomputed ones.

Why float64 by default for SSH: the exact "topo" model must reproduce the invariant to 1e-8 from
the stored eigenvectors, which float32 cannot; the 2D presets store float32 (half the disk) and can
be switched with ``dtype="float64"``.
"""

from tnn.data.info import dataset_info, format_info, spec_difference
from tnn.data.eigensystem import chiral_eigh, fix_gauge, gauge_reference
from tnn.data.generation import generate
from tnn.data.samples import INVALID_CLASS, LABEL_ARRAYS, MAX_ATTEMPTS, compute_samples, preflight, rebuild_features
from tnn.data.spec import (
    FEATURES,
    LABELS,
    MODELS,
    PRESETS,
    DatasetSpec,
    ParamDist,
    choice,
    fixed,
    normal,
    param_names,
    preset,
    uniform,
)
from tnn.data.store import Dataset, DatasetError, ShardError, open_dataset

__all__ = [
    "DatasetSpec",
    "ParamDist",
    "preset",
    "PRESETS",
    "MODELS",
    "FEATURES",
    "LABELS",
    "param_names",
    "uniform",
    "fixed",
    "normal",
    "choice",
    "generate",
    "compute_samples",
    "rebuild_features",
    "preflight",
    "fix_gauge",
    "gauge_reference",
    "chiral_eigh",
    "INVALID_CLASS",
    "LABEL_ARRAYS",
    "MAX_ATTEMPTS",
    "Dataset",
    "open_dataset",
    "DatasetError",
    "ShardError",
    "dataset_info",
    "format_info",
    "spec_difference",
]

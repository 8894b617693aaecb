r"""What a physical system is, for the rest of the library: one :class:`System` record per module.

A system module (``tnn/systems/ssh.py``, ``qwz.py``, ``haldane.py``, ``kitaev.py``) holds everything
specific to one family of Hamiltonians (its dataset presets, ``tnn demo`` panel and ``tnn sweep``
phase diagrams included) and describes it with a :class:`System`; the registry
(:mod:`tnn.systems`) maps names to these records. ``tnn.hamiltonians``, ``tnn.kspace``,
``tnn.data``, ``tnn.demo`` and ``tnn.sweeps.presets`` ask the registry and never compare system names.

Conventions of the parameters:

* ``params``: a dict keyed by ``System.params`` (the builder's physical arguments, e.g.
  ``{"t": t}`` for SSH, ``{"m": m}`` for QWZ); the same dict goes to the builder, the Bloch
  Hamiltonian and the k-space invariant.
* ``theta``: the flat float vector ``(P,)`` a dataset samples, one entry per name of
  ``System.sample_names(ranges)``; ``System.to_params(theta, ranges)`` turns it into ``params``.
* ``ranges``: the static hopping ranges of the SSH family (``()`` for every other system).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Protocol

import numpy as np
import jax
import jax.numpy as jnp

from tnn import invariants

__all__ = ["System", "DemoPanel", "SweepAxis", "SweepPreset", "Feature", "Sample", "FeatureFn", "TermsFn", "KspaceFn",
           "ColumnsFn", "RealspaceFn", "DecayRatesFn", "CHERN_2D", "INVALID_CLASS", "nearest_class", "FEATURE_SOURCES",
           "FEATURE_KINDS", "FEATURE_DTYPES"]

#: class stored for a value that has none (NaN, not defined): never a real class
INVALID_CLASS = -1000


def nearest_class(value, defined=None):
    """The class of invariant values: ``(cls, ok)``, ``cls`` the nearest integer (``int32``; halves to
    even, as ``jnp.rint`` and ``np.round``) where ``ok``, :data:`INVALID_CLASS` elsewhere; ``ok`` is
    ``isfinite(value)`` and ``defined`` when given. The one rounding of the library (datasets, probes):
    JAX arrays (traced too) in, JAX arrays out; NumPy in, NumPy out (float64 kept without x64)."""
    xp = jnp if isinstance(value, jax.Array) or isinstance(defined, jax.Array) else np
    v = xp.asarray(value)
    ok = xp.isfinite(v) if defined is None else (xp.asarray(defined) & xp.isfinite(v))
    return xp.where(ok, xp.rint(xp.where(ok, v, 0.0)), INVALID_CLASS).astype(xp.int32), ok


class TermsFn(Protocol):
    """``(theta (P,), lat, ranges, disorder: str, W scalar, key | None) -> tnn.hamiltonians.Terms``:
    a dataset sample's Hamiltonian; ``key is None`` means clean."""

    def __call__(self, theta, lat, ranges: tuple[int, ...], disorder: str, w, key) -> Any: ...


class KspaceFn(Protocol):
    """``(params: dict, ranges, nk) -> (invariant float, gap float)``, jittable and vmappable."""

    def __call__(self, params: dict, ranges: tuple[int, ...], nk: int) -> tuple[Any, Any]: ...


class ColumnsFn(Protocol):
    """``(theta (P,), ranges, disorder: str, W scalar, key | None, n: int) -> (columns (n, R), col_ranges)``:
    the chiral-block columns ``columns[b, i] = h[b + col_ranges[i], b]`` (up to one common phase) of
    ``n`` cells of a long chain drawn from the distribution of a dataset sample (its parameters, its
    disorder kind and strength ``W``, fresh disorder from ``key``; ``key is None``: clean).
    ``col_ranges`` is a static tuple. The exact labels take the zero-energy Lyapunov exponents of
    it (:func:`tnn.validity.lyapunov_scan`); with ``n = 1`` and no key, the clean cell."""

    def __call__(self, theta, ranges: tuple[int, ...], disorder: str, w, key, n: int) -> tuple[Any, tuple[int, ...]]: ...


class RealspaceFn(Protocol):
    """``(E (N,), V (N, N), lat, method: str, window) -> (raw value, certificate)``: a 2D system's own
    real-space invariant of a dataset sample from its eigensystem, jittable and vmappable. ``window``
    is the trim of an open sample's bulk window (None: the default; always None for ``"bott"``). The
    value is raw (never NaN-ed, as ``validity="raw"`` of :mod:`tnn.invariants`); the certificate has
    ``gap``, ``reason`` (codes of :data:`tnn.validity.REASONS`) and ``tail``, which the dataset stores."""

    def __call__(self, E, V, lat, method: str, window) -> tuple[Any, Any]: ...


class DecayRatesFn(Protocol):
    """``(params: dict, rates) -> (kappa_1, kappa_2)``: the decay rates (1/cells) of the clean model's
    Fermi projector along its Bravais vectors (NaN where not known), jittable; ``rates(bloch)`` gives
    those of a two-band Bloch function ``k (2,) -> (2, 2)`` (:func:`tnn.data.exact.bloch_decay_rates`
    with the system's reciprocal vectors)."""

    def __call__(self, params: dict, rates: Callable) -> Any: ...


#: what a feature is computed from: the eigensystem ``E, V`` (the dataset diagonalizes only when a
#: stored feature asks for it), the dense ``H``, or the sample's Hamiltonian terms and parameters
FEATURE_SOURCES = ("eigensystem", "hamiltonian", "terms")
#: the shape of one sample's feature (``N`` sites, ``L`` cells of a chain):
#: ``"eigenvectors"`` ``(N, N)``, the states in the columns (read with the energies);
#: ``"sites"`` ``(N, k)``, ``k`` values per site; ``"matrix"`` ``(N, N)``, an operator on the sites (a
#: chiral chain's may be its ``(L, L)`` chiral block ``[A, B]``); ``"cells"`` ``(C, *dims)``, ``C``
#: values per cell, the cells last
FEATURE_KINDS = ("eigenvectors", "sites", "matrix", "cells")
#: the dtype of a feature (float64/complex128; ``float32`` datasets store float32/complex64):
#: ``"real"`` always real; ``"hamiltonian"`` real for a real ``H``, complex for a complex one
FEATURE_DTYPES = ("real", "hamiltonian")


@dataclasses.dataclass(frozen=True, eq=False)
class Sample:
    """One dataset sample as a feature function reads it (inside the jitted, vmapped computation of a
    dataset's chunk: every array is one sample's, traced).

    system: the sample's :class:`System`. lat: its static :class:`tnn.lattice.Lattice`.
    ranges: the static hopping ranges (``()`` for systems without). theta: the sampled parameters
    ``(P,)`` (``System.sample_names`` order). terms: the :class:`tnn.assembly.Terms` of its
    Hamiltonian (bond lists and amplitudes, disorder included). H: the dense ``(N, N)``.
    E, V: the eigensystem ``(N,)`` ascending, ``(N, N)`` eigenvectors in columns; None unless a
    feature of source ``"eigensystem"`` is asked. gauge: the dataset's eigenvector phase convention
    (:func:`tnn.data.fix_gauge`).
    """

    system: "System"
    lat: Any
    ranges: tuple[int, ...]
    theta: Any
    terms: Any
    H: Any
    E: Any = None
    V: Any = None
    gauge: str = "overlap"


class FeatureFn(Protocol):
    """``(sample: Sample) -> array``: one sample's feature in float64/complex128, jittable."""

    def __call__(self, sample: Sample) -> Any: ...


@dataclasses.dataclass(frozen=True)
class Feature:
    """A dataset feature: what a dataset may store per sample, and how it is computed.

    The features every system provides are :data:`tnn.data.features.COMMON_FEATURES`; a system
    contributes its own in ``System.features`` (SSH: ``hoppings``), and :mod:`tnn.data` computes
    them by the same call, without knowing them. :mod:`tnn.data.features` is their registry.

    name: the feature's name (a key of the stored arrays).
    source: what it is computed from, one of :data:`FEATURE_SOURCES`.
    kind: its shape, one of :data:`FEATURE_KINDS`.
    dtype: its dtype rule, one of :data:`FEATURE_DTYPES`.
    compute: the feature of one sample (:class:`FeatureFn`).
    doc: one line for humans: shape and meaning.
    from_hamiltonian: ``(H (N, N), lat, ranges) -> array``, the same feature read back from any
      Hamiltonian of the lattice (the probes' modified chains hold no terms); None where a
      Hamiltonian alone does not determine it. Features of source ``"hamiltonian"`` and
      ``"eigensystem"`` need none.
    """

    name: str
    source: str
    kind: str
    dtype: str
    compute: FeatureFn
    doc: str = ""
    from_hamiltonian: Callable | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"Argument `name` must be an identifier (a stored array's name), got {self.name!r}.")
        for field, known in (("source", FEATURE_SOURCES), ("kind", FEATURE_KINDS), ("dtype", FEATURE_DTYPES)):
            if getattr(self, field) not in known:
                raise ValueError(f"Argument `{field}` must be one of {known}, got {getattr(self, field)!r}.")
        if not callable(self.compute):
            raise ValueError(f"Argument `compute` must be a function of a Sample, got {self.compute!r}.")


@dataclasses.dataclass(frozen=True)
class DemoPanel:
    """A system's panel(s) in ``tnn demo``.

    run: ``(quick: bool, key) -> (report: dict, extra)``; ``report`` is JSON-ready and goes into
      ``demo.json`` under the system's name; ``extra`` holds what only the plot needs (fine k-space
      reference curves).
    plot: ``(axes: list of matplotlib Axes, report, extra) -> None``.
    n_axes: how many axes the panel draws on. width: the relative width of each.
    summary: ``(report) -> list of str``, the lines ``tnn demo`` prints.
    """

    run: Callable[[bool, Any], tuple[dict, Any]]
    plot: Callable[[list, dict, Any], None]
    n_axes: int = 1
    width: float = 1.1
    summary: Callable[[dict], list[str]] = lambda rep: []


@dataclasses.dataclass(frozen=True)
class SweepAxis:
    """One grid axis of a :class:`SweepPreset`: ``n`` (``quick_n`` with ``--quick``) points from
    ``lo`` to ``hi``; ``name`` is the point function's argument, ``label`` the figure's axis label."""

    name: str
    lo: float
    hi: float
    n: int
    quick_n: int
    label: str


@dataclasses.dataclass(frozen=True)
class SweepPreset:
    """A phase diagram of ``tnn sweep`` (:mod:`tnn.sweeps.presets` runs and draws it).

    name: the preset's name on the command line (unique over the registry). help: one line for
      ``tnn sweep --help``. invariant: the colour bar's label.
    x, y: the two grid axes. size, quick_size: system size (cells of a chain, ``L`` of an
      ``L x L`` sample), default and ``--quick``.
    n_keys, quick_keys: disorder keys per grid point (0: a clean preset, its function takes no key).
    make: ``size -> fn``, the one-point function ``fn(x, y[, key]) -> invariant`` of
      :func:`tnn.sweeps.sweep` (NaN where not certified).
    boundaries: ``(x, ys) -> [(x, y, label), ...]``, the known phase boundaries to draw (``x``: 400
      points across the x axis, ``ys``: the y grid); an empty label keeps a line out of the legend.
    sizes, quick_sizes: a finite-size-scaling preset (non-empty): the sweep runs once per size and
      the figure draws, per value of ``y``, the mean over keys against ``x`` with one curve per
      size (``--size`` runs one size; ``size``/``quick_size`` are then the largest of each).
    critical: ``y -> x_c``, the known critical ``x`` at a ``y`` value drawn in the scaling figure
      (NaN: none), or None.
    """

    name: str
    help: str
    invariant: str
    x: SweepAxis
    y: SweepAxis
    size: int
    quick_size: int
    n_keys: int
    quick_keys: int
    make: Callable[[int], Callable]
    boundaries: Callable[[np.ndarray, np.ndarray], list] = lambda x, ys: []
    sizes: tuple[int, ...] = ()
    quick_sizes: tuple[int, ...] = ()
    critical: Callable[[float], float] | None = None


@dataclasses.dataclass(frozen=True, eq=False)
class System:
    """Everything the library needs to know about one physical system.

    Attributes:
      name: registry key, e.g. ``"ssh"``.
      lattice: lattice kind of :mod:`tnn.lattice` (``"chain"``, ``"square"``, ``"honeycomb"``).
      n_orb: orbitals per cell of its lattice (2; a square lattice may have more, e.g. 4 for two spins
        of two orbitals).
      params: names of the builder's physical arguments (the keys of ``params``).
      invariant: the name of its invariant: ``"winding"`` (chiral chains,
        :func:`tnn.invariants.winding_number`), ``"chern"`` (:func:`tnn.invariants.chern_number`), or
        any other name of a 2D system that brings its own real-space invariant
        (``realspace_from_eigh``) and k-space reference (``kspace``).
      builders: public builder functions by name, reachable as ``tnn.hamiltonians.<name>``.
      check_core: ``(check, core)``: ``check(**params, lat=lat, **kwargs) -> (args, lat, static)``
        validates a call of the builder; ``core(*args, lat, *static) -> Terms`` builds it.
      bloch: ``(params, k, ranges) -> (n_orb, n_orb)`` Bloch Hamiltonian; ``k`` scalar (1D) or ``(2,)``.
      reciprocal: reciprocal vectors ``(d, d)`` (rows).
      kspace: the jittable k-space invariant and gap (:class:`KspaceFn`).
      critical_k: momenta ``(n, 2)`` where a 2D model's gap can close (evaluated by the FHS
        Chern number besides its grid), or None.
      kspace_nk: default k grid of ``kspace`` in datasets.
      uses_ranges: whether the system has SSH hopping ranges.
      vector_params: the parameters of shape ``(len(ranges),)`` (all others are scalars).
      default_ranges: the ranges when a dataset gives none.
      sample_names: ``ranges -> names`` of the dataset parameter vector ``theta``.
      to_params: ``(theta, ranges) -> params``.
      dataset_terms: a dataset sample's Hamiltonian (:class:`TermsFn`).
      zero_energy_columns: winding systems: the chiral-block columns of a long chain of a sample's
        distribution (:class:`ColumnsFn`), for the exact labels (Lyapunov winding, ``xi``); None
        for Chern systems.
      disorders: the disorder kinds of datasets (``"none"`` first).
      chiral_disorders: for winding systems, the disorder kinds that keep chiral symmetry; a
        sample with another kind and ``W > 0`` is flagged ``symmetry_broken``.
      methods: real-space methods of datasets; the first one is the default for open samples and
        ``pbc_method`` (if set) the default for periodic ones.
      features: the system's own dataset features beyond the common ones (:class:`Feature`; SSH:
        ``hoppings``): :mod:`tnn.data` stores them as it stores the common ones, and never names them.
      classes: ``ranges -> every class`` the clean model can have.
      presets: dataset presets, ``name -> () -> dict of DatasetSpec fields``.
      demo: the ``tnn demo`` panel, or None.
      sweep_presets: the system's ``tnn sweep`` phase diagrams (:class:`SweepPreset`), or ``()``.
      realspace_from_eigh: the dataset's real-space invariant (:class:`RealspaceFn`); None: the one of
        ``invariant`` (the winding routes, or :func:`tnn.invariants.chern_number_from_eigh`).
      decay_rates: the clean Fermi projector's decay rates for the exact labels' ``xi``
        (:class:`DecayRatesFn`); None: those of ``bloch``, which must then be ``(2, 2)``.
    """

    name: str
    lattice: str
    params: tuple[str, ...]
    invariant: str
    builders: dict[str, Callable]
    check_core: tuple[Callable, Callable]
    bloch: Callable
    reciprocal: np.ndarray
    kspace: KspaceFn
    sample_names: Callable[[tuple[int, ...]], tuple[str, ...]]
    to_params: Callable
    dataset_terms: TermsFn
    disorders: tuple[str, ...]
    methods: tuple[str, ...]
    classes: Callable[[tuple[int, ...]], tuple[int, ...]]
    presets: dict[str, Callable[[], dict]]
    critical_k: np.ndarray | None = None
    kspace_nk: int = 48
    uses_ranges: bool = False
    vector_params: tuple[str, ...] = ()
    default_ranges: tuple[int, ...] = ()
    chiral_disorders: tuple[str, ...] = ("none",)
    pbc_method: str | None = None
    features: tuple[Feature, ...] = ()
    demo: DemoPanel | None = None
    zero_energy_columns: ColumnsFn | None = None
    sweep_presets: tuple[SweepPreset, ...] = ()
    n_orb: int = 2
    realspace_from_eigh: RealspaceFn | None = None
    decay_rates: DecayRatesFn | None = None

    def __post_init__(self):
        if not isinstance(self.invariant, str) or not self.invariant:
            raise ValueError(f"Argument `invariant` must be a non-empty string, got {self.invariant!r}.")
        if self.invariant not in ("winding", "chern") and (self.realspace_from_eigh is None or self.ndim != 2):
            raise ValueError(f"Argument `invariant` must be 'winding' or 'chern', or a 2D system's own invariant "
                             f"with `realspace_from_eigh`, got {self.invariant!r}.")
        if not self.disorders or self.disorders[0] != "none":
            raise ValueError(f"Argument `disorders` must start with 'none', got {self.disorders!r}.")
        names = [f.name for f in self.features] if all(isinstance(f, Feature) for f in self.features) else None
        if names is None or len(set(names)) != len(names):
            raise ValueError(f"Argument `features` must be a tuple of Feature records with distinct names, "
                             f"got {self.features!r}.")

    @property
    def ndim(self) -> int:
        return int(self.reciprocal.shape[0])

    def default_method(self, pbc: bool) -> str:
        return self.pbc_method if (pbc and self.pbc_method) else self.methods[0]

    def param_shape(self, name: str, ranges: tuple[int, ...]) -> tuple[int, ...]:
        return (len(ranges),) if name in self.vector_params else ()

    @property
    def chiral_invariant(self) -> bool:
        """Whether the invariant is the winding number of a chiral chain: it needs chiral symmetry (a
        sample whose disorder breaks it has none), and the ``projector`` feature is the chiral block
        ``P_A sign(H) P_B``."""
        return self.invariant == "winding"

    def is_chiral(self, disorder: str) -> bool:
        """Whether samples with ``disorder`` keep the chiral symmetry the winding number needs."""
        return self.chiral_invariant and disorder in self.chiral_disorders

    def realspace(self, E, V, lat, method: str, window):
        """A dataset sample's raw real-space value and its certificate, from its eigensystem
        (:class:`RealspaceFn`): the system's own ``realspace_from_eigh``, else the one of its invariant
        (:func:`tnn.invariants.winding_number_from_eigh` on chains, ``Q = sign(H)`` of the full ``H``;
        :func:`tnn.invariants.chern_number_from_eigh` with ``method``). Jittable."""
        if self.realspace_from_eigh is not None:
            return self.realspace_from_eigh(E, V, lat, method, window)
        # the raw value; the dataset decides validity from the certificate
        if self.chiral_invariant:
            return invariants.winding_number_from_eigh(E, V, lat, trim=window, return_certificate=True, validity="raw")
        return invariants.chern_number_from_eigh(E, V, lat, method=method, window=window, return_certificate=True,
                                                 validity="raw")

    def __repr__(self) -> str:
        return f"System({self.name!r}, lattice={self.lattice!r}, invariant={self.invariant!r})"


#: the fields the 2D Chern insulators of the registry share (QWZ, Haldane): ``System(**CHERN_2D, ...)``
CHERN_2D = dict(
    invariant="chern",
    disorders=("none", "anderson"),
    methods=("marker", "bott", "kitaev"),
    pbc_method="bott",
    classes=lambda ranges: (-1, 0, 1),
)

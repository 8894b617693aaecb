r"""Dataset specifications: what a dataset is, as a frozen dataclass saved with the data.

A :class:`DatasetSpec` fixes everything that determines the arrays of a dataset: the model family
and its lattice (kind, size, boundary condition), how the model parameters and the disorder
strength are drawn, the optional class balancing and near-boundary oversampling, the disorder kind,
the stored features and their dtype, the eigenvector gauge, the label definition, the seed, and the
shard/chunk layout. Two runs with equal specs produce bit-identical shards (same checksums), however
the generation was interrupted and resumed. Every field is validated in ``__post_init__``: an
invalid spec raises ``ValueError`` naming the field before any work starts.

Parameter vectors (``params``, one :class:`ParamDist` per scalar, in this order):

* ``ssh``: ``t[r]`` for each hopping range ``r`` in ``ranges`` (``t[r]`` couples ``B_n`` with
  ``A_{n+r}``, :func:`tnn.hamiltonians.ssh`);
* ``qwz``: ``m``;
* ``haldane``: ``t1, t2, phi, M``;
* ``kitaev``: ``mu, t, delta``.

Presets (:func:`preset`): ``ssh`` (clean open chain of 50 cells, ranges ``(-1, 0, 1, 2)``, windings
``{-1, 0, 1, 2}`` balanced), ``ssh-pbc``, ``ssh-bond`` (chiral bond disorder), ``ssh-onsite``
(chiral-breaking onsite disorder), ``ssh01`` (windings ``{0, 1}`` only, for "unseen winding"
tests), ``qwz`` (12 x 12 square, Anderson disorder), ``haldane`` (12 x 12 honeycomb, Anderson
disorder) and ``kitaev`` (open chain of 40 cells, windings ``{-1, 0, 1}`` balanced; ``kitaev-pbc``,
``kitaev-mu`` with chemical-potential disorder). Each system module of :mod:`tnn.systems` holds its own.
Any field can be overridden: ``preset("qwz", size=(16, 16), n=500)``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

import numpy as np

from tnn import _checks, systems
from tnn.data import features as _registry
from tnn.dists import ParamDist, choice, fixed, normal, uniform

__all__ = [
    "ParamDist",
    "DatasetSpec",
    "preset",
    "PRESETS",
    "MODELS",
    "FEATURES",
    "DISORDER_KINDS",
    "LABELS",
    "param_names",
    "uniform",
    "fixed",
    "normal",
    "choice",
]

# Everything per model comes from the registry (tnn.systems): a new system appears here unchanged.
#: model -> lattice kind
MODELS = {name: s.lattice for name, s in systems.SYSTEMS.items()}
#: features every system provides (tnn.data.features.COMMON_FEATURES); a system adds its own (System.features,
#: e.g. SSH "hoppings")
_COMMON_FEATURES = _registry.COMMON_NAMES
#: every feature name of the registry (tnn.data.features), and the models that provide it
FEATURES = {f: _registry.providers(f) for f in _registry.names()}
#: disorder kinds per model ("none" is always allowed)
DISORDER_KINDS = {name: s.disorders for name, s in systems.SYSTEMS.items()}
#: which invariant is the training label: the rounded real-space value, the clean k-space value, or the
#: exact reference of the infinite system (tnn.data.exact; the default of every preset)
LABELS = ("realspace", "kspace", "exact")
#: real-space methods per model
METHODS = {name: s.methods for name, s in systems.SYSTEMS.items()}
DTYPES = ("float64", "float32")
GAUGES = ("overlap", "maxabs", "none")
#: the k-space invariant counts as defined when the clean model's gap exceeds this
KSPACE_GAP_TOL = 1e-8
#: largest number of samples (sample indices are folded into 32-bit PRNG data)
MAX_SAMPLES = 2**31 - 1
#: cells of the long chain of the exact Lyapunov labels (tnn.data.exact)
LYAPUNOV_CELLS = 10_000
#: fields added after format 1 was released: left out of to_dict (and so of the digest) at their
#: default, so that the manifests written before them keep their digests
_LATE_DEFAULTS = {"index_offset": 0, "lyapunov_cells": LYAPUNOV_CELLS, "compact": False}


def param_names(model: str, ranges: tuple[int, ...] = ()) -> tuple[str, ...]:
    """Names of the sampled parameter vector of ``model`` (the order of ``DatasetSpec.params``)."""
    return systems.get(model).sample_names(ranges)


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    r"""Everything that determines a dataset. Saved as ``manifest.json["spec"]``.

    Attributes:
      model: a system of :data:`tnn.systems.SYSTEMS` (``"ssh"``, ``"qwz"``, ``"haldane"``, ``"kitaev"``).
      size: cells along each direction, ``(L,)`` for chains or ``(lx, ly)``; one size per dataset
        (size transfer = train on one dataset, test on another).
      pbc: periodic (True) or open boundaries.
      ranges: SSH hopping ranges (static), e.g. ``(0, 1)`` for the standard chain; ``()`` otherwise.
      params: one :class:`ParamDist` per model parameter, in :func:`param_names` order. Each sample
        draws its parameters independently (per-sample PRNG key).
      disorder: ``"none"``, SSH ``"bond"`` (chiral) / ``"onsite"`` (breaks chiral symmetry),
        QWZ/Haldane ``"anderson"``, Kitaev ``"mu"`` (chiral); ``System.disorders``.
      strength: distribution of the disorder strength ``W`` (uniform noise in ``[-W/2, W/2]``), e.g.
        ``choice("W", 0.5, 1.0)``; must be ``fixed("W", 0)`` without disorder.
      classes: allowed classes of the clean k-space invariant (rejection sampling); ``None``: any.
      balance: equal numbers of each class (stratified: sample ``i`` is assigned a class by a
        seeded permutation of each block of ``len(classes)`` consecutive indices, then drawn by
        rejection until its clean k-space class matches). Exact for ``label="kspace"`` and for clean
        samples with ``label="exact"``; the real-space classes and the Lyapunov winding of
        disordered chains follow up to finite-size / disorder changes.
      boundary_fraction: fraction of samples (each chosen by a seeded coin) drawn near a phase
        boundary: rejection until the clean k-space gap is below ``boundary_gap``.
      boundary_gap: the k-space gap that counts as "near a boundary".
      features: stored inputs, features of the model in the registry :mod:`tnn.data.features`: the
        common ``wavefunctions`` (eigenvectors + energies), ``density`` (``|psi|^2``, energy order),
        ``edge_modes`` (``|psi|^2`` of the 4 states nearest zero energy), ``hamiltonian`` (``H``),
        ``projector`` (chains: chiral block ``U``; 2D: ``Q``), and the system's own
        (``System.features``; SSH: ``hoppings``, bond amplitudes per cell). Shapes in :mod:`tnn.data`.
      dtype: ``"float64"`` (float64/complex128 features, needed to reproduce an invariant to 1e-8)
        or ``"float32"`` (float32/complex64: half the disk). Labels are always float64.
      gauge: eigenvector phase convention, ``"overlap"`` (default), ``"maxabs"`` or ``"none"``
        (see :mod:`tnn.data`).
      compact: store no feature array, only the label arrays (``params``, ``strength``, ``index``
        among them); the loaders recompute the ``features`` from those by the computation that
        generation runs (:func:`tnn.data.samples.rebuild_features`), to the same bits. Smaller folders
        (a few kB per sample) and a cheaper generation (no eigenvector feature is computed), for a
        recomputation on every load.
      label: which invariant is the training label ``label``: ``"exact"`` (the reference of the
        infinite system: clean k space, the Lyapunov winding of disordered chiral chains, the
        certified real-space value of disordered 2D samples; :mod:`tnn.data.exact`; the default of
        every preset), ``"realspace"`` (the rounded real-space value; the dataclass default) or
        ``"kspace"`` (the clean model's k-space invariant).
      method: real-space method: ``"winding"`` (ssh); ``"marker"`` (open), ``"bott"`` (periodic)
        or ``"kitaev"`` for the 2D models. Empty: the default for the boundary condition.
      trim: cells trimmed from each edge for the bulk window of open samples (None: ``L // 4``).
      gap_tol: None (default): a sample is valid when its certificate holds (:mod:`tnn.validity`:
        localization of the ground-state correlations against the window's distance to the
        boundary). A number: the spectral test of earlier versions instead (invalid below this
        real-space bulk gap).
      kspace_nk: k-grid of the k-space reference (0: 512 for ssh, 48 for the 2D models).
      lyapunov_cells: cells of the long chain whose zero-energy Lyapunov exponents label the
        disordered chiral chains (``label="exact"``); the statistical error of the exponents falls
        as ``1/sqrt(lyapunov_cells)`` (:mod:`tnn.data.exact`).
      n: number of samples. seed: PRNG seed (required when anything is random).
      index_offset: sample ``j`` of the dataset is the sample of PRNG index ``index_offset + j``
        (its draws, disorder and class target depend on the seed and that index only, never on the
        size): a test set at another size with ``index_offset`` = the start of a dataset's test
        split and ``n`` its length holds the same parameters (the same Hamiltonians up to the
        disorder realization of the new size, and the same exact labels of clean and disordered chains).
      shard_size: samples per shard file. chunk_size: samples per jitted, vmapped call (a shard
        is computed as whole chunks, so a shard's content never depends on how a run was split).
      splits: train/val/test fractions; the splits are contiguous index ranges (samples are
        i.i.d. in their index), recorded in the manifest.
      name: a label for humans (the preset's name).
    """

    model: str
    size: tuple[int, ...]
    pbc: bool = False
    ranges: tuple[int, ...] = ()
    params: tuple[ParamDist, ...] = ()
    disorder: str = "none"
    strength: ParamDist = ParamDist("W", "fixed", (0.0,))
    classes: tuple[int, ...] | None = None
    balance: bool = False
    boundary_fraction: float = 0.0
    boundary_gap: float = 0.2
    features: tuple[str, ...] = ("wavefunctions",)
    dtype: str = "float64"
    gauge: str = "overlap"
    compact: bool = False
    label: str = "realspace"
    method: str = ""
    trim: int | None = None
    gap_tol: float | None = None
    kspace_nk: int = 0
    n: int = 1000
    seed: int | None = 0
    index_offset: int = 0
    lyapunov_cells: int = LYAPUNOV_CELLS
    shard_size: int = 256
    chunk_size: int = 32
    splits: tuple[float, float, float] = (0.8, 0.1, 0.1)
    name: str = "custom"

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731  (frozen dataclass)
        # every check per model asks the registry (tnn.systems) now, not the tables above: a system
        # registered after import is a model like the others
        model = self.model
        system = systems.get(model)
        size = _checks.check_ints("size", self.size, 1)
        want = system.ndim
        if len(size) != want:
            raise ValueError(f"Argument `size` must have {want} entr{'y' if want == 1 else 'ies'} for {model}, got {size}.")
        set_("size", size)
        set_("pbc", _checks.check_bool("pbc", self.pbc))
        # ranges
        ranges = _checks.check_ints("ranges", self.ranges)
        if system.uses_ranges:
            if not ranges:
                ranges = system.default_ranges
            if len(set(ranges)) != len(ranges):
                raise ValueError(f"Argument `ranges` must not repeat a range, got {ranges}.")
            rmax = max(abs(r) for r in ranges)
            need = 2 * rmax + 1 if self.pbc else rmax + 1
            if size[0] < need:
                raise ValueError(f"Argument `size` must be >= {need} cells for ranges={ranges} with pbc={self.pbc}, got {size[0]}.")
        elif ranges:
            with_ranges = sorted(n for n, s in systems.SYSTEMS.items() if s.uses_ranges)
            raise ValueError(f"Argument `ranges` applies to the {', '.join(with_ranges)} model only, got {ranges} for {model}.")
        set_("ranges", ranges)
        # params
        names = param_names(model, ranges)
        params = tuple(self.params)
        if not all(isinstance(p, ParamDist) for p in params):
            raise ValueError(f"Argument `params` must be a tuple of ParamDist, got {self.params!r}.")
        if tuple(p.name for p in params) != names:
            raise ValueError(
                f"Argument `params` must give one ParamDist per parameter of {model}, named {names} in this "
                f"order, got {tuple(p.name for p in params)}."
            )
        set_("params", params)
        # disorder
        if self.disorder not in system.disorders:
            raise ValueError(f"Argument `disorder` must be one of {system.disorders} for {model}, got {self.disorder!r}.")
        if not isinstance(self.strength, ParamDist) or self.strength.name != "W":
            raise ValueError(f"Argument `strength` must be a ParamDist named 'W', got {self.strength!r}.")
        lo, _ = self.strength.support()
        if lo < 0:
            raise ValueError(f"Argument `strength` must be >= 0 everywhere (a disorder width), got {self.strength}.")
        if self.disorder == "none" and self.strength.support() != (0.0, 0.0):
            raise ValueError(f"Argument `strength` must be fixed('W', 0) when disorder='none', got {self.strength}.")
        # classes / balancing / boundary oversampling
        if self.classes is not None:
            classes = _checks.check_ints("classes", self.classes, min_length=1, distinct=True)
            set_("classes", tuple(sorted(classes)))
        set_("balance", _checks.check_bool("balance", self.balance))
        if self.balance and self.classes is None:
            set_("classes", default_classes(model, ranges))
        set_("boundary_fraction", _checks.check_real("boundary_fraction", self.boundary_fraction, 0.0, 1.0))
        set_("boundary_gap", _checks.check_real("boundary_gap", self.boundary_gap, 0.0, lo_open=True))
        # features: the registry's (tnn.data.features), the common ones and the system's own
        set_("features", _registry.check_names(self.features, model, "features"))
        _checks.check_choice("dtype", self.dtype, DTYPES)
        _checks.check_choice("gauge", self.gauge, GAUGES)
        set_("compact", _checks.check_bool("compact", self.compact))
        _checks.check_choice("label", self.label, LABELS)
        method = self.method or system.default_method(self.pbc)
        if method not in system.methods:
            raise ValueError(f"Argument `method` must be one of {system.methods} for {model}, got {method!r}.")
        if method == "bott" and not self.pbc:
            raise ValueError("Argument `method`='bott' needs a periodic sample (pbc=True).")
        if method == "marker" and self.pbc:
            raise ValueError("Argument `method`='marker' needs an open sample (pbc=False); use 'bott' or 'kitaev'.")
        set_("method", method)
        # the lattice's own checks (contractions, validity): imported here, they import the physics
        from tnn import contractions, validity  # noqa: PLC0415

        if self.trim is not None:
            trim = _checks.check_int("trim", self.trim, 0)
            contractions.check_trim(self.lattice(), trim)  # 2 * trim < every size
            if self.pbc and method != "kitaev" and trim != 0:
                raise ValueError(f"Argument `trim` applies to open samples only, got trim={trim} with pbc=True.")
            set_("trim", trim)
        if self.gap_tol is not None:
            set_("gap_tol", _checks.check_real("gap_tol", self.gap_tol, 0.0))
        elif self.label == "realspace" or (self.label == "exact" and system.ndim == 2 and self.disorder != "none"):
            # A certified label needs a window at least one cell from the boundary.
            lat = self.lattice()
            trim = None if (self.pbc and method != "kitaev") else contractions.check_trim(lat, self.trim)
            if self.pbc and method == "kitaev":
                trim = None
            validity.boundary_distance(lat, trim)
        nk = self.kspace_nk or system.kspace_nk
        set_("kspace_nk", _checks.check_int("kspace_nk", nk, 4))
        set_("n", _checks.check_int("n", self.n, 1, MAX_SAMPLES))
        set_("index_offset", _checks.check_int("index_offset", self.index_offset, 0, MAX_SAMPLES - self.n))
        set_("lyapunov_cells", _checks.check_int("lyapunov_cells", self.lyapunov_cells, 200))
        random = any(p.is_random for p in params) or self.strength.is_random or self.disorder != "none"
        if self.seed is None:
            if self.disorder != "none":
                raise ValueError(f"Argument `seed` must be an int when disorder is requested (disorder={self.disorder!r}), got None.")
            if random or self.balance or self.boundary_fraction > 0:
                raise ValueError("Argument `seed` must be an int when parameters are sampled, got None.")
        else:
            set_("seed", _checks.check_int("seed", self.seed, 0, 2**63 - 1))
        set_("chunk_size", _checks.check_int("chunk_size", self.chunk_size, 1))
        set_("shard_size", _checks.check_int("shard_size", self.shard_size, 1))
        if self.shard_size % self.chunk_size:
            raise ValueError(f"Argument `shard_size` must be a multiple of chunk_size={self.chunk_size}, got {self.shard_size}.")
        set_("splits", _checks.check_splits("splits", self.splits))
        if not isinstance(self.name, str):
            raise ValueError(f"Argument `name` must be a string, got {self.name!r}.")

    # ------------------------------------------------------------------ derived
    @property
    def lattice_kind(self) -> str:
        return systems.get(self.model).lattice

    def lattice(self):
        """The :class:`tnn.lattice.Lattice` of the samples (static, hashable)."""
        from tnn import lattice  # noqa: PLC0415

        return lattice.Lattice(self.lattice_kind, self.size, self.pbc, n_orb=systems.get(self.model).n_orb)

    @property
    def n_sites(self) -> int:
        return systems.get(self.model).n_orb * int(np.prod(self.size))

    @property
    def n_shards(self) -> int:
        return -(-self.n // self.shard_size)

    @property
    def param_names(self) -> tuple[str, ...]:
        return param_names(self.model, self.ranges)

    def split_ranges(self) -> dict[str, tuple[int, int]]:
        """``{"train": (start, stop), "val": ..., "test": ...}`` contiguous sample-index ranges."""
        n_train = int(round(self.splits[0] * self.n))
        n_val = int(round(self.splits[1] * self.n))
        n_val = min(n_val, self.n - n_train)
        return {"train": (0, n_train), "val": (n_train, n_train + n_val), "test": (n_train + n_val, self.n)}

    # ------------------------------------------------------------------ (de)serialization
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["params"] = [dataclasses.asdict(p) for p in self.params]
        d["strength"] = dataclasses.asdict(self.strength)
        d["lattice"] = self.lattice_kind
        for k, v in _LATE_DEFAULTS.items():
            if d[k] == v:
                del d[k]
        return json.loads(json.dumps(d))  # lists everywhere, plain JSON types

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DatasetSpec":
        d = dict(d)
        d.pop("lattice", None)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"Argument `spec` has unknown fields {sorted(unknown)}.")

        def pd(x):
            return ParamDist(x["name"], x["dist"], tuple(x["args"]))

        if "params" in d:
            d["params"] = tuple(pd(p) for p in d["params"])
        if "strength" in d:
            d["strength"] = pd(d["strength"])
        for k in ("size", "ranges", "features", "splits"):
            if k in d and d[k] is not None:
                d[k] = tuple(d[k])
        if d.get("classes") is not None:
            d["classes"] = tuple(d["classes"])
        return cls(**d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def digest(self) -> str:
        """sha256 of the canonical JSON of the spec: equal specs, equal digests."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def replace(self, **changes) -> "DatasetSpec":
        return dataclasses.replace(self, **changes)


def default_classes(model: str, ranges: tuple[int, ...] = ()) -> tuple[int, ...]:
    """Every class the clean model can have (SSH: windings ``min(ranges)..max(ranges)``; Chern ``-1, 0, 1``)."""
    return systems.get(model).classes(ranges)


# ---------------------------------------------------------------------------------- presets
#: every system's presets (tnn.systems): name -> () -> dict of DatasetSpec fields
PRESETS = systems.presets()


def preset(name: str, **overrides) -> DatasetSpec:
    """The preset ``name`` (a key of :data:`PRESETS`) with ``overrides`` applied to its fields.

    Every preset labels with ``label="exact"`` unless it says otherwise (:mod:`tnn.data.exact`).

    ``size`` may be given as an int for ssh, or as ``(lx, ly)``; an int for 2D means ``(s, s)``.
    """
    if name not in PRESETS:
        raise ValueError(f"Argument `preset` must be one of {sorted(PRESETS)}, got {name!r}.")
    kw = {"label": "exact", **PRESETS[name]()}
    kw["name"] = name
    if "size" in overrides and _checks.is_int(overrides["size"]):
        s = int(overrides["size"])
        overrides["size"] = (s,) * systems.get(kw["model"]).ndim
    bad = set(overrides) - {f.name for f in dataclasses.fields(DatasetSpec)}
    if bad:
        raise ValueError(f"Argument `overrides` has unknown spec fields {sorted(bad)}.")
    kw.update(overrides)
    return DatasetSpec(**kw)

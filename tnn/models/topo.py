r"""topo: hybrid tensor-neural networks that can express a real-space invariant exactly.

The tensor part is the invariant's own network from :mod:`tnn.contractions` (nothing is
re-derived here) with **trainable tensors in place of the exact ones**, in ``K`` channels; a small
neural head maps the ``K`` channel values to the prediction. Every trainable tensor is a
*function* (of a relative distance, an energy, a position) with parameters that do not depend on
the system size, so a model trained on one lattice runs on another: build ``make_model(cfg,
other_lat)`` and call its ``apply`` with the same params.

1D, chains (winding number), channel ``k``:

.. math::
    W_k = \sum_{ij} K^k_{ij} \sum_{nm} g_k(n) g_k(m)\, a^k_n(i) a^k_m(i)^* b^k_n(j)^* b^k_m(j)

the contraction :func:`tnn.contractions.winding_network`, with

* distance kernel ``K^k_ij = (mask_i / L') kappa_k(d_ij)``, ``d_ij = x_i - x_j`` the signed cell distance
  (minimum image on periodic chains), ``mask`` the bulk cells of an open chain (``trim`` cut from
  each edge; all cells if periodic) and ``L'`` their number. ``kappa_k(d) = a_k d + mlp_k(d)``;
  exact: ``kappa(d) = d`` (``a = 1``, MLP output layer 0), which is
  :func:`tnn.contractions.exact_winding_kernel`.
* spectral weights ``g_k(n) = c_k s_n + mlp_k(E_n)`` (``spectral="sign"``), with ``s_n = sign(E_n)``:
  ``-1`` for the lower half of the states (sorted by energy), ``+1`` above
  (:func:`tnn.contractions.exact_winding_weights`), and ``0`` for exact zero modes (``|E_n|`` below
  :data:`ZERO_MODE_TOL` of the bandwidth: the edge states of an open topological chain, which the
  polar form of :func:`tnn.invariants.winding_number` leaves out of ``U`` as well) -- or
  ``g_k = c_k tanh(beta_k E_n) + mlp_k(E_n)`` (``spectral="tanh"``, exact only up to
  ``exp(-2 beta |E|)``). Exact: ``c = 1``, MLP output 0.
* sublattice mixing ``M^k`` ``(2, n_orb)`` building ``a_n(i) = sum_o M_0o psi_n(i, o)`` and
  ``b_n(j) = sum_o M_1o psi_n(j, o)``; exact: the A/B projectors (identity).

2D (Chern number), channel ``k``: the local Chern marker network
:func:`tnn.contractions.marker_network`,

.. math::
    C_k(r) = \frac{4\pi}{A_{cell}} \mathrm{Im} \sum_{o\in r} \langle r o| P_k X_k P_k Y_k P_k |r o\rangle,
    \qquad P_k = \sum_n f_k(n) \psi_n \psi_n^\dagger,

with trainable coordinate encodings ``(X_k, Y_k)(r) = A_k (r - r_0) + mlp_k(r - r_0)`` of the
Cartesian site position ``r`` (``r_0`` the centre of the sample; exact: ``A = 1``, MLP output 0,
i.e. ``x`` and ``y``), occupations ``f_k(n) = c_k theta_n + mlp_k(E_n)`` (``theta_n = 1`` for the
lower half of the states: the step at ``E_F`` in the half-filling gap; exact ``c = 1``, MLP 0), and
the channel value ``C_k`` the average of ``C_k(r)`` over a bulk window (``trim`` cut from each
edge). Open samples only: on a periodic sample the marker averages to exactly 0 (the position
operators jump at the seam), so :func:`build` refuses periodic 2D lattices with a ``ValueError``
(the Bott index labels those). Works for any open 2D lattice of :mod:`tnn.lattice` (square,
honeycomb): the geometry enters through ``lat.positions`` and ``lat.cell_area`` only.

Head (both): ``f = w . z + b + mlp(z)`` on the channel values ``z`` (``(K,)``); exact ``w = e_0``,
``b = 0``, MLP output 0, so ``f`` is the invariant. ``task="regress"`` outputs ``f``;
``task="classify"`` outputs logits ``-tau (f - v_c)^2`` over the class values (trainable ``tau``,
``config.tau`` at the exact init), so the exact model predicts the class value nearest to the
invariant: perfect wherever the invariant is within 1/2 of its integer.

Initializations (``config.init``):

* ``"exact"``: every channel exact (as above); the first layers of the small MLPs are random
  N(0, 1) draws from the key (their output layers are zero, so they do not change the output but
  receive gradients).
* ``"random"`` / ``"default"``: every parameter i.i.d. N(0, ``init_scale``^2).
* ``"exact_noise"``: the exact parameters plus i.i.d. N(0, ``noise``^2) on every parameter.

Input (batched, :class:`~tnn.models.base.Model` convention): ``{"energies": (B, N), "eigenvectors":
(B, N, N)}``, eigenvectors as columns sorted by ascending energy, sites in :mod:`tnn.lattice`
order. Output ``(B, n_out)``. :func:`channel_values` exposes the ``(K,)`` tensor-network outputs of
one sample, :func:`marker_maps` the per-cell 2D markers.
"""

from __future__ import annotations

import numpy as np
import jax
import jax.numpy as jnp

from tnn import contractions, invariants
from tnn.lattice import Lattice
from tnn.models.base import Model, ModelConfig, class_logits

#: Relative size below which an eigenvalue counts as an exact zero mode (spectral weight 0); the
#: same cut as both routes of :func:`tnn.invariants.winding_number` (``ZERO_MODE_FLOOR``).
ZERO_MODE_TOL = invariants.ZERO_MODE_FLOOR

__all__ = [
    "ZERO_MODE_TOL",
    "build",
    "init_params",
    "channel_values",
    "marker_maps",
    "winding_kernels",
    "trim_cells",
]


# ----------------------------------------------------------------------------- small functions
class _Draw:
    """Standard normal numbers handed out in order from one pre-drawn vector (NumPy).

    Parameters are assembled in NumPy from a single ``jax.random.normal`` draw: one small compiled
    op per init instead of one eager dispatch per tensor, and no per-config compilation."""

    def __init__(self, z=None):
        self.z, self.i = z, 0

    def __call__(self, shape):
        n = int(np.prod(shape))
        out = np.zeros(shape) if self.z is None else self.z[self.i : self.i + n].reshape(shape)
        self.i += n
        return out


def _fn_params(draw, k: int, d_in: int, width: int, d_out: int):
    """Per-channel MLP ``R^d_in -> R^d_out`` (one tanh layer); output layer zero."""
    return {
        "w1": draw((k, d_in, width)),
        "b1": draw((k, width)),
        "w2": np.zeros((k, width, d_out)),
        "b2": np.zeros((k, d_out)),
    }


def _fn_apply(p, u):
    """Apply the K per-channel MLPs to ``u`` ``(M, d_in)`` -> ``(K, M, d_out)``."""
    h = jnp.tanh(jnp.einsum("md,kdh->kmh", u, p["w1"]) + p["b1"][:, None, :])
    return jnp.einsum("kmh,kho->kmo", h, p["w2"]) + p["b2"][:, None, :]


def _head_params(draw, k: int, width: int, tau: float):
    w = np.zeros((k,))
    w[0] = 1.0
    p = {"w": w, "b": np.zeros(()), "log_tau": np.asarray(np.log(tau))}
    if width > 0:
        p["mlp"] = {
            "w1": draw((k, width)) / np.sqrt(k),
            "b1": draw((width,)),
            "w2": np.zeros((width,)),
            "b2": np.zeros(()),
        }
    return p


def _head_apply(p, z, config: ModelConfig):
    """Channel values ``z`` ``(K,)`` -> outputs ``(n_out,)``."""
    f = z @ p["w"] + p["b"]
    if "mlp" in p:
        m = p["mlp"]
        f = f + jnp.tanh(z @ m["w1"] + m["b1"]) @ m["w2"] + m["b2"]
    if config.task == "regress":
        return f[None]
    return class_logits(f, config.classes, p["log_tau"])


# ----------------------------------------------------------------------------- geometry (static)
def trim_cells(lat: Lattice, trim: float) -> tuple[int, ...] | None:
    """Cells cut from each open edge, per direction: ``floor(trim * dims_d)`` (``None`` if periodic)."""
    if lat.pbc:
        return None
    return tuple(int(np.floor(trim * n)) for n in lat.dims)


def _chain_geometry(lat: Lattice, trim: float):
    """Exact kernel ``(L, L)`` of :func:`tnn.contractions.exact_winding_kernel`, signed cell distances
    ``d_ij`` ``(L, L)`` (minimum image if periodic) and the bulk row weights ``mask_i / L'`` ``(L,)``."""
    K = np.asarray(contractions.exact_winding_kernel(lat, trim_cells(lat, trim)))
    L = lat.dims[0]
    x = np.arange(L, dtype=np.float64)
    d = x[:, None] - x[None, :]
    if lat.pbc:
        d = np.mod(d + L / 2, L) - L / 2
    mask = contractions.bulk_cells(lat, trim_cells(lat, trim)).astype(np.float64)
    return K, d, mask / mask.sum()


# ----------------------------------------------------------------------------- parameters
def _exact_params(draw, config: ModelConfig, lat: Lattice):
    """Exact parameters (NumPy); the MLPs' first layers take N(0, 1) numbers from ``draw``."""
    K, H = config.channels, config.fn_width
    if lat.kind == "chain":
        kernel = {"a": np.ones((K,)), "mlp": _fn_params(draw, K, 1, H, 1)}
        spectral = {"c": np.ones((K,)), "mlp": _fn_params(draw, K, 1, H, 1)}
        if config.spectral == "tanh":
            spectral["log_beta"] = np.full((K,), np.log(config.beta))
        mixing = np.broadcast_to(contractions.exact_mixing(lat.n_orb), (K, 2, lat.n_orb)).copy()
        tensors = {"kernel": kernel, "spectral": spectral, "mixing": mixing}
    else:
        tensors = {
            "coords": {"A": np.broadcast_to(np.eye(2), (K, 2, 2)).copy(), "mlp": _fn_params(draw, K, 2, H, 2)},
            "occupation": {"c": np.ones((K,)), "mlp": _fn_params(draw, K, 1, H, 1)},
        }
    tensors["head"] = _head_params(draw, K, config.head_width, config.tau)
    return tensors


def init_params(key, config: ModelConfig, lat: Lattice, dtype=None):
    """Parameters of a topo model for ``config.init`` (see the module docstring). Plain dict.

    Eager (not jit-traceable: the numbers are drawn once from ``key`` and placed in NumPy)."""
    dtype = config.resolved_dtype() if dtype is None else dtype
    count = _Draw()
    template = _exact_params(count, config, lat)
    leaves, tree = jax.tree_util.tree_flatten(template)
    n_exact = count.i
    n_all = sum(int(np.size(x)) for x in leaves)
    z = np.asarray(jax.random.normal(key, (n_exact + n_all,), dtype=jnp.float64 if dtype == jnp.float64 else jnp.float32))
    p = _exact_params(_Draw(z[:n_exact]), config, lat)
    if config.init != "exact":
        leaves, tree = jax.tree_util.tree_flatten(p)
        noise = _Draw(z[n_exact:])
        if config.init == "exact_noise":
            leaves = [x + config.noise * noise(np.shape(x)) for x in leaves]
        else:  # "random", "default"
            leaves = [config.init_scale * noise(np.shape(x)) for x in leaves]
        p = jax.tree_util.tree_unflatten(tree, leaves)
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype=dtype), p)


# ----------------------------------------------------------------------------- tensor parts
def winding_kernels(params, lat: Lattice, trim: float):
    """The K distance kernels ``(K, L, L)``: ``a_k K^exact_ij + (mask_i/L') mlp_k(d_ij)``.

    ``K^exact = (mask_i/L') d_ij`` is :func:`tnn.contractions.exact_winding_kernel`, so the kernel
    function is ``kappa_k(d) = a_k d + mlp_k(d)``."""
    K, d, row = _chain_geometry(lat, trim)
    pk = params["kernel"]
    # JAX's standard promotion, made explicit (the distances are float64; float32 parameters meet them)
    dt = np.promote_types(pk["a"].dtype, d.dtype)
    mlp = jax.tree_util.tree_map(lambda x: jnp.asarray(x, np.promote_types(x.dtype, d.dtype)), pk["mlp"])
    learned = _fn_apply(mlp, jnp.asarray(d.reshape(-1, 1), dt))[..., 0].reshape(-1, *d.shape)
    exact = pk["a"][:, None, None] * jnp.asarray(K, pk["a"].dtype)
    return exact.astype(dt) + jnp.asarray(row, dt)[None, :, None] * learned


def _spectral_weights(params, E, config: ModelConfig):
    """``(K, N)`` spectral weights of the energies ``E`` ``(N,)``."""
    ps = params["spectral"]
    if config.spectral == "sign":
        s = jnp.asarray(contractions.exact_winding_weights(E.shape[0]), E.dtype)
        # sign(0) = 0: exact zero modes (the edge states of an open topological chain, |E| below
        # ZERO_MODE_TOL of the bandwidth) drop out, as in the polar form of
        # tnn.invariants.winding_number, which leaves them out of U.
        keep = jnp.abs(E) > ZERO_MODE_TOL * jnp.max(jnp.abs(E))
        base = jnp.where(keep, s, jnp.zeros((), E.dtype))[None, :]
    else:
        base = jnp.tanh(jnp.exp(ps["log_beta"])[:, None] * E[None, :])
    return ps["c"][:, None] * base + _fn_apply(ps["mlp"], E[:, None])[..., 0]


def _occupations(params, E):
    po = params["occupation"]
    step = contractions.exact_occupation(E.shape[0])
    return po["c"][:, None] * jnp.asarray(step, E.dtype)[None, :] + _fn_apply(po["mlp"], E[:, None])[..., 0]


def _coordinates(params, lat: Lattice, dtype):
    """``(K, N)`` encodings X_k and Y_k of the centred Cartesian site positions."""
    pos = np.stack(contractions.exact_coordinates(lat), axis=-1)  # (N, 2)
    # Centred: the marker is unchanged by a shift of X or Y (<r|P Y P|r> is real), and centred
    # inputs keep the coordinate MLPs' inputs O(size) on every lattice.
    pos = pos - pos.mean(axis=0)
    pc = params["coords"]
    u = jnp.asarray(pos, dtype)
    enc = jnp.einsum("kab,nb->kna", pc["A"], u) + _fn_apply(pc["mlp"], u)  # (K, N, 2)
    return enc[..., 0], enc[..., 1]


def marker_maps(params, E, V, lat: Lattice, engine: str = "ncon"):
    """Per-channel local Chern markers ``(K, n_cells)`` of one sample (``E`` ``(N,)``, ``V`` ``(N, N)``)."""
    f = _occupations(params, jnp.real(E))
    X, Y = _coordinates(params, lat, jnp.real(E).dtype)
    psi = contractions.as_cell_orbital(V, lat.n_orb)
    scale = contractions.exact_marker_scale(lat)

    def one(fk, xk, yk):
        return contractions.marker_network(psi, fk, xk.reshape(lat.n_cells, lat.n_orb), yk.reshape(lat.n_cells, lat.n_orb), scale, engine=engine)

    return jax.vmap(one)(f, X, Y)


def channel_values(params, E, V, lat: Lattice, config: ModelConfig, engine: str = "ncon"):
    """The K tensor-network outputs ``(K,)`` of one sample: winding numbers (chain) or bulk-window
    averaged Chern markers (2D). With ``init="exact"`` every entry is the invariant."""
    if lat.kind == "chain":
        kern = winding_kernels(params, lat, config.trim)
        w = _spectral_weights(params, jnp.real(E), config)
        psi = contractions.as_cell_orbital(V, lat.n_orb)
        net = lambda wk, kk, mk: contractions.winding_network(psi, wk, kk, mk, engine=engine)  # noqa: E731
        return jax.vmap(net)(w, kern, params["mixing"])
    maps = marker_maps(params, E, V, lat, engine=engine)
    window = contractions.bulk_window(lat, trim_cells(lat, config.trim)).reshape(-1)
    return jax.vmap(lambda m: contractions.window_average(m, window))(maps)


# ----------------------------------------------------------------------------- model
def _check_input(x, lat: Lattice):
    if not isinstance(x, dict) or "energies" not in x or "eigenvectors" not in x:
        raise ValueError(
            "Argument `x` must be a dict with 'energies' (B, N) and 'eigenvectors' (B, N, N) for topo, "
            f"got {type(x).__name__}."
        )
    E, V = x["energies"], x["eigenvectors"]
    N = lat.n_sites
    if jnp.ndim(E) != 2 or jnp.shape(E)[1] != N or jnp.shape(V)[1:] != (N, N) or jnp.shape(V)[0] != jnp.shape(E)[0]:
        raise ValueError(
            f"Argument `x` must hold 'energies' (B, {N}) and 'eigenvectors' (B, {N}, {N}) for this {lat!r}, got "
            f"shapes {jnp.shape(E)} and {jnp.shape(V)}."
        )
    return E, V


def build(config: ModelConfig, lat: Lattice | None, prepare) -> Model:
    if lat is None:
        raise ValueError("Argument `lat` must be given for topo (its tensor network needs the geometry).")
    if lat.kind == "chain":
        contractions.exact_winding_kernel(lat, trim_cells(lat, config.trim))  # validates the trim
    else:
        if lat.pbc:
            # The marker of a periodic sample averages to exactly 0 over the torus (the position
            # operators jump at the seam): the network would not express the invariant there.
            raise ValueError(
                f"Argument `lat` is periodic ({lat.kind} {lat.dims}, pbc=True): the 2D topo network is the local "
                "Chern marker, which expresses the Chern number on open samples only (on a torus its average is "
                "identically 0). Train 2D topo on open samples (e.g. the 'qwz' or 'haldane' presets), or label "
                "periodic samples with tnn.invariants.bott_index."
            )
        contractions.bulk_cells(lat, trim_cells(lat, config.trim))
        if config.spectral != "sign":
            raise ValueError(f"ModelConfig field `spectral` applies to chains only; use 'sign' in 2D, got {config.spectral!r}.")

    def init(key, x):
        _check_input(x, lat)
        return init_params(key, config, lat)

    def one(params, E, V):
        return _head_apply(params["head"], channel_values(params, E, V, lat, config), config)

    def apply(params, x):
        E, V = _check_input(x, lat)
        return jax.vmap(one, in_axes=(None, 0, 0))(params, E, V)

    return Model(config=config, lattice=lat, init=init, apply=jax.jit(apply), prepare=prepare)

r"""The exact parameter symmetries of topo's 1D winding network, and a canonical form modulo them.

The network (:mod:`tnn.landscape.chain`, ``docs/conventions.md``) maps its parameters to
``z_k = sum_ij K^k_ij |U^k_ij|^2`` with ``U^k = A_k diag(g_k) B_k^dag`` and then to the head
``f = w . z + b + w2 . tanh(W1^T z + b1) + b2``. These transformations leave every output unchanged
for every input (the group is a product; each factor is exact for the architecture as written):

1. **Channel permutations** ``pi in S_K``: permute every channel-indexed leaf (``kernel``,
   ``spectral``, ``mixing``) together with the head's ``w_k`` and the rows ``W1[k, :]``.
2. **Kernel scale** ``gamma_k != 0`` (sign included): ``kappa_k(d) = a_k d + mlp_k(d)`` is linear in
   ``(a_k, w2, b2)`` of its MLP, so ``(a_k, w2_k, b2_k) -> gamma (a_k, w2_k, b2_k)`` scales ``z_k`` by
   ``gamma``; the head undoes it with ``w_k, W1[k, :] -> / gamma``.
3. **Spectral scale** ``s_k != 0``: ``g_k = c_k s_n + mlp_k(E_n)`` (or ``c_k tanh(beta_k E_n) + ...``)
   is linear in ``(c_k, w2_k, b2_k)``; ``U`` scales by ``s``, ``z_k`` by ``s^2`` (so ``s = -1`` is a
   pure sign flip); head ``/ s^2``. ``log_beta`` is not touched.
4. **Mixing-row scales** ``alpha_k, beta_k != 0``: rows ``M^k_0 -> alpha M^k_0``,
   ``M^k_1 -> beta M^k_1`` scale ``U`` by ``alpha beta``; head ``/ (alpha beta)^2``.
5. **Hidden units** of every small MLP (the kernel and spectral MLP of each channel, the head MLP):
   permutations of the units, and ``(w1_h, b1_h, w2_h) -> -(w1_h, b1_h, w2_h)`` (``tanh`` is odd).
6. **Bias translation** ``t``: only ``b + b2`` enters ``f`` (head with an MLP).

Not symmetries of the architecture (checked or argued, so not used): swapping the mixing rows
(it transposes the kernel, ``K_ij = mask_i kappa(d_ij) / L'`` is not symmetric on open chains, nor at
``d = -L/2`` on periodic ones); ``g_k(E) -> -g_k(-E)``, an exact flat direction only on chiral data
with sublattice-diagonal ``M`` (a property of the data, not of the function); anything of the class
logits ``-tau (f - v_c)^2`` (their differences are not invariant under any map of ``f`` or ``tau``).

Canonical form (:func:`canonicalize`): hidden units sign-fixed (first significant entry of
``(w1_h, b1_h)`` positive) and sorted; each channel's kernel vector ``(a, w2, b2)``, spectral
vector ``(c, w2, b2)`` and mixing rows scaled to unit norm with their first significant entry
positive, the scales moved into the head (``w_k, W1[k, :] *= gamma s^2 alpha^2 beta^2``);
channels sorted by ``|w_k|`` descending; ``b2`` folded into ``b``. "Significant": ``|x| > 1e-6
max|v|``. At the exact parameters the canonical form keeps the exact tensors (``a = c = 1``,
MLP output layers 0, ``M = 1``, ``w = e_0``; only the MLPs' hidden units are reordered).

:func:`exact_distance` measures the distance from the canonical form to the exact set in the same
chart: the nearest point with one channel ``j`` exact (kernel ``(1, 0, 0)``, spectral ``(1, 0, 0)``,
``M^j = 1``), head ``w = e_j``, head-MLP output weights and ``b`` zero; everything the output does not
depend on there (the other channels' tensors, the MLPs' first layers, the head MLP's first layer,
``log_tau``) is kept, since the exact set contains every value of it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from tnn.landscape.chain import check_chain_params

__all__ = ["SIGNIFICANT", "random_symmetry", "canonicalize", "nearest_exact", "exact_distance"]

#: relative size above which an entry of a vector counts as significant for its sign
SIGNIFICANT = 1e-6


def _first_sign(v):
    """Sign of the first entry of ``v`` ``(..., n)`` whose modulus exceeds ``SIGNIFICANT * max|v|``."""
    big = jnp.abs(v) > SIGNIFICANT * jnp.max(jnp.abs(v), axis=-1, keepdims=True)
    idx = jnp.argmax(big, axis=-1)
    s = jnp.sign(jnp.take_along_axis(v, idx[..., None], axis=-1)[..., 0])
    return jnp.where(s == 0, jnp.ones_like(s), s)


# ---------------------------------------------------------------------------------- the group
def _units(p, perm, sign):
    """Per-channel MLP ``{w1 (K, 1, H), b1 (K, H), w2 (K, H, 1), b2}``: units permuted (``perm``
    ``(K, H)``) and sign-flipped (``sign`` ``(K, H)``, applied after the permutation)."""
    w1 = jnp.take_along_axis(p["w1"], perm[:, None, :], axis=2)
    b1 = jnp.take_along_axis(p["b1"], perm, axis=1)
    w2 = jnp.take_along_axis(p["w2"], perm[:, :, None], axis=1)
    return {"w1": w1 * sign[:, None, :], "b1": b1 * sign, "w2": w2 * sign[:, :, None], "b2": p["b2"]}


def _scale_out(blockp, lead: str, s):
    """``(lead, mlp.w2, mlp.b2) *= s`` per channel (``s`` ``(K,)``): the linear part of a tensor function."""
    out = dict(blockp)
    out[lead] = blockp[lead] * s
    out["mlp"] = {**blockp["mlp"], "w2": blockp["mlp"]["w2"] * s[:, None, None], "b2": blockp["mlp"]["b2"] * s[:, None]}
    return out


def _channel_perm(params, perm):
    """Channels reordered by ``perm`` ``(K,)`` (new channel ``k`` is old channel ``perm[k]``)."""
    sel = lambda t: jax.tree_util.tree_map(lambda a: a[perm], t)  # noqa: E731
    head = dict(params["head"])
    head["w"] = head["w"][perm]
    if "mlp" in head:
        head["mlp"] = {**head["mlp"], "w1": head["mlp"]["w1"][perm]}
    return {"kernel": sel(params["kernel"]), "spectral": sel(params["spectral"]), "mixing": params["mixing"][perm],
            "head": head}


def _head_units(head, perm, sign):
    m = head["mlp"]
    mlp = {"w1": m["w1"][:, perm] * sign, "b1": m["b1"][perm] * sign, "w2": m["w2"][perm] * sign, "b2": m["b2"]}
    return {**head, "mlp": mlp}


def _rescale(params, gamma, s, alpha, beta):
    """Group factors 2-4 with per-channel ``gamma, s, alpha, beta`` ``(K,)`` (all nonzero)."""
    mix = params["mixing"] * jnp.stack([alpha, beta], axis=1)[:, :, None]
    comp = 1.0 / (gamma * s**2 * alpha**2 * beta**2)
    head = dict(params["head"])
    head["w"] = head["w"] * comp
    if "mlp" in head:
        head["mlp"] = {**head["mlp"], "w1": head["mlp"]["w1"] * comp[:, None]}
    return {"kernel": _scale_out(params["kernel"], "a", gamma), "spectral": _scale_out(params["spectral"], "c", s),
            "mixing": mix, "head": head}


def random_symmetry(key, params, log_scale: float = 1.0):
    """``params`` moved by a random element of the symmetry group (module docstring): a channel
    permutation, per-channel scales ``gamma, s, alpha, beta = +-exp(U(-log_scale, log_scale))``, a
    permutation and sign flips of the hidden units of every MLP, and a bias translation ``N(0, 1)``.

    Args:
      key: PRNG key. params: one chain topo network's parameters (a dict of arrays).
      log_scale: half-width of the uniform draw of the log of each scale.

    Returns:
      Parameters of the same structure and shapes whose network computes the same outputs.
    """
    K = check_chain_params(params)
    dt = jnp.result_type(params["kernel"]["a"])
    ks = jax.random.split(key, 10)

    def scales(k):
        ka, kb = jax.random.split(k)
        mag = jnp.exp(jax.random.uniform(ka, (K,), dt, -log_scale, log_scale))
        return mag * jnp.where(jax.random.bernoulli(kb, 0.5, (K,)), 1.0, -1.0).astype(dt)

    def unit_draw(k, shape):
        kp, ks_ = jax.random.split(k)
        perm = jnp.argsort(jax.random.uniform(kp, shape), axis=-1)
        return perm, jnp.where(jax.random.bernoulli(ks_, 0.5, shape), 1.0, -1.0).astype(dt)

    p = _rescale(params, scales(ks[0]), scales(ks[1]), scales(ks[2]), scales(ks[3]))
    for name, k in (("kernel", ks[4]), ("spectral", ks[5])):
        p[name] = {**p[name], "mlp": _units(p[name]["mlp"], *unit_draw(k, p[name]["mlp"]["b1"].shape))}
    if "mlp" in p["head"]:
        perm, sign = unit_draw(ks[6], p["head"]["mlp"]["b1"].shape)
        p["head"] = _head_units(p["head"], perm, sign)
        t = jax.random.normal(ks[7], (), dt)
        p["head"] = {**p["head"], "b": p["head"]["b"] + t, "mlp": {**p["head"]["mlp"], "b2": p["head"]["mlp"]["b2"] - t}}
    return _channel_perm(p, jax.random.permutation(ks[8], K))


# ---------------------------------------------------------------------------------- canonical form
def _canon_units(p):
    """Per-channel MLP units: sign so that ``(w1_h, b1_h)`` starts positive, then sorted by ``(w1, b1)``."""
    w1, b1 = p["w1"][:, 0, :], p["b1"]
    sign = _first_sign(jnp.stack([w1, b1], axis=-1))  # (K, H)
    w1s, b1s = w1 * sign, b1 * sign
    perm = jax.vmap(lambda a, b: jnp.lexsort((b, a)))(w1s, b1s)
    flipped = {**p, "w1": p["w1"] * sign[:, None, :], "b1": b1s, "w2": p["w2"] * sign[:, :, None]}
    return _units(flipped, perm, jnp.ones_like(sign))


def _linear_scale(blockp, lead: str):
    """Per channel, the signed norm ``(K,)`` of ``(lead, w2, b2)``: its norm times the sign of its
    first significant entry (1 for a zero vector)."""
    v = jnp.concatenate([blockp[lead][:, None], blockp["mlp"]["w2"][..., 0], blockp["mlp"]["b2"]], axis=1)
    n = jnp.linalg.norm(v, axis=1)
    return _first_sign(v) * jnp.where(n > 0, n, 1.0)


def canonicalize(params):
    """The canonical representative of ``params``' orbit under the symmetry group (module docstring).

    Args:
      params: one chain topo network's parameters (jit- and vmap-compatible; map over a stacked
        ensemble with ``jax.vmap(canonicalize)``).

    Returns:
      Parameters of the same structure: same outputs for every input, and equal (to rounding) for
      any two points of one orbit.
    """
    check_chain_params(params)
    p = dict(params)
    p["kernel"] = {**p["kernel"], "mlp": _canon_units(p["kernel"]["mlp"])}
    p["spectral"] = {**p["spectral"], "mlp": _canon_units(p["spectral"]["mlp"])}
    gamma = _linear_scale(p["kernel"], "a")
    s = _linear_scale(p["spectral"], "c")
    rows = jnp.linalg.norm(p["mixing"], axis=2)  # (K, 2)
    rows = _first_sign(p["mixing"]) * jnp.where(rows > 0, rows, 1.0)
    p = _rescale(p, 1.0 / gamma, 1.0 / s, 1.0 / rows[:, 0], 1.0 / rows[:, 1])
    w = p["head"]["w"]
    p = _channel_perm(p, jnp.lexsort((-w, -jnp.abs(w))))
    if "mlp" in p["head"]:
        m = p["head"]["mlp"]
        cols = jnp.concatenate([m["w1"], m["b1"][None, :]], axis=0).T  # (Hh, K + 1)
        sign = _first_sign(cols)
        cols = cols * sign[:, None]
        perm = jnp.lexsort(tuple(cols[:, i] for i in range(cols.shape[1] - 1, -1, -1)))
        head = _head_units(p["head"], perm, sign[perm])
        head = {**head, "b": head["b"] + head["mlp"]["b2"], "mlp": {**head["mlp"], "b2": jnp.zeros_like(head["mlp"]["b2"])}}
        p["head"] = head
    return p


def _exact_chart(canon, j: int):
    """``canon`` with channel ``j`` and the head set to the exact values (the free parts kept)."""
    K = canon["head"]["w"].shape[0]
    on = jnp.arange(K) == j
    dt = canon["head"]["w"].dtype

    def exact_fn(blockp, lead):
        out = dict(blockp)
        out[lead] = jnp.where(on, 1.0, blockp[lead])
        m = blockp["mlp"]
        out["mlp"] = {**m, "w2": jnp.where(on[:, None, None], 0.0, m["w2"]), "b2": jnp.where(on[:, None], 0.0, m["b2"])}
        return out

    n_orb = canon["mixing"].shape[2]
    mix = jnp.where(on[:, None, None], jnp.eye(2, n_orb, dtype=dt)[None], canon["mixing"])
    head = {**canon["head"], "w": on.astype(dt), "b": jnp.zeros_like(canon["head"]["b"])}
    if "mlp" in head:
        head["mlp"] = {**head["mlp"], "w2": jnp.zeros_like(head["mlp"]["w2"]), "b2": jnp.zeros_like(head["mlp"]["b2"])}
    return {"kernel": exact_fn(canon["kernel"], "a"), "spectral": exact_fn(canon["spectral"], "c"), "mixing": mix,
            "head": head}


def _dist(p, q):
    return jnp.sqrt(sum(jnp.sum((a - b) ** 2) for a, b in zip(jax.tree_util.tree_leaves(p), jax.tree_util.tree_leaves(q))))


def nearest_exact(params):
    """``(canon, exact)``: the canonical form of ``params`` and the nearest exact point in its chart
    (module docstring; minimized over the channel ``j`` that carries the invariant). Both are
    parameter points of the same network; ``exact`` computes the exact winding number."""
    canon = canonicalize(params)
    K = check_chain_params(params)
    cands = [_exact_chart(canon, j) for j in range(K)]
    d = jnp.stack([_dist(canon, c) for c in cands])
    j = jnp.argmin(d)
    exact = jax.tree_util.tree_map(lambda *a: jnp.stack(a)[j], *cands)
    return canon, exact


def exact_distance(params):
    """Euclidean distance (scalar) from ``canonicalize(params)`` to the exact set in the canonical chart."""
    canon, exact = nearest_exact(params)
    return _dist(canon, exact)

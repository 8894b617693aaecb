r"""Trainability as a phase diagram: topo's success rate over the training hyperparameters.

:func:`phase_diagram` trains topo (its configured init, ``"random"`` in the study) on one training
set and scores every member on one test set. A member **succeeds** at a checkpoint when its test
accuracy is at least ``threshold`` (0.99). The grid:

* ``optimizer``: ``"adam"``, ``"sgd"`` (momentum 0.9), ``"lbfgs"`` (full batch, zoom line search);
  see :mod:`tnn.study.trainability.ensemble`.
* ``loss``: ``"ce"`` -- softmax cross-entropy of topo's class logits ``-tau (f - v_c)^2``; ``"mse"``
  -- the regression head (``task="regress"``): mean squared error of the invariant ``f`` to the
  label, a loss whose exact point is a true minimum (zero). Accuracy: the predicted class
  (``ce``: the arg-max logit; ``mse``: ``f`` rounded to the nearest class of ``classes``).
* ``tau``: the initial logit sharpness. It is written into the head's ``log_tau`` after the init
  whatever the init (the random init would otherwise draw it from N(0, init_scale^2)). It does not
  enter the regression loss, so ``mse`` is run once and its numbers repeat along this axis.
* ``lr``: learning rate of ``adam`` / ``sgd``; ``lbfgs`` has none (its line search sets the step), so
  it is run once and its numbers repeat along this axis.
* ``step``: checkpoints along one trajectory (steps of ``adam`` / ``sgd``; iterations of ``lbfgs``,
  by default the same number of per-sample gradients: ``ceil(step * batch_size / n_train)``).
* ``seed``: member ``s`` is initialized by ``jax.random.key(seeds[s])`` and orders its minibatches by
  ``seeds[s]``; the same seeds in every cell, so cells are paired.

All minibatch members (``adam`` and ``sgd``, both losses, every tau and lr) are **one**
``jit(vmap(scan))`` ensemble (each member carries its optimizer, rate and loss: the loss switch is
``aux``, see :func:`objective`), and the ``lbfgs`` members are a second one: two compilations.

Cost (2-core CPU shared with other jobs, load 5-9, float32, topo with 2 channels, 256 training and
256 test chains): about ``c * members * max(steps)`` plus ~20 s of compilation for the minibatch
ensemble, ``c`` = 2 ms per member-step at L = 16 and 7 ms at L = 32 (batch 16); the grid
2 optimizers x 3 rates x (2 taus + mse) x 16 seeds to 1000 steps at L = 16 took 630 s. Full-batch
L-BFGS costs a 256-sample gradient per line-search evaluation and compiles for about 50 s (the zoom
line search evaluates the loss in several branches, all traced); under ``vmap`` both branches run
and the slowest member sets the pace: 48 members x 63 iterations (the per-sample gradients of 1000
steps of batch 16) took 1080 s at L = 16, about 17 s per iteration. The 384-member block-noise
run (4 blocks x 6 sigmas x 16 seeds, 200 Adam steps) took 96 s.

Per cell the result holds the success count, rate and Clopper-Pearson interval
(:func:`tnn.intervals.clopper_pearson`), each member's accuracy, the median steps-to-solution (the
first checkpoint at which a member succeeds, among the members that do by the last one) and
quantiles of the final training loss (whole training set).

:func:`block_noise` starts from the exact tensors with N(0, sigma^2) noise on **one parameter block**
(the top-level keys of topo's parameters: ``kernel``, ``spectral``, ``mixing``, ``head`` on chains)
and measures the success rate per block x sigma, after training with one optimizer: which block is
ill-conditioned.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from typing import Any, Sequence

import numpy as np
import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from tnn import _checks
from tnn.study.trainability.ensemble import (
    MINIBATCH_OPTIMIZERS,
    OPTIMIZERS,
    cast_inputs,
    check_steps,
    nearest,
    score_ensemble,
    stack_members,
    train_ensemble,
)

__all__ = ["LOSSES", "DEFAULT_BLOCK_SIGMAS", "QUANTILES", "param_blocks", "objective", "phase_diagram", "block_noise"]

LOSSES = ("ce", "mse")
#: noise scales of :func:`block_noise`
DEFAULT_BLOCK_SIGMAS = (1e-2, 3e-2, 1e-1, 3e-1, 1.0, 3.0)
#: quantiles of the final training loss reported per cell
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def param_blocks(params) -> tuple[str, ...]:
    """The parameter blocks of topo: the top-level keys of its parameter dict, in order."""
    if not isinstance(params, dict) or not params:
        raise ValueError(f"Argument `params` must be topo's parameter dict, got {type(params).__name__}.")
    return tuple(params)


# ----------------------------------------------------------------------------------- pieces
def _subset(name: str, values, options) -> tuple:
    """``values`` as a non-empty tuple of distinct entries of ``options``."""
    try:
        out = tuple(values) if not isinstance(values, str) else None
    except TypeError:
        out = None
    if not out or len(set(out)) != len(out) or any(v not in options for v in out):
        raise ValueError(f"Argument `{name}` must be a non-empty tuple of distinct entries of {tuple(options)}, got {values!r}.")
    return out


def _prepare(model_config, lat, train, test):
    """Check the arguments; the cached objective of the config and the encoded data."""
    from tnn.lattice import Lattice
    from tnn.models import ModelConfig
    from tnn.train import encode_labels

    if not isinstance(model_config, ModelConfig) or model_config.name != "topo":
        raise ValueError("Argument `model_config` must be a tnn.models.ModelConfig of topo.")
    if not isinstance(lat, Lattice):
        raise ValueError(f"Argument `lat` must be a tnn.lattice.Lattice, got {type(lat).__name__}.")
    cfg = dataclasses.replace(model_config, task="regress").validate()
    model, loss_fn, pred_fn = objective(cfg, lat)
    data = {}
    for name, d in (("train", train), ("test", test)):
        if not (isinstance(d, (tuple, list)) and len(d) == 2):
            raise ValueError(f"Argument `{name}` must be a pair (x, y) of features and invariant values.")
        x, y = model.prepare(d[0]), np.asarray(d[1], np.float64)
        if y.ndim != 1 or len(y) != int(np.shape(x["energies"])[0]):
            raise ValueError(f"Argument `{name}` must hold x and y with one sample axis, y has shape {y.shape}.")
        _checks.check_finite(name, y)
        try:
            encode_labels(dataclasses.replace(cfg, task="classify"), y)
        except ValueError as err:
            raise ValueError(f"Argument `{name}`: {err}") from None
        data[name] = (x, y)
    return cfg, model, loss_fn, pred_fn, data


@functools.lru_cache(maxsize=16)
def objective(config, lat):
    """``(model, loss_fn, predict_fn)`` of topo ``config`` (``task="regress"``) on ``lat``, cached.

    ``loss_fn(params, x, t, ce)``: with ``ce = 1`` the softmax cross-entropy of the class logits
    ``-tau (f - v_c)^2`` (:func:`tnn.models.class_logits`, ``tau = exp(params["head"]["log_tau"])``:
    exactly the output of the ``task="classify"`` model), with ``ce = 0`` the squared error
    ``(f - t)^2``, both averaged over the batch; ``f`` the regressed invariant ``(B,)``.
    ``predict_fn(params, x, ce)``: the class value nearest to ``f`` (the arg-max of those logits,
    whatever ``tau``). One compiled ensemble thus holds members of both losses."""
    from tnn.models import class_logits, make_model

    model = make_model(config, lat)
    classes = tuple(config.classes)

    def loss_fn(p, x, t, ce):
        f = model.apply(p, x)[:, 0]
        v = jnp.asarray(classes, f.dtype)
        idx = jnp.argmin(jnp.abs(t[:, None] - v[None, :]), axis=1)
        xent = optax.softmax_cross_entropy_with_integer_labels(class_logits(f, classes, p["head"]["log_tau"]), idx)
        return jnp.where(ce > 0, xent.mean(), jnp.mean((f - t) ** 2))

    def predict_fn(p, x, ce):
        f = model.apply(p, x)[:, 0]
        return nearest(f, jnp.asarray(classes, f.dtype))

    return model, loss_fn, predict_fn


def _set_tau(p, tau):
    head = dict(p["head"], log_tau=jnp.asarray(np.log(tau), p["head"]["log_tau"].dtype))
    return dict(p, head=head)


def _cell_stats(correct, final_loss, steps, threshold):
    """Cell statistics from ``correct`` ``(..., n_steps, S, n_test)`` and ``final_loss`` ``(..., S)``."""
    from tnn.intervals import clopper_pearson

    acc = correct.mean(axis=-1)  # (..., n_steps, S)
    ok = acc >= threshold
    k = ok.sum(axis=-1)
    S = ok.shape[-1]
    ci = np.vectorize(lambda kk: clopper_pearson(int(kk), S), otypes=[float, float])(k)
    hit = ok.any(axis=-2)  # (..., S)
    first = np.where(hit, np.asarray(steps)[np.argmax(ok, axis=-2)], -1)
    succ_last = ok[..., -1, :]
    med = np.full(first.shape[:-1], np.nan)
    for ix in np.ndindex(*first.shape[:-1]):
        sel = first[ix][succ_last[ix] & hit[ix]]
        if sel.size:
            med[ix] = float(np.median(sel))
    final = np.where(np.isfinite(final_loss), final_loss, np.inf)  # diverged: +inf
    q = np.quantile(final, QUANTILES, axis=-1, method="nearest")  # no inf - inf interpolation
    return {"success": k, "rate": k / S, "ci_lo": ci[0], "ci_hi": ci[1], "acc": acc, "first_success": first,
            "median_steps_to_solution": med, "final_loss_quantiles": np.moveaxis(q, 0, -1),
            "final_loss": final}


def _lbfgs_steps(steps, batch_size, n):
    return tuple(int(0 if s == 0 else max(1, math.ceil(s * batch_size / n))) for s in steps)


# ----------------------------------------------------------------------------------- phase diagram
def phase_diagram(model_config, lat, train, test, *, learning_rates: Sequence[float] = (3e-3, 3e-2, 3e-1),
                  steps: Sequence[int] = (50, 100, 200, 400, 700, 1000), optimizers: Sequence[str] = OPTIMIZERS,
                  taus: Sequence[float] = (1.0, 10.0), losses: Sequence[str] = LOSSES,
                  seeds: Sequence[int] = tuple(range(16)), batch_size: int = 16,
                  lbfgs_steps: Sequence[int] | None = None, threshold: float = 0.99,
                  momentum: float = 0.9) -> dict[str, Any]:
    """topo's success rate against optimizer x loss x initial tau x learning rate x steps.

    Args:
      model_config: a topo :class:`tnn.models.ModelConfig`; its ``init`` (``"random"`` for the
        study), ``classes`` and ``dtype`` are used (``"float32"`` for the study: the accuracy
        threshold needs no float64).
      lat: the lattice of the training and test samples.
      train, test: ``(x, y)``: ``x`` the dataset features (``{"energies": (n, N), "wavefunctions":
        (n, N, N)}``), ``y`` ``(n,)`` the invariant values (each one of ``classes``).
      learning_rates: rates of ``adam`` / ``sgd`` (each > 0).
      steps: checkpoints of ``adam`` / ``sgd`` (strictly increasing, ``>= 0``; 0: the init).
      optimizers: a subset of ``("adam", "sgd", "lbfgs")``.
      taus: initial logit sharpness values (each > 0).
      losses: a subset of ``("ce", "mse")``.
      seeds: members per cell (>= 1; the study uses >= 16).
      batch_size: minibatch size of ``adam`` / ``sgd``.
      lbfgs_steps: checkpoints of ``lbfgs`` (as many as ``steps``); None: the same number of
        per-sample gradients as ``steps``, ``ceil(step * batch_size / n_train)``.
      threshold: test accuracy that counts as success.
      momentum: SGD momentum.

    Returns:
      A JSON-able dict (NumPy arrays inside; :func:`tnn.study.trainability.write_phase_diagram` writes it):
      the axes ``optimizer``, ``loss``, ``tau``, ``lr``, ``step`` (``(n_opt, n_steps)``: the steps of
      each optimizer), ``seeds``; per cell (axes ``(opt, loss, tau, lr)`` then ``step``):
      ``success`` and ``rate`` ``(..., n_steps)``, ``ci_lo`` / ``ci_hi`` (95% Clopper-Pearson),
      ``acc`` ``(..., n_steps, S)``, ``first_success`` ``(..., S)`` (-1: never),
      ``median_steps_to_solution`` ``(...)`` (NaN: no success), ``final_loss`` ``(..., S)`` and
      ``final_loss_quantiles`` ``(..., len(QUANTILES))``; ``applies`` (which axes an optimizer or
      loss ignores), ``threshold``, ``n_train``, ``n_test``, ``batch_size``, ``dtype``, ``init``,
      ``wall_s`` per (optimizer, loss) and in total.
    """
    t_start = time.perf_counter()
    cfg, model, loss_fn, pred_fn, data = _prepare(model_config, lat, train, test)
    opts = _subset("optimizers", optimizers, OPTIMIZERS)
    los = _subset("losses", losses, LOSSES)
    lrs = _checks.check_reals("learning_rates", learning_rates, 0, lo_open=True, min_length=1, distinct=True)
    taus = _checks.check_reals("taus", taus, 0, lo_open=True, min_length=1, distinct=True)
    seeds = _checks.check_ints("seeds", seeds, 0, min_length=1, distinct=True)
    steps = check_steps("steps", steps)
    threshold = _checks.check_real("threshold", threshold, 0, 1, lo_open=True)
    momentum = _checks.check_real("momentum", momentum, 0, 1, hi_open=True)
    (x, y), (xt, yt) = data["train"], data["test"]
    n = len(y)
    batch_size = _checks.check_int("batch_size", batch_size, 1, n)
    lsteps = _lbfgs_steps(steps, batch_size, n) if lbfgs_steps is None else check_steps("lbfgs_steps", lbfgs_steps)
    if len(lsteps) != len(steps):
        raise ValueError(f"Argument `lbfgs_steps` must have as many checkpoints as `steps` ({len(steps)}), got {lsteps}.")

    x1 = jax.tree_util.tree_map(lambda a: a[:1], x)
    base = [model.init(jax.random.key(s), x1) for s in seeds]
    dtype = jax.tree_util.tree_leaves(base[0])[0].dtype
    x, xt = cast_inputs(x, dtype), cast_inputs(xt, dtype)
    tr = (x, jnp.asarray(y, dtype))
    S, nT, nL = len(seeds), len(taus), len(lrs)
    combos = [("ce", it) for it in range(nT) if "ce" in los] + [("mse", 0) for _ in range(1) if "mse" in los]
    runs = [(tuple(o for o in opts if o in MINIBATCH_OPTIMIZERS), range(nL), steps),
            (tuple(o for o in opts if o == "lbfgs"), range(1), lsteps)]
    cells: dict[str, np.ndarray] = {}
    wall = {}
    for names, lr_idx, ck in runs:
        if not names:
            continue
        t0 = time.perf_counter()
        groups = [(o, loss, it, ir) for o in names for loss, it in combos for ir in lr_idx]
        members = [_set_tau(p, taus[it]) for _, _, it, _ in groups for p in base]
        rates = np.repeat([lrs[ir] for *_, ir in groups], S)
        ce = jnp.repeat(jnp.asarray([float(loss == "ce") for _, loss, _, _ in groups], dtype), S)
        run = train_ensemble(loss_fn, stack_members(members), tr, optimizer=names[0] if names == ("lbfgs",) else
                             [o for o, *_ in groups for _ in seeds], learning_rates=rates, steps=ck,
                             batch_size=batch_size, seeds=seeds * len(groups), aux=ce, momentum=momentum)
        sc = score_ensemble(loss_fn, pred_fn, run["params"], tr, (xt, yt), aux=ce)
        G, k = len(groups), len(ck)
        st = _cell_stats(sc["correct"].reshape(k, G, S, -1).transpose(1, 0, 2, 3),
                         sc["final_loss"].reshape(G, S), ck, threshold)
        for g, (o, loss, it, ir) in enumerate(groups):
            # repeat along the axes this run ignores: tau for mse, lr for lbfgs
            its = range(nT) if loss == "mse" else [it]
            irs = range(nL) if o == "lbfgs" else [ir]
            for name, v in st.items():
                if name not in cells:
                    cells[name] = np.zeros((len(opts), len(los), nT, nL) + v.shape[1:], v.dtype)
                for jt in its:
                    for jr in irs:
                        cells[name][opts.index(o), los.index(loss), jt, jr] = v[g]
        wall["+".join(names)] = time.perf_counter() - t0
    step_axis = np.asarray([lsteps if o == "lbfgs" else steps for o in opts])
    return {"kind": "phase_diagram", "optimizer": list(opts), "loss": list(los), "tau": list(taus), "lr": list(lrs),
            "step": step_axis, "seeds": list(seeds), **cells,
            "applies": {"lr": {o: o in MINIBATCH_OPTIMIZERS for o in opts}, "tau": {v: v == "ce" for v in los}},
            "threshold": threshold, "n_train": n, "n_test": len(yt), "batch_size": batch_size, "momentum": momentum,
            "dtype": jnp.dtype(dtype).name, "init": cfg.init, "classes": list(cfg.classes),
            "lattice": {"kind": lat.kind, "dims": list(lat.dims), "pbc": bool(lat.pbc)},
            "wall_s": {**wall, "total": time.perf_counter() - t_start}}


# ----------------------------------------------------------------------------------- block noise
def block_noise(model_config, lat, train, test, *, sigmas: Sequence[float] = DEFAULT_BLOCK_SIGMAS,
                blocks: Sequence[str] | None = None, optimizer: str = "adam", learning_rate: float = 3e-2,
                steps: Sequence[int] = (0, 100, 300, 1000), loss: str = "ce", seeds: Sequence[int] = tuple(range(16)),
                batch_size: int = 16, threshold: float = 0.99, momentum: float = 0.9) -> dict[str, Any]:
    """Success rate from the exact tensors with N(0, sigma^2) noise on one parameter block at a time.

    Member ``(block, sigma, seed)``: topo's exact parameters for ``jax.random.key(seed)`` (the small
    MLPs' first layers are drawn from it; their output layers are zero), plus ``sigma * z`` on every
    entry of ``block``, ``z ~ N(0, 1)`` drawn from ``jax.random.fold_in(jax.random.key(seed), 1)``:
    the same direction ``z`` for every sigma of a seed. All members train as one vmap ensemble
    (``optimizer``, ``learning_rate``, ``loss`` as in :func:`phase_diagram`). ``tau`` is the
    config's (``ModelConfig.tau``).

    Args:
      model_config, lat, train, test: as :func:`phase_diagram` (the config's ``init`` is ignored).
      sigmas: noise scales (each > 0).
      blocks: names among :func:`param_blocks` of topo's parameters (None: all).
      steps: checkpoints (0: before training, the noisy init itself).

    Returns:
      A JSON-able dict: axes ``block``, ``sigma``, ``step``, ``seeds``; per (block, sigma):
      ``success``, ``rate``, ``ci_lo``, ``ci_hi`` ``(n_b, n_s, n_steps)``, ``acc`` ``(n_b, n_s, n_steps, S)``,
      ``first_success``, ``median_steps_to_solution``, ``final_loss``, ``final_loss_quantiles``;
      ``block_size`` (entries per block), and the settings.
    """
    t_start = time.perf_counter()
    cfg, model, loss_fn, pred_fn, data = _prepare(dataclasses.replace(model_config, init="exact", noise=0.0), lat, train,
                                                  test)
    _checks.check_choice("optimizer", optimizer, OPTIMIZERS)
    _checks.check_choice("loss", loss, LOSSES)
    sig = _checks.check_reals("sigmas", sigmas, 0, lo_open=True, min_length=1, distinct=True)
    seeds = _checks.check_ints("seeds", seeds, 0, min_length=1, distinct=True)
    steps = check_steps("steps", steps)
    threshold = _checks.check_real("threshold", threshold, 0, 1, lo_open=True)
    _checks.check_real("learning_rate", learning_rate, 0, lo_open=True)
    (x, y), (xt, yt) = data["train"], data["test"]
    batch_size = _checks.check_int("batch_size", batch_size, 1, len(y))
    x1 = jax.tree_util.tree_map(lambda a: a[:1], x)
    exact = [model.init(jax.random.key(s), x1) for s in seeds]
    names = param_blocks(exact[0])
    blk = names if blocks is None else _subset("blocks", blocks, names)
    dtype = jax.tree_util.tree_leaves(exact[0])[0].dtype
    members, sizes = [], {}
    for b in blk:
        for s in sig:
            for seed, p in zip(seeds, exact):
                flat, unravel = ravel_pytree(p[b])
                sizes[b] = int(flat.size)
                z = jax.random.normal(jax.random.fold_in(jax.random.key(seed), 1), flat.shape, dtype)
                members.append(dict(p, **{b: unravel(flat + s * z)}))
    x, xt = cast_inputs(x, dtype), cast_inputs(xt, dtype)
    tr = (x, jnp.asarray(y, dtype))
    S = len(seeds)
    ce = jnp.full((len(members),), float(loss == "ce"), dtype)
    run = train_ensemble(loss_fn, stack_members(members), tr, optimizer=optimizer, learning_rates=learning_rate,
                         steps=steps, batch_size=batch_size, seeds=seeds * (len(blk) * len(sig)), aux=ce,
                         momentum=momentum)
    sc = score_ensemble(loss_fn, pred_fn, run["params"], tr, (xt, yt), aux=ce)
    k = len(steps)
    corr = sc["correct"].reshape(k, len(blk), len(sig), S, -1).transpose(1, 2, 0, 3, 4)
    st = _cell_stats(corr, sc["final_loss"].reshape(len(blk), len(sig), S), steps, threshold)
    return {"kind": "block_noise", "block": list(blk), "sigma": list(sig), "step": list(steps), "seeds": list(seeds),
            **st, "block_size": sizes, "optimizer": optimizer, "learning_rate": float(learning_rate), "loss": loss,
            "tau": float(cfg.tau), "threshold": threshold, "n_train": len(y), "n_test": len(yt),
            "batch_size": batch_size, "dtype": jnp.dtype(dtype).name, "classes": list(cfg.classes),
            "lattice": {"kind": lat.kind, "dims": list(lat.dims), "pbc": bool(lat.pbc)},
            "wall_s": time.perf_counter() - t_start}

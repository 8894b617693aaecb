r"""One ensemble, one compiled trajectory: ``jit(vmap(scan))`` training with checkpoints along the way.

:func:`train_ensemble` trains ``S`` members at once: their parameters are stacked (every leaf has a
leading member axis), the step is ``vmap``-ed over members and ``lax.scan``-ned over steps, and the
whole run is one compiled call. Each member has its own learning rate (the optimizer state carries
it: ``optax.inject_hyperparams``, ``opt_state.hyperparams["learning_rate"]`` of shape ``(S,)``), its
own minibatch order and its own ``aux`` (a per-member pytree handed to the loss, e.g. which class
logits to use). The parameters are kept at each requested step count (``steps``, the
*checkpoints*), so a grid over the number of steps costs one run of the largest.

Optimizers (:func:`make_optimizer`):

* ``"adam"``: ``optax.adam``; ``"sgd"``: ``optax.sgd`` with momentum (0.9 by default). Minibatches
  of ``batch_size`` samples; member ``s`` visits the training set in the order
  ``numpy.random.default_rng([seeds[s], epoch]).permutation(n)`` epoch after epoch (the last
  incomplete batch of an epoch is dropped), the convention of :func:`tnn.train.fit`.
* ``"lbfgs"``: ``optax.lbfgs`` (memory 10) with its zoom line search, full batch; the value and
  gradient come from :func:`optax.value_and_grad_from_state` (the line search's last evaluation is
  reused). The learning rate does not apply (the line search sets the step length).

:func:`score_ensemble` evaluates the checkpoints: the loss on the whole training set and the
correctness of each test sample, per checkpoint and member. :func:`fit_regression` is the
regression head's trainer: a ``task="regress"`` model (any of :mod:`tnn.models`), mean squared
error to the invariant, accuracy by rounding the output to the nearest integer (or to the nearest
of given values), so a head trained on windings ``{0, 1}`` can answer ``-1`` or ``2``.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy as np
import jax
import jax.numpy as jnp
import optax

from tnn import _checks
from tnn.train import optim

__all__ = ["OPTIMIZERS", "MINIBATCH_OPTIMIZERS", "make_optimizer", "train_ensemble", "score_ensemble", "fit_regression",
           "stack_members", "cast_inputs", "nearest", "check_steps"]

OPTIMIZERS = ("adam", "sgd", "lbfgs")
MINIBATCH_OPTIMIZERS = ("adam", "sgd")


def make_optimizer(name: str, learning_rate: float = 1e-3, momentum: float = 0.9) -> optax.GradientTransformation:
    """The optax transformation ``name`` of :data:`OPTIMIZERS`.

    ``adam`` and ``sgd`` (momentum ``momentum``) are wrapped in ``optax.inject_hyperparams``: the rate
    lives in the state (``state.hyperparams["learning_rate"]``) and may be replaced per member.
    ``lbfgs`` is ``optax.lbfgs()`` with its zoom line search (``learning_rate`` is ignored)."""
    _checks.check_choice("optimizer", name, OPTIMIZERS)
    _checks.check_real("learning_rate", learning_rate, 0, lo_open=True)
    _checks.check_real("momentum", momentum, 0, 1, hi_open=True)
    if name == "adam":
        return optax.inject_hyperparams(optax.adam)(learning_rate=learning_rate)
    if name == "sgd":
        return optax.inject_hyperparams(optax.sgd)(learning_rate=learning_rate, momentum=momentum or None)
    return optax.lbfgs()


def check_steps(name: str, steps, minimum: int = 0) -> tuple[int, ...]:
    """Checkpoints: a non-empty, strictly increasing tuple of ints ``>= minimum``."""
    s = _checks.check_ints(name, steps, minimum, min_length=1)
    if any(b <= a for a, b in zip(s, s[1:])):
        raise ValueError(f"Argument `{name}` must be strictly increasing, got {s}.")
    return s


def stack_members(trees: Sequence[Any]):
    """Stack a list of pytrees (one per member) into one pytree with a leading member axis."""
    return jax.tree_util.tree_map(lambda *a: jnp.stack(a), *trees)


def cast_inputs(x, dtype):
    """Real leaves of ``x`` to ``dtype``, complex leaves to the complex type of that precision."""
    cdtype = jnp.complex128 if jnp.dtype(dtype) == jnp.float64 else jnp.complex64

    def one(a):
        a = jnp.asarray(a)
        if jnp.issubdtype(a.dtype, jnp.complexfloating):
            return a.astype(cdtype)
        return a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a

    return jax.tree_util.tree_map(one, x)


def nearest(values, targets):
    """The entry of ``targets`` ``(C,)`` nearest to each of ``values`` ``(...)``: ``(...)``; ``targets``
    None rounds to the nearest integer."""
    if targets is None:
        return jnp.round(values)
    targets = jnp.asarray(targets, values.dtype)
    return targets[jnp.argmin(jnp.abs(values[..., None] - targets), axis=-1)]


def _orders(seeds, n: int, batch_size: int, n_steps: int) -> np.ndarray:
    """``(n_steps, S, batch_size)`` sample indices: member ``s`` walks through
    ``default_rng([seeds[s], epoch]).permutation(n)`` in batches, dropping the last incomplete one."""
    spe = n // batch_size
    n_epochs = -(-n_steps // spe)
    out = np.empty((n_steps, len(seeds), batch_size), np.int32)
    for s, seed in enumerate(seeds):
        idx = np.concatenate([np.random.default_rng([int(seed), e]).permutation(n)[: spe * batch_size] for e in range(n_epochs)])
        out[:, s] = idx[: n_steps * batch_size].reshape(n_steps, batch_size)
    return out


def _keep(buf, p, hit):
    """Write ``p`` (a member-stacked pytree) into the checkpoint slots of ``buf`` flagged by ``hit``."""
    return jax.tree_util.tree_map(lambda b, x: jnp.where(hit.reshape((-1,) + (1,) * x.ndim), x[None], b), buf, p)


@functools.lru_cache(maxsize=64)
def _runner(loss_fn: Callable, kinds: tuple[str, ...], momentum: float, with_aux: bool):
    """The compiled trajectory of ``loss_fn`` with the optimizers ``kinds`` (cached: a second call
    with the same loss function and optimizers reuses the compilation)."""
    opts = tuple(make_optimizer(k, 1e-3, momentum) for k in kinds)
    aux_axis = 0 if with_aux else None

    if kinds == ("lbfgs",):
        (opt,) = opts

        def member(p, states, w, a, xx, tt):
            f = lambda q: loss_fn(q, xx, tt, a)  # noqa: E731
            v, g = optax.value_and_grad_from_state(f)(p, state=states[0])
            u, s = optim.update(opt, g, states[0], p, value=v, grad=g, value_fn=f)
            return optax.apply_updates(p, u), (s,), v

        def body(carry, i, ck, aux, xx, tt, which):
            p, s, b = carry
            p, s, v = jax.vmap(member, in_axes=(0, 0, 0, aux_axis, None, None))(p, s, which, aux, xx, tt)
            return (p, s, _keep(b, p, ck == i + 1)), v
    else:

        def member(p, states, w, a, idx, xx, tt):
            xb = jax.tree_util.tree_map(lambda arr: arr[idx], xx)
            v, g = jax.value_and_grad(loss_fn)(p, xb, tt[idx], a)
            out = [optim.update(o, g, s, p) for o, s in zip(opts, states)]
            # every member carries every optimizer's state; its own (index w) moves it
            u = out[0][0] if len(out) == 1 else jax.tree_util.tree_map(lambda *us: jnp.stack(us)[w], *[o[0] for o in out])
            return optax.apply_updates(p, u), tuple(o[1] for o in out), v

        def body(carry, inp, ck, aux, xx, tt, which):
            i, idx = inp
            p, s, b = carry
            p, s, v = jax.vmap(member, in_axes=(0, 0, 0, aux_axis, 0, None, None))(p, s, which, aux, idx, xx, tt)
            return (p, s, _keep(b, p, ck == i + 1)), v

    @jax.jit
    def run(p, s, b, xs, ck, aux, xx, tt, which):
        (p, s, b), trace = jax.lax.scan(lambda c, inp: body(c, inp, ck, aux, xx, tt, which), (p, s, b), xs)
        return b, trace

    return opts, run


def train_ensemble(loss_fn: Callable, params, train, *, optimizer="adam", learning_rates=1e-3,
                   steps: Sequence[int] = (100,), batch_size: int = 32, seeds: Sequence[int] | None = None, aux=None,
                   momentum: float = 0.9) -> dict[str, Any]:
    """Train ``S`` stacked members for ``max(steps)`` steps in one ``jit(vmap(scan))`` call.

    Args:
      loss_fn: ``loss_fn(params, x, t, aux) -> scalar`` for one member: ``x`` a batch (every leaf
        ``(B, ...)``), ``t`` ``(B,)`` targets, ``aux`` that member's slice of ``aux`` (or None).
        Pass the same function object again to reuse the compilation.
      params: the initial parameters, every leaf ``(S, ...)``.
      train: ``(x, t)``, every leaf of ``x`` ``(n, ...)``, ``t`` ``(n,)`` (already encoded).
      optimizer: one of :data:`OPTIMIZERS`, or ``S`` names of :data:`MINIBATCH_OPTIMIZERS` (one per
        member: ``adam`` and ``sgd`` members in one ensemble). ``"lbfgs"``: full batch,
        ``learning_rates`` ignored.
      learning_rates: a float or ``(S,)`` floats (one per member).
      steps: checkpoints, strictly increasing ints ``>= 0`` (0: the initial parameters).
      batch_size: minibatch size of ``adam`` / ``sgd`` (``<= n``).
      seeds: ``(S,)`` ints ordering each member's minibatches (default ``0 .. S-1``).
      aux: a pytree with leading axis ``S`` handed member by member to ``loss_fn``, or None.
      momentum: SGD momentum.

    Returns:
      ``{"params": pytree, every leaf (n_steps, S, ...): the parameters at each checkpoint,
      "loss_trace": (S, max(steps)) the loss of each step (the minibatch loss for adam/sgd, the full
      training loss before the step for lbfgs), "steps": the checkpoints}``.
    """
    steps = check_steps("steps", steps)
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves or len({int(np.shape(a)[0]) if np.ndim(a) else -1 for a in leaves}) != 1 or np.ndim(leaves[0]) == 0:
        raise ValueError("Argument `params` must be a pytree whose leaves share one leading member axis S.")
    S = int(np.shape(leaves[0])[0])
    if isinstance(optimizer, str):
        names = (_checks.check_choice("optimizer", optimizer, OPTIMIZERS),) * S
    else:
        names = tuple(optimizer)
        if len(names) != S or any(o not in MINIBATCH_OPTIMIZERS for o in names):
            raise ValueError(f"Argument `optimizer` must be one of {OPTIMIZERS} or {S} names of {MINIBATCH_OPTIMIZERS}, "
                             f"got {optimizer!r}.")
    kinds = tuple(sorted(set(names)))
    which = jnp.asarray([kinds.index(o) for o in names])
    x, t = train
    n = int(np.shape(t)[0])
    if any(int(np.shape(a)[0]) != n for a in jax.tree_util.tree_leaves(x)):
        raise ValueError(f"Argument `train` must hold x and t with one leading sample axis, t has {n}.")
    dtype = leaves[0].dtype
    lrs = np.broadcast_to(np.asarray(learning_rates, np.float64), (S,))
    if not np.all(np.isfinite(lrs)) or np.any(lrs <= 0):
        raise ValueError(f"Argument `learning_rates` must be > 0 (a float or one per member), got {learning_rates!r}.")
    seeds = tuple(range(S)) if seeds is None else _checks.check_ints("seeds", seeds, 0, length=S)
    if kinds != ("lbfgs",):
        batch_size = _checks.check_int("batch_size", batch_size, 1, n)
    momentum = _checks.check_real("momentum", momentum, 0, 1, hi_open=True)
    opts, run = _runner(loss_fn, kinds, momentum, aux is not None)
    states = []
    for k, opt in zip(kinds, opts):
        st = jax.vmap(lambda p: optim.init(opt, p))(params)
        if k != "lbfgs":
            st = st._replace(hyperparams={**st.hyperparams, "learning_rate": jnp.asarray(lrs, dtype)})
        states.append(st)
    n_steps = steps[-1]
    ck = jnp.asarray(steps)
    buf = jax.tree_util.tree_map(lambda a: jnp.zeros((len(steps),) + a.shape, a.dtype), params)
    buf = _keep(buf, params, ck == 0)
    if n_steps == 0:
        return {"params": buf, "loss_trace": np.zeros((S, 0)), "steps": steps}
    if kinds == ("lbfgs",):
        xs = jnp.arange(n_steps)
    else:
        xs = (jnp.arange(n_steps), jnp.asarray(_orders(seeds, n, batch_size, n_steps)))
    buf, trace = run(params, tuple(states), buf, xs, ck, aux, x, jnp.asarray(t), which)
    return {"params": buf, "loss_trace": np.asarray(trace).T, "steps": steps}


@functools.lru_cache(maxsize=64)
def _scorer(loss_fn: Callable, predict_fn: Callable, with_aux: bool):
    aux_axis = 0 if with_aux else None
    loss = jax.jit(jax.vmap(loss_fn, in_axes=(0, None, None, aux_axis)))
    pred = jax.jit(jax.vmap(predict_fn, in_axes=(0, None, aux_axis)))
    return loss, pred


def score_ensemble(loss_fn: Callable, predict_fn: Callable, params_at, train, test, aux=None) -> dict[str, np.ndarray]:
    """Score checkpoints: ``params_at`` leaves ``(n_steps, S, ...)`` (:func:`train_ensemble`).

    ``loss_fn(params, x, t, aux)`` as for :func:`train_ensemble`; ``predict_fn(params, x, aux) -> (B,)``
    predicted invariant values. ``train = (x, t)`` (encoded targets), ``test = (x, y)`` (invariant
    values ``(n_test,)``). The test set is scored at every checkpoint, the training loss at the last
    one only (a pass over the training set per checkpoint would cost as much as the test set).

    Returns ``{"final_loss": (S,) the loss on the whole training set at the last checkpoint,
    "correct": (n_steps, S, n_test) bool, "predicted": (S, n_test) the predictions of the last
    checkpoint}``."""
    (xtr, ttr), (xte, yte) = train, test
    loss, pred = _scorer(loss_fn, predict_fn, aux is not None)
    n_ck = int(np.shape(jax.tree_util.tree_leaves(params_at)[0])[0])
    at = lambda j: jax.tree_util.tree_map(lambda a: a[j], params_at)  # noqa: E731
    preds = np.stack([np.asarray(pred(at(j), xte, aux), np.float64) for j in range(n_ck)])
    final = np.asarray(loss(at(n_ck - 1), xtr, jnp.asarray(ttr), aux), np.float64)
    y = np.asarray(yte, np.float64)
    return {"final_loss": final, "correct": np.abs(preds - y[None, None, :]) < 1e-6, "predicted": preds[-1]}


def fit_regression(model, train, test, *, seeds: Sequence[int] = tuple(range(16)), optimizer: str = "adam",
                   learning_rate: float = 1e-2, steps: Sequence[int] = (1000,), batch_size: int = 32,
                   round_to: Sequence[int] | None = None, threshold: float = 0.99) -> dict[str, Any]:
    """Train a regression head (``model.config.task == "regress"``) as one vmap ensemble and score it.

    Loss: mean squared error of the output to the invariant value. Accuracy: the output rounded to
    the nearest integer (``round_to`` None) or to the nearest of ``round_to``, compared with the
    test label -- so classes absent from training (``{-1, 2}`` after training on ``{0, 1}``) can
    be predicted.

    Args:
      model: a :class:`tnn.models.Model` with ``task="regress"``.
      train, test: ``(x, y)``: dataset features (encoded by ``model.prepare``) and invariant values ``(n,)``.
      seeds: one member per seed (``jax.random.key(seed)`` initializes it and orders its batches).
      optimizer, learning_rate, steps, batch_size: as :func:`train_ensemble`.
      threshold: a member succeeds at a checkpoint when its test accuracy is ``>= threshold``.

    Returns:
      ``seeds``, ``steps``, ``acc`` ``(S, n_steps)``, ``final_loss`` ``(S,)`` (training set), ``success``
      ``(S, n_steps)`` bool, ``output`` ``(S, n_test)`` the raw outputs and ``predicted`` ``(S, n_test)``
      the rounded ones at the last checkpoint, ``labels`` ``(n_test,)``.
    """
    from tnn.models import Model

    if not isinstance(model, Model) or model.config.task != "regress":
        raise ValueError("Argument `model` must be a tnn.models.Model with task='regress'.")
    seeds = _checks.check_ints("seeds", seeds, 0, min_length=1)
    threshold = _checks.check_real("threshold", threshold, 0, 1, lo_open=True)
    targets = None if round_to is None else _checks.check_ints("round_to", round_to, min_length=1)
    steps = check_steps("steps", steps)
    x, y = train
    xt, yt = test
    x, xt = model.prepare(x), model.prepare(xt)
    y = _checks.check_finite("train", np.asarray(y, np.float64))
    yt = _checks.check_finite("test", np.asarray(yt, np.float64))
    x1 = jax.tree_util.tree_map(lambda a: a[:1], x)
    params = stack_members([model.init(jax.random.key(s), x1) for s in seeds])
    dtype = jax.tree_util.tree_leaves(params)[0].dtype
    x, xt = cast_inputs(x, dtype), cast_inputs(xt, dtype)

    def loss_fn(p, xb, tb, a):
        return jnp.mean((model.apply(p, xb)[:, 0] - tb) ** 2)

    def predict_fn(p, xb, a):
        return nearest(model.apply(p, xb)[:, 0], targets)

    tr = (x, jnp.asarray(y, dtype))
    run = train_ensemble(loss_fn, params, tr, optimizer=optimizer, learning_rates=learning_rate, steps=steps,
                         batch_size=batch_size, seeds=seeds)
    sc = score_ensemble(loss_fn, predict_fn, run["params"], tr, (xt, yt))
    last = jax.tree_util.tree_map(lambda a: a[-1], run["params"])
    out = np.asarray(jax.jit(jax.vmap(model.apply, in_axes=(0, None)))(last, xt))[..., 0]
    acc = sc["correct"].mean(axis=2).T
    return {"seeds": list(seeds), "steps": list(steps), "optimizer": optimizer, "learning_rate": float(learning_rate),
            "batch_size": int(batch_size), "acc": acc, "final_loss": sc["final_loss"], "success": acc >= threshold,
            "threshold": threshold, "output": out, "predicted": sc["predicted"], "labels": yt,
            "round_to": None if targets is None else list(targets)}

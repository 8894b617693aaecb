r"""Minimum-energy paths by the nudged elastic band (NEB) with a climbing image.

A chain of ``n_images`` images ``R_1 .. R_n`` between fixed end points ``R_0`` (``p_start``) and
``R_{n+1}`` (``p_end``), in the flat parameter space of ``jax.flatten_util.ravel_pytree``, starts
on the straight line and relaxes under the NEB force (Henkelman & Jonsson, J. Chem. Phys. 113, 9978
(2000), with their improved tangent):

* tangent ``t_i``: toward the higher neighbour (``R_{i+1} - R_i`` if ``V_{i+1} > V_i > V_{i-1}``,
  ``R_i - R_{i-1}`` if ``V_{i+1} < V_i < V_{i-1}``), and at an extremum of ``V`` the two segments
  weighted by ``max / min |Delta V|`` toward the higher neighbour; normalized;
* ``F_i = -grad V(R_i) + (grad V . t_i) t_i + k (|R_{i+1} - R_i| - |R_i - R_{i-1}|) t_i``: the true
  force perpendicular to the path plus the spring force along it (spring constant ``spring``);
* climbing image (Henkelman, Uberuaga & Jonsson, J. Chem. Phys. 113, 9901 (2000)): from step
  ``climb_after`` on, the highest interior image feels ``-grad V + 2 (grad V . t) t`` (no spring): it
  climbs along the path and descends perpendicular to it, so it converges to the saddle point.

The images move by FIRE (Bitzek, Koskinen, Gahler, Moseler & Gumbsch, PRL 97, 170201 (2006)) on
all free coordinates at once, unit masses, the ASE parameters (``N_min = 5``, ``f_inc = 1.1``,
``f_dec = 0.5``, ``alpha_start = 0.1``, ``f_alpha = 0.99``, ``dt_max = 10 dt``) and the whole
displacement of one step capped at ``max_step`` (Euclidean norm). The loop (``lax.while_loop``) stops
after ``steps`` steps or when the largest image force is below ``fmax`` (with the climbing image
on, if ``climbing``). Deterministic: no random
numbers anywhere.
"""

from __future__ import annotations

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks
from tnn.landscape.pytrees import LossFn, Params, check_loss, flat_params, like_params

__all__ = ["neb", "neb_forces"]

_N_MIN, _F_INC, _F_DEC, _A_START, _F_ALPHA = 5, 1.1, 0.5, 0.1, 0.99


def _tangents(R, V):
    """Improved tangents ``(n, P)`` of the interior images of the path ``R`` ``(n + 2, P)``,
    energies ``V`` ``(n + 2,)``."""
    tp, tm = R[2:] - R[1:-1], R[1:-1] - R[:-2]
    vp, v0, vm = V[2:], V[1:-1], V[:-2]
    dmax = jnp.maximum(jnp.abs(vp - v0), jnp.abs(vm - v0))[:, None]
    dmin = jnp.minimum(jnp.abs(vp - v0), jnp.abs(vm - v0))[:, None]
    mixed = jnp.where((vp > vm)[:, None], tp * dmax + tm * dmin, tp * dmin + tm * dmax)
    up = ((vp > v0) & (v0 > vm))[:, None]
    down = ((vp < v0) & (v0 < vm))[:, None]
    t = jnp.where(up, tp, jnp.where(down, tm, mixed))
    n = jnp.linalg.norm(t, axis=1, keepdims=True)
    return t / jnp.where(n > 0, n, 1.0)


def neb_forces(R, V, G, spring, climb):
    """NEB forces ``(n, P)`` on the interior images (module docstring).

    Args:
      R: ``(n + 2, P)`` path, end points included. V: ``(n + 2,)`` energies. G: ``(n, P)`` gradients
      of the interior images. spring: spring constant. climb: bool (traced), climbing image on.
    """
    t = _tangents(R, V)
    gpar = jnp.sum(G * t, axis=1, keepdims=True)
    dist = jnp.linalg.norm(R[1:] - R[:-1], axis=1)
    f_spring = spring * (dist[1:] - dist[:-1])[:, None] * t
    F = -G + gpar * t + f_spring
    top = jnp.argmax(V[1:-1])
    f_climb = -G[top] + 2.0 * gpar[top] * t[top]
    return jnp.where(climb & (jnp.arange(F.shape[0]) == top)[:, None], f_climb[None, :], F)


def neb(loss: LossFn, p_start: Params, p_end: Params, n_images: int = 24, steps: int = 500, climbing: bool = True,
        spring: float = 1.0, dt: float = 0.01, max_step: float = 0.1, fmax: float = 1e-4,
        climb_after: int | None = None, n_line: int | None = None) -> dict:
    """Nudged elastic band between ``p_start`` and ``p_end`` (module docstring).

    Args:
      loss: ``params -> scalar``, the energy ``V``.
      p_start, p_end: parameter pytrees of one structure (the fixed end points).
      n_images: free images between the end points (``>= 1``).
      steps: maximal FIRE steps. climbing: use the climbing image (from step ``climb_after``,
        default ``steps // 5``).
      spring: spring constant ``k`` (energy / length^2). dt: initial FIRE time step (the maximum is
        ``10 dt``). max_step: cap on the norm of one step's displacement of all images together.
      fmax: stop when every image's force norm is below this.
      n_line: points of the straight line ``p_start -> p_end`` evaluated for comparison (default
        ``4 (n_images + 1) + 1``).

    Returns:
      dict (NumPy / floats): ``energies`` ``(n_images + 2,)`` along the relaxed path, ``arc``
      ``(n_images + 2,)`` its cumulative Euclidean length, ``barrier`` (``max energies -
      energies[0]``), ``saddle_index`` (the highest image), ``line_alphas`` and ``line_energies``
      ``(n_line,)`` on the straight line, ``line_barrier`` (its max minus the start), ``line_length``,
      ``images`` ``(n_images + 2, P)`` (flat, ``ravel_pytree`` order), ``max_force`` (largest image
      force norm at the end), ``steps_run``, ``converged`` (``max_force < fmax``).
    """
    check_loss(loss)
    n_images = _checks.check_int("n_images", n_images, 1)
    steps = _checks.check_int("steps", steps, 0)
    climbing = _checks.check_bool("climbing", climbing)
    spring = _checks.check_real("spring", spring, 0)
    dt = _checks.check_real("dt", dt, 0, lo_open=True)
    max_step = _checks.check_real("max_step", max_step, 0, lo_open=True)
    fmax = _checks.check_real("fmax", fmax, 0)
    climb_after = steps // 5 if climb_after is None else _checks.check_int("climb_after", climb_after, 0)
    n_line = 4 * (n_images + 1) + 1 if n_line is None else _checks.check_int("n_line", n_line, 2)
    x0, unravel = flat_params(p_start, "p_start")
    x1, _ = flat_params(like_params(p_start, p_end, "p_end"))
    dtype = x0.dtype
    fl = lambda x: loss(unravel(x))  # noqa: E731
    vg = jax.vmap(jax.value_and_grad(fl))
    v_all = jax.vmap(fl)

    def run(x0, x1):
        # one compiled computation: relaxation, final path and the straight line. The whole path,
        # end points included, goes through one batched value-and-grad (2 extra gradients per step,
        # one program to compile instead of three).
        def forces(X, it):
            R = jnp.concatenate([x0[None], X, x1[None]])
            V, g = vg(R)
            return neb_forces(R, V, g[1:-1], spring, climbing & (it >= climb_after))

        def cond(state):
            it, _, _, _, _, _, F = state
            # converged only counts once the climbing image is on: a relaxed plain band is not the answer
            done = (jnp.max(jnp.linalg.norm(F, axis=1)) < fmax) & ((not climbing) | (it > climb_after))
            return (it < steps) & ~done

        def body(state):
            it, X, vel, h, alpha, n_pos, F = state
            p = jnp.sum(F * vel)
            fn = jnp.linalg.norm(F)
            mixed = (1 - alpha) * vel + alpha * F / jnp.where(fn > 0, fn, 1.0) * jnp.linalg.norm(vel)
            vel = jnp.where(p > 0, mixed, jnp.zeros_like(vel))
            grow = (p > 0) & (n_pos > _N_MIN)
            h = jnp.where(p > 0, jnp.where(grow, jnp.minimum(h * _F_INC, 10 * dt), h), h * _F_DEC)
            alpha = jnp.where(p > 0, jnp.where(grow, alpha * _F_ALPHA, alpha), _A_START)
            n_pos = jnp.where(p > 0, n_pos + 1, 0)
            vel = vel + h * F
            dx = h * vel
            nd = jnp.linalg.norm(dx)
            dx = jnp.where(nd > max_step, dx * (max_step / jnp.where(nd > 0, nd, 1.0)), dx)
            X = X + dx
            return it + 1, X, vel, h, alpha, n_pos, forces(X, it + 1)

        alphas = jnp.linspace(0.0, 1.0, n_images + 2, dtype=dtype)[1:-1, None]
        X = x0[None, :] + alphas * (x1 - x0)[None, :]
        state = (jnp.asarray(0), X, jnp.zeros_like(X), jnp.asarray(dt, dtype), jnp.asarray(_A_START, dtype),
                 jnp.asarray(0), forces(X, 0))
        it, X, _, _, _, _, F = jax.lax.while_loop(cond, body, state)
        R = jnp.concatenate([x0[None], X, x1[None]])
        a_line = jnp.linspace(0.0, 1.0, n_line, dtype=dtype)
        e_line = v_all(x0[None, :] + a_line[:, None] * (x1 - x0)[None, :])
        return it, R, vg(R)[0], F, a_line, e_line

    it, R, E, F, a_line, e_line = jax.jit(run)(x0, x1)
    E, e_line = np.asarray(E), np.asarray(e_line)
    seg = np.linalg.norm(np.diff(np.asarray(R), axis=0), axis=1)
    fmax_end = float(jnp.max(jnp.linalg.norm(F, axis=1)))
    return {
        "energies": E,
        "arc": np.concatenate([[0.0], np.cumsum(seg)]),
        "barrier": float(E.max() - E[0]),
        "saddle_index": int(np.argmax(E)),
        "line_alphas": np.asarray(a_line),
        "line_energies": e_line,
        "line_barrier": float(e_line.max() - e_line[0]),
        "line_length": float(jnp.linalg.norm(x1 - x0)),
        "images": np.asarray(R),
        "max_force": fmax_end,
        "steps_run": int(it),
        "converged": bool(fmax_end < fmax),
    }

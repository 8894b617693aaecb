"""Disorder statistics of a sweep: moments over the seed dimension, and the seeds a target error needs."""

from __future__ import annotations

import numpy as np

from tnn import _checks

__all__ = ["disorder_stats", "seeds_needed"]


def disorder_stats(da, dim: str = "seed"):
    r"""Mean, standard deviation, standard error and ill-defined fraction over disorder samples.

    NaN samples (ill-defined: gapless, or flagged by the invariant) are left out of the moments and
    counted instead. With ``n`` valid samples ``x_i`` at a grid point:
    ``mean = sum x_i / n``, ``std = sqrt(sum (x_i - mean)^2 / (n - 1))`` (sample std),
    ``sem = std / sqrt(n)``, ``nan_fraction = 1 - n / n_samples``. ``mean`` is NaN when ``n = 0``;
    ``std`` and ``sem`` when ``n < 2``.

    Args:
      da: ``DataArray`` with a ``dim`` dimension (a :func:`sweep` with ``n_keys > 0``).
      dim: the sample dimension.

    Returns:
      ``xarray.Dataset`` with ``mean``, ``std``, ``sem``, ``nan_fraction`` (float) and ``n_valid``
      (int), each with ``da``'s dims less ``dim``.
    """
    import xarray as xr  # noqa: PLC0415  (imported on first use, like tnn.sweeps.store)
    if dim not in da.dims:
        raise ValueError(f"Argument `dim` ({dim!r}) is not a dimension of `da` {da.dims}.")
    x = da.transpose(..., dim)
    vals = np.asarray(x.values, dtype=float)
    valid = ~np.isnan(vals)
    n = valid.sum(axis=-1)
    total = vals.shape[-1]
    s1 = np.where(valid, vals, 0.0).sum(axis=-1)
    mean = np.full(n.shape, np.nan)
    np.divide(s1, n, out=mean, where=n > 0)
    dev = np.where(valid, vals - mean[..., None], 0.0)
    var = np.full(n.shape, np.nan)
    np.divide((dev**2).sum(axis=-1), n - 1, out=var, where=n > 1)
    std = np.sqrt(var)
    sem = np.full(n.shape, np.nan)
    np.divide(std, np.sqrt(n), out=sem, where=n > 1)
    dims = x.dims[:-1]
    coords = {c: v for c, v in x.coords.items() if dim not in v.dims}

    def mk(a):
        return xr.DataArray(a, dims=dims, coords=coords)

    return xr.Dataset(
        {"mean": mk(mean), "std": mk(std), "sem": mk(sem), "nan_fraction": mk(1.0 - n / total), "n_valid": mk(n)},
        attrs={"n_samples": total, "dim": dim},
    )


def seeds_needed(da, target_sem: float, dim: str = "seed"):
    r"""Disorder samples needed at each grid point for a standard error ``target_sem`` of the mean.

    From the sample std of the valid samples: ``n_valid = ceil((std / target_sem)^2)`` (at least
    2), inflated by the observed ill-defined fraction: ``n = ceil(n_valid / (1 - nan_fraction))``.
    A point whose samples all agree needs 2. NaN where it cannot be estimated: fewer than 2 valid
    samples so far.

    Args:
      da: a sweep with a ``dim`` dimension, or the ``Dataset`` of :func:`disorder_stats`.
      target_sem: the wanted standard error, > 0.

    Returns:
      ``DataArray`` (float: whole numbers or NaN) with ``da``'s dims less ``dim``.
    """
    target_sem = _checks.check_real("target_sem", target_sem, 0, lo_open=True)
    st = da if {"std", "nan_fraction"} <= set(getattr(da, "data_vars", ())) else disorder_stats(da, dim)
    std = np.asarray(st["std"].values, dtype=float)
    frac = np.asarray(st["nan_fraction"].values, dtype=float)
    ok = np.isfinite(std) & (frac < 1)
    n_valid = np.maximum(2.0, np.ceil(np.where(ok, std, 0.0) ** 2 / float(target_sem) ** 2))
    need = np.full(std.shape, np.nan)
    np.divide(n_valid, 1.0 - frac, out=need, where=ok)
    need = np.where(ok, np.ceil(need - 1e-9), np.nan)
    return st["std"].copy(data=need).rename("seeds_needed")

# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Invariants and phase diagrams: real space against k space
#
# The labels of every tnn study are real-space invariants, each with a validity certificate
# (`tnn.validity`): a value counts only when the ground-state correlations are localized well inside
# the sample. This notebook compares them with the k-space references:
#
# 1. the SSH winding number along a line of the phase diagram (open chain, real space) against the
#    k-space winding, with the certificate's reason code where they are not comparable;
# 2. a local Chern marker map of an open QWZ sample, and the Chern number against the mass `m`.
#
# `SMOKE = True` keeps it small enough to run in the test suite in seconds; set it to False for
# finer grids.

# %%
import numpy as np
import jax
import jax.numpy as jnp

import tnn
from tnn import hamiltonians, invariants, kspace, lattice, validity
from tnn.results import pyplot

tnn.enable_x64()
plt = pyplot()
SMOKE = True
L = 24 if SMOKE else 60
n_grid = 13 if SMOKE else 61

# %% [markdown]
# ## SSH: winding number against the intra-cell hopping v (w = 1)
# Real space: `tnn.invariants.winding_number` on an open chain of `L` cells, with its certificate;
# k space: `tnn.kspace.winding_number` (1 for |v| < 1, 0 for |v| > 1, the transition at |v| = 1).

# %%
lat = lattice.chain(L)
vs = np.linspace(-2.0, 2.0, n_grid)


def real_space(v):
    H = hamiltonians.ssh(jnp.array([v, 1.0]), lat, ranges=(0, 1))
    return invariants.winding_number(H, lat, return_certificate=True)


w_real, cert = jax.vmap(real_space)(jnp.asarray(vs))
w_real, reason = np.asarray(w_real), np.asarray(cert.reason)
w_k = np.array([kspace.winding_number([v, 1.0], (0, 1)) if abs(abs(v) - 1) > 1e-9 else np.nan for v in vs])
valid = reason == 0
print("valid samples:", int(valid.sum()), "of", len(vs))
print("reasons of the rest:", sorted(set(validity.reason_names(reason[~valid]))))
agree = np.all(np.round(w_real[valid]) == w_k[valid])
print("every certified real-space value equals k space:", agree)
assert agree

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(vs, w_k, "k-", label="k space")
ax.plot(vs[valid], w_real[valid], "o", label="real space, certified")
ax.plot(vs[~valid], np.nan_to_num(w_real[~valid]), "x", color="C3", label="real space, not certified (NaN)")
ax.set(xlabel="v (w = 1)", ylabel="winding number")
ax.legend(fontsize=8)

# %% [markdown]
# ## QWZ: local Chern marker map and Chern number against m
# The marker `C(r)` of an open sample is the invariant deep inside and compensated at the edges.

# %%
n2 = 8 if SMOKE else 16
sq = lattice.square(n2, n2)
H = hamiltonians.qwz(-1.0, sq)
# validity="raw": the map without the certificate (a small sample is often not certified; the map is still
# instructive); the Chern number below uses the certificate
marker = np.asarray(invariants.local_chern_marker(H, sq, validity="raw"))
print("marker in the centre:", marker[n2 // 2, n2 // 2].round(3), " k space:", kspace.chern_number("qwz", {"m": -1.0}))
fig, ax = plt.subplots(figsize=(4, 3.5))
im = ax.imshow(marker.T, origin="lower", cmap="RdBu_r", vmin=-2, vmax=2)
fig.colorbar(im, ax=ax, label="C(r)")
ax.set(title="QWZ m = -1, open", xlabel="x", ylabel="y")

# %%
ms = np.linspace(-3, 3, 7 if SMOKE else 25)
c_real, c_cert = jax.vmap(lambda m: invariants.chern_number(hamiltonians.qwz(m, sq), sq, return_certificate=True))(jnp.asarray(ms))
c_real, ok = np.asarray(c_real), np.asarray(c_cert.reason) == 0
c_k = []
for m in ms:
    try:
        c_k.append(kspace.chern_number("qwz", {"m": float(m)}))
    except Exception:  # gapless point (m = 0, +-2)
        c_k.append(np.nan)
c_k = np.asarray(c_k, float)
print("certified:", int(ok.sum()), "of", len(ms), "; equal to k space where certified:",
      bool(np.all(np.round(c_real[ok]) == c_k[ok])))
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(ms, c_k, "k-", label="k space (FHS)")
ax.plot(ms[ok], c_real[ok], "o", label=f"marker, {n2}x{n2} open, certified")
ax.set(xlabel="m", ylabel="Chern number")
ax.legend(fontsize=8)

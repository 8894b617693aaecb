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
# # Trainability and proxies
#
# Why topo is hard to train although it can express the invariant: the loss along the straight line
# from a random initialization to the exact solution, the Hessian there (`tnn.landscape`), the drift
# of the exact solution under training (it is not a stationary point at finite logit scale tau),
# SVD pruning (`tnn.prune`) and an edge-potential probe (`tnn.study.probes`).

# %%
import dataclasses

import numpy as np
import jax
import jax.numpy as jnp

import tnn
from tnn import data, landscape, prune
from tnn.study import probes
from tnn.lattice import chain
from tnn.models import ModelConfig, make_model
from tnn.train import encode_labels, make_loss
from tnn.results import pyplot

tnn.enable_x64()
plt = pyplot()
SMOKE = True
L, n = (24, 96) if SMOKE else (32, 512)

# %%
spec = data.preset("ssh", size=L, n=n, seed=3, features=("wavefunctions", "hamiltonian"), chunk_size=n, shard_size=n)
arr = data.compute_samples(spec, 0, n)
keep = ~arr["ill_defined"].astype(bool)
print("certified samples:", int(keep.sum()), "of", n)
x = {"energies": arr["energies"][keep], "wavefunctions": arr["wavefunctions"][keep]}
y = arr["label"][keep].astype(float)
classes = spec.classes
lat = chain(L)

# %% [markdown]
# ## The line from a random init to the exact solution, and the Hessian at both ends

# %%
cfg = ModelConfig("topo", classes=classes, init="random")
model = make_model(cfg, lat)
exact_model = make_model(dataclasses.replace(cfg, init="exact"), lat)
xe = model.prepare(x)
t = jnp.asarray(encode_labels(cfg, y))
loss = lambda p: make_loss(model)(p, xe, t)  # noqa: E731
x1 = jax.tree_util.tree_map(lambda a: a[:1], xe)
p_rand, p_exact = model.init(jax.random.key(0), x1), exact_model.init(jax.random.key(0), x1)
line = landscape.line_barrier(loss, p_rand, p_exact, n=21)
print(f"loss: random {line['start_loss']:.3f}, exact {line['end_loss']:.2e}, barrier {line['barrier']:.3f}")
for name, p in (("random", p_rand), ("exact", p_exact)):
    ev = np.linalg.eigvalsh(np.asarray(landscape.hessian(loss, p)))
    print(name, landscape.curvature_summary(ev))
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(line["alphas"], line["losses"])
ax.set(xlabel="alpha (0: random init, 1: exact)", ylabel="loss", yscale="log")

# %% [markdown]
# ## The exact solution is not a stationary point
# At finite tau the cross-entropy at the exact tensors is positive and its gradient is not zero; it
# shrinks like exp(-tau) as tau grows. Adam rescales any nonzero gradient to steps of about the
# learning rate, so training moves the exact model.

# %%
for tau in (5.0, 10.0, 20.0):
    m = make_model(dataclasses.replace(cfg, init="exact", tau=tau), lat)
    p = m.init(jax.random.key(0), x1)
    lf = lambda q: make_loss(m)(q, xe, t)  # noqa: E731
    g = jax.flatten_util.ravel_pytree(jax.grad(lf)(p))[0]
    print(f"tau = {tau:4.0f}: loss {float(lf(p)):.2e}, |grad| {float(jnp.linalg.norm(g)):.2e}")

# %% [markdown]
# ## SVD pruning and the edge-potential probe

# %%
print("topo matrix ranks:", prune.matrix_ranks(p_exact))
from tnn.train import evaluate

for k in (1, 2):
    print(f"exact topo pruned to rank {k}: accuracy {evaluate(exact_model, prune.svd_prune(p_exact, k), (x, y))['acc']:.3f}")
t_hop = arr["params"][keep][:16]
ep = probes.proxy_disagreeing(t_hop, L, spec.ranges, classes, mu=1.0)
print("edge-potential set:", len(ep["y"]), "chains; zero modes per chain before / after:",
      float(np.mean(ep["zero_modes_before"])), "/", float(np.mean(ep["zero_modes_after"])))
if len(ep["y"]):
    print("exact topo on it:", evaluate(exact_model, p_exact, (ep["x"], ep["y"]))["acc"])

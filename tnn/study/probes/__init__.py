r"""Proxy probes: does a trained network read the bulk invariant, or a proxy such as the edge states?

Modules (one job each):

* :mod:`~tnn.study.probes.common` -- checks, :func:`ssh_xi` (the correlation length of a clean chain,
  ``1 / min_k |ln|z_k||`` over the roots of ``q(z) = sum_r t_r z^r``), :func:`input_features`
  (every input kind of :mod:`tnn.data`, recomputed for any chain Hamiltonian) and :func:`correct`;
* :mod:`~tnn.study.probes.sets` -- the fixed-width sets of the study: :func:`mask_edges`,
  :func:`cut_edges`, :func:`periodic_versions`, :func:`edge_potential`, :func:`proxy_disagreeing`;
* :mod:`~tnn.study.probes.widths` -- masks and cuts swept in units of ``xi`` (0 to 3 ``xi``);
* :mod:`~tnn.study.probes.edges` -- the edge-potential sweep (edge modes leave zero energy, the bulk
  winding stays) and the disagreeing set (zero-mode count ``!= 2|W|``);
* :mod:`~tnn.study.probes.paired` -- paired drop with its interval, McNemar, and the verdict "relies on
  edge proxies" per model x input (:func:`probe_table`);
* :mod:`~tnn.study.probes.saliency` -- per-cell saliency; :mod:`~tnn.study.probes.run` -- :func:`run_probes`
  (the fixed-width probes of one member, as the study calls them) and :func:`write_probes`.

Chains only; site ``2n`` is ``A_n``, ``2n + 1`` is ``B_n`` (docs/conventions.md).
"""

from tnn.study.probes.common import INPUT_KINDS, correct, input_features, ssh_xi
from tnn.study.probes.edges import STRENGTHS, ZERO_TOL, dangling_edges, disagreeing_set, edge_potential_sweep, zero_modes
from tnn.study.probes.paired import THRESHOLD, member_correct, paired_comparison, probe_table
from tnn.study.probes.run import run_probes, write_probes
from tnn.study.probes.saliency import params_fit, saliency
from tnn.study.probes.sets import (
    chain_features,
    cut_edges,
    edge_potential,
    mask_edges,
    periodic_versions,
    proxy_disagreeing,
    winding_labels,
)
from tnn.study.probes.widths import FRACTIONS, certified_winding, cut_sweep, mask_features, mask_sweep, xi_cells

__all__ = [
    "edge_potential",
    "chain_features",
    "winding_labels",
    "mask_edges",
    "cut_edges",
    "periodic_versions",
    "proxy_disagreeing",
    "saliency",
    "params_fit",
    "run_probes",
    "write_probes",
    "INPUT_KINDS",
    "ssh_xi",
    "input_features",
    "correct",
    "FRACTIONS",
    "xi_cells",
    "mask_features",
    "mask_sweep",
    "cut_sweep",
    "certified_winding",
    "STRENGTHS",
    "ZERO_TOL",
    "zero_modes",
    "dangling_edges",
    "edge_potential_sweep",
    "disagreeing_set",
    "THRESHOLD",
    "paired_comparison",
    "member_correct",
    "probe_table",
]

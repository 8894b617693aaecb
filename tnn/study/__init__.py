r"""``tnn study``: why is topology hard to learn? One command, one report, every claim checked.

The study (:func:`run_study`, configured by :class:`StudyConfig` or a profile of :data:`PROFILES`)
trains the models of :data:`STUDY_MODELS` on open SSH-family chains and writes one results folder:

* **Accuracy** on clean and chiral-disordered chains, next to each test set's label quality,
  chance and majority levels, confusion matrices, and accuracy against the k-space gap;
* **Generalization**: longer chains (``transfer_factors``), periodic rings, unseen windings (train
  {0, 1}, test {-1, 2}), a chiral-disorder sweep with the invariant's certified fraction, on-site
  disorder as the control;
* **Trainability**: Hessian spectra at init and end, topo's success rate against init noise,
  gradient variance against L, the slice from a random init to the exact solution;
* **Pruning and proxies**: accuracy against SVD rank, edge-masked / edge-cut / periodic /
  edge-potential probes, saliency;
* **2D (Chern)**: the exact marker network against CNN/ResNet on QWZ with Anderson disorder,
  tested at a larger size and on the Haldane honeycomb lattice;
* **Findings**: each claim marked supported / contradicted / inconclusive by explicit thresholds.

Modules: :mod:`~tnn.study.config` (config, profiles), :mod:`~tnn.study.runner` (runs or resumes
a study), :mod:`~tnn.study.sets` (its datasets), :mod:`~tnn.study.units` (trainings and parts, each a
resumable unit), :mod:`~tnn.study.jobs` (a helper process), :mod:`~tnn.study.analyses` (the analysis parts),
:mod:`~tnn.study.report` (``report.md``), :mod:`~tnn.study.tables` (its table builders),
:mod:`~tnn.study.claims` (the findings and their thresholds), :mod:`~tnn.study.plots` (figures),
:mod:`~tnn.study.stats` (values over seeds); ``tnn study``'s parser is :mod:`tnn.cli.study`.

The instruments that train networks and draw (issue 21) live here too, above the pure
:mod:`tnn.landscape` and :mod:`tnn.prune`: :mod:`~tnn.study.trainability` (ensembles, gradient
variance, the phase diagram of training, init sensitivity), :mod:`~tnn.study.probes` (edge probes),
:mod:`~tnn.study.minima` (topo's minima modulo its symmetries: endpoints trained, NEB, figure),
:mod:`~tnn.study.topo_chain` (topo's chain network and its loss as functions of its parameters),
:mod:`~tnn.study.landscape_runs` (a trained model's landscape, written) and
:mod:`~tnn.study.pruning` (accuracy against SVD rank, written). The old names ``tnn.trainability``,
``tnn.probes`` and the moved names of ``tnn.landscape`` and ``tnn.prune`` still work for one version,
with a ``DeprecationWarning``.

Results folder (``out``)::

    config.json        the StudyConfig, dataset specs, versions
    metrics.csv        one row per (model, stage, seed, test set): n, acc, acc_<class>, loss, mae, ece, ...
    report.md          every section, its tables and figures, the findings
    *.png              accuracy, gap, generalization, disorder, hessian, sensitivity, pruning, probes, chern
    parts/<name>.json  each analysis part (drift, onsite, landscape, sensitivity, gradvar, pruning, probes)
    runs/<model>/      tnn.train folders + eval.json (scores, confusion matrices, per-gap accuracy)
    data/<name>/       the datasets (deleted at the end with keep_datasets=False)

A rerun with the same config reuses every finished unit (dataset, training, evaluation, part) and
writes the same ``metrics.csv``; a rerun after a kill finishes what is missing; a different config
in an existing folder is refused (``ValueError`` naming ``out``).
"""

from tnn.study.config import PROFILES, SECTIONS, STUDY_MODELS, StudyConfig, profile
from tnn.study.runner import label_quality, run_study, eval_sets_1d
from tnn.study.summary import results_table, sanity

__all__ = ["StudyConfig", "STUDY_MODELS", "PROFILES", "SECTIONS", "profile", "run_study", "results_table", "sanity",
           "label_quality", "eval_sets_1d"]

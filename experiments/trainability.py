"""Sensitivity to initialization and gradient variance at init, on the datasets of a ``tnn study``.

Input: a study folder (``tnn study --out DIR``): ``config.json`` and ``data/ssh`` (train/val), and
as out-of-distribution sets ``data/ssh-L*`` (held-out chain lengths) and ``data/bond-W*`` (chiral bond
disorder), test splits. For each model of ``--models`` (default: topo and the study's baselines):

* :func:`tnn.study.trainability.init_sensitivity` -- topo from exact + noise sigma (``--sigmas``, default
  ``0, 1e-3 .. 1``) and from random inits; baselines from their default init; ``--seeds`` members
  per condition, trained together under ``vmap`` by :func:`tnn.train.fit` with the study's
  optimizer, batch size and epochs (``--epochs`` to override): fraction of members with accuracy
  >= 0.99 on both OOD sets, final loss, steps to 0.99 validation accuracy;
* :func:`tnn.study.trainability.gradient_variance` -- the variance of the gradient at init against the
  chain length (``--lengths``) with the fitted exponent.

Writes ``<study>/trainability/init_sensitivity.{json,png}`` and ``gradient_variance.{json,png}``.

Run: ``OPENBLAS_NUM_THREADS=1 .venv/bin/python experiments/trainability.py results/study [--seeds 8] [--epochs 5]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
from pathlib import Path  # noqa: E402

import tnn  # noqa: E402
from tnn import results as tres  # noqa: E402
from tnn.study import trainability  # noqa: E402
from tnn.study import StudyConfig  # noqa: E402
from tnn.train import dataset_classes, load_dataset  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("study", help="a tnn study results folder")
    ap.add_argument("--models", nargs="+", default=["topo", "mlp", "cnn", "resnet", "symmetric"])
    ap.add_argument("--seeds", type=int, default=8, help="members per init condition")
    ap.add_argument("--epochs", type=int, default=None, help="default: the study's")
    ap.add_argument("--sigmas", type=float, nargs="+", default=[0.0, *trainability.DEFAULT_SIGMAS])
    ap.add_argument("--lengths", type=int, nargs="+", default=[8, 16, 32, 64])
    ap.add_argument("--n-inits", type=int, default=16)
    ap.add_argument("--threshold", type=float, default=0.99)
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args()
    tnn.enable_x64()
    root = Path(args.study)
    saved = tres.read_json(root / "config.json")["study"]
    study = StudyConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()}).validate()
    classes = dataset_classes(root / "data" / "ssh")
    tcfg = dataclasses.replace(study.train_config(), seeds=tuple(range(args.seeds)),
                               epochs=args.epochs or study.epochs).validate()
    progress = not args.no_progress
    sens, gvar = {}, {}
    for name in args.models:
        mcfg = study.model_config("topo-random" if name == "topo" else name, classes)
        x, y, lat, _ = load_dataset(root / "data" / "ssh", mcfg, "train")
        vx, vy, _, _ = load_dataset(root / "data" / "ssh", mcfg, "val")
        ood = {}
        # the study's size-transfer (ssh-L<2L>, ...) and chiral-disorder (bond-W<w>) test sets
        for folder in sorted((root / "data").glob("ssh-L*")) + sorted((root / "data").glob("bond-W*")):
            ox, oy, olat, _ = load_dataset(folder, mcfg, "test")
            if len(oy):
                ood[folder.name] = (ox, oy, olat)
        sens[name] = trainability.init_sensitivity(mcfg, lat, (x, y), (vx, vy), ood, tcfg, sigmas=args.sigmas,
                                                   threshold=args.threshold, progress=progress)
        gvar[name] = trainability.gradient_variance(mcfg, args.lengths, n_inits=args.n_inits, progress=progress)
        rates = ", ".join(f"{c['label']} {c['success_rate']:.2f}" for c in sens[name]["conditions"])
        print(f"{name}: at the invariant: {rates}; grad variance ~ L^-{gvar[name]['alpha']:.2f} "
              f"(R2 {gvar[name]['alpha_r2']:.2f})")
    out = root / "trainability"
    trainability.write_sensitivity(sens, out)
    trainability.write_gradient_variance(gvar, out)
    print(f"written {out}")


if __name__ == "__main__":
    main()

"""``tnn train``: the command line of :func:`tnn.train.fit` (argument parsing lives here only)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tnn import results as tres
from tnn.models import MODEL_NAMES, ModelConfig, make_model
from tnn.train.config import OPTIMIZERS, SCHEDULES, TrainConfig
from tnn.train.loaders import dataset_classes, load_dataset
from tnn.train.loop import evaluate, fit

__all__ = ["register_cli"]


def register_cli(subparsers) -> None:
    """Add ``tnn train`` to the ``tnn`` command (see :mod:`tnn.cli`)."""
    p = subparsers.add_parser(
        "train",
        help="train a model (ensemble over seeds) on a dataset",
        description="Train a model on a dataset written by `tnn data`; results go to --out.",
    )
    p.add_argument("--model", required=True, choices=MODEL_NAMES, help="architecture (topo: the exact tensor-neural "
                   "invariant; the others are baselines)")
    p.add_argument("--data", required=True, help="dataset folder written by `tnn data generate`: trains on its train "
                   "split, validates on its val split, reports its test split")
    p.add_argument("--val-data", default=None, help="validation dataset folder, all of it (default: the dataset's val split)")
    p.add_argument("--seeds", type=int, nargs="+", required=True, help="one ensemble member per seed (init and data order)")
    p.add_argument("--out", default=None, help="results folder (default results/train/<model>)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out (same configs)")
    p.add_argument("--epochs", type=int, default=20, help="training epochs (default 20)")
    p.add_argument("--batch-size", type=int, default=32, help="samples per step (default 32)")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate, peak for the schedules (default 1e-3)")
    p.add_argument("--optimizer", default="adam", choices=OPTIMIZERS, help="optax optimizer (default adam)")
    p.add_argument("--schedule", default="constant", choices=SCHEDULES, help="learning-rate schedule (default constant)")
    p.add_argument("--clip-norm", type=float, default=0.0, help="clip gradients to this global norm (0: off)")
    p.add_argument("--early-stopping", type=int, default=0, help="patience in epochs on val_loss (0: off)")
    p.add_argument("--val-fraction", type=float, default=0.2, help="held out of train when there is no val split")
    p.add_argument("--task", default="classify", choices=("classify", "regress"),
                   help="classify the invariant's value (cross-entropy) or regress it (squared error)")
    p.add_argument("--classes", type=int, nargs="+", default=None, help="invariant values (default: the dataset's)")
    p.add_argument("--input", default="auto", help="dataset feature the model reads: hamiltonian, projector, density, "
                   "hoppings, wavefunctions (default auto: wavefunctions for topo, hamiltonian otherwise)")
    p.add_argument("--encoding", default="auto", help="how a baseline sees its input: flat, cells or chiral "
                   "(default auto: flat for mlp, chiral for symmetric on chains, cells otherwise)")
    p.add_argument("--width", type=int, default=32, help="baselines: hidden units / channels (default 32)")
    p.add_argument("--depth", type=int, default=2, help="baselines: hidden layers / blocks (default 2)")
    p.add_argument("--channels", type=int, default=2, help="topo: tensor-network channels K (default 2)")
    p.add_argument("--init", default="default", help="topo: exact (the invariant's tensors) | random | exact_noise")
    p.add_argument("--init-scale", type=float, default=1.0, help="topo random: standard deviation of the initial tensors (default 1)")
    p.add_argument("--noise", type=float, default=0.0, help="topo exact_noise: standard deviation of the noise added to every exact parameter")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cli_train)


def _cli_train(args: argparse.Namespace) -> int:
    import tnn
    from tnn import data as data_mod

    tnn.enable_x64()
    ds = data_mod.open_dataset(args.data)
    classes = tuple(args.classes) if args.classes else dataset_classes(ds)
    mcfg = ModelConfig(
        args.model, task=args.task, classes=classes, input=args.input, encoding=args.encoding,
        width=args.width, depth=args.depth, channels=args.channels, init=args.init,
        init_scale=args.init_scale, noise=args.noise,
    ).validate()
    src = mcfg.resolved_input()
    if src not in ds.arrays:
        raise ValueError(
            f"dataset {ds.path} stores no {src!r} feature, which --model {args.model} reads (it stores "
            f"{', '.join(ds.spec.features) or 'none'}); pass --input with "
            f"a stored feature or generate the dataset with --features including {src}."
        )
    x, y, lat, info = load_dataset(ds, mcfg, "train")
    val = None
    if args.val_data or ds.n_split("val") > 0:
        vx, vy, _, vinfo = load_dataset(args.val_data or ds, mcfg, "val" if not args.val_data else "all")
        val = (vx, vy) if len(vy) else None
    tcfg = TrainConfig(
        seeds=tuple(args.seeds), epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
        optimizer=args.optimizer, schedule=args.schedule, clip_norm=args.clip_norm,
        early_stopping=args.early_stopping, val_fraction=0.0 if val is not None else args.val_fraction,
    )
    model = make_model(mcfg, lat)
    out = args.out or f"results/train/{args.model}"
    res = fit(model, tcfg, (x, y), val, results_dir=out, resume=args.resume, progress=not args.no_progress,
              extra_config={"data": info})
    test = None
    if ds.n_split("test") > 0:
        tx, ty, _, tinfo = load_dataset(ds, mcfg, "test")
        if len(ty):
            test = {"n": tinfo["n"], "dropped_ill_defined": tinfo["dropped_ill_defined"],
                    "seeds": {str(s): evaluate(model, res.member(i), (tx, ty)) for i, s in enumerate(res.seeds)}}
            tres.write_json(Path(out) / "test.json", test)
    for i, s in enumerate(res.seeds):
        r = res.final(s)
        acc = r.get("val_acc", r.get("train_acc"))
        line = (f"seed {s}: {r.get('epoch')} epochs, train_loss {r.get('train_loss'):.4g}, "
                f"{'val' if 'val_acc' in r else 'train'}_acc {'n/a' if acc is None else f'{acc:.4f}'}")
        if test is not None:
            m = test["seeds"][str(s)]
            line += f", test_acc {m['acc']:.4f}" if "acc" in m else f", test_mae {m['mae']:.4g}"
        print(line)
    if test is not None:
        print(f"test split: {test['n']} gapped samples ({test['dropped_ill_defined']} ill-defined left out) "
              f"-> {Path(out) / 'test.json'}")
    else:
        print("test split: empty (no test metrics)")
    print(f"results in {res.results_dir}")
    return 0

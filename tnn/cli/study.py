"""``tnn study``: argument parsing (the library entry point is :func:`tnn.study.run_study`)."""

from __future__ import annotations

import argparse
import sys

from tnn.study.config import PROFILES, SECTIONS, STUDY_MODELS, StudyConfig, profile
from tnn.study.summary import results_table, sanity

__all__ = ["register_cli"]


def _names(kind: str, valid):
    def parse(text: str) -> str:
        if text not in valid:
            raise argparse.ArgumentTypeError(f"unknown {kind} {text!r}; valid {kind}s: {', '.join(valid)}")
        return text
    return parse


def register_cli(sub) -> None:
    """Add ``tnn study`` to the ``tnn`` command (see :mod:`tnn.cli`)."""
    d = StudyConfig()
    p = sub.add_parser(
        "study", help="the learnability study: accuracy, generalization, trainability, proxies, 2D; findings",
        description="Why is topology hard to learn? Generate SSH (and QWZ/Haldane) datasets, train topo (exact, noisy, "
                    "random init), MLP, a shallow pruned MLP, CNN, ResNet and the symmetric net over seeds, and write "
                    "report.md (accuracy, generalization, trainability, pruning and proxies, 2D, findings), "
                    "metrics.csv, config.json and the figures to --out. A rerun resumes; the same config gives the "
                    "same numbers.",
    )
    p.add_argument("--profile", type=_names("profile", tuple(PROFILES)), default=None,
                   help=f"study size, one of {', '.join(PROFILES)} (default: default, about 10 minutes on 2 cores; "
                        "quick: about 2 minutes; full: publication scale, sized for one GPU)")
    p.add_argument("--quick", action="store_true", help="the same as --profile quick")
    p.add_argument("--out", default=None, help=f"results folder (default {d.out}; {d.out}-<profile> for other profiles)")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="training seeds (default: the profile's)")
    p.add_argument("--data-seed", type=int, default=None, help="dataset seed (default 0)")
    p.add_argument("--models", nargs="+", default=None, type=_names("model", tuple(STUDY_MODELS)), metavar="MODEL",
                   help=f"models, from {', '.join(STUDY_MODELS)} (default: the profile's)")
    p.add_argument("--sections", nargs="*", default=None, type=_names("section", SECTIONS), metavar="SECTION",
                   help=f"sections after Accuracy, from {', '.join(SECTIONS)} (default: all)")
    p.add_argument("--size", type=int, default=None, help="training chain length in cells")
    p.add_argument("--n", type=int, default=None, help="samples of the training dataset")
    p.add_argument("--epochs", type=int, default=None, help="training epochs")
    p.add_argument("--jobs", type=int, default=None, choices=(1, 2),
                   help="processes: 2 adds a helper process that takes units from the back of each phase "
                        "(the same results; default: the profile's, 2 except for full)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar or per-step lines")
    p.add_argument("--keep-datasets", action=argparse.BooleanOptionalAction, default=True,
                   help="keep the datasets in <out>/data/ (most of the folder's size); --no-keep-datasets deletes "
                        "them at the end, a rerun regenerates them (bit-identical) and reuses everything else")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    if args.quick and args.profile not in (None, "quick"):
        print(f"tnn study: --quick contradicts --profile {args.profile}", file=sys.stderr)
        return 2
    name = "quick" if args.quick else (args.profile or "default")
    over = {k: v for k, v in {
        "seeds": tuple(args.seeds) if args.seeds else None, "data_seed": args.data_seed,
        "models": tuple(args.models) if args.models else None,
        "sections": tuple(args.sections) if args.sections is not None else None, "size": args.size, "n": args.n,
        "epochs": args.epochs, "jobs": args.jobs,
    }.items() if v is not None}
    over["out"] = args.out or (StudyConfig.out if name == "default" else f"{StudyConfig.out}-{name}")
    config = profile(name, **over)
    log = None if args.no_progress else (lambda s: print(s, file=sys.stderr, flush=True))
    from tnn.study.estimate import expected_seconds
    from tnn.study.runner import run_study

    try:
        est = expected_seconds(config.validate())
    except ValueError:
        est = None  # the run below reports the bad field
    if est is not None:
        print(f"tnn study ({name}): expected about {est['total'] / 60:.0f} min on a 2-core CPU like the reference "
              f"machine (datasets {est['data'] / 60:.1f}, training {(est['train_1d'] + est['train_2d']) / 60:.1f}, "
              f"analyses {est['parts'] / 60:.1f} min; a rerun reuses what is done; on an accelerator the training "
              "and eigensystem parts shrink by an amount not measured here)", flush=True)
    summary = run_study(config, log=log, progress=not args.no_progress, keep_datasets=args.keep_datasets)
    print(results_table(summary))
    ok, _ = sanity(summary)
    if "topo-exact" in summary["runs"]:
        print(f"sanity check (exact topo, untrained, = the real-space invariant on every sample, 1D and 2D): "
              f"{'PASS' if ok else 'FAIL'}")
    from tnn.study.claims import findings

    for f in findings(summary):
        print(f"finding: {f['verdict']:12s} {f['claim']}")
    out = summary["out"]
    print(f"done in {summary['seconds']:.1f} s -> {out}/report.md, {out}/metrics.csv, "
          + ", ".join(f"{out}/{f}" for f in summary["figures"]))
    pk = summary["peak_gb"]
    print("peak memory: " + " + ".join(f"{v:.2f} GB ({k} process)" for k, v in pk.items()))
    sz = summary["sizes"]
    print(f"{out} holds {sz['total'] / 1e6:.1f} MB: datasets {sz['data'] / 1e6:.1f} MB"
          + (" (--no-keep-datasets deletes them at the end)" if args.keep_datasets else " (deleted)")
          + f", training runs {sz['runs'] / 1e6:.1f} MB")
    return 0 if ok or "topo-exact" not in summary["runs"] else 1

"""tnn data: generate a dataset from a preset, print info about one."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tnn.data import spec as spec_mod
from tnn.precision import enable_x64
from tnn.data import store
from tnn.data.generation import generate
from tnn.data.info import dataset_info, format_info, spec_difference

__all__ = ["register_cli", "spec_from_args"]


def register_cli(subparsers) -> None:
    """Add ``tnn data generate`` and ``tnn data info`` to the ``tnn`` command."""
    p = subparsers.add_parser("data", help="generate and inspect datasets", description=__doc__)
    sub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    g = sub.add_parser(
        "generate", help="generate (or resume) a dataset",
        description="Generate a dataset from a preset (resumes an interrupted run in the same folder). "
        f"Presets: {', '.join(spec_mod.PRESETS)}.",
    )
    g.add_argument("--preset", required=True, help=f"preset name, one of {', '.join(spec_mod.PRESETS)}")
    g.add_argument("--n", type=int, help="number of samples (default: the preset's)")
    g.add_argument("--out", help="dataset folder (default data/<preset>-n<N>-<spec digest>); a folder holding another "
                   "dataset is refused, naming the fields that differ")
    g.add_argument("--seed", type=int, help="PRNG seed (default: the preset's)")
    g.add_argument("--index-offset", type=int, help="sample j uses PRNG index OFFSET + j (the same parameter draws "
                   "as sample OFFSET + j of a dataset of the same seed, at any size)")
    g.add_argument("--size", help="cells: L (chain), or S / LX,LY (2D)")
    bc = g.add_mutually_exclusive_group()
    bc.add_argument("--pbc", action="store_true", default=None, help="periodic boundaries")
    bc.add_argument("--obc", action="store_true", default=None, help="open boundaries")
    g.add_argument("--disorder", help="none | bond | onsite (ssh), none | anderson (qwz, haldane)")
    g.add_argument("--strength", help="disorder strength W, or a comma list to draw from")
    g.add_argument("--features", help="comma list of: " + ", ".join(spec_mod.FEATURES)
                   + " (topo reads wavefunctions, the baselines of tnn train hamiltonian)")
    g.add_argument("--dtype", choices=spec_mod.DTYPES, help="feature dtype")
    g.add_argument("--compact", action="store_true", default=None,
                   help="store no feature array, only the labels and each sample's params, strength and index; "
                   "the features are recomputed (same bits) whenever they are loaded")
    g.add_argument("--label", choices=spec_mod.LABELS, help="training label definition")
    g.add_argument("--method", help="real-space method (winding; marker, bott, kitaev)")
    g.add_argument("--classes", help="comma list of allowed k-space classes")
    g.add_argument("--no-balance", action="store_true", help="do not balance the classes")
    g.add_argument("--boundary-fraction", type=float, help="fraction of samples drawn near a phase boundary")
    g.add_argument("--boundary-gap", type=float, help="k-space gap below which a sample is near a boundary")
    g.add_argument("--shard-size", type=int, help="samples per shard")
    g.add_argument("--chunk-size", type=int, help="samples per jitted call")
    g.add_argument("--workers", type=int, default=1, help="processes computing shards in parallel")
    g.add_argument("--overwrite", action="store_true", help="replace a different dataset in --out")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.set_defaults(func=_cmd_generate)

    i = sub.add_parser("info", help="print the spec, counts, class balance and label statistics",
                       description="Print a dataset's spec, sample counts per split, class balance, ill-defined "
                                   "counts and label statistics (reads every shard once, checking its checksum).")
    i.add_argument("path", help="dataset folder")
    i.add_argument("--json", action="store_true", help="print the info as JSON")
    i.set_defaults(func=_cmd_info)


def _ints(text: str, what: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ValueError(f"Argument `--{what}` must be a comma list of ints, got {text!r}.") from None


def _floats(text: str, what: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ValueError(f"Argument `--{what}` must be a comma list of numbers, got {text!r}.") from None


def spec_from_args(args) -> spec_mod.DatasetSpec:
    """The :class:`DatasetSpec` a ``tnn data generate`` command line asks for."""
    over: dict = {}
    if args.n is not None:
        over["n"] = args.n
    if args.seed is not None:
        over["seed"] = args.seed
    if args.size is not None:
        s = _ints(args.size, "size")
        over["size"] = s[0] if len(s) == 1 else s
    if args.pbc:
        over["pbc"] = True
    if args.obc:
        over["pbc"] = False
    if args.disorder is not None:
        over["disorder"] = args.disorder
        if args.disorder == "none":
            over["strength"] = spec_mod.fixed("W", 0.0)
        elif args.strength is None:
            over["strength"] = spec_mod.fixed("W", 1.0)
    if args.strength is not None:
        w = _floats(args.strength, "strength")
        over["strength"] = spec_mod.fixed("W", w[0]) if len(w) == 1 else spec_mod.choice("W", *w)
    if args.features is not None:
        over["features"] = tuple(f.strip() for f in args.features.split(",") if f.strip())
    for name in ("dtype", "label", "method", "boundary_fraction", "boundary_gap", "shard_size", "chunk_size",
                 "index_offset", "compact"):
        v = getattr(args, name)
        if v is not None:
            over[name] = v
    if args.classes is not None:
        over["classes"] = _ints(args.classes, "classes")
    if args.no_balance:
        over["balance"] = False
    if "pbc" in over and "method" not in over:
        over["method"] = ""  # the default method of the new boundary condition
    if "chunk_size" in over and "shard_size" not in over:
        over["shard_size"] = max(1, 512 // over["chunk_size"]) * over["chunk_size"]
    return spec_mod.preset(args.preset, **over)


def _check_existing(out: Path, spec: spec_mod.DatasetSpec) -> None:
    """Refuse, naming what differs, to write ``spec`` into a folder that holds another dataset."""
    try:
        manifest = store.read_manifest(out)
    except store.DatasetError:
        return  # no (readable) dataset there: generate() decides
    old = manifest.get("spec") or {}
    diff = spec_difference(old, spec.to_dict())
    if not diff:
        return
    what = "; ".join(f"{k}: {a!r} there, {b!r} asked" for k, a, b in ((k, *v) for k, v in diff.items()))
    msg = f"{out} holds a different dataset ({what})."
    if set(diff) == {"n"}:
        msg += (" A dataset cannot be grown in place: the train/val/test splits are fractions of n, so a"
                " different n moves samples between splits. Sample i depends only on the spec and i, so a"
                f" new folder with --n {spec.n} starts with the same {min(diff['n'])} samples (recomputed).")
    raise ValueError(msg + " Choose another --out, or pass --overwrite to replace it.")


def _cmd_generate(args) -> int:
    spec = spec_from_args(args)  # ValueError (bad spec) -> exit 2 before any work
    out = Path(args.out) if args.out else Path("data") / f"{spec.name}-n{spec.n}-{spec.digest()[:8]}"
    if not args.overwrite:
        _check_existing(out, spec)
    enable_x64()  # labels and features are computed in float64 (tnn.precision)
    ds = generate(spec, out, overwrite=args.overwrite, progress=not args.quiet, workers=args.workers)
    r = ds.report
    print(f"{out}: {ds.n} samples in {ds.spec.n_shards} shards ({len(r['written'])} written, "
          f"{len(r['kept'])} kept, {len(r['repaired'])} repaired) in {r['seconds']:.1f} s")
    return 0


def _cmd_info(args) -> int:
    try:
        info = dataset_info(args.path)
    except store.ShardError as err:
        print(f"tnn data info: error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(info, indent=1) if args.json else format_info(info))
    return 0

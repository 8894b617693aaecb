"""tnn data: generate a dataset from a preset, print info about one."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from tnn import validity

from tnn.data import exact
from tnn.data import spec as spec_mod
from tnn.data import store

__all__ = ["register_cli", "dataset_info", "format_info", "spec_from_args", "spec_difference"]


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


def spec_difference(old: dict, new: dict) -> dict[str, tuple]:
    """``{field: (old value, new value)}`` for the fields where two spec dicts differ."""
    return {k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}


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
    from tnn.data.generation import generate  # noqa: PLC0415

    out = Path(args.out) if args.out else Path("data") / f"{spec.name}-n{spec.n}-{spec.digest()[:8]}"
    if not args.overwrite:
        _check_existing(out, spec)
    ds = generate(spec, out, overwrite=args.overwrite, progress=not args.quiet, workers=args.workers)
    r = ds.report
    print(f"{out}: {ds.n} samples in {ds.spec.n_shards} shards ({len(r['written'])} written, "
          f"{len(r['kept'])} kept, {len(r['repaired'])} repaired) in {r['seconds']:.1f} s")
    return 0


def dataset_info(path) -> dict:
    """Spec, counts, class balance per split and label statistics of the dataset at ``path``.

    Reads every shard once (label arrays only are kept), verifying each checksum.
    """
    ds = store.Dataset(path, allow_incomplete=True)
    m = ds.manifest
    written = [e for e in m["shards"] if e is not None]
    info = {
        "path": str(ds.path),
        "spec": m["spec"],
        "versions": m["versions"],
        "n_samples": ds.n,
        "n_shards": m["n_shards"],
        "shards_written": len(written),
        "complete": bool(m["complete"]),
        "compact": ds.spec.compact,
        "derived": sorted(ds.derived),
        "bytes": int(sum(e["bytes"] for e in written)),
        "splits": {},
    }
    if not m["complete"]:
        return info
    fields = ("label", "invariant", "class", "kspace_class", "gap", "ill_defined", "invalid", "reason", "symmetry_broken",
              "near_boundary", "strength", "kspace_gapless")
    # Datasets written before the exact labels lack these arrays.
    fields += tuple(f for f in ("label_source", "label_reason", "xi", "transition_distance") if f in ds.arrays)
    for split in ("train", "val", "test"):
        a, b = ds.splits[split]
        d = ds.load(split, fields) if b > a else None
        if d is None:
            info["splits"][split] = {"range": [a, b], "n": 0}
            continue
        ok = ~d["ill_defined"]
        vals, counts = np.unique(d["label"][ok], return_counts=True)
        inv = d["invariant"][np.isfinite(d["invariant"])]
        both = ok & (d["class"] > -1000) & (d["kspace_class"] > -1000)
        clean = d["strength"] == 0
        cv = ok & clean & ~d["kspace_gapless"]
        reasons = validity.reason_names(d["reason"])
        names, rcounts = np.unique(reasons[d["invalid"].astype(bool)], return_counts=True)
        info["splits"][split] = {
            "range": [a, b],
            "n": int(b - a),
            "class_counts": {str(int(v)): int(c) for v, c in zip(vals, counts)},
            "n_ill_defined": int((~ok).sum()),
            "n_invalid": int(d["invalid"].sum()),
            "invalid_reasons": {str(k): int(c) for k, c in zip(names, rcounts)},
            "valid_fraction": float(1.0 - d["invalid"].mean()),
            "n_clean_valid": int(cv.sum()),
            "clean_valid_agree_kspace": float(np.mean(d["class"][cv] == d["kspace_class"][cv])) if cv.any() else None,
            "n_symmetry_broken": int(d["symmetry_broken"].sum()),
            "n_near_boundary": int(d["near_boundary"].sum()),
            "invariant": _stats(inv),
            "distance_to_integer": _stats(np.abs(inv - np.rint(inv))),
            "gap": _stats(d["gap"]),
            "strength": _stats(d["strength"]),
            "realspace_equals_kspace": float(np.mean(d["class"][both] == d["kspace_class"][both])) if both.any() else None,
        }
        if "label_source" in d:
            info["splits"][split].update(_exact_info(d))
    return info


def _exact_info(d: dict) -> dict:
    """Label sources, the reasons of ill-defined labels, and statistics of ``xi`` and of the
    distance to the nearest transition (finite values)."""
    src, srcn = np.unique(exact.source_names(d["label_source"]), return_counts=True)
    why, whyn = np.unique(exact.label_reason_names(d["label_reason"][d["label_reason"] != 0]), return_counts=True)
    xi, td = d["xi"], d["transition_distance"]
    lab = ~d["ill_defined"].astype(bool)
    return {
        # The real-space value of this size scored against the exact label: the ceiling of a model
        # that computes it (rounded value, every labelled sample).
        "realspace_equals_label": float(np.mean(d["class"][lab] == d["label"][lab])) if lab.any() else None,
        "label_sources": {str(k): int(c) for k, c in zip(src, srcn)},
        "label_reasons": {str(k): int(c) for k, c in zip(why, whyn)},
        "xi": {**_stats(xi[np.isfinite(xi)]), "median": float(np.median(xi[np.isfinite(xi)])) if np.isfinite(xi).any() else None,
               "n_nan": int(np.isnan(xi).sum()), "n_inf": int(np.isinf(xi).sum())},
        "transition_distance": _stats(td[np.isfinite(td)]),
    }


def _stats(x) -> dict:
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return {"n": 0}
    return {"n": int(x.size), "mean": float(x.mean()), "std": float(x.std()), "min": float(x.min()), "max": float(x.max())}


def format_info(info: dict) -> str:
    """Human-readable text of :func:`dataset_info`."""
    s = info["spec"]
    lines = [f"dataset {info['path']}"]
    lines.append(f"  spec: {s['name']}: {s['model']} on {s['lattice']} {tuple(s['size'])}, {'PBC' if s['pbc'] else 'OBC'}"
                 + (f", ranges {tuple(s['ranges'])}" if s["ranges"] else ""))
    lines.append("  params: " + ", ".join(f"{p['name']} ~ {p['dist']}{tuple(p['args'])}" for p in s["params"]))
    lines.append(f"  disorder: {s['disorder']}, W ~ {s['strength']['dist']}{tuple(s['strength']['args'])}")
    lines.append(f"  classes: {s['classes']} balance={s['balance']} boundary_fraction={s['boundary_fraction']} "
                 f"(gap < {s['boundary_gap']})")
    lines.append(f"  features: {', '.join(s['features'])} ({s['dtype']}, gauge {s['gauge']})"
                 + ("; compact: none stored, recomputed from params, strength and index on loading"
                    if info.get("compact") else "; stored"))
    lines.append(f"  label: {s['label']} (real-space method {s['method']}, trim {s['trim']}, gap_tol {s['gap_tol']})")
    lines.append(f"  seed {s['seed']}, shard_size {s['shard_size']}, chunk_size {s['chunk_size']}; versions "
                 + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    lines.append(f"  samples: {info['n_samples']} in {info['n_shards']} shards ({info['shards_written']} written, "
                 f"{'complete' if info['complete'] else 'INCOMPLETE'}), {info['bytes'] / 2**20:.1f} MiB")
    for split, d in info["splits"].items():
        lines.append(f"  {split} [{d['range'][0]}, {d['range'][1]}): {d['n']} samples")
        if not d["n"]:
            continue
        counts = d["class_counts"]
        tot = sum(counts.values()) or 1
        lines.append("    class balance: " + ", ".join(f"{k}: {v} ({100 * v / tot:.1f}%)" for k, v in counts.items())
                     + f"; ill-defined {d['n_ill_defined']} (no certified value {d['n_invalid']}, symmetry-broken "
                     f"{d['n_symmetry_broken']}); near boundary {d['n_near_boundary']}")
        reasons = ", ".join(f"{k} {v}" for k, v in d["invalid_reasons"].items()) or "none"
        agree = ("n/a (no clean valid sample)" if d["clean_valid_agree_kspace"] is None
                 else f"{100 * d['clean_valid_agree_kspace']:.2f}% of {d['n_clean_valid']}")
        lines.append(f"    label quality: valid {100 * d['valid_fraction']:.1f}% (invalid: {reasons}); "
                     f"clean valid samples agreeing with k space: {agree}")
        iv, dz, gp = d["invariant"], d["distance_to_integer"], d["gap"]
        if iv["n"]:
            lines.append(f"    invariant: mean {iv['mean']:.3f} std {iv['std']:.3f} range [{iv['min']:.3f}, {iv['max']:.3f}]; "
                         f"|value - round| mean {dz['mean']:.2e} max {dz['max']:.2e}")
        if "label_sources" in d:
            tot = d["n"] or 1
            lines.append("    label sources: " + ", ".join(f"{k} {v} ({100 * v / tot:.1f}%)" for k, v in d["label_sources"].items())
                         + "; ill-defined because: " + (", ".join(f"{k} {v}" for k, v in d["label_reasons"].items()) or "none"))
            xi = d["xi"]
            if d["realspace_equals_label"] is not None:
                lines.append(f"    rounded real-space value == label on {100 * d['realspace_equals_label']:.1f}% of the "
                             "labelled samples (the ceiling of a model that computes it at this size)")
            lines.append(f"    xi (cells): " + (f"median {xi['median']:.2f} mean {xi['mean']:.2f} min {xi['min']:.2f} max "
                                                 f"{xi['max']:.3g}" if xi["n"] else "none finite")
                         + f"; NaN {xi['n_nan']}, inf {xi['n_inf']}")
        lines.append(f"    gap: mean {gp['mean']:.3f} min {gp['min']:.2e} max {gp['max']:.3f}"
                     + (f"; real-space class == k-space class: {100 * d['realspace_equals_kspace']:.1f}%"
                        if d["realspace_equals_kspace"] is not None else ""))
    return "\n".join(lines)


def _cmd_info(args) -> int:
    try:
        info = dataset_info(args.path)
    except store.ShardError as err:
        print(f"tnn data info: error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(info, indent=1) if args.json else format_info(info))
    return 0

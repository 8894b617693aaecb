"""What a dataset folder holds: its spec, counts, class balance and label statistics (``tnn data info``)."""

from __future__ import annotations

import numpy as np

from tnn import validity
from tnn.data import exact
from tnn.data import store

__all__ = ["dataset_info", "format_info", "spec_difference"]


def spec_difference(old: dict, new: dict) -> dict[str, tuple]:
    """``{field: (old value, new value)}`` for the fields where two spec dicts differ."""
    return {k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}


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
            lines.append("    xi (cells): " + (f"median {xi['median']:.2f} mean {xi['mean']:.2f} min {xi['min']:.2f} max "
                                                 f"{xi['max']:.3g}" if xi["n"] else "none finite")
                         + f"; NaN {xi['n_nan']}, inf {xi['n_inf']}")
        lines.append(f"    gap: mean {gp['mean']:.3f} min {gp['min']:.2e} max {gp['max']:.3f}"
                     + (f"; real-space class == k-space class: {100 * d['realspace_equals_kspace']:.1f}%"
                        if d["realspace_equals_kspace"] is not None else ""))
    return "\n".join(lines)

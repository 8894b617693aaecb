"""Worker process of :func:`tnn.data.generate` (``workers > 1``): ``python -m tnn.data._worker OUT``.

Protocol (text lines): the parent sends the spec as one JSON line, then one shard index per line;
for each index the worker computes and writes the shard and answers with one JSON line
``{"k": k, "entry": ..., "meta": ...}`` (or ``{"error": traceback}``). End of input ends the worker.
Started as a plain subprocess (not ``multiprocessing``) so that the caller's ``__main__`` is never
re-imported. The parent sets ``OPENBLAS_NUM_THREADS=1`` and single-threaded XLA in its environment.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    answer = sys.stdout
    # Anything else printed to stdout by libraries must not corrupt the protocol.
    sys.stdout = sys.stderr
    try:
        from tnn.data.generation import _compute_shard, _write_shard  # noqa: PLC0415
        from tnn.data.spec import DatasetSpec  # noqa: PLC0415

        spec = DatasetSpec.from_dict(json.loads(sys.stdin.readline()))
        for line in sys.stdin:
            k = int(line)
            _, entry, meta = _write_shard(out, k, _compute_shard(spec, k))
            answer.write(json.dumps({"k": k, "entry": entry, "meta": meta}) + "\n")
            answer.flush()
    except BaseException:  # noqa: BLE001  (reported to the parent, which raises)
        answer.write(json.dumps({"error": traceback.format_exc()}) + "\n")
        answer.flush()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

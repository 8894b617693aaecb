"""Worker process of :func:`tnn.data.generate` (``workers > 1``): ``python -m tnn.data._worker OUT``.

Protocol (text lines): the parent sends the spec as one JSON line (the worker then compiles the
generator by computing one chunk, while the parent runs its preflight), then shard indices, one per
line (up to two ahead, so the next shard is computed while the previous one is written); for each
index the worker computes the shard, writes it (in a background thread) and answers with one JSON
line ``{"k": k, "entry": ..., "meta": ...}``, or ``{"error": traceback}``. End of input ends the
worker once its writes are done. Started as a plain subprocess (not ``multiprocessing``) so that the
caller's ``__main__`` is never re-imported. The parent sets ``OPENBLAS_NUM_THREADS=1`` and
single-threaded XLA in its environment.
"""

from __future__ import annotations

import concurrent.futures
import json
import sys
import threading
import traceback
from pathlib import Path


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    answer = sys.stdout
    sys.stdout = sys.stderr  # anything a library prints must not corrupt the protocol
    lock = threading.Lock()

    def send(msg: dict) -> None:
        with lock:
            answer.write(json.dumps(msg) + "\n")
            answer.flush()

    def write(k, arrays):
        try:
            _, entry, meta = _write_shard(out, k, arrays)
            send({"k": k, "entry": entry, "meta": meta})
        except BaseException:  # noqa: BLE001  (reported to the parent, which raises)
            send({"error": traceback.format_exc()})

    try:
        from tnn.data.generation import _compute_shard, _write_shard, compute_samples  # noqa: PLC0415
        from tnn.data.spec import DatasetSpec  # noqa: PLC0415

        spec = DatasetSpec.from_dict(json.loads(sys.stdin.readline()))
        # Compile (and run) the first chunk now, while the parent runs its preflight: the first
        # shard then starts at full speed. Cheap: one chunk, results discarded.
        compute_samples(spec, 0, spec.chunk_size)
        with concurrent.futures.ThreadPoolExecutor(1) as writer:
            pending = None
            for line in sys.stdin:
                k = int(line)
                arrays = _compute_shard(spec, k)
                if pending is not None:
                    pending.result()  # at most one shard waiting to be written
                pending = writer.submit(write, k, arrays)
                del arrays
    except BaseException:  # noqa: BLE001
        send({"error": traceback.format_exc()})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Every core by default: the README's quick random search with the default workers against ``--workers 1``.

Both searches run in this process one after the other (same data, same seed, no final training: the search
alone is timed), so the ratio of their wall times is what the second core buys. Run it with nothing else heavy
beside it (2 cores are all there are):

    python benchmarks/local_parallel.py [--method random] [--preset quick]

Prints ``RESULT {"wall_ratio": R, "same_arch": true|false, ...}``; the goal is R <= 0.6 with the same arch.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

from archsearch.executors.processes import default_workers
from archsearch.experiment.run import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--method", default="random")
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--data", default="fashion-mnist")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as runs:
        for label, workers in (("serial", 1), ("default", None)):
            started = time.perf_counter()
            result = run(args.method, preset=args.preset, data=args.data, runs_dir=runs, name=label, workers=workers,
                         final_epochs=0, quiet=True)
            results[label] = (time.perf_counter() - started, result.best.arch.to_dict())
    (serial, serial_arch), (parallel, parallel_arch) = results["serial"], results["default"]
    print("RESULT " + json.dumps({"wall_ratio": round(parallel / serial, 3), "same_arch": serial_arch == parallel_arch,
                                  "serial_s": round(serial, 1), "default_s": round(parallel, 1),
                                  "workers": default_workers()}))


if __name__ == "__main__":
    main()

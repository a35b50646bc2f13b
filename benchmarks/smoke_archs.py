"""The fixed-seed smoke best arch of every method, to show a refactor changed no behaviour.

Runs ``archsearch run METHOD --preset smoke --seed 0 --data digits --final-epochs 0`` for each registered method in
a fresh runs directory and prints one line per method: its best arch, the objectives it was chosen by, and a short
digest of both. Run it at two commits and compare the lines (or the final ``RESULT``'s digest of all of them):

    python benchmarks/smoke_archs.py [--methods random,spos,...] [--out archs.json]

Not a timing benchmark: it may run beside other work.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archsearch.cli import main as cli_main  # noqa: E402

METHODS = ("random", "spos", "greedynas", "evolution", "darts", "fairdarts", "proxyless", "nars")


def digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:12]


def best_of(method: str, runs_dir: Path) -> dict[str, object]:
    code = cli_main(["run", method, "--preset", "smoke", "--seed", "0", "--data", "digits", "--final-epochs", "0",
                     "--runs-dir", str(runs_dir), "--name", method])
    if code != 0:
        raise SystemExit(f"{method}: archsearch run exited {code}")
    best = json.loads((runs_dir / method / "result.json").read_text())["best"]
    chosen = {"arch": best["arch"], "objectives": best.get("objectives")}
    return {"method": method, "digest": digest(chosen), **chosen}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [best_of(m, Path(tmp)) for m in args.methods.split(",")]
    for row in rows:
        print(json.dumps(row, sort_keys=True))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1, sort_keys=True))
    print("RESULT " + json.dumps({"digest": digest(rows), **{r["method"]: r["digest"] for r in rows}}))


if __name__ == "__main__":
    main()

"""SIGKILL-then-resume of a hierarchical evolution run (Liu et al. 2018; fault tolerance of the driver).

1. `archsearch run evolution --space hierarchical` in a subprocess; once `--kill-after` evaluations are recorded
   (metrics/evolution.jsonl), the driver gets SIGKILL (no handler, no cleanup).
2. The ledger is read: trials by state, the RUNNING ones are the evaluations that were in flight.
3. `archsearch resume` finishes the run; the ledger is read again.
4. Checks: as many trials as the budget, all complete; one trial per genotype and per key (nothing recorded or
   trained twice except the in-flight work the kill destroyed, which goes back into its own RUNNING trial); with
   `--compare`, the same trials and best as an uninterrupted run with the same seed (local executor).

Ends with ``RESULT {"before": {...}, "after": {...}, "in_flight_resubmitted": n, "duplicates": 0, ...}``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); from archsearch.cli import main; "
            "sys.exit(main())", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "ARCHSEARCH_PROGRESS": "0", "OMP_NUM_THREADS": "1"}


def _ledger(run_dir: Path) -> list:
    from archsearch.report import open_run

    return open_run(run_dir).trials()


def _counts(trials: list) -> dict[str, int]:
    """Trials by state."""
    states = collections.Counter(t.state for t in trials)
    return {"trials": len(trials), **{s: states.get(s, 0) for s in ("complete", "running", "failed")}}


def _number(trial) -> int:
    return trial.number


def _metric_rows(run_dir: Path) -> int:
    path = run_dir / "metrics" / "evolution.jsonl"
    return sum(1 for line in path.read_text().splitlines() if line.strip()) if path.exists() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space", default="hierarchical")
    parser.add_argument("--preset", default="smoke")
    parser.add_argument("--data", default="fashion-mnist")
    parser.add_argument("--budget", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kill-after", type=int, default=5, help="recorded evaluations before the SIGKILL")
    parser.add_argument("--executor", default="local")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--compare", action=argparse.BooleanOptionalAction, default=True,
                        help="also run it uninterrupted and compare (local executor only)")
    parser.add_argument("--runs-dir", type=Path, default=None)
    args = parser.parse_args()

    root = args.runs_dir or Path(tempfile.mkdtemp(prefix="evolution_resume_"))
    common = ["evolution", "--space", args.space, "--preset", args.preset, "--data", args.data, "--seed",
              str(args.seed), "--budget", str(args.budget), "--runs-dir", str(root), "--executor", args.executor]
    if args.workers:
        common += ["--workers", str(args.workers)]
    run_dir = root / "killed"
    shutil.rmtree(run_dir, ignore_errors=True)
    command = _cli("run", *common, "--name", "killed")
    print("$ archsearch run " + " ".join(common + ["--name", "killed"]), flush=True)
    started = time.perf_counter()
    process = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while _metric_rows(run_dir) < args.kill_after:
        if process.poll() is not None:
            raise SystemExit(f"the run ended before {args.kill_after} evaluations: {process.stderr.read()[-2000:]}")
        time.sleep(0.05)
    # then into the middle of the next evaluation, so that one is in flight when the driver dies
    time.sleep(0.5 * (time.perf_counter() - started) / max(1, _metric_rows(run_dir)))
    process.send_signal(signal.SIGKILL)
    process.wait()
    print(f"SIGKILL after {_metric_rows(run_dir)} recorded evaluations ({time.perf_counter() - started:.1f} s); "
          f"result.json exists: {(run_dir / 'result.json').exists()}")

    before_trials = _ledger(run_dir)
    before = _counts(before_trials)
    in_flight = {t.attrs.get("key"): t.number for t in before_trials if t.state == "running"}
    print(f"ledger before resume: {before}  in flight (RUNNING): {sorted(in_flight)}")

    print("$ archsearch resume killed --runs-dir " + str(root), flush=True)
    done = subprocess.run(_cli("resume", "killed", "--runs-dir", str(root)), env=_env(), capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise SystemExit(f"resume failed: {done.stderr[-3000:]}")
    after_trials = _ledger(run_dir)
    after = _counts(after_trials)
    print(f"ledger after resume:  {after}")

    keys = collections.Counter(t.attrs.get("key") for t in after_trials)
    genotypes = collections.Counter(json.dumps(t.arch, sort_keys=True) for t in after_trials)
    duplicates = sum(n - 1 for n in genotypes.values()) + sum(n - 1 for n in keys.values())
    by_key = {t.attrs.get("key"): t for t in after_trials}
    same_trials = all(by_key[k].number == n for k, n in in_flight.items())
    kept = {t.number: t.objectives for t in before_trials if t.state == "complete"}
    unchanged = all(next(t for t in after_trials if t.number == n).objectives == v for n, v in kept.items())
    print(f"distinct genotypes {len(genotypes)} / trials {len(after_trials)}; duplicate genotypes or keys: "
          f"{duplicates}; in-flight evaluations finished in their own trials: {same_trials}; the {len(kept)} "
          f"trials completed before the kill unchanged: {unchanged}")
    ok = (after["trials"] == after["complete"] == args.budget and duplicates == 0 and same_trials and unchanged)

    equal = None
    if args.compare and args.executor == "local":
        full = root / "uninterrupted"
        shutil.rmtree(full, ignore_errors=True)
        subprocess.run(_cli("run", *common, "--name", "uninterrupted"), env=_env(), check=True,
                       capture_output=True)
        reference = _ledger(full)
        ours, theirs = ([(t.attrs.get("key"), t.arch, t.objectives, t.state) for t in sorted(ts, key=_number)]
                        for ts in (after_trials, reference))
        best = [json.loads((d / "result.json").read_text())["best"] for d in (run_dir, full)]
        equal = ours == theirs and best[0] == best[1]
        print(f"same trials (key, genotype, objectives, state) and best as an uninterrupted run: {equal}")
        ok = ok and equal

    print("RESULT " + json.dumps({"before": before, "after": after, "in_flight_resubmitted": len(in_flight),
                                  "duplicates": duplicates, "equal_to_uninterrupted": equal, "ok": ok}))
    if not args.runs_dir:
        shutil.rmtree(root, ignore_errors=True)
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

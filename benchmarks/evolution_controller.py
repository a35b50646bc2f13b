"""The controller's own time per evaluation in hierarchical evolution (Liu et al. 2018; docs/methods/evolution.md),
at a population of 1000 genotypes or more (goal: 10 ms or less at 10,000, so one controller can feed hundreds of
workers).

The real loop of `HierarchicalEvolution.run` on a real run context (Optuna SQLite ledger, checkpoints, metric files),
with an instant fake executor: a "training" returns a fitness drawn from the genotype at once. The initial population
(`--population`, default 1000) is evaluated first (those trials land in the same ledger), then `--cycles` more
evaluations run with tournament selection over 5% of a population of >= 1000 and are timed:

  select+mutate   tournament (50 of 1000) + mutation + dedup       (method.propose_seconds)
  ledger start    RUNNING trial in the Optuna storage (at submit)   (timed around the executor's submit)
  record          ledger complete + population update + metrics row (method.record_seconds)
  checkpoint      the method state written atomically, once per n/100 evaluations at a population of n
  loop            wall time per evaluation of the whole controller loop (all of the above), median and mean (the
                  mean spreads the checkpoints over the evaluations)

Ends with ``RESULT {"controller_ms": ..., "loop_ms": ..., "loop_cpu_ms": ..., "population": ...}`` (medians over the
timed cycles; controller_ms = select+mutate + ledger start + record in wall time, loop_ms adds the checkpoint and the
rest of the loop; loop_mean_ms is its mean; loop_cpu_ms is the same loop in CPU time of the driver, which a loaded machine inflates less).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class _Handle:
    __slots__ = ("result",)

    def __init__(self, result):
        self.result = result


class InstantExecutor:
    """Finishes every task at submit time with a fitness that is a fixed function of the genotype."""

    def __init__(self, workers: int = 8) -> None:
        self.workers = workers
        self.submit_seconds: list[float] = []

    def submit(self, fn, task):
        from archsearch.train.task import EvalResult

        value = (zlib.crc32(json.dumps(task.arch, sort_keys=True).encode()) % 10_000) / 10_000
        return _Handle(EvalResult([{"val_accuracy": value}], value, None, 0, 0, 0.0))

    def wait_any(self, handles):
        return handles[0], handles[0].result

    def shutdown(self) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--population", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=300, help="timed evaluations after the initial population")
    parser.add_argument("--init-mutations", type=int, default=1000, help="paper: 1000")
    parser.add_argument("--workers", type=int, default=8, help="evaluations in flight (fake workers)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from archsearch.experiment.testing import make_context
    import archsearch.methods.evolution as evolution

    with tempfile.TemporaryDirectory() as tmp:
        ctx = make_context(Path(tmp), method="evolution", space="hierarchical", space_options={"preset": "quick"},
                           data="digits", population=args.population,
                           evaluations=args.population + args.cycles, init_mutations=args.init_mutations,
                           in_flight=args.workers)  # few in flight: the timed cycles select from the full population
        executor = InstantExecutor(args.workers)
        ctx._executor = executor
        method = evolution.HierarchicalEvolution(ctx.config, ctx)

        # time the parts of one evaluation from inside the loop
        loop_marks: list[float] = []
        cpu_marks: list[float] = []  # process CPU time: what the controller costs when the machine is shared
        start_seconds: list[float] = []
        checkpoint_seconds: list[float] = []
        ledger_start, checkpoint = ctx.ledger.start, ctx.checkpoint

        def timed_start(*a, **k):
            t0 = time.perf_counter()
            out = ledger_start(*a, **k)
            start_seconds.append(time.perf_counter() - t0)
            return out

        def timed_checkpoint(m):
            t0 = time.perf_counter()
            checkpoint(m)
            checkpoint_seconds.append(time.perf_counter() - t0)

        record = method._record

        def marked_record(done):  # one mark per evaluation: the loop's period, checkpoints included when they fall
            out = record(done)
            loop_marks.append(time.perf_counter())
            cpu_marks.append(time.process_time())
            return out

        ctx.ledger.start = timed_start
        ctx.checkpoint = timed_checkpoint
        method._record = marked_record
        t0 = time.perf_counter()
        result = method.run()
        total = time.perf_counter() - t0

        n = args.cycles
        tail = slice(-n, None)
        select = method.propose_seconds[tail]
        record = method.record_seconds[tail]
        started = start_seconds[tail]
        saved = checkpoint_seconds[-max(1, n // max(1, len(method.proposals) // 100)):]  # one per n/100 evaluations
        loop = [b - a for a, b in zip(loop_marks[-n - 1:-1], loop_marks[-n:])]
        loop_cpu = [b - a for a, b in zip(cpu_marks[-n - 1:-1], cpu_marks[-n:])]
        trials = len(ctx.ledger)
        mutated = sum(p["origin"] == "mutation" for p in method.proposals)
        med = lambda xs: 1e3 * statistics.median(xs)  # noqa: E731
        controller = med(select) + med(started) + med(record)
        print(f"population {len(method.population)} at the end ({mutated} mutated children), ledger trials {trials}, "
              f"whole run {total:.1f} s incl. the {args.population} initial genotypes "
              f"({args.init_mutations} mutations each)")
        print(f"per evaluation at population >= {args.population} (median of {n}):")
        print(f"  select+mutate {med(select):7.2f} ms   (p90 {1e3 * sorted(select)[int(0.9 * n)]:.2f})")
        print(f"  ledger start  {med(started):7.2f} ms")
        print(f"  record        {med(record):7.2f} ms")
        print(f"  = controller  {controller:7.2f} ms   (goal <= 10 ms at 10,000)")
        mean = lambda xs: 1e3 * statistics.fmean(xs)  # noqa: E731
        print(f"  checkpoint    {med(saved):7.2f} ms   (one per {max(1, len(method.proposals) // 100)} evaluations)")
        print(f"  loop total    {med(loop):7.2f} ms wall, {med(loop_cpu):.2f} ms CPU of this process "
              f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
        print(f"  loop mean     {mean(loop):7.2f} ms wall, checkpoints spread over the evaluations")
        assert trials == args.population + args.cycles == result.extra["evaluations"]
        print("RESULT " + json.dumps({"controller_ms": round(controller, 2), "loop_ms": round(med(loop), 2),
                                     "loop_cpu_ms": round(med(loop_cpu), 2),
                                     "loop_mean_ms": round(mean(loop), 2),
                                     "checkpoint_ms": round(med(saved), 2), "population": len(method.population)}))


if __name__ == "__main__":
    main()

"""What the ``archsearch`` command shows on a terminal: its tables, a run's leaderboard and next steps, a study's
table, and the progress bar (`archsearch._progress`). Rendering only (rich, imported when something is shown); the
CLI decides what."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from archsearch._progress import ProgressBar, progress_enabled
from archsearch.report import Report, RunRecord, default_runs_dir
from archsearch.report.listing import Listing


def console(stderr: bool = False) -> Any:
    """A rich console on stdout (or stderr) that keeps tables whole when piped: 160 columns off a terminal."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, width=None if stream.isatty() else 160, soft_wrap=False)


def training_status(metrics: Mapping[str, Any]) -> str:
    """A training epoch's metrics as the bar's status: ``loss 0.412 val 91.20%``."""
    status = f"loss {metrics.get('train_loss', float('nan')):.3f}"
    if metrics.get("val_accuracy") is not None:
        status += f" val {100 * metrics['val_accuracy']:.2f}%"
    return status


def print_listing(listing: Listing) -> None:
    """``archsearch ls``: the runs as a table, then why each damaged one could not be read."""
    from rich.table import Table

    if not listing.rows:
        print(f"no runs in {listing.place}")
        return
    table = Table(title=f"runs in {listing.place}", title_justify="left")
    for column in listing.columns:
        table.add_column(column)
    for row in listing.rows:
        table.add_row(*row)
    console().print(table)
    for name, reason in listing.damaged:
        print(f"damaged: {name}: {reason}")


def print_report(report: Report) -> None:
    """What `make_report` wrote, and its notes (a method plot that failed) on stderr."""
    for path in report.plots:
        print(f"wrote {path}")
    print(f"wrote {report.summary}")
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)


def print_leaderboard(record: RunRecord, *, top: int = 10) -> None:
    """The run's final number first (test acc. after the final training), then the search: its leaderboard and
    Pareto front, every accuracy named by what it is (supernet acc., acc. after E ep., ...)."""
    from rich.markup import escape
    from rich.table import Table

    from archsearch.report.common import (arch_text, column_title, final_lines, front_cost, human, leaderboard,
                                          leaderboard_columns, leaderboard_rows, pareto_front, space_text)

    out = console()
    trials = record.trials()
    board = leaderboard(trials, top)
    label = record.accuracy["label"]
    states: dict[str, int] = {}
    for t in trials:
        states[t.state] = states.get(t.state, 0) + 1
    counts = ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "no trials"
    out.print(f"[bold]{record.name}[/]  method={record.method}  space={space_text(record.space_spec)}  "
              f"data={record.config.get('data')}  preset={record.config.get('preset')}  "
              f"status={record.status()}  ({counts})")
    for i, line in enumerate(final_lines(record)):
        out.print(("[bold]final:[/] " if i == 0 else "       ") + escape(line))
    if board:
        columns = leaderboard_columns(trials)
        table = Table(title=f"search leaderboard (top {len(board)} by {label})", title_justify="left")
        for column in columns:
            table.add_column(column_title(column, label), justify="left" if column == "arch" else "right",
                             overflow="ellipsis" if column == "arch" else "fold", no_wrap=column == "arch")
        for row in leaderboard_rows(board, columns, arch_limit=70):
            table.add_row(*row)
        out.print(table)
        cost = front_cost(record.config, trials)
        front = pareto_front(trials, cost, record.config.get("constraints"))
        out.print(f"Pareto front ({label} vs {cost}): {len(front)} archs: " + ", ".join(
            f"#{t.number} {human(t.metric('accuracy'), 'accuracy')}@{human(t.metric(cost), cost)}" for t in front))
    best = (record.result or {}).get("best")
    if isinstance(best, dict) and best.get("arch"):
        objectives = ", ".join(f"{column_title(k, label)}={human(v, k)}"
                               for k, v in (best.get("objectives") or {}).items() if isinstance(v, (int, float)))
        out.print(f"chosen: {escape(objectives)}  arch: {escape(arch_text(best['arch']))}")


def print_next_steps(record: RunRecord, command: str) -> None:
    """What the run leaves the user with, and the one `command` line that trains the chosen arch longer."""
    best = record.run_dir / "best"
    arch_file = best / "arch.json"
    if not arch_file.is_file():
        print(f"run directory: {record.run_dir}  (next: {command} export {record.run_dir} / {command} report "
              f"{record.run_dir})")
        return
    doc = json.loads(arch_file.read_text(encoding="utf-8"))
    weights = {"trained": "trained by the final training" if doc.get("final") else "trained by the search",
               "supernet": "inherited from the supernet", "init": "untrained (seeded init)"}.get(doc.get("weights"))
    final = doc.get("final") or {}
    epochs = max(10, 2 * int(final.get("epochs") or 0))
    print(f"you now hold: {arch_file} (the architecture)" + (f" and {best / 'model.pt'} (weights, {weights})"
                                                              if (best / "model.pt").is_file() else ""))
    print(f"train it longer: {command} train {arch_file} --epochs {epochs} --out "
          f"{record.run_dir / f'best-{epochs}ep'}")
    print(f"more: {command} report {record.run_dir}  (plots and summary.md)")


def print_study(document: Mapping[str, Any], runs_dir: str | Path | None) -> None:
    """A study's table and judgement, then where its directory (under `runs_dir`) and compare.md are."""
    from archsearch.report.study import COMPARE_MD, print_table

    print_table(document)
    directory = (Path(runs_dir) if runs_dir else default_runs_dir()) / document["study"]
    print(f"study directory: {directory}  (table: {directory / COMPARE_MD})")


def print_exported(exported: Sequence[Any], command: str) -> None:
    """Each exported arch (`export.ExportedArch`): where, which files, which weights; the `command` line that trains
    the ones that hold only their initial weights."""
    for item in exported:
        print(f"rank {item.rank}: {item.directory} ({', '.join(p.name for p in item.files.values())}; weights: "
              f"{item.weights})")
        if item.weights == "init":
            print(f"  no trained weights were kept by this method; train them with: "
                  f"{command} train {item.files['arch']} --out {item.directory}")


def print_training(training: Any) -> None:
    """What an arch file's retraining (`export.ArchTraining`) trains, how long, and on which data."""
    print(f"training {training.doc['space']} arch for {training.epochs} epochs on {training.data} "
          f"({training.train_images} images){' on ' + training.device if training.device else ''}")


def print_trained(trained: Any) -> None:
    """An arch retrained from scratch (`export.TrainedArch`): its test accuracy, and the files of its export."""
    print(f"test accuracy: {100 * trained.test_accuracy:.2f}% ({trained.test_images} test images, "
          f"{trained.seconds:.1f} s)")
    if trained.files:
        print(f"wrote {trained.files['arch']} and {trained.files['state_dict']}")


@contextlib.contextmanager
def latency_sweeps(space: str, *, device: str, batch_size: int, rounds: int,
                   repeats: int) -> Iterator[Callable[[int, Mapping[str, Any]], Callable[[int, int], None]]]:
    """The ``on_start`` of `cost.latency.build_table_file` on a terminal: when measuring begins it says what is
    measured, then shows the sweeps in a bar that closes with this block."""
    from archsearch.cost.timing import runtime_of

    with contextlib.ExitStack() as stack:
        def start(ops: int, fingerprint: Mapping[str, Any]) -> Callable[[int, int], None]:
            print(f"measuring {ops} ops of space {space!r} in {runtime_of(fingerprint)} on {device} (batch "
                  f"{batch_size}, {fingerprint['threads']} thread(s), {fingerprint['clock']} clock, {rounds} round(s) "
                  f"x {repeats} interleaved sweeps)")
            bar = stack.enter_context(ProgressBar("latency sweeps", rounds * repeats))
            return lambda done, total: bar.update(completed=done)

        yield start


def print_latency_table(path: Path, table: Any, measured: bool, warnings: Sequence[str] = ()) -> None:
    """``archsearch latency build``'s outcome: the table just measured (its ops, fixed parts and, when it has one,
    its whole-network calibration; noise `warnings` on stderr), or the one already there."""
    from archsearch.cost.latency import FIXED_PREFIX

    if not measured:
        print(f"a latency table for this device exists: {path} ({len(table.entries)} ops); --force re-measures")
        return
    fixed = sum(v for k, v in table.entries.items() if k.startswith(FIXED_PREFIX))
    print(f"wrote {path} ({len(table.entries)} ops measured in {table.runtime}; fixed parts {fixed:.3f} ms)")
    fit = table.meta.get("calibration")
    if fit:
        checked = (f"; {len(fit['heldout'])} held-out networks within {fit['heldout_median_error']:.1%} (median; the "
                   f"raw sum {fit['heldout_median_error_raw']:.1%})" if fit.get("heldout") else "")
        print(f"calibrated on {len(fit['fit'])} whole networks: latency = {fit['offset_ms']:+.3f} ms + "
              f"{fit['scale']:.3f} x table sum{checked}")
    for message in warnings:
        print(f"warning: {message}", file=sys.stderr)


def _flat_final(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with a `FinalTraining` part spelled as users set it (``final_epochs``, ``final_seeds``, ...)."""
    from archsearch.methods import FinalTraining

    out: dict[str, Any] = {}
    for key, value in values.items():
        out.update(value.flat() if isinstance(value, FinalTraining) else {key: value})
    return out


def method_help(method: str | None) -> str:
    """What ``run [METHOD] --help`` adds to the run flags: the fields of the method's config (with defaults and
    presets) and its own flags; without a method, the methods there are."""
    from archsearch.methods import method_names, method_spec

    if not method:
        named = ", ".join(f"{n} ({method_spec(n).display_name})" for n in method_names())
        return f"\nmethods: {named} (archsearch run METHOD --help lists its options)\n"
    spec = method_spec(method)
    lines = [f"\noptions of method {method!r}, {spec.display_name}, whose search ranks by "
             f"{spec.accuracy_of(spec.config_cls())['label']} (--set FIELD=VALUE, or under method_options: in "
             "--config):"]
    for f in dataclasses.fields(spec.config_cls):
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = f.default_factory()  # type: ignore[misc]
        else:
            lines.append(f"  {f.name} = (required)")
            continue
        lines.extend(f"  {k} = {v!r}" for k, v in _flat_final({f.name: default}).items())
    if spec.budget_field:
        lines.append(f"--budget sets {spec.budget_field}.")
    for preset, overrides in spec.presets.items():
        lines.append(f"preset {preset}: " + (", ".join(f"{k}={v!r}" for k, v in _flat_final(overrides).items())
                                             or "defaults"))
    if spec.cli_flags:
        lines.append("method flags: " + ", ".join(f"{flag} VALUE (sets {field})"
                                                 for flag, field in spec.cli_flags.items()))
    return "\n".join(lines) + "\n"


__all__ = ["ProgressBar", "console", "latency_sweeps", "method_help", "print_exported", "print_latency_table",
           "print_leaderboard", "print_listing", "print_next_steps", "print_report", "print_study", "print_trained",
           "print_training", "progress_enabled", "training_status"]

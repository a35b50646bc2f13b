"""The `archsearch` command: run / resume searches, inspect them (ls, show, report), export and retrain archs,
build latency tables.

Every error a user can cause ends as ONE line on stderr: exit code 2 for usage and config errors (bad flag, unknown
key or name, malformed constraint), 1 for the rest (missing data, corrupt checkpoint, a failed run). No bare
tracebacks; ``ARCHSEARCH_DEBUG=1`` re-raises to show one.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn, Sequence

from archsearch.errors import ArchsearchError, UsageError, unknown_name

PROG = "archsearch"
EXECUTORS = ("local", "ray")
PRESETS = ("paper", "quick", "smoke")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (raised, so `main` prints it like every other error)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see: {self.prog} --help)")


# -- parser -------------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Neural architecture search on PyTorch.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    run = sub.add_parser("run", help="run a search", description="Run a search. Method options: --set field=value "
                         "(any field of the method's config) or the method's own flags.")
    add_run_arguments(run)

    resume = sub.add_parser("resume", help="continue an interrupted run from its latest checkpoint")
    resume.add_argument("run", help="run name or directory")
    resume.add_argument("--runs-dir")
    resume.add_argument("--add-methods", metavar="M,...", help="a study only: add methods, searched at the study's "
                        "budget and judged by its protocol")
    resume.add_argument("--cpu-budget", metavar="S,...", help="a study only: add CPU-second targets (its finished "
                        "searches and retrainings are kept)")
    resume.add_argument("--device", help="where it continues (what it computes stays the run's)")
    resume.add_argument("--executor", choices=EXECUTORS)
    resume.add_argument("--workers", type=int)
    resume.add_argument("--ray-address")

    compare = sub.add_parser("compare", help="which method wins here: searches at equal CPU cost, every winner "
                             "retrained from scratch and judged against random archs",
                             description="A study: every method searches the same space, data and constraints at "
                             "the same search CPU-seconds; each chosen net and K random nets are retrained with "
                             "one recipe and compared on the test set. Continue a killed study with: "
                             f"{PROG} resume STUDY.")
    add_compare_arguments(compare)

    ls = sub.add_parser("ls", help="list runs")
    ls.add_argument("--runs-dir")
    ls.add_argument("--storage", metavar="URL", help="list the runs recorded in this ledger database instead "
                    "(e.g. postgresql://user@host/db), read-only")

    show = sub.add_parser("show", help="leaderboard of a run")
    show.add_argument("run")
    show.add_argument("--runs-dir")
    show.add_argument("--top", type=int, default=10)

    report = sub.add_parser("report", help="write plots and summary.md for a run")
    report.add_argument("run")
    report.add_argument("--runs-dir")
    report.add_argument("--out", type=Path, help="output directory (default: RUN/report)")

    export = sub.add_parser("export", help="export the best architectures with weights")
    export.add_argument("run")
    export.add_argument("--runs-dir")
    export.add_argument("--top", type=int, default=1, help="how many archs (default 1: the best)")
    export.add_argument("--format", default="json", choices=("json", "torchscript", "onnx"),
                        help="json: arch.json + model.pt (state_dict); torchscript / onnx add that file")
    export.add_argument("--out", type=Path, help="output directory (default: RUN/export)")

    train = sub.add_parser("train", help="retrain an architecture from scratch and report test accuracy")
    train.add_argument("arch", type=Path, metavar="ARCH.json", help="arch.json from export (or a bare arch + --space)")
    train.add_argument("--space", help="space of a bare arch")
    train.add_argument("--space-option", dest="space_options", action="append", metavar="KEY=VALUE")
    train.add_argument("--epochs", type=int, default=10, help="default 10")
    train.add_argument("--recipe", type=Path, metavar="FILE", help="training recipe (YAML or JSON; over the "
                       "arch file's own recipe, which a run's best/arch.json holds)")
    train.add_argument("--set", dest="overrides", action="append", metavar="FIELD=VALUE",
                       help="set a recipe field, e.g. lr=0.1 (repeatable)")
    train.add_argument("--data", help="default: the data the arch was searched on, else fashion-mnist")
    train.add_argument("--data-dir")
    train.add_argument("--val-size", type=int, default=0,
                       help="images held out for validation (default 0: train on the whole training set)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=0, help="torch threads (default 0: this machine's default; "
                       "a run's final training uses 1)")
    train.add_argument("--device")
    train.add_argument("--out", type=Path, help="write arch.json + model.pt (trained) here")

    latency = sub.add_parser("latency", help="latency lookup tables")
    latency_sub = latency.add_subparsers(dest="latency_command", metavar="ACTION", parser_class=_Parser)
    latency_sub.required = True
    build = latency_sub.add_parser("build", help="measure every candidate op of a space on this device")
    build.add_argument("--space", default="mobilenet", help="a built-in space, or your own as FILE.py:FUNCTION "
                       "(with --data: each choice is timed at the input it sees in the network)")
    build.add_argument("--space-option", dest="space_options", action="append", metavar="KEY=VALUE")
    build.add_argument("--preset", choices=PRESETS, help="the space's preset (default: the space's own)")
    build.add_argument("--clock", choices=("cpu", "wall"), help="what a sample measures: the thread's CPU time "
                       "(default with 1 CPU thread: robust to other processes) or wall time (default otherwise)")
    build.add_argument("--data", help="fit the space to this dataset's image shape and classes, as 'run --data' "
                       "does (default: the preset's own shape; fashion-mnist for quick / smoke); required for "
                       "FILE.py:FUNCTION")
    build.add_argument("--runtime", choices=("torch", "onnxruntime"), help="what runs the ops: eager PyTorch "
                       "(default, or $ARCHSEARCH_LATENCY_RUNTIME) or ONNX Runtime (each op exported to ONNX; "
                       "needs the onnx extra); recorded in the table")
    build.add_argument("--data-dir")
    build.add_argument("--batch-size", type=int, default=1)
    build.add_argument("--device", default="cpu")
    build.add_argument("--warmup", type=int, default=5, help="untimed sweeps over all ops first (default 5)")
    build.add_argument("--repeats", type=int, default=20, help="timed sweeps per round; a sweep times every op once, "
                       "in shuffled order (default 20)")
    build.add_argument("--rounds", type=int, default=5, help="rounds of sweeps; each entry is the median of its "
                       "rounds x repeats samples (default 5)")
    build.add_argument("--threads", type=int, help="torch threads while timing (default 1 on CPU, or "
                       "$ARCHSEARCH_LATENCY_THREADS; recorded in the table's fingerprint)")
    build.add_argument("--out", type=Path, help="table file (default: the per-device cache)")
    build.add_argument("--force", action="store_true", help="re-measure even when a table for this device exists")
    return parser


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("method", nargs="?", help="search method (random, greedynas, spos, proxyless, darts, ...)")
    parser.add_argument("--space", help="search space: a built-in name (default: the method's), or your own as "
                        "FILE.py:FUNCTION or package.module:FUNCTION (a function returning an nn.Module with "
                        "LayerChoice / InputChoice)")
    parser.add_argument("--space-option", dest="space_options", action="append", metavar="KEY=VALUE",
                     help="an option of the space, e.g. se=true; for FILE.py:FUNCTION a keyword argument of the "
                     "function (repeatable)")
    parser.add_argument("--data", help="dataset: fashion-mnist (default), fashion-mnist-subset, mnist, cifar10, "
                        "digits, or a path: a .npz (x_train, y_train, x_test, y_test[, classes]) or an image folder "
                        "(DIR/train/<class>/*.png|jpg, DIR/test/<class>/...)")
    parser.add_argument("--data-dir", help="where the dataset files are")
    parser.add_argument("--image-size", type=int, metavar="N", help="resize an image folder's images to N x N")
    parser.add_argument("--preset", choices=PRESETS, help="sizes: paper, quick (default: a few CPU minutes), smoke")
    parser.add_argument("--budget", type=_number, help="the method's budget (trials, epochs, ...; see its config)")
    parser.add_argument("--constraint", dest="constraints", action="append", metavar="EXPR",
                     help="resource constraint like flops<=300M, params<=2M, latency<=5ms (repeatable)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--executor", choices=EXECUTORS)
    parser.add_argument("--workers", type=int, help="parallel evaluations: worker processes on this machine (default: "
                        "one per core; smoke: 1) or Ray workers; the results are the same for any count")
    parser.add_argument("--ray-address", help="an existing Ray cluster, e.g. ray://head:10001 (default: local Ray)")
    parser.add_argument("--storage", help="ledger database URL, e.g. postgresql://user@host/db (default: SQLite in "
                     "the run directory)")
    parser.add_argument("--name", help="run name (default: method-space-date)")
    parser.add_argument("--runs-dir", help="where run directories go (default: ./runs)")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda when available)")
    parser.add_argument("--final-epochs", type=int, metavar="N", help="epochs of the chosen arch's final training "
                        "from scratch (default: the method's, by preset); 0 skips it")
    parser.add_argument("--config", type=Path, metavar="FILE.yaml", help="run config file; flags override it")
    parser.add_argument("--set", dest="overrides", action="append", metavar="FIELD=VALUE",
                     help="set a field of the method's config (repeatable)")
    parser.add_argument("--force", action="store_true", default=None,
                        help="run a budget past the sane bound (more than 1000x the paper's) anyway")


def add_compare_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--methods", required=True, help="comma-separated, e.g. random,spos,greedynas,darts")
    parser.add_argument("--space", help="the common space every method searches (default: mobilenet)")
    parser.add_argument("--data", help="dataset (as for run): a name, a .npz file or an image folder")
    parser.add_argument("--data-dir")
    parser.add_argument("--image-size", type=int, help="resize an image folder's images to N x N")
    parser.add_argument("--preset", choices=PRESETS, help="sizes of searches and judgement (default: quick)")
    parser.add_argument("--constraint", dest="constraints", action="append", metavar="EXPR",
                        help="resource constraint, e.g. flops<=6M (repeatable)")
    parser.add_argument("--seeds", type=int, help="search seeds per method (default 2)")
    parser.add_argument("--cpu-budget", metavar="S,...", help="search CPU-seconds per search, or several targets "
                        "(150,600,2400: the study at each, an anytime curve; default: the median of "
                        "the methods' preset costs, measured by a pilot search each)")
    parser.add_argument("--budgets", type=_budgets, metavar="M=B,...", help="fixed budgets in each method's own "
                        "unit (e.g. random=16,spos=0.5), instead of calibrating them to --cpu-budget")
    parser.add_argument("--final-epochs", type=int, help="epochs of the from-scratch retraining (default by preset)")
    parser.add_argument("--retrain-seeds", type=int, help="retraining seeds per chosen net (default by preset)")
    parser.add_argument("--random-archs", type=int, help="K random nets for the baseline distribution")
    parser.add_argument("--reference-epochs", type=int, help="the judge's reliability check: epochs of the longer "
                        "reference training of a few random nets (default 4x --final-epochs)")
    parser.add_argument("--reference-archs", type=int, help="how many random nets get the reference training")
    parser.add_argument("--train-images", type=int, help="the retraining's training images, at most (default by "
                        "preset: quick 16000, else all)")
    parser.add_argument("--executor", choices=EXECUTORS)
    parser.add_argument("--workers", type=int, help="searches and retrainings at once (default: one per core)")
    parser.add_argument("--ray-address")
    parser.add_argument("--device")
    parser.add_argument("--name", help="study name (default: study-date)")
    parser.add_argument("--runs-dir", help="where the study directory goes (default: ./runs)")


def _budgets(text: str) -> dict[str, float]:
    budgets = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        method, sep, value = part.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"{part!r} is not METHOD=BUDGET")
        budgets[method.strip()] = _number(value.strip())
    return budgets


def _number(text: str) -> int | float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    return int(value) if value.is_integer() else value


# -- options ------------------------------------------------------------------------------------------------------
def method_spec(method: str) -> Any:
    """The `MethodSpec` of a registered method (unknown names fail with a suggestion)."""
    from archsearch import methods

    return methods.method_spec(method)


def method_names() -> list[str]:
    from archsearch import methods

    return methods.method_names()


def split_method_flags(method: str, extra: Sequence[str]) -> dict[str, Any]:
    """Map the method's own flags (its spec's `cli_flags`: flag -> field) to config fields."""
    if not extra:
        return {}
    flags = method_spec(method).cli_flags
    parser = _Parser(prog=f"{PROG} run {method}", add_help=False)
    for flag, field_name in flags.items():
        option = flag if flag.startswith("--") else f"--{flag}"
        parser.add_argument(option, dest=field_name, default=argparse.SUPPRESS, metavar="VALUE")
    known, rest = parser.parse_known_args(list(extra))
    if rest:
        bad = rest[0].split("=", 1)[0]
        run_parser = _Parser(prog=PROG)
        add_run_arguments(run_parser)
        options = [f if f.startswith("--") else f"--{f}" for f in flags] + [
            option for action in run_parser._actions for option in action.option_strings]
        close = difflib.get_close_matches(bad, options, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(f"unrecognized argument {bad!r} for method {method!r}{hint} (see: {PROG} run --help; "
                         "method fields: --set field=value)")
    from archsearch._values import scalar

    return {field: scalar(value) for field, value in vars(known).items()}


def resolve_run_options(args: argparse.Namespace, extra: Sequence[str]) -> dict[str, Any]:
    """Config file, then flags, then --set / method flags (`merge_run_options`): the keyword arguments of
    `archsearch.run`."""
    from archsearch.experiment.options import RUN_KEYS, merge_run_options

    return merge_run_options(args.config, {key: getattr(args, key, None) for key in RUN_KEYS},
                             space_options=args.space_options, overrides=args.overrides,
                             final_epochs=getattr(args, "final_epochs", None),
                             method_flags=lambda method: split_method_flags(method, extra))


# -- output -------------------------------------------------------------------------------------------------------
def _console(stderr: bool = False):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, width=None if stream.isatty() else 160, soft_wrap=False)


def _progress_enabled() -> bool:
    return os.environ.get("ARCHSEARCH_PROGRESS", "1") != "0"


def print_leaderboard(record, *, top: int = 10) -> None:
    """The run's final number first (test acc. after the final training), then the search: its leaderboard and
    Pareto front, every accuracy named by what it is (supernet acc., acc. after E ep., ...)."""
    from rich.markup import escape
    from rich.table import Table

    from archsearch.report.common import (arch_text, column_title, final_lines, front_cost, human, leaderboard,
                                          leaderboard_columns, leaderboard_rows, pareto_front)

    console = _console()
    trials = record.trials()
    board = leaderboard(trials, top)
    label = record.accuracy["label"]
    states: dict[str, int] = {}
    for t in trials:
        states[t.state] = states.get(t.state, 0) + 1
    counts = ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "no trials"
    console.print(f"[bold]{record.name}[/]  method={record.method}  space={space_text(record.space_spec)}  "
                  f"data={record.config.get('data')}  preset={record.config.get('preset')}  "
                  f"status={record.status()}  ({counts})")
    for i, line in enumerate(final_lines(record)):
        console.print(("[bold]final:[/] " if i == 0 else "       ") + escape(line))
    if board:
        columns = leaderboard_columns(trials)
        table = Table(title=f"search leaderboard (top {len(board)} by {label})", title_justify="left")
        for column in columns:
            table.add_column(column_title(column, label), justify="left" if column == "arch" else "right",
                             overflow="ellipsis" if column == "arch" else "fold", no_wrap=column == "arch")
        for row in leaderboard_rows(board, columns, arch_limit=70):
            table.add_row(*row)
        console.print(table)
        cost = front_cost(record.config, trials)
        front = pareto_front(trials, cost, record.config.get("constraints"))
        console.print(f"Pareto front ({label} vs {cost}): {len(front)} archs: " + ", ".join(
            f"#{t.number} {human(t.metric('accuracy'), 'accuracy')}@{human(t.metric(cost), cost)}" for t in front))
    best = (record.result or {}).get("best")
    if isinstance(best, dict) and best.get("arch"):
        objectives = ", ".join(f"{column_title(k, label)}={human(v, k)}"
                               for k, v in (best.get("objectives") or {}).items() if isinstance(v, (int, float)))
        console.print(f"chosen: {escape(objectives)}  arch: {escape(arch_text(best['arch']))}")


def print_next_steps(record) -> None:
    """What the run leaves the user with, and the one command that trains the chosen arch longer."""
    best = record.run_dir / "best"
    arch_file = best / "arch.json"
    if not arch_file.is_file():
        print(f"run directory: {record.run_dir}  (next: {PROG} export {record.run_dir} / {PROG} report "
              f"{record.run_dir})")
        return
    doc = json.loads(arch_file.read_text(encoding="utf-8"))
    weights = {"trained": "trained by the final training" if doc.get("final") else "trained by the search",
               "supernet": "inherited from the supernet", "init": "untrained (seeded init)"}.get(doc.get("weights"))
    final = doc.get("final") or {}
    epochs = max(10, 2 * int(final.get("epochs") or 0))
    print(f"you now hold: {arch_file} (the architecture)" + (f" and {best / 'model.pt'} (weights, {weights})"
                                                              if (best / "model.pt").is_file() else ""))
    print(f"train it longer: {PROG} train {arch_file} --epochs {epochs} --out {record.run_dir / f'best-{epochs}ep'}")
    print(f"more: {PROG} report {record.run_dir}  (plots and summary.md)")


def space_text(spec: dict[str, Any]) -> str:
    """A built-in space by name; a user space by its file (or module) and function: "user_space.py:make_space"."""
    source = str((spec.get("options") or {}).get("source") or "") if spec.get("name") == "user" else ""
    if not source or source.startswith("object:"):
        return str(spec.get("name"))
    target, _, function = source.rpartition(":")
    return f"{Path(target).name}:{function}"


# -- commands -----------------------------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace, extra: Sequence[str]) -> int:
    import archsearch.api as api

    options = resolve_run_options(args, extra)
    method = options.pop("method")
    method_options = options.pop("method_options")
    space_options = options.pop("space_options")
    if space_options:
        options["space"] = {"name": options.get("space"), "options": space_options}
    result = api.run(method, **options, **method_options)
    _print_finished(result, _run_dir_of(result, options.get("name"), options.get("runs_dir")))
    return 0


def _run_dir_of(result: Any, name: str | None, runs_dir: str | None) -> Path | None:
    """Where the run just finished lives: what the result says, else its name, else the newest run."""
    from archsearch.report import list_runs
    from archsearch.report import default_runs_dir

    if getattr(result, "run_dir", None) is not None:  # a SearchResult: set by the experiment (rank 0)
        return Path(result.run_dir)
    root = Path(runs_dir) if runs_dir else default_runs_dir()
    if name and (root / name / "config.yaml").is_file():
        return root / name
    runs = list_runs(root)
    return runs[0].run_dir if runs else None


def cmd_compare(args: argparse.Namespace) -> int:
    from archsearch.api import compare

    keys = ("space", "data", "data_dir", "image_size", "preset", "constraints", "seeds", "cpu_budget", "budgets",
            "final_epochs", "retrain_seeds", "random_archs", "train_images", "reference_epochs", "reference_archs",
            "executor", "workers", "ray_address", "device", "name")
    options = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
    document = compare(args.methods, runs_dir=args.runs_dir, quiet=not _progress_enabled(), **options)
    _print_study(document, args.runs_dir)
    return 0


def _print_study(document: dict[str, Any], runs_dir: str | None) -> None:
    from archsearch.report.study import COMPARE_MD, print_table
    from archsearch.report import default_runs_dir

    print_table(document)
    directory = (Path(runs_dir) if runs_dir else default_runs_dir()) / document["study"]
    print(f"study directory: {directory}  (table: {directory / COMPARE_MD})")


def cmd_resume(args: argparse.Namespace) -> int:
    import archsearch.api as api
    from archsearch.report import open_run
    from archsearch.report import default_runs_dir

    for candidate in (Path(args.run), (Path(args.runs_dir) if args.runs_dir else default_runs_dir()) / args.run):
        if api.is_study(candidate):
            document = api.resume_study(candidate, add_methods=args.add_methods or (), cpu_budget=args.cpu_budget,
                                        quiet=not _progress_enabled())
            _print_study(document, str(candidate.parent))
            return 0
    if args.add_methods or args.cpu_budget:
        raise UsageError(f"--add-methods and --cpu-budget extend a study; {args.run!r} is not one")
    record = open_run(args.run, args.runs_dir)
    overrides = {key: getattr(args, key) for key in ("device", "executor", "workers", "ray_address")
                 if getattr(args, key) is not None}
    result = api.resume(record.run_dir, **overrides)
    _print_finished(result, record.run_dir)
    return 0


def _print_finished(result: Any, run_dir: Path | None) -> None:
    from archsearch.report import open_run

    if run_dir is None:
        print(f"best: {dict(result.best.arch)} {result.best.objectives}")
        return
    record = open_run(run_dir)
    print_leaderboard(record)
    _write_best(record)
    print_next_steps(record)


def _write_best(record) -> None:
    """``RUN/best/``: the chosen arch (arch.json, which `archsearch train` reads) and its weights. A failure (a space
    that cannot rebuild the arch outside the search) costs this copy, not the run: result.json holds everything."""
    from archsearch.export import export_best

    try:
        export_best(record)
    except Exception as err:  # noqa: BLE001 - said in one line; `archsearch export` gives the full error
        print(f"note: could not write {record.run_dir / 'best'}: {' '.join(str(err).split())}", file=sys.stderr)


def cmd_ls(args: argparse.Namespace) -> int:
    from rich.table import Table

    from archsearch.report import leaderboard, list_runs
    from archsearch.report import default_runs_dir
    from archsearch.report.common import human

    if args.storage:
        return _ls_storage(args.storage)
    runs = list_runs(args.runs_dir)
    root = Path(args.runs_dir) if args.runs_dir else default_runs_dir()
    if not runs:
        print(f"no runs in {root}")
        return 0
    table = Table(title=f"runs in {root}", title_justify="left")
    for column in ("name", "method", "space", "data", "preset", "status", "trials", "test acc.", "search's best"):
        table.add_column(column)
    damaged = []
    for record in runs:
        try:  # one damaged run is named and listed; it does not hide the others
            if record.damage is not None:
                raise ArchsearchError(record.damage)
            trials = record.trials()
        except ArchsearchError as err:
            reason = str(err).removeprefix(f"run {record.name!r}: ")
            damaged.append((record.run_dir.name, reason))
            config = record.config
            table.add_row(record.run_dir.name, *(str(v) if config and v is not None else "?" for v in (
                config.get("method"), record.space_spec.get("name"), config.get("data"), config.get("preset"))),
                "damaged", "?", "?")
            continue
        board = leaderboard(trials, 1)
        best = board[0].metric("accuracy") if board else None
        if best is None and record.result:
            best = ((record.result.get("best") or {}).get("objectives") or {}).get("accuracy")
        final = (record.final or {}).get("test_accuracy")
        table.add_row(record.name, record.method, space_text(record.space_spec), str(record.config.get("data")),
                      str(record.config.get("preset")), record.status(),
                      str(sum(t.state == "complete" for t in trials)), human(final, "accuracy"),
                      "-" if best is None else f"{human(best, 'accuracy')} ({record.accuracy['label']})")
    _console().print(table)
    for name, reason in damaged:
        print(f"damaged: {name}: {reason}")
    return 0


def _ls_storage(url: str) -> int:
    """The runs (Optuna studies) in a shared ledger database, with their trials, opened read-only."""
    from rich.table import Table

    from archsearch.experiment.ledger import redact_url, read_studies
    from archsearch.report.common import human

    studies = read_studies(url)
    if not studies:
        print(f"no runs in {redact_url(url)}")
        return 0
    table = Table(title=f"runs in {redact_url(url)}", title_justify="left")
    for column in ("name", "trials", "complete", "running", "failed", "best accuracy"):
        table.add_column(column)
    for study in studies:
        trials = study.trials()
        states = [t.state for t in trials]
        accuracies = [t.values.get("accuracy", next(iter(t.values.values())))  # else the study's first objective
                      for t in trials if t.state == "complete" and t.values]
        table.add_row(study.study_name, str(len(trials)), str(states.count("complete")), str(states.count("running")),
                      str(states.count("failed")), human(max(accuracies) if accuracies else None, "accuracy"))
    _console().print(table)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from archsearch.report import open_run

    if args.top < 1:
        raise UsageError(f"--top must be >= 1, got {args.top}")
    print_leaderboard(open_run(args.run, args.runs_dir), top=args.top)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from archsearch.report import make_report

    report = make_report(args.run, runs_dir=args.runs_dir, out_dir=args.out)
    for path in report.plots:
        print(f"wrote {path}")
    print(f"wrote {report.summary}")
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from archsearch.export import export_run

    for item in export_run(args.run, top=args.top, format=args.format, runs_dir=args.runs_dir, out_dir=args.out):
        files = ", ".join(p.name for p in item.files.values())
        print(f"rank {item.rank}: {item.directory} ({files}; weights: {item.weights})")
        if item.weights == "init":
            print(f"  no trained weights were kept by this method; train them with: "
                  f"{PROG} train {item.files['arch']} --out {item.directory}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Retrain an arch file from scratch (`archsearch.retrain`) and report its test accuracy."""
    from archsearch.experiment.checkpoint import atomic_write_text
    from archsearch.experiment.options import merge_recipe_fields, parse_assignments
    from archsearch.experiment.retrain import retrain
    from archsearch.export import read_arch_document, save_model, space_of

    if args.epochs < 1:
        raise UsageError(f"--epochs must be >= 1, got {args.epochs}")
    if args.val_size < 0 or args.threads < 0:
        raise UsageError(f"--val-size and --threads must be >= 0, got {args.val_size} and {args.threads}")
    doc = read_arch_document(args.arch, space=args.space,
                             space_options=parse_assignments(args.space_options, "--space-option"))
    # over the arch file's own recipe (a run's best/arch.json holds its final recipe)
    recipe_fields = merge_recipe_fields(doc.get("recipe"), args.recipe, args.overrides)
    source = doc.get("source") or {}
    data = args.data or source.get("data") or "fashion-mnist"
    data_dir = args.data_dir or source.get("data_dir")
    image_size = source.get("image_size") if data == source.get("data") else None  # as the search resized them
    split = {"val_size": args.val_size, "small_val_size": 0, "seed": args.seed}
    train_images = _training_images(data, data_dir, split, image_size)
    print(f"training {doc['space']} arch for {args.epochs} epochs on {data} ({train_images} images)"
          f"{' on ' + args.device if args.device else ''}")
    with _epoch_bar("train", args.epochs) as advance:
        final = retrain(doc["arch"], space=doc["space"], space_options=doc.get("space_options"), data=data,
                        data_dir=data_dir, image_size=image_size, split=split, epochs=args.epochs, seeds=[args.seed],
                        recipe=recipe_fields, threads=args.threads, device=args.device, keep_weights=bool(args.out),
                        on_epoch=lambda seed, epoch, metrics: advance(metrics))
    if final.test_accuracy is None:
        raise ArchsearchError(f"training failed: {final.errors[0]}")
    print(f"test accuracy: {100 * final.test_accuracy:.2f}% ({_test_images(data, data_dir, image_size)} test images, "
          f"{final.seconds:.1f} s)")
    if args.out:
        search_space = space_of(doc)
        model = search_space.build(search_space.space.validate(doc["arch"]))
        model.load_state_dict(final.weights[0])
        files = save_model(model, args.out, search_space.input_shape, [])
        doc = {**doc, "weights": "trained",
               "retrained": {"epochs": args.epochs, "data": data, "seed": args.seed, "recipe": final.recipe,
                             "test_accuracy": final.test_accuracy}}
        atomic_write_text(args.out / "arch.json", json.dumps(doc, indent=1) + "\n")
        print(f"wrote {args.out / 'arch.json'} and {files['state_dict']}")
    return 0


def _training_images(data: str, data_dir: str | None, split: dict[str, Any], image_size: int | None) -> int:
    from archsearch.train.task import cached_splits

    return len(cached_splits(data, data_dir, split, image_size).train)


def _test_images(data: str, data_dir: str | None, image_size: int | None) -> int:
    from archsearch.train.task import cached_dataset

    return len(cached_dataset(data, data_dir, image_size).y_test)


class _epoch_bar:
    """A rich progress bar with ETA over epochs (silent with ARCHSEARCH_PROGRESS=0); yields ``advance(metrics)``."""

    def __init__(self, description: str, total: int) -> None:
        self.description, self.total, self.progress = description, total, None

    def __enter__(self):
        if not _progress_enabled():
            return lambda metrics: None
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                                 "{task.total}"), TimeElapsedColumn(), TimeRemainingColumn(),
                                 TextColumn("{task.fields[status]}"), console=_console(stderr=True))
        self.progress.start()
        task = self.progress.add_task(self.description, total=self.total, status="")

        def advance(metrics: dict[str, Any]) -> None:
            status = f"loss {metrics.get('train_loss', float('nan')):.3f}"
            if metrics.get("val_accuracy") is not None:
                status += f" val {100 * metrics['val_accuracy']:.2f}%"
            self.progress.update(task, advance=1, status=status)

        return advance

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()


def cmd_latency_build(args: argparse.Namespace) -> int:
    """Measure every candidate op of a space on this device (ProxylessNAS sec. 3.3) into the per-device cache,
    where methods with a latency objective or a ``latency<=`` constraint find it (`cost.latency.build_table_file`)."""
    import contextlib

    from archsearch.cost import latency
    from archsearch.experiment.options import latency_space, parse_assignments

    if args.batch_size < 1 or args.repeats < 1 or args.rounds < 1 or args.warmup < 0 or (
            args.threads is not None and args.threads < 1):
        raise UsageError("--batch-size, --repeats, --rounds and --threads must be >= 1 and --warmup >= 0")
    options = parse_assignments(args.space_options, "--space-option")
    runtime = latency.measurement_runtime(args.runtime, args.device)
    if runtime == "onnxruntime":
        from archsearch.cost import onnx_runtime

        onnx_runtime.require()
    # the same space (and options) a run on this data resolves, so the run finds this table
    search_space, options = latency_space(args.space, options, args.preset, args.data, args.data_dir)
    noisy: list[str] = []
    with contextlib.ExitStack() as stack:
        def start(ops: int, fingerprint: Any) -> Any:
            print(f"measuring {ops} ops of space {args.space!r} in {runtime} on {args.device} (batch "
                  f"{args.batch_size}, {fingerprint['threads']} thread(s), {fingerprint['clock']} clock, "
                  f"{args.rounds} round(s) x {args.repeats} interleaved sweeps)")
            return stack.enter_context(_op_bar(args.rounds * args.repeats))

        path, table, measured = latency.build_table_file(
            search_space, path=args.out, force=args.force, device=args.device, batch_size=args.batch_size,
            warmup=args.warmup, repeats=args.repeats, rounds=args.rounds, threads=args.threads, clock=args.clock,
            meta={"space_options": options}, on_start=start, warn=noisy.append, runtime=runtime)
    if not measured:
        print(f"a latency table for this device exists: {path} ({len(table.entries)} ops); --force re-measures")
        return 0
    fixed = sum(v for k, v in table.entries.items() if k.startswith(latency.FIXED_PREFIX))
    print(f"wrote {path} ({len(table.entries)} ops measured in {table.runtime}; fixed parts {fixed:.3f} ms)")
    fit = table.meta.get("calibration")
    if fit:
        checked = (f"; {len(fit['heldout'])} held-out networks within {fit['heldout_median_error']:.1%} (median; the "
                   f"raw sum {fit['heldout_median_error_raw']:.1%})" if fit.get("heldout") else "")
        print(f"calibrated on {len(fit['fit'])} whole networks: latency = {fit['offset_ms']:+.3f} ms + "
              f"{fit['scale']:.3f} x table sum{checked}")
    for message in noisy:
        print(f"warning: {message}", file=sys.stderr)
    return 0


class _op_bar:
    def __init__(self, total: int) -> None:
        self.total, self.progress = total, None

    def __enter__(self):
        if not _progress_enabled():
            return None
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("latency sweeps"), BarColumn(),
                                 TextColumn("{task.completed}/{task.total}"), TimeRemainingColumn(),
                                 console=_console(True))
        self.progress.start()
        task = self.progress.add_task("latency", total=self.total)
        return lambda done, total: self.progress.update(task, completed=done)

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()


# -- entry point --------------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(argv)
    except UsageError as err:
        _fail(err, 2)
        return 2
    except ArchsearchError as err:
        _fail(err, 1)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted (a run continues with: {PROG} resume RUN)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `archsearch ls | head`: the reader has gone, nothing to say
        try:
            sys.stdout = open(os.devnull, "w")  # no second error when Python flushes stdout at exit
        except OSError:
            pass
        return 141
    except Exception as err:  # a bug: still one line, the traceback on request
        if os.environ.get("ARCHSEARCH_DEBUG"):
            raise
        _fail(f"internal error: {type(err).__name__}: {err} (ARCHSEARCH_DEBUG=1 shows the traceback)", 1)
        return 1


def _fail(err: object, code: int) -> None:
    if os.environ.get("ARCHSEARCH_DEBUG") and isinstance(err, BaseException):
        raise err
    message = " ".join(str(err).split()) or type(err).__name__
    print(f"{PROG}: error: {message}", file=sys.stderr)


def method_help(method: str) -> str:
    """The fields of a method's config (with defaults and presets) and its own flags, for ``run METHOD --help``."""
    spec = method_spec(method)
    lines = [f"\noptions of method {method!r} (--set FIELD=VALUE, or under method_options: in --config):"]
    for f in dataclasses.fields(spec.config_cls):
        if f.default is not dataclasses.MISSING:
            default = repr(f.default)
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = repr(f.default_factory())  # type: ignore[misc]
        else:
            default = "(required)"
        lines.append(f"  {f.name} = {default}")
    if spec.budget_field:
        lines.append(f"--budget sets {spec.budget_field}.")
    for preset, overrides in spec.presets.items():
        lines.append(f"preset {preset}: " + (", ".join(f"{k}={v!r}" for k, v in overrides.items()) or "defaults"))
    if spec.cli_flags:
        lines.append("method flags: " + ", ".join(f"{flag} VALUE (sets {field})"
                                                 for flag, field in spec.cli_flags.items()))
    return "\n".join(lines) + "\n"


def _dispatch(argv: list[str]) -> int:
    parser = build_parser()
    if argv and argv[0] == "run" and ("-h" in argv or "--help" in argv):
        run_parser = _Parser(prog=f"{PROG} run", description="Run a search.")
        add_run_arguments(run_parser)
        args, _ = run_parser.parse_known_args([a for a in argv[1:] if a not in ("-h", "--help")])
        text = run_parser.format_help()
        if args.method:
            if args.method not in method_names():
                raise unknown_name("method", args.method, method_names())
            text += method_help(args.method)
        else:
            text += f"\nmethods: {', '.join(method_names())} (archsearch run METHOD --help lists its options)\n"
        sys.stdout.write(text)
        return 0
    if argv and argv[0] == "run":
        args, extra = parser.parse_known_args(argv)
        return cmd_run(args, extra)
    args = parser.parse_args(argv)
    if args.command == "latency":
        return cmd_latency_build(args)
    return {"compare": cmd_compare, "resume": cmd_resume, "ls": cmd_ls, "show": cmd_show, "report": cmd_report, "export": cmd_export,
            "train": cmd_train}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())

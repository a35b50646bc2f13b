"""The `archsearch` command: run / resume searches, inspect them (ls, show, report), export and retrain archs, build
latency tables. It parses the command line, calls `archsearch.api` (or `archsearch.export`) and shows the outcome
through `archsearch.report.console`: the work and its rendering live there.

Every error a user can cause ends as ONE line on stderr: exit code 2 for usage and config errors (bad flag, unknown
key or name, malformed constraint), 1 for the rest (missing data, corrupt checkpoint, a failed run). No bare
tracebacks; ``ARCHSEARCH_DEBUG=1`` re-raises to show one.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import sys
from pathlib import Path
from typing import Any, NoReturn, Sequence

from archsearch.errors import ArchsearchError, UsageError

PROG = "archsearch"
EXECUTORS = ("local", "ray")
PRESETS = ("paper", "quick", "smoke")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (raised: `main` prints them like any other) and its own list of `flags`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.flags: list[str] = []
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.flags.extend(action.option_strings)
        return action

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see: {self.prog} --help)")


# -- parser -------------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Neural architecture search on PyTorch.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser, required=True)

    sub.add_parser("run", help="run a search", parents=[run_parser()], add_help=False)  # -h: the parent's

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
    compare.add_argument("--methods", required=True, help="comma-separated, e.g. random,spos,greedynas,darts")
    compare.add_argument("--space", help="the common space every method searches (default: mobilenet)")
    compare.add_argument("--data", help="dataset (as for run): a name, a .npz file or an image folder")
    compare.add_argument("--data-dir")
    compare.add_argument("--image-size", type=int, help="resize an image folder's images to N x N")
    compare.add_argument("--preset", choices=PRESETS, help="sizes of searches and judgement (default: quick)")
    compare.add_argument("--constraint", dest="constraints", action="append", metavar="EXPR",
                         help="resource constraint, e.g. flops<=6M (repeatable)")
    compare.add_argument("--seeds", type=int, help="search seeds per method (default 2)")
    compare.add_argument("--cpu-budget", metavar="S,...", help="search CPU-seconds per search, or several targets "
                         "(150,600,2400: the study at each, an anytime curve; default: the median of "
                         "the methods' preset costs, measured by a pilot search each)")
    compare.add_argument("--budgets", type=_budgets, metavar="M=B,...", help="fixed budgets in each method's own "
                         "unit (e.g. random=16,spos=0.5), instead of calibrating them to --cpu-budget")
    compare.add_argument("--final-epochs", type=int, help="epochs of the from-scratch retraining (default by preset)")
    compare.add_argument("--retrain-seeds", type=int, help="retraining seeds per chosen net (default by preset)")
    compare.add_argument("--random-archs", type=int, help="K random nets for the baseline distribution")
    compare.add_argument("--reference-epochs", type=int, help="the judge's reliability check: epochs of the longer "
                         "reference training of a few random nets (default 4x --final-epochs)")
    compare.add_argument("--reference-archs", type=int, help="how many random nets get the reference training")
    compare.add_argument("--train-images", type=int, help="the retraining's training images, at most (default by "
                         "preset: quick 16000, else all)")
    compare.add_argument("--executor", choices=EXECUTORS)
    compare.add_argument("--workers", type=int, help="searches and retrainings at once (default: one per core)")
    compare.add_argument("--ray-address")
    compare.add_argument("--device")
    compare.add_argument("--name", help="study name (default: study-date)")
    compare.add_argument("--runs-dir", help="where the study directory goes (default: ./runs)")

    ls = sub.add_parser("ls", help="list runs")
    ls.add_argument("--runs-dir")
    ls.add_argument("--storage", metavar="URL", help="list the runs recorded in this ledger database instead "
                    "(e.g. postgresql://user@host/db), read-only")

    named_run = _Parser(add_help=False)  # what show, report and export read: a run directory, or a name in --runs-dir
    named_run.add_argument("run")
    named_run.add_argument("--runs-dir")
    show = sub.add_parser("show", help="leaderboard of a run", parents=[named_run])
    show.add_argument("--top", type=int, default=10)

    report = sub.add_parser("report", help="write plots and summary.md for a run", parents=[named_run])
    report.add_argument("--out", type=Path, help="output directory (default: RUN/report)")

    export = sub.add_parser("export", help="export the best architectures with weights", parents=[named_run])
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
    actions = latency.add_subparsers(dest="latency_command", metavar="ACTION", parser_class=_Parser, required=True)
    build = actions.add_parser("build", help="measure every candidate op of a space on this device")
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


def run_parser() -> _Parser:
    """The flags of ``archsearch run`` (its --help, the closest flag to a mistyped one, the run subcommand)."""
    parser = _Parser(prog=f"{PROG} run", description="Run a search.")
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
    return parser


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


def split_method_flags(method: str, extra: Sequence[str]) -> dict[str, Any]:
    """Map the method's own flags (its spec's `cli_flags`: flag -> field) to config fields."""
    from archsearch._values import scalar
    from archsearch.methods import method_spec

    parser = _Parser(prog=f"{PROG} run {method}", add_help=False)
    for flag, field_name in method_spec(method).cli_flags.items():
        parser.add_argument(flag if flag.startswith("--") else f"--{flag}", dest=field_name,
                            default=argparse.SUPPRESS, metavar="VALUE")
    known, rest = parser.parse_known_args(list(extra))
    if rest:
        bad = rest[0].split("=", 1)[0]
        close = difflib.get_close_matches(bad, parser.flags + run_parser().flags, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(f"unrecognized argument {bad!r} for method {method!r}{hint} (see: {PROG} run --help; "
                         "method fields: --set field=value)")
    return {field: scalar(value) for field, value in vars(known).items()}


# -- commands -----------------------------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace, extra: Sequence[str]) -> None:
    import archsearch.api as api
    from archsearch.experiment.options import RUN_KEYS, merge_run_options
    from archsearch.report.listing import finished_run_dir

    options = merge_run_options(args.config, {key: getattr(args, key, None) for key in RUN_KEYS},
                                space_options=args.space_options, overrides=args.overrides,
                                final_epochs=args.final_epochs, method_flags=lambda m: split_method_flags(m, extra))
    method, method_options, space_options = (options.pop(k) for k in ("method", "method_options", "space_options"))
    if space_options:
        options["space"] = {"name": options.get("space"), "options": space_options}
    result = api.run(method, **options, **method_options)
    _print_finished(result, finished_run_dir(result, options.get("name"), options.get("runs_dir")))


def cmd_compare(args: argparse.Namespace) -> None:
    from archsearch.api import compare
    from archsearch.report.console import print_study, progress_enabled

    options = {k: v for k, v in vars(args).items() if k not in ("command", "methods", "runs_dir") and v is not None}
    print_study(compare(args.methods, runs_dir=args.runs_dir, quiet=not progress_enabled(), **options), args.runs_dir)


def cmd_resume(args: argparse.Namespace) -> None:
    import archsearch.api as api
    from archsearch.report import open_run
    from archsearch.report.console import print_study, progress_enabled

    study = api.find_study(args.run, args.runs_dir)
    if study is not None:
        print_study(api.resume_study(study, add_methods=args.add_methods or (), cpu_budget=args.cpu_budget,
                                     quiet=not progress_enabled()), study.parent)
        return
    if args.add_methods or args.cpu_budget:
        raise UsageError(f"--add-methods and --cpu-budget extend a study; {args.run!r} is not one")
    run_dir = open_run(args.run, args.runs_dir).run_dir
    overrides = {key: getattr(args, key) for key in ("device", "executor", "workers", "ray_address")
                 if getattr(args, key) is not None}
    _print_finished(api.resume(run_dir, **overrides), run_dir)


def _print_finished(result: Any, run_dir: Path | None) -> None:
    """The run's leaderboard, then its chosen arch as ``RUN/best/`` (what `archsearch train` reads), then what next."""
    from archsearch.export import write_best
    from archsearch.report import open_run
    from archsearch.report.console import print_leaderboard, print_next_steps

    if run_dir is None:
        print(f"best: {dict(result.best.arch)} {result.best.objectives}")
        return
    record = open_run(run_dir)
    print_leaderboard(record)
    if failure := write_best(record):
        print(f"note: {failure}", file=sys.stderr)
    print_next_steps(record, PROG)


def cmd_ls(args: argparse.Namespace) -> None:
    from archsearch.report.console import print_listing
    from archsearch.report.listing import ledger_listing, runs_listing

    print_listing(ledger_listing(args.storage) if args.storage else runs_listing(args.runs_dir))


def cmd_show(args: argparse.Namespace) -> None:
    from archsearch.report import open_run
    from archsearch.report.console import print_leaderboard

    if args.top < 1:
        raise UsageError(f"--top must be >= 1, got {args.top}")
    print_leaderboard(open_run(args.run, args.runs_dir), top=args.top)


def cmd_report(args: argparse.Namespace) -> None:
    from archsearch.report import make_report
    from archsearch.report.console import print_report

    print_report(make_report(args.run, runs_dir=args.runs_dir, out_dir=args.out))


def cmd_export(args: argparse.Namespace) -> None:
    from archsearch.export import export_run
    from archsearch.report.console import print_exported

    print_exported(export_run(args.run, top=args.top, format=args.format, runs_dir=args.runs_dir, out_dir=args.out),
                   PROG)


def cmd_train(args: argparse.Namespace) -> None:
    from archsearch.experiment.options import parse_assignments
    from archsearch.export import plan_training, train_arch
    from archsearch.report.console import ProgressBar, print_trained, print_training, training_status

    training = plan_training(args.arch, epochs=args.epochs, space=args.space, recipe_file=args.recipe,
                             space_options=parse_assignments(args.space_options, "--space-option"),
                             overrides=args.overrides, data=args.data, data_dir=args.data_dir,
                             val_size=args.val_size, seed=args.seed, threads=args.threads, device=args.device)
    print_training(training)
    with ProgressBar("train", args.epochs) as bar:
        trained = train_arch(training, out=args.out,
                             on_epoch=lambda metrics: bar.update(advance=1, status=training_status(metrics)))
    print_trained(trained)


def cmd_latency_build(args: argparse.Namespace) -> None:
    from archsearch.api import build_latency_table
    from archsearch.experiment.options import parse_assignments
    from archsearch.report.console import latency_sweeps, print_latency_table

    noisy: list[str] = []
    with latency_sweeps(args.space, device=args.device, batch_size=args.batch_size, rounds=args.rounds,
                        repeats=args.repeats) as start:
        path, table, measured = build_latency_table(
            args.space, space_options=parse_assignments(args.space_options, "--space-option"), preset=args.preset,
            data=args.data, data_dir=args.data_dir, runtime=args.runtime, device=args.device, path=args.out,
            force=args.force, batch_size=args.batch_size, warmup=args.warmup, repeats=args.repeats,
            rounds=args.rounds, threads=args.threads, clock=args.clock, on_start=start, warn=noisy.append)
    print_latency_table(path, table, measured, noisy)


# -- entry point --------------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    try:
        _dispatch(list(sys.argv[1:] if argv is None else argv))
        return 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted (a run continues with: {PROG} resume RUN)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `archsearch ls | head`: the reader has gone, nothing to say
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # no second error when Python flushes stdout at exit
        return 141
    except Exception as err:  # one line; a bug says so, and ARCHSEARCH_DEBUG=1 shows any traceback
        if os.environ.get("ARCHSEARCH_DEBUG"):
            raise
        text = str(err) if isinstance(err, ArchsearchError) else (
            f"internal error: {type(err).__name__}: {err} (ARCHSEARCH_DEBUG=1 shows the traceback)")
        print(f"{PROG}: error: {' '.join(text.split()) or type(err).__name__}", file=sys.stderr)
        return 2 if isinstance(err, UsageError) else 1  # a usage or config error exits 2, the rest 1


def _dispatch(argv: list[str]) -> None:
    if argv[:1] == ["run"] and ("-h" in argv or "--help" in argv):  # the run flags, then the method's options
        from archsearch.report.console import method_help

        parser = run_parser()
        method = parser.parse_known_args([a for a in argv[1:] if a not in ("-h", "--help")])[0].method
        sys.stdout.write(parser.format_help() + method_help(method))
    elif argv[:1] == ["run"]:
        cmd_run(*build_parser().parse_known_args(argv))
    else:
        args = build_parser().parse_args(argv)
        {"compare": cmd_compare, "resume": cmd_resume, "ls": cmd_ls, "show": cmd_show, "report": cmd_report,
         "export": cmd_export, "train": cmd_train, "latency": cmd_latency_build}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())

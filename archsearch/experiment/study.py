"""`archsearch compare`: which method wins on *your* problem, and does it beat random architectures at the same cost?

A study is a run of runs, in ``runs/<study>/``:

    validate every method on the common space, data and constraints         (nothing is created on bad input)
    pilot:    each method searches twice with small budgets (1/16 and 1/4 of its preset's); a line through the two
              (search CPU-seconds = fixed cost + cost per unit x budget) gives the budget that costs each of the
              study's CPU-seconds targets. A method whose smaller pilot alone costs a target runs at that budget
              (marked over budget; its seed-0 search is that pilot). Probes: seed-0 searches further along the
              line, each at most 4x the largest budget measured, until the budget read for a target is within 4x
              of one measured (a probe at that budget is the seed-0 search). An evaluation budget stops at the
              space's size
    search:   each method x each target x each seed searches at that budget  -> runs/<study>/runs/<method>-b<B>-s<S>/
              and, at its end, scores the K random archs with its own proxy (supernet accuracy with inherited
              weights, a short training, the predictor)
    random:   K architectures drawn uniformly under the same constraints   (the random baseline's distribution)
    judge:    every chosen arch (R seeds) and every random arch (two seeds) is retrained from scratch with ONE fixed
              recipe for E epochs on the training split, and the first few random archs once more for 4E epochs
              (the reference); test accuracy
    analyse:  the judge's reliability (Kendall tau between the random archs' two seeds, and against the reference),
              per method and target: judged accuracy of each search (mean over its R retrainings) against the random
              archs' (mean over their two), percentile, one-sided Mann-Whitney U p, Holm-corrected over the
              methods, the smallest difference the test could detect, and the proxy tau

The budget unit is **search CPU-seconds** (process CPU time of the search, excluding any retraining and the proxy
scoring): the one quantity every method spends, whatever its own budget knob (epochs of a supernet, evaluated
candidates, predictor iterations). Pilots, searches and retrainings run in worker processes, one per core (each
with one torch thread, so results do not depend on the number of workers), and are recorded by key (ordinary runs;
the study's ledger), so `resume_study` continues a killed study without repeating finished work, and more targets
(``--cpu-budget 150,600,2400``) or methods extend a finished one.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import yaml

from archsearch._atomic import atomic_write_text
from archsearch.errors import UsageError
from archsearch.experiment.study_analysis import analyse, detectable_difference, holm, judge_reliability
from archsearch.experiment.study_settings import (CHOSEN_SEED, COMPARE_JSON, PILOT_FRACTIONS, PROBE_REACH, PROTOCOL,
                                                  RANDOM_SEEDS, STATE_FILE, STUDY_FILE, StudySettings, _budget_field,
                                                  _over_budget, _random_space, _resolve, _run_options, cpu_budgets,
                                                  method_variant, parse_search_key, random_archs, resolve_study,
                                                  search_key, split_methods)

# -- jobs run in worker processes (module level, so they pickle) ----------------------------------------------------------
def _search_job(runs_dir: str, name: str, method: str, options: dict[str, Any]) -> dict[str, Any]:
    """An ordinary run inside the study: started, resumed if a previous session left it unfinished, or read."""
    from archsearch.experiment.run import CONFIG_FILE, RESULT_FILE, resume, run

    run_dir = Path(runs_dir) / name
    if not (run_dir / RESULT_FILE).is_file():
        if (run_dir / CONFIG_FILE).is_file():
            resume(run_dir, quiet=True)
        else:
            run(method, runs_dir=runs_dir, quiet=True, **options)
    result = json.loads((run_dir / RESULT_FILE).read_text(encoding="utf-8"))
    search, best = result["search"], result["best"]  # the search's own clock: kept across resumes
    proxy = (result.get("extra") or {}).get("proxy") or {}
    return {"arch": best["arch"], "objectives": best.get("objectives") or {},
            "cpu_seconds": float(search["cpu_seconds"]), "wall_seconds": float(search["seconds"]),
            "proxy_scores": proxy.get("scores"), "proxy_kind": proxy.get("kind"),
            "warnings": (result.get("extra") or {}).get("warnings") or []}


# -- the study -----------------------------------------------------------------------------------------------------------
class Study:
    """One study directory: its settings, its progress file and the ordinary runs inside it."""

    def __init__(self, settings: StudySettings, directory: Path, *, log: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.dir = Path(directory)
        self.runs_dir = self.dir / "runs"
        self.state: dict[str, Any] = _read_json(self.dir / STATE_FILE) or {"pilots": {}, "searches": {}}
        self.state.setdefault("targets", {})
        self._log = log or (lambda message: None)
        self._executor: Any = None
        self._space_size = float("inf")  # the common space's number of archs: no evaluation budget beyond it

    def log(self, message: str) -> None:
        line = f"{_dt.datetime.now().isoformat(timespec='seconds')} {message}"
        with open(self.dir / "log.txt", "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        self._log(message)

    def _save_state(self) -> None:
        atomic_write_text(self.dir / STATE_FILE, json.dumps(self.state, indent=1, sort_keys=True) + "\n")

    @property
    def executor(self) -> Any:
        """Worker processes (one per core) for a local study; Ray workers for a study on Ray."""
        if self._executor is None:
            from archsearch.executors import create_executor
            from archsearch.executors.processes import ProcessExecutor

            if self.settings.executor == "local":
                self._executor = ProcessExecutor(self.settings.workers)
            else:
                self._executor = create_executor(self.settings.executor, workers=self.settings.workers,
                                                 address=self.settings.ray_address, log=self.log)
        return self._executor

    def _parallel(self, jobs: Mapping[str, tuple[Callable[..., Any], tuple[Any, ...]]],
                  on_done: Callable[[str, Any], None]) -> None:
        """Run ``fn(*args)`` of every job; `on_done(key, result)` records each in this process as it finishes.
        With one worker (or nothing to share) the jobs run here, in order, with one torch thread as a worker."""
        if not jobs:
            return
        if self.settings.executor == "local" and (len(jobs) == 1 or self.settings.workers == 1):
            import torch

            from archsearch.executors.processes import call_task

            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                for key, (fn, args) in jobs.items():
                    on_done(key, call_task(fn, args))
            finally:
                torch.set_num_threads(threads)
            return
        handles = {self.executor.submit(fn, *args): key for key, (fn, args) in jobs.items()}
        while handles:
            handle, result = self.executor.wait_any(list(handles))
            on_done(handles.pop(handle), result)

    # -- stages ---------------------------------------------------------------------------------------------------
    def execute(self) -> dict[str, Any]:
        try:
            space = _random_space(self.settings)
            proxy_archs = [a.to_dict() for a in random_archs(self.settings, space)]
            self._space_size = space.space.cardinality
            targets = self._targets()
            known = self.state.get("targets") or {}  # a target's budgets, once read off, stay (resume, extension)
            budgets = {}
            for target in targets:
                if target is not None and any(m not in (known.get(_label(target)) or {}) for m in self.settings.methods):
                    self._probe(target, proxy_archs)
                budgets[target] = {m: (known.get(_label(target)) or {}).get(m) or self._budget_for(m, target)
                                   for m in self.settings.methods}
            self.state["targets"] = {_label(t): b for t, b in budgets.items()}
            self._save_state()
            self._searches(budgets, proxy_archs)
            results = self._judge(space)
        finally:
            if self._executor is not None:
                self._executor.shutdown()
                self._executor = None
        document = analyse(self.settings, self.state, results, cost_of=lambda arch: space.cost(space.space.validate(arch)))
        write_document(self.dir, document)
        self.log(f"study {self.settings.name} finished: {self.dir / COMPARE_JSON}")
        return document

    def _targets(self) -> list[float | None]:
        """The study's CPU-seconds targets: given, or the median of the methods' estimated preset costs ([None]
        when every method's budget is given). Fixed once known, so methods added later get the same target."""
        if self.settings.cpu_budget:
            return [float(t) for t in self.settings.cpu_budget]
        if "cpu_budget_target" in self.state:
            return [self.state["cpu_budget_target"]]
        calibrated = [m for m in self.settings.methods if m not in self.settings.budgets]
        if not calibrated:
            return [None]
        self._pilots(calibrated, None)
        estimates = [p["fixed"] + p["per_unit"] * p["preset_budget"] for p in
                     (self.state["pilots"][m] for m in calibrated)]
        self.state["cpu_budget_target"] = float(np.median(estimates))
        self._save_state()
        return [self.state["cpu_budget_target"]]

    def _pilots(self, methods: Sequence[str], largest_target: float | None) -> None:
        """Two short searches per method, in parallel; the line through their (budget, CPU-seconds): a fixed cost
        (data, building, a search phase of fixed size) and a cost per budget unit. When the smaller one alone
        already costs the largest target, the method runs at that budget whatever the line says, so the larger
        one is not run ("over")."""
        plans: dict[str, dict[str, Any]] = {}
        for method in methods:
            done = self.state["pilots"].get(method) or {}
            if "per_unit" in done or (done.get("over") and largest_target is not None and
                                      done["points"][0][1] >= largest_target):
                continue
            done.pop("over", None)  # a larger target than the one it was over
            field, preset_budget, integer = _budget_field(method, self.settings.preset)
            low, high = (_round_budget(preset_budget * f, integer) for f in PILOT_FRACTIONS)
            if high <= low:  # a small whole-number budget: the next unit up
                high = low + 1
            plans[method] = {"budget_field": field, "preset_budget": preset_budget, "integer": integer,
                             "budgets": (low, high)}
        for index in (0, 1):
            jobs = {}
            for method, plan in plans.items():
                pilot = self.state["pilots"].setdefault(method, {k: v for k, v in plan.items() if k != "budgets"} |
                                                        {"points": []})
                if len(pilot["points"]) > index or pilot.get("over"):
                    continue
                budget = plan["budgets"][index]
                jobs[method] = (_search_job, self._search_args(method, 0, budget, _pilot_name(method, budget)))

            def record(method: str, outcome: Any, index: int = index) -> None:
                summary = self._summary_or_raise(_pilot_name(method, plans[method]["budgets"][index]), outcome)
                pilot = self.state["pilots"][method]
                pilot["points"].append((plans[method]["budgets"][index], summary["cpu_seconds"]))
                if index == 0 and largest_target is not None and summary["cpu_seconds"] >= largest_target:
                    pilot["over"] = True
                self._save_state()

            self._parallel(jobs, record)
        for method in plans:
            pilot = self.state["pilots"][method]
            if len(pilot["points"]) == 2:
                (b0, c0), (b1, c1) = pilot["points"]
                # timing noise can flatten the line (or tilt it down) when the fixed cost dominates: the cost per
                # unit is taken as at least a tenth of the larger pilot's average cost per unit
                per_unit = max((c1 - c0) / (b1 - b0), 0.1 * c1 / b1)
                pilot.update(per_unit=per_unit, fixed=max(c0 - per_unit * b0, 0.0))
        self._save_state()

    def _budget_for(self, method: str, target: float | None) -> float:
        """The method's budget (its own unit) that costs `target` CPU-seconds on its pilots' cost line, at least the
        smaller pilot's. The pilots' figures are kept in study_state.json, so a resumed study uses the same
        budgets."""
        if method in self.settings.budgets:
            return float(self.settings.budgets[method])
        assert target is not None
        known = self.state["pilots"].get(method)
        if not known or ("per_unit" not in known and not _over_budget(known, target)):  # over a smaller target only
            self._pilots([m for m in self.settings.methods if m not in self.settings.budgets],
                         max(t for t in self._targets() if t is not None))
        pilot = self.state["pilots"][method]
        smallest = pilot["points"][0][0]
        if _over_budget(pilot, target) or "per_unit" not in pilot:  # the line would read below the smallest pilot
            return float(smallest)
        fixed, per_unit = cost_line(pilot, self._measured(method))
        budget = max(_round_budget((target - fixed) / per_unit, pilot["integer"]), smallest)
        if pilot.get("budget_field") == "evaluations" and budget > self._space_size:  # more would evaluate nothing new
            budget = float(self._space_size)
        return float(budget)

    def _measured(self, method: str) -> list[tuple[float, float]]:
        """(budget, CPU-seconds) of the method's probes and searches: the points of its cost line beyond the pilots."""
        return [tuple(p) for p in self.state["pilots"].get(method, {}).get("probes", ())] + \
            [(s["budget"], s["cpu_seconds"]) for s in self.state["searches"].values() if s["method"] == method]

    def _probe(self, target: float, proxy_archs: list[dict[str, Any]]) -> None:
        """Search further along each method's cost line until the budget it reads for `target` is at most
        PROBE_REACH times a budget already measured. Two pilots at 1/16 and 1/4 of a preset are mostly fixed cost
        and noise: on digits their line read 3,413 random-search evaluations and 267 ProxylessNAS epochs for 60
        CPU-s, which cost 6 to 16 times that. Each probe is a seed-0 search (it serves as the study's seed-0 search
        when its budget is the one read), so the probes cost the study little it would not spend anyway."""
        methods = [m for m in self.settings.methods if m not in self.settings.budgets]
        while True:
            jobs, probes = {}, {}
            for method in methods:
                budget = self._budget_for(method, target)  # (runs the pilots a method still lacks)
                pilot = self.state["pilots"][method]
                if _over_budget(pilot, target) or "per_unit" not in pilot:
                    continue
                measured = [b for b, _ in pilot["points"]] + [b for b, _ in self._measured(method)]
                reach = PROBE_REACH * max(measured)
                if budget <= reach:
                    continue
                probe = min(_round_budget(reach, pilot["integer"]), budget)
                if probe <= max(measured):  # no budget left to measure beyond (a whole space evaluated)
                    continue
                probes[method] = probe
                jobs[method] = (_search_job, self._search_args(method, 0, probe, _pilot_name(method, probe),
                                                               proxy_archs))
            if not jobs:
                return
            self.log("probing the cost line: " + ", ".join(f"{m} at {b:g}" for m, b in probes.items()))

            def record(method: str, outcome: Any) -> None:
                summary = self._summary_or_raise(_pilot_name(method, probes[method]), outcome)
                self.state["pilots"][method].setdefault("probes", []).append(
                    (probes[method], summary["cpu_seconds"]))
                self._save_state()

            self._parallel(jobs, record)

    def _searches(self, budgets: Mapping[float | None, Mapping[str, float]],
                  proxy_archs: list[dict[str, Any]]) -> None:
        """Every method x target x seed, in parallel; a (method, budget, seed) search serves every target that
        gives it that budget, and a seed-0 search at a pilot's budget is that pilot's run."""
        jobs = {}
        for target, per_method in budgets.items():
            for method, budget in per_method.items():
                for seed in range(self.settings.seeds):
                    key = search_key(method, budget, seed)
                    if key in self.state["searches"] or key in jobs:
                        continue
                    pilot = self.state["pilots"].get(method) or {}
                    reuse = seed == 0 and any(b == budget for b, _ in pilot.get("points", ()))
                    probed = seed == 0 and any(b == budget for b, _ in pilot.get("probes", ()))
                    name = _pilot_name(method, budget) if reuse or probed else key
                    jobs[key] = (_search_job, self._search_args(method, seed, budget, name,
                                                                None if reuse else proxy_archs))
        if jobs:
            self.log(f"searching {len(jobs)} runs ({', '.join(jobs)})")

        def record(key: str, outcome: Any) -> None:
            method, budget, seed = parse_search_key(key)
            name = jobs[key][1][1]
            summary = self._summary_or_raise(name, outcome)
            for warning in summary.get("warnings") or ():
                self.log(f"{name}: warning: {warning}")
            self.state["searches"][key] = {"method": method, "seed": seed, "budget": budget,
                                           "run": f"runs/{name}", **summary}
            self._save_state()
            self.log(f"searched {key}: {summary['cpu_seconds']:.1f} CPU-s")

        self._parallel(jobs, record)

    def _search_args(self, label: str, seed: int, budget: float, name: str,
                     proxy_archs: list[dict[str, Any]] | None = None) -> tuple[Any, ...]:
        method, own = method_variant(label)
        return (str(self.runs_dir), name, method, {**_run_options(self.settings, seed=seed, name=name, budget=budget,
                                                                  proxy_archs=proxy_archs), **own})

    def _summary_or_raise(self, name: str, outcome: Any) -> dict[str, Any]:
        if isinstance(outcome, BaseException):
            self.log(f"search {name} failed: {outcome}")
            raise outcome
        return dict(outcome)

    # -- judgement ------------------------------------------------------------------------------------------------
    def _judge(self, space: Any) -> dict[str, float]:
        """Retrain every chosen arch (R seeds), the K random archs (two seeds each) and the reference subset;
        key -> test accuracy."""
        from archsearch.experiment.ledger import OptunaLedger, sqlite_url
        from archsearch.tasks.final import run_final_task

        ledger = OptunaLedger(sqlite_url(self.dir / "ledger.db"), self.settings.name, spaces=[space.space],
                              cost=space.cost)
        jobs = self._jobs(space)
        results: dict[str, float] = {}
        pending = {}
        for key, (arch, task) in jobs.items():
            found = ledger.find(key)
            if found is not None and found.state == "complete":
                results[key] = float(found.values["accuracy"])
            else:
                pending[key] = (arch, task)
        if not pending:
            return results
        self.log(f"retraining {len(pending)} of {len(jobs)} nets from scratch (one fixed recipe)")
        trials = {key: ledger.start(arch, key=key, phase="judge", attrs={"kind": "test acc.", "epochs": task.epochs,
                                                                         "seed": task.seed})
                  for key, (arch, task) in pending.items()}

        def record(key: str, outcome: Any) -> None:
            if isinstance(outcome, BaseException) or outcome.test_accuracy is None:
                reason = str(outcome) if isinstance(outcome, BaseException) else (outcome.error or "diverged")
                ledger.fail(trials[key], reason)
                self.log(f"retraining {key} failed: {reason}")
                return
            ledger.complete(trials[key], {"accuracy": float(outcome.test_accuracy), "macs": float(outcome.macs),
                                          "params": float(outcome.params)}, {"seconds": outcome.seconds})
            results[key] = float(outcome.test_accuracy)

        self._parallel({key: (run_final_task, (task,)) for key, (_, task) in pending.items()}, record)
        return results

    def _jobs(self, space: Any) -> dict[str, tuple[Any, Any]]:
        """key -> (arch, EvalTask), in a fixed order: the chosen nets, the random ones, the reference."""
        settings = self.settings
        jobs: dict[str, tuple[Any, Any]] = {}
        for key, search in sorted(self.state["searches"].items()):
            arch = space.space.validate(search["arch"])
            for r in range(settings.judge("retrain_seeds")):
                jobs[f"chosen/{key}/r{r}"] = (arch, self._task(arch, seed=CHOSEN_SEED + r))
        archs = random_archs(settings, space)
        for k, arch in enumerate(archs):
            for r, offset in enumerate(RANDOM_SEEDS):
                jobs[f"random/{k}/r{r}"] = (arch, self._task(arch, seed=offset + k))
        for k, arch in enumerate(archs[:settings.judge("reference_archs")]):
            jobs[f"reference/{k}"] = (arch, self._task(arch, seed=RANDOM_SEEDS[0] + k,
                                                       epochs=settings.judge("reference_epochs")))
        return jobs

    def _task(self, arch: Any, *, seed: int, epochs: int | None = None) -> Any:
        """The judgement's job: the one final training every net gets (the whole training split, or the preset's
        cap on it, the study's recipe, E epochs, the test set)."""
        from archsearch.tasks.final import WHOLE_TRAINING_SET, final_tasks

        spec = self.state["run_spec"]
        split = dict(WHOLE_TRAINING_SET)
        caps = [c for c in (spec["split"].get("train_size"), spec.get("train_images")) if c is not None]
        if caps:  # smoke caps the training split; so may the study
            split["train_size"] = min(caps)
        (task,) = final_tasks(arch, space=spec["space"], data=spec["data"], data_dir=spec["data_dir"],
                              image_size=spec.get("image_size"), split=split,
                              epochs=epochs or self.settings.judge("final_epochs"), seeds=[seed],
                              recipe=self.settings.recipe, device=self.settings.device)
        return task


def cost_line(pilot: Mapping[str, Any], searches: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """(fixed cost, cost per budget unit) of a method: its two pilots' line, refit by least squares through every
    search it has run since when they span more than one budget. Two small pilots dominated by a fixed cost (a
    supernet built, a search phase of fixed size) read the slope off noise; the searches of a first target are
    points far along the line, so a larger target added later is read off a measured slope, not an extrapolation.
    The slope is kept at least a tenth of the costliest point's average cost per unit (noise can tilt it down)."""
    points = [tuple(map(float, p)) for p in pilot["points"]] + [tuple(map(float, p)) for p in searches]
    budgets = np.array([b for b, _ in points])
    if len(set(budgets.tolist())) < 3:
        return float(pilot["fixed"]), float(pilot["per_unit"])
    costs = np.array([c for _, c in points])
    slope, intercept = np.polyfit(budgets, costs, 1)
    far = int(np.argmax(budgets))
    per_unit = max(float(slope), 0.1 * costs[far] / budgets[far])
    return max(float(np.mean(costs - per_unit * budgets)), 0.0), per_unit


def _label(target: float | None) -> str:
    """A target as the key of study_state.json's ``targets`` (JSON keys are text)."""
    return "given" if target is None else f"{target:g}"


def _pilot_name(method: str, budget: float) -> str:
    return f"pilot-{method}-{budget:g}"


def _round_budget(value: float, integer: bool) -> float:
    """A budget of the field's kind: a whole number (at least 1) for an int field."""
    if integer:
        return float(max(1, int(round(value))))
    return float(max(round(value, 3), 0.001))


# -- output ---------------------------------------------------------------------------------------------------------------
def write_document(directory: Path, document: Mapping[str, Any]) -> None:
    """compare.json; the readable compare.md / compare.png come from `archsearch.report.study`."""
    atomic_write_text(directory / COMPARE_JSON, json.dumps(document, indent=1, allow_nan=False) + "\n")


# -- entry points ---------------------------------------------------------------------------------------------------------
def compare(methods: Sequence[str] | str, *, runs_dir: str | Path | None = None, quiet: bool = True,
            **options: Any) -> dict[str, Any]:
    """Run a study (see the module docstring); returns the compare.json document."""
    from archsearch.experiment.checks import default_runs_dir

    settings = resolve_study(methods, **options)
    root = Path(runs_dir) if runs_dir is not None else default_runs_dir()
    directory = root / settings.name
    if directory.exists():
        raise UsageError(f"{directory} already exists; continue it with: archsearch resume {settings.name}, "
                         "or pick another --name")
    directory.mkdir(parents=True)
    from archsearch.data.datasets import Dataset

    if isinstance(settings.data, Dataset):  # kept with the study, so its runs, workers and resume read one file
        from archsearch.data.files import save_dataset

        save_dataset(settings.data, directory / "data.npz")
        settings.data = str((directory / "data.npz").resolve())
    atomic_write_text(directory / STUDY_FILE, yaml.safe_dump(dataclasses.asdict(settings), sort_keys=False))
    return _execute(settings, directory, quiet)


def is_study(directory: str | Path) -> bool:
    return (Path(directory) / STUDY_FILE).is_file()


def resume_study(directory: str | Path, *, add_methods: Sequence[str] | str = (), cpu_budget: Any = None,
                 quiet: bool = True) -> dict[str, Any]:
    """Continue a study; `add_methods` extends it with more methods, searched at the study's targets, seeds and
    protocol, and `cpu_budget` with more CPU-second targets (the finished searches and retrainings are kept)."""
    directory = Path(directory)
    try:
        document = yaml.safe_load((directory / STUDY_FILE).read_text(encoding="utf-8"))
        if not isinstance(document, dict):
            raise TypeError("not a mapping")
        protocol = document.get("protocol", 1)
        settings = StudySettings(**document)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, TypeError) as err:
        raise UsageError(f"cannot read the study in {directory}: {str(err).splitlines()[0]}") from None
    if protocol != PROTOCOL:
        raise UsageError(f"study {settings.name!r} was made with the judging protocol {protocol} of an earlier "
                         f"archsearch (this one judges with protocol {PROTOCOL}); its compare.json stands as it is: "
                         "start a new study with archsearch compare")
    if isinstance(add_methods, str):
        add_methods = split_methods(add_methods)
    added = [m for m in add_methods if m not in settings.methods]
    options = {k: v for k, v in dataclasses.asdict(settings).items() if k not in ("name", "methods", "protocol")}
    if cpu_budget is not None:
        state = _read_json(directory / STATE_FILE) or {}
        known = settings.cpu_budget or ([state["cpu_budget_target"]] if "cpu_budget_target" in state else [])
        options["cpu_budget"] = sorted(set(known) | set(cpu_budgets(cpu_budget)))
    if added or options["cpu_budget"] != settings.cpu_budget:
        settings = resolve_study(settings.methods + added, name=settings.name, **options)  # checks the new ones
        atomic_write_text(directory / STUDY_FILE, yaml.safe_dump(dataclasses.asdict(settings), sort_keys=False))
    return _execute(settings, directory, quiet)


def _execute(settings: StudySettings, directory: Path, quiet: bool) -> dict[str, Any]:
    import sys

    from archsearch.experiment.lock import RunLock

    with RunLock(directory, settings.name, command="compare"):  # one writer per study, as per run
        study = Study(settings, directory, log=None if quiet else (lambda m: print(m, file=sys.stderr)))
        if "run_spec" not in study.state:  # the data/split/space every judged net is trained on (same for all)
            resolved = _resolve(settings, settings.methods[0], "probe")
            study.state["run_spec"] = {"space": resolved.space, "data": resolved.data, "data_dir": resolved.data_dir,
                                       "image_size": resolved.image_size, "split": resolved.split}
            train_images = settings.judge_or_none("train_images")
            if train_images is not None:  # at most as many as there are
                from archsearch.train.task import cached_dataset

                available = len(cached_dataset(resolved.data, resolved.data_dir, resolved.image_size).y_train)
                study.state["run_spec"]["train_images"] = min(train_images, available)
            study._save_state()
        return study.execute()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise UsageError(f"{path} is damaged ({str(err).splitlines()[0]}); delete it to redo the study's "
                         "bookkeeping from its runs") from None


__all__ = ["COMPARE_JSON", "StudySettings", "analyse", "compare", "cost_line", "detectable_difference", "holm",
           "is_study", "judge_reliability", "resolve_study", "resume_study", "search_key"]

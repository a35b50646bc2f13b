"""`archsearch compare`: which method wins on *your* problem, and does it beat random architectures at the same cost?

A study is a run of runs, in ``runs/<study>/``:

    validate every method on the common space, data and constraints         (nothing is created on bad input)
    pilot:    each method searches twice with small budgets (1/16 and 1/4 of its preset's); a line through the two
              (search CPU-seconds = fixed cost + cost per unit x budget) gives the budget that costs each of the
              study's CPU-seconds targets. A method whose smaller pilot alone costs a target runs at that budget
              (marked over budget; its seed-0 search is that pilot)
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
import math
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import yaml

from archsearch.errors import ConfigError, UsageError
from archsearch._atomic import atomic_write_text

STUDY_FILE = "study.yaml"
STATE_FILE = "study_state.json"
COMPARE_JSON = "compare.json"

PROTOCOL = 2  # 2: per-search means, two seeds per random arch, reference, proxy scores, several targets
# The judgement's sizes per preset (sizes only: the protocol is the same everywhere). reference_epochs None: 4 x E.
JUDGE_PRESETS: dict[str, dict[str, Any]] = {
    # paper: the papers retrain found nets for hundreds of epochs on GPUs; 30 epochs keep a study of 8 methods
    # feasible while ranking nets by trained accuracy (interpretation, not a paper value)
    "paper": {"final_epochs": 30, "retrain_seeds": 3, "random_archs": 50, "train_images": None,
              "reference_epochs": None, "reference_archs": 10},
    # quick: Fashion-MNIST on 2 CPU cores: each retraining sees 16,000 training images (as many as the bundled
    # subset has, so a study on either judges alike) and the whole test set
    "quick": {"final_epochs": 1, "retrain_seeds": 2, "random_archs": 16, "train_images": 16000,
              "reference_epochs": None, "reference_archs": 8},
    "smoke": {"final_epochs": 3, "retrain_seeds": 2, "random_archs": 6, "train_images": None,
              "reference_epochs": None, "reference_archs": 3},
}
PILOT_FRACTIONS = (1 / 16, 1 / 4)  # the pilots' shares of the preset budget: two points of the cost line
RANDOM_SEEDS = (1000, 2000)  # random arch k is retrained with seeds 1000 + k and 2000 + k
CHOSEN_SEED = 1000  # chosen arch retraining r: seed 1000 + r
POWER = 0.8  # the detectable difference: the shift the test finds with this probability (Cohen's convention)
ALPHA = 0.05


@dataclasses.dataclass
class StudySettings:
    """Everything that defines a study; written to study.yaml, read back by `resume_study`."""

    name: str
    methods: list[str]
    space: Any = "mobilenet"  # the common space every method searches, so the study compares methods
    preset: str = "quick"
    data: Any = "fashion-mnist"  # a name or path (a `Dataset` given to `compare` is saved as the study's data.npz)
    data_dir: str | None = None
    image_size: int | None = None  # an image folder's images resized to this (as for run)
    constraints: list[str] = dataclasses.field(default_factory=list)
    seeds: int = 2  # search seeds 0 .. seeds-1, the same for every method
    cpu_budget: list[float] | None = None  # search CPU-seconds per search, one study per target; None: the median
    #                                        of the methods' preset costs
    budgets: dict[str, float] = dataclasses.field(default_factory=dict)  # method -> budget, skips its calibration
    final_epochs: int | None = None  # E; None: JUDGE_PRESETS
    retrain_seeds: int | None = None  # R retraining seeds per chosen arch; None: JUDGE_PRESETS
    random_archs: int | None = None  # K uniform draws under the constraints; None: JUDGE_PRESETS
    train_images: int | None = None  # the judgement trains on at most N images (a fixed draw); None: JUDGE_PRESETS
    reference_epochs: int | None = None  # the reference training's epochs; None: 4 x E
    reference_archs: int | None = None  # how many random archs get the reference training; None: JUDGE_PRESETS
    recipe: dict[str, Any] = dataclasses.field(default_factory=dict)  # the one judging recipe (Recipe fields)
    executor: str = "local"
    workers: int | None = None  # parallel processes (local) or Ray workers; None: one per core
    ray_address: str | None = None
    device: str | None = None
    protocol: int = PROTOCOL

    def judge(self, key: str) -> int:
        """A judge size (given, else the preset's)."""
        value = self.judge_or_none(key)
        if value is None:
            raise ConfigError(f"compare {key} has no value (preset {self.preset!r}): give one")
        return value

    def judge_or_none(self, key: str) -> int | None:
        """A judge size that may be None (train_images: every image)."""
        value = getattr(self, key)
        value = JUDGE_PRESETS[self.preset][key] if value is None else value
        if key == "reference_epochs" and value is None:
            return 4 * self.judge("final_epochs")
        if key == "reference_archs":  # a preset's default is at most the K random archs
            value = min(int(value), self.judge("random_archs"))
        return None if value is None else int(value)


# -- validation --------------------------------------------------------------------------------------------------------
def resolve_study(methods: Sequence[str] | str, *, name: str | None = None, **options: Any) -> StudySettings:
    """Check every input before anything is created (one clear error naming what is wrong)."""
    from archsearch.methods import PRESET_NAMES
    from archsearch.train.recipe import Recipe

    if isinstance(methods, str):
        methods = split_methods(methods)
    methods = list(dict.fromkeys(m.strip() for m in methods))
    if not methods:
        raise UsageError("compare needs at least one method (--methods random,spos,...)")
    fields = {f.name for f in dataclasses.fields(StudySettings)}
    unknown = sorted(set(options) - fields)
    if unknown:
        from archsearch.errors import unknown_name

        raise unknown_name("compare option", unknown[0], sorted(fields - {"name", "methods", "protocol"}))
    if isinstance(options.get("constraints"), str):
        options["constraints"] = [options["constraints"]]
    options = {k: v for k, v in options.items() if v is not None}
    if "cpu_budget" in options:
        options["cpu_budget"] = cpu_budgets(options["cpu_budget"])
    name = name or f"study-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    settings = StudySettings(name=name, methods=methods, **options)
    if settings.preset not in PRESET_NAMES:
        from archsearch.errors import unknown_name

        raise unknown_name("preset", settings.preset, PRESET_NAMES)
    for key, low in (("seeds", 1), ("final_epochs", 1), ("retrain_seeds", 1), ("random_archs", 2),
                     ("train_images", 1), ("reference_epochs", 1), ("reference_archs", 0), ("workers", 1)):
        value = getattr(settings, key)
        if key != "seeds" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < low:
            raise ConfigError(f"compare {key}={value!r} is invalid: must be an integer >= {low}")
    if settings.reference_archs is not None and settings.reference_archs > settings.judge("random_archs"):
        raise ConfigError(f"compare reference_archs={settings.reference_archs} is more than the "
                          f"{settings.judge('random_archs')} random archs")
    Recipe.from_dict(settings.recipe)  # unknown or bad recipe fields fail here
    for method, budget in settings.budgets.items():
        if method not in methods:
            raise ConfigError(f"compare budgets name {method!r}, which is not among --methods {methods}")
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 0 < budget < math.inf:
            raise ConfigError(f"compare budget of {method} = {budget!r} is invalid: must be a positive number")
    for label in methods:  # each method on the common space: an unfit method is named now, not mid-study
        _resolve(settings, label)
    _random_space(settings)  # an impossible constraint fails now
    return settings


def split_methods(text: str) -> list[str]:
    """``"random,random[successive_halving=true,epochs=4]"`` -> its entries (commas inside brackets stay)."""
    entries, depth, current = [], 0, ""
    for char in text:
        depth += {"[": 1, "{": 1, "]": -1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            entries.append(current)
            current = ""
        else:
            current += char
    return [e.strip() for e in entries + [current] if e.strip()]


def method_variant(label: str) -> tuple[str, dict[str, Any]]:
    """A study's method entry: a method name, or a name with options of its own, as ``--set`` would give them
    (``random[successive_halving=true,epochs=4]``), so one study compares a method with a variant of it."""
    from archsearch.experiment.options import parse_assignments

    name, bracket, rest = label.partition("[")
    if not bracket:
        return label, {}
    if not rest.endswith("]"):
        raise UsageError(f"method entry {label!r} must look like METHOD[field=value,...]")
    return name.strip(), parse_assignments(split_methods(rest[:-1]), f"method entry {label!r}:")


def _resolve(settings: StudySettings, label: str, name: str | None = None) -> Any:
    """The run settings of one of the study's method entries (its own options over the study's)."""
    from archsearch.experiment.run import resolve_settings

    method, own = method_variant(label)
    return resolve_settings(method, **_run_options(settings, seed=0, name=name or f"{method}-s0"), **own)


def cpu_budgets(value: Any) -> list[float]:
    """``150``, ``"150,600"`` or ``[150, 600]`` -> the sorted distinct CPU-second targets (each positive)."""
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, (list, tuple)) else [value]
    targets = []
    for item in items:
        try:
            target = float(item.strip()) if isinstance(item, str) else float(item)
        except (TypeError, ValueError):
            target = math.nan
        if isinstance(item, bool) or not 0 < target < math.inf:
            raise ConfigError(f"compare cpu_budget={value!r} is invalid: each target must be a positive number of "
                              "CPU-seconds (e.g. 150 or 150,600,2400)")
        targets.append(target)
    if not targets:
        raise ConfigError(f"compare cpu_budget={value!r} is invalid: give at least one target")
    return sorted(set(targets))


def _run_options(settings: StudySettings, *, seed: int, name: str, budget: float | None = None,
                 proxy_archs: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    return {"space": settings.space, "preset": settings.preset, "data": settings.data, "data_dir": settings.data_dir,
            "image_size": settings.image_size,
            "constraints": list(settings.constraints), "seed": seed,
            "executor": settings.executor if settings.executor != "local" else None,
            "workers": 1 if settings.executor == "local" else settings.workers,  # a local study is the parallel layer
            "ray_address": settings.ray_address, "device": settings.device, "name": name, "budget": budget,
            "proxy_archs": proxy_archs,
            "final_epochs": 0}  # the study judges every chosen net itself: its searches skip their own retraining


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
            targets = self._targets()
            known = self.state.get("targets") or {}  # a target's budgets, once read off, stay (resume, extension)
            budgets = {target: {m: (known.get(_label(target)) or {}).get(m) or self._budget_for(m, target)
                                for m in self.settings.methods} for target in targets}
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
        fixed, per_unit = cost_line(pilot, [(s["budget"], s["cpu_seconds"]) for s in self.state["searches"].values()
                                            if s["method"] == method])
        return float(max(_round_budget((target - fixed) / per_unit, pilot["integer"]), smallest))

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
                    name = _pilot_name(method, budget) if reuse else key
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


def search_key(method: str, budget: float, seed: int) -> str:
    return f"{method}-b{budget:g}-s{seed}"


def parse_search_key(key: str) -> tuple[str, float, int]:
    method, budget, seed = key.rsplit("-", 2)
    return method, float(budget[1:]), int(seed[1:])


def _label(target: float | None) -> str:
    """A target as the key of study_state.json's ``targets`` (JSON keys are text)."""
    return "given" if target is None else f"{target:g}"


def _random_space(settings: StudySettings) -> Any:
    """The common space as its runs build it (options resolved against the data), with the constraints checked."""
    from archsearch.spaces import create_space

    resolved = _resolve(settings, settings.methods[0], "probe")
    space = create_space(resolved.space["name"], **resolved.space["options"])
    random_archs(settings, space, count=1)
    return space


def random_archs(settings: StudySettings, space: Any, count: int | None = None) -> list[Any]:
    """K uniform draws under the study's constraints (rejection sampling), the same for every study."""
    from archsearch.cost.constraints import cost_predicate, parse_constraints

    within = cost_predicate(parse_constraints(settings.constraints), space.cost)
    rng = np.random.default_rng([20, 24, 1])  # fixed: the baseline distribution is part of the protocol
    return [space.space.sample(rng, where=within) for _ in range(count or settings.judge("random_archs"))]


def _pilot_name(method: str, budget: float) -> str:
    return f"pilot-{method}-{budget:g}"


def _over_budget(pilot: Mapping[str, Any] | None, target: float | None) -> bool:
    """Even the method's smallest pilot budget cost more than the target: it ran at that budget, above it."""
    return bool(pilot and target is not None and pilot.get("points") and pilot["points"][0][1] >= target)


def _budget_field(label: str, preset: str) -> tuple[str, float, bool]:
    from archsearch.methods import make_config, method_spec

    method, own = method_variant(label)
    field = method_spec(method).budget_field
    if field is None:
        raise ConfigError(f"method {method!r} has no single budget field, so compare cannot scale its search")
    value = getattr(make_config(method, preset, **own), field)
    return field, float(value), isinstance(value, int) and not isinstance(value, bool)


def _round_budget(value: float, integer: bool) -> float:
    """A budget of the field's kind: a whole number (at least 1) for an int field."""
    if integer:
        return float(max(1, int(round(value))))
    return float(max(round(value, 3), 0.001))


# -- analysis ------------------------------------------------------------------------------------------------------------
def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment (Holm 1979) of a family of p-values (None: not tested, not counted): the i-th
    smallest of m is multiplied by m - i, made monotone, capped at 1. It controls the family-wise error rate, as
    Bonferroni does, and rejects at least as often."""
    tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(tested)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(tested):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def detectable_difference(n_method: int, n_random: int, sd: float, *, alpha: float, power: float = POWER,
                          sims: int = 4000) -> float | None:
    """The smallest shift of a method's judged accuracies above the random archs' that the one-sided Mann-Whitney
    U test at level `alpha` finds with probability `power`, for normal accuracies of standard deviation `sd`
    (the random archs' spread); None when no shift up to 10 sd is found that often (too few searches). Simulated
    with a fixed seed (scipy's exact test for these sizes), so the figure is the same every time."""
    from scipy import stats

    if n_method < 1 or n_random < 2 or not sd > 0:
        return None
    rng = np.random.default_rng(0)
    noise_method = rng.standard_normal((sims, n_method))
    noise_random = rng.standard_normal((sims, n_random))
    for shift in np.arange(0.0, 10.01, 0.05):
        p = stats.mannwhitneyu(noise_method + shift, noise_random, alternative="greater", axis=1).pvalue
        if float(np.mean(p < alpha)) >= power:
            return float(shift * sd)
    return None


def _kendall(a: Sequence[float | None], b: Sequence[float | None]) -> float | None:
    from scipy import stats

    pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    if len(pairs) < 3:
        return None
    tau = stats.kendalltau(*zip(*pairs)).statistic
    return None if not math.isfinite(tau) else float(tau)


def judge_reliability(results: Mapping[str, float], k: int, n_reference: int) -> dict[str, Any]:
    """How far the judge ranks architectures rather than seeds: Kendall tau between the random archs' two
    retraining seeds and between their first seed and the longer reference training; the variance split of the
    one-way random-effects model (two seeds per arch: seed variance = mean within-pair variance, arch variance =
    (between-arch mean square - seed variance) / 2)."""
    first = [results.get(f"random/{i}/r0") for i in range(k)]
    second = [results.get(f"random/{i}/r1") for i in range(k)]
    reference = [results.get(f"reference/{i}") for i in range(n_reference)]
    block: dict[str, Any] = {"tau_seed_to_seed": _kendall(first, second),
                             "tau_vs_reference": _kendall(first[:n_reference], reference),
                             "n": k, "n_reference": n_reference}
    pairs = np.array([(a, b) for a, b in zip(first, second) if a is not None and b is not None])
    if len(pairs) >= 3:
        within = float(np.mean((pairs[:, 0] - pairs[:, 1]) ** 2 / 2))
        between = float(2 * np.var(pairs.mean(axis=1), ddof=1))
        arch = max((between - within) / 2, 0.0)
        block.update(arch_sd=math.sqrt(arch), seed_sd=math.sqrt(within),
                     arch_share=arch / (arch + within) if arch + within > 0 else 0.0)
    return block


def analyse(settings: StudySettings, state: Mapping[str, Any], results: Mapping[str, float], *,
            cost_of: Callable[[Mapping[str, Any]], Any]) -> dict[str, Any]:
    """The study's tables: per target and method, the judged accuracy of each search against the random archs.

    The unit is a search: its judged accuracy is the mean of its R retrainings, and a random arch's the mean of its
    two, so both carry the same seed noise. Significance: one-sided Mann-Whitney U (scipy.stats.mannwhitneyu,
    alternative="greater") of the searches' accuracies against the random archs', rank-based; Holm-adjusted over
    the methods at each target. Proxy tau: Kendall tau between a search's proxy scores of the random archs and
    their judged accuracies, averaged over the searches that scored them.
    """
    from scipy import stats

    from archsearch.cost.constraints import parse_constraints, satisfied
    from archsearch.tasks.final import mean_ci95

    constraints = parse_constraints(settings.constraints)
    k, n_reference = settings.judge("random_archs"), settings.judge("reference_archs")
    random_means = []
    for i in range(k):
        values = [results[key] for key in (f"random/{i}/r0", f"random/{i}/r1") if key in results]
        random_means.append(float(np.mean(values)) if values else None)
    random_values = [v for v in random_means if v is not None]
    random_sd = float(np.std(random_values, ddof=1)) if len(random_values) >= 2 else 0.0
    retrains = settings.judge("retrain_seeds")
    rows = []
    targets = state.get("targets") or {}
    for label, per_method in targets.items():
        target = None if label == "given" else float(label)
        target_rows = []
        for method in settings.methods:
            if method not in per_method:
                continue
            budget = per_method[method]
            keys = [search_key(method, budget, seed) for seed in range(settings.seeds)]
            searches = [state["searches"][key] for key in keys if key in state["searches"]]
            per_search = [[results[f"chosen/{key}/r{r}"] for r in range(retrains) if f"chosen/{key}/r{r}" in results]
                          for key in keys if key in state["searches"]]
            values = [float(np.mean(v)) for v in per_search if v]
            row: dict[str, Any] = {"method": method, "cpu_budget_target": target, "budget": budget,
                                   "search_accuracies": values, "test_accuracies": [a for v in per_search for a in v],
                                   "test_accuracy_n": len(values),
                                   "search_cpu_seconds": float(np.mean([s["cpu_seconds"] for s in searches]))
                                   if searches else None,
                                   "search_cpu_seconds_each": [s["cpu_seconds"] for s in searches],
                                   "over_budget": _over_budget(state.get("pilots", {}).get(method), target),
                                   "archs": [s["arch"] for s in searches],
                                   "warnings": sorted({w for s in searches for w in s.get("warnings") or ()})}
            costs = [cost_of(s["arch"]) for s in searches]
            # DARTS and Fair DARTS know no constraint (as in their papers): a chosen net that breaks one is named
            row["meets_constraints"] = [bool(satisfied(constraints, c)) for c in costs]
            row["macs"] = float(np.mean([c.macs for c in costs])) if costs else None
            row["params"] = float(np.mean([c.params for c in costs])) if costs else None
            each = [_kendall(s["proxy_scores"], random_means) for s in searches if s.get("proxy_scores")]
            taus = [t for t in each if t is not None]
            row["proxy_tau"] = float(np.mean(taus)) if taus else None
            row["proxy_tau_each"] = taus
            row["proxy_kind"] = next((s.get("proxy_kind") for s in searches if s.get("proxy_kind")), None)
            if values:
                mean, ci95 = mean_ci95(values)
                row["test_accuracy_mean"], row["test_accuracy_ci95"] = mean, ci95 or 0.0
                row["percentile_vs_random"] = (float(stats.percentileofscore(random_values, mean, kind="mean"))
                                               if random_values else None)
                row["p_value_vs_random"] = (float(stats.mannwhitneyu(values, random_values,
                                                                     alternative="greater").pvalue)
                                            if len(random_values) >= 2 else None)
            else:
                row.update(test_accuracy_mean=None, test_accuracy_ci95=None, percentile_vs_random=None,
                           p_value_vs_random=None)
            target_rows.append(row)
        for row, adjusted in zip(target_rows, holm([r["p_value_vs_random"] for r in target_rows])):
            row["p_value_holm"] = adjusted
        family = sum(r["p_value_vs_random"] is not None for r in target_rows)
        for row in target_rows:  # the strictest Holm level: what the best method must reach
            row["detectable_difference"] = detectable_difference(
                row["test_accuracy_n"], len(random_values), random_sd, alpha=ALPHA / max(family, 1))
        rows += target_rows
    random_mean, random_ci = mean_ci95(random_values)
    return {"study": settings.name, "settings": dataclasses.asdict(settings), "protocol": PROTOCOL,
            "cpu_budget_targets": [None if label == "given" else float(label) for label in targets],
            "pilots": dict(state.get("pilots", {})), "methods": rows,
            "judge": {**judge_reliability(results, k, n_reference), "epochs": settings.judge("final_epochs"),
                      "reference_epochs": settings.judge("reference_epochs")},
            "random": {"test_accuracies": random_means, "n": len(random_values),
                       "each_seed": [[results.get(f"random/{i}/r{r}") for r in (0, 1)] for i in range(k)],
                       "reference": [results.get(f"reference/{i}") for i in range(n_reference)],
                       "mean": random_mean, "ci95": random_ci or 0.0, "sd": random_sd,
                       "quantiles": ({q: float(np.quantile(random_values, q / 100)) for q in (10, 50, 90)}
                                     if random_values else {})},
            "test": "one-sided Mann-Whitney U, the searches' judged accuracies > the random archs' (each the mean "
                    "of its retrainings); Holm-adjusted over the methods at each budget",
            "finished": _dt.datetime.now().isoformat(timespec="seconds")}


# -- output ---------------------------------------------------------------------------------------------------------------
def write_document(directory: Path, document: Mapping[str, Any]) -> None:
    """compare.json; the readable compare.md / compare.png come from `archsearch.report.study`."""
    atomic_write_text(directory / COMPARE_JSON, json.dumps(document, indent=1, allow_nan=False) + "\n")


# -- entry points ---------------------------------------------------------------------------------------------------------
def compare(methods: Sequence[str] | str, *, runs_dir: str | Path | None = None, quiet: bool = True,
            **options: Any) -> dict[str, Any]:
    """Run a study (see the module docstring); returns the compare.json document."""
    from archsearch.experiment.run import default_runs_dir

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


__all__ = ["COMPARE_JSON", "StudySettings", "analyse", "compare", "is_study", "resume_study"]

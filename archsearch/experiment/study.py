"""`archsearch compare`: which method wins on *your* problem, and does it beat random search at the same cost?

A study is a run of runs, in ``runs/<study>/``:

    validate every method on the common space, data and constraints         (nothing is created on bad input)
    pilot:    each method searches twice with small budgets (1/16 and 1/4 of its preset's); a line through the two
              (search CPU-seconds = fixed cost + cost per unit x budget) gives the budget that costs the study's
              CPU-seconds target. A method whose smaller pilot alone costs the target runs at that budget
              (marked over budget; its second pilot is skipped, its seed-0 search is that pilot)
    search:   each method x each seed searches at that budget            -> runs/<study>/runs/<method>-s<seed>/
    random:   K architectures drawn uniformly under the same constraints   (the random baseline's distribution)
    judge:    every chosen arch and every random arch is retrained from scratch with ONE fixed recipe for E epochs
              on the training split (the chosen ones with R seeds each), through the executor; test accuracy
    analyse:  mean +- 95% t-interval, MACs, params, search CPU-seconds, percentile of the chosen nets within the
              random distribution, and a one-sided Mann-Whitney U test against it

The budget unit is **search CPU-seconds** (process CPU time of the search, excluding any retraining): the one
quantity every method spends, whatever its own budget knob (epochs of a supernet, evaluated candidates, predictor
iterations). Searches and retraining jobs are recorded by key (ordinary runs; the study's ledger), so
`resume_study` continues a killed study without repeating finished work or duplicating trials.
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
from archsearch.experiment.checkpoint import atomic_write_text

STUDY_FILE = "study.yaml"
STATE_FILE = "study_state.json"
COMPARE_JSON = "compare.json"

# The judgement's sizes per preset (sizes only: the protocol is the same everywhere).
JUDGE_PRESETS: dict[str, dict[str, Any]] = {
    # paper: the papers retrain found nets for hundreds of epochs on GPUs; 30 epochs keep a study of 8 methods
    # feasible while ranking nets by trained accuracy (interpretation, not a paper value)
    "paper": {"final_epochs": 30, "retrain_seeds": 3, "random_archs": 50, "train_images": None},
    # quick: Fashion-MNIST on 2 CPU cores, the whole 8-method study in about 90 minutes: each of its 48 retrainings
    # sees 16,000 training images (as many as the bundled subset has, so a study on either judges alike; ~31 CPU-s
    # each) and the whole test set
    "quick": {"final_epochs": 1, "retrain_seeds": 2, "random_archs": 16, "train_images": 16000},
    "smoke": {"final_epochs": 3, "retrain_seeds": 2, "random_archs": 6, "train_images": None},
}
PILOT_FRACTIONS = (1 / 16, 1 / 4)  # the pilots' shares of the preset budget: two points of the cost line
MAX_PRESET_MULTIPLE = 4  # a calibrated budget stays within 4x the preset's (the line is measured at 1/16 and 1/4)


@dataclasses.dataclass
class StudySettings:
    """Everything that defines a study; written to study.yaml, read back by `resume_study`."""

    name: str
    methods: list[str]
    space: str = "mobilenet"  # the common space every method searches, so the study compares methods
    preset: str = "quick"
    data: Any = "fashion-mnist"  # a name or path (a `Dataset` given to `compare` is saved as the study's data.npz)
    data_dir: str | None = None
    image_size: int | None = None  # an image folder's images resized to this (as for run)
    constraints: list[str] = dataclasses.field(default_factory=list)
    seeds: int = 2  # search seeds 0 .. seeds-1, the same for every method
    cpu_budget: float | None = None  # search CPU-seconds per search; None: the median of the methods' preset costs
    budgets: dict[str, float] = dataclasses.field(default_factory=dict)  # method -> budget, skips its calibration
    final_epochs: int | None = None  # E; None: JUDGE_PRESETS
    retrain_seeds: int | None = None  # R retraining seeds per chosen arch; None: JUDGE_PRESETS
    random_archs: int | None = None  # K uniform draws under the constraints; None: JUDGE_PRESETS
    train_images: int | None = None  # the judgement trains on at most N images (a fixed draw); None: JUDGE_PRESETS
    recipe: dict[str, Any] = dataclasses.field(default_factory=dict)  # the one judging recipe (Recipe fields)
    executor: str = "local"
    workers: int | None = None
    ray_address: str | None = None
    device: str | None = None

    def judge(self, key: str) -> int | None:
        value = getattr(self, key)
        value = JUDGE_PRESETS[self.preset][key] if value is None else value
        return None if value is None else int(value)


# -- validation --------------------------------------------------------------------------------------------------------
def resolve_study(methods: Sequence[str] | str, *, name: str | None = None, **options: Any) -> StudySettings:
    """Check every input before anything is created (one clear error naming what is wrong)."""
    from archsearch.experiment.run import resolve_settings
    from archsearch.methods import PRESET_NAMES
    from archsearch.train.recipe import Recipe

    if isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    methods = list(dict.fromkeys(methods))
    if not methods:
        raise UsageError("compare needs at least one method (--methods random,spos,...)")
    fields = {f.name for f in dataclasses.fields(StudySettings)}
    unknown = sorted(set(options) - fields)
    if unknown:
        from archsearch.errors import unknown_name

        raise unknown_name("compare option", unknown[0], sorted(fields - {"name", "methods"}))
    if isinstance(options.get("constraints"), str):
        options["constraints"] = [options["constraints"]]
    options = {k: v for k, v in options.items() if v is not None}
    name = name or f"study-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    settings = StudySettings(name=name, methods=methods, **options)
    if settings.preset not in PRESET_NAMES:
        from archsearch.errors import unknown_name

        raise unknown_name("preset", settings.preset, PRESET_NAMES)
    for key, low in (("seeds", 1), ("final_epochs", 1), ("retrain_seeds", 1), ("random_archs", 2),
                     ("train_images", 1)):
        value = getattr(settings, key)
        if key != "seeds" and value is None:
            continue
        if isinstance(value, bool) or int(value) != value or value < low:
            raise ConfigError(f"compare {key}={value!r} is invalid: must be an integer >= {low}")
    if settings.cpu_budget is not None and not (0 < float(settings.cpu_budget) < math.inf):
        raise ConfigError(f"compare cpu_budget={settings.cpu_budget!r} is invalid: must be a positive number")
    Recipe.from_dict(settings.recipe)  # unknown or bad recipe fields fail here
    for method, budget in settings.budgets.items():
        if method not in methods:
            raise ConfigError(f"compare budgets name {method!r}, which is not among --methods {methods}")
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 0 < budget < math.inf:
            raise ConfigError(f"compare budget of {method} = {budget!r} is invalid: must be a positive number")
    for method in methods:  # each method on the common space: an unfit method is named now, not mid-study
        resolve_settings(method, **_run_options(settings, seed=0, name=f"{method}-s0"))
    _random_space(settings)  # an impossible constraint fails now
    return settings


def _run_options(settings: StudySettings, *, seed: int, name: str, budget: float | None = None) -> dict[str, Any]:
    return {"space": settings.space, "preset": settings.preset, "data": settings.data, "data_dir": settings.data_dir,
            "image_size": settings.image_size,
            "constraints": list(settings.constraints), "seed": seed, "executor": settings.executor,
            "workers": settings.workers, "ray_address": settings.ray_address, "device": settings.device,
            "name": name, "budget": budget,
            "final_epochs": 0}  # the study judges every chosen net itself: its searches skip their own retraining


# -- the study -----------------------------------------------------------------------------------------------------------
class Study:
    """One study directory: its settings, its progress file and the ordinary runs inside it."""

    def __init__(self, settings: StudySettings, directory: Path, *, log: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.dir = Path(directory)
        self.runs_dir = self.dir / "runs"
        self.state: dict[str, Any] = _read_json(self.dir / STATE_FILE) or {"pilots": {}, "searches": {}}
        self._log = log or (lambda message: None)

    def log(self, message: str) -> None:
        line = f"{_dt.datetime.now().isoformat(timespec='seconds')} {message}"
        with open(self.dir / "log.txt", "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        self._log(message)

    def _save_state(self) -> None:
        atomic_write_text(self.dir / STATE_FILE, json.dumps(self.state, indent=1, sort_keys=True) + "\n")

    # -- stages ---------------------------------------------------------------------------------------------------
    def execute(self) -> dict[str, Any]:
        target = self._budget_target()
        for method in self.settings.methods:
            budget = self._budget_for(method, target)
            for seed in range(self.settings.seeds):
                self._search(method, seed, budget)
        space = _random_space(self.settings)
        results = self._judge(space)
        document = analyse(self.settings, self.state, results, target,
                           cost_of=lambda arch: space.cost(space.space.validate(arch)))
        write_document(self.dir, document)
        self.log(f"study {self.settings.name} finished: {self.dir / COMPARE_JSON}")
        return document

    def _pilot(self, method: str, target: float | None = None) -> dict[str, Any]:
        """Two short searches; the line through their (budget, CPU-seconds): a fixed cost (data, building, a
        search phase of fixed size) and a cost per budget unit. When the smaller one alone already costs `target`,
        the method will run at that budget whatever the line says, so the larger one is not run ("over")."""
        done = self.state["pilots"].get(method)
        if done is not None:
            return done
        field, preset_budget, integer = _budget_field(method, self.settings.preset)
        low, high = (_round_budget(preset_budget * f, integer) for f in PILOT_FRACTIONS)
        if high <= low:  # a small whole-number budget: the next unit up
            high = low + 1
        done = {"budget_field": field, "preset_budget": preset_budget, "integer": integer,
                "points": [(low, self._run(method, 0, low, name=_pilot_name(method, low))["cpu_seconds"])]}
        if target is not None and done["points"][0][1] >= target:
            done["over"] = True
        else:
            done["points"].append((high, self._run(method, 0, high, name=_pilot_name(method, high))["cpu_seconds"]))
            (b0, c0), (b1, c1) = done["points"]
            # timing noise can flatten the line (or tilt it down) when the fixed cost dominates: the cost per unit
            # is taken as at least a tenth of the larger pilot's average cost per unit
            per_unit = max((c1 - c0) / (b1 - b0), 0.1 * c1 / b1)
            done.update(per_unit=per_unit, fixed=max(c0 - per_unit * b0, 0.0))
        self.state["pilots"][method] = done
        self._save_state()
        return done

    def _budget_target(self) -> float | None:
        """The study's CPU-seconds per search: given, or the median of the methods' estimated preset costs (None
        when every method's budget is given). Fixed once known, so methods added later get the same target."""
        if self.settings.cpu_budget is not None:
            return float(self.settings.cpu_budget)
        if "cpu_budget_target" in self.state:
            return self.state["cpu_budget_target"]
        calibrated = [m for m in self.settings.methods if m not in self.settings.budgets]
        if not calibrated:
            return None
        estimates = []
        for method in calibrated:
            pilot = self._pilot(method)
            estimates.append(pilot["fixed"] + pilot["per_unit"] * pilot["preset_budget"])
        self.state["cpu_budget_target"] = float(np.median(estimates))
        self._save_state()
        return self.state["cpu_budget_target"]

    def _budget_for(self, method: str, target: float | None) -> float:
        """The method's budget (its own unit) that costs `target` CPU-seconds on its pilots' cost line, at least the
        smaller pilot's. The pilots' figures are kept in study_state.json, so a resumed study uses the same
        budgets."""
        if method in self.settings.budgets:
            return float(self.settings.budgets[method])
        assert target is not None
        pilot = self._pilot(method, target)
        smallest = pilot["points"][0][0]
        if _over_budget(pilot, target):  # the line would read below the smallest pilot anyway
            return smallest
        budget = (target - pilot["fixed"]) / pilot["per_unit"]
        budget = min(budget, MAX_PRESET_MULTIPLE * pilot["preset_budget"])  # a line read far beyond its points
        return max(_round_budget(budget, pilot["integer"]), smallest)

    def _search(self, method: str, seed: int, budget: float) -> dict[str, Any]:
        key = f"{method}-s{seed}"
        done = self.state["searches"].get(key)
        if done is not None:
            return done
        pilot = self.state["pilots"].get(method) or {}
        if seed == 0 and any(b == budget for b, _ in pilot.get("points", ())):
            name = _pilot_name(method, budget)  # this very search (seed 0, this budget) already ran as a pilot
        else:
            name = key
        outcome = self._run(method, seed, budget, name=name)
        done = {"method": method, "seed": seed, "budget": budget, **outcome}
        self.state["searches"][key] = done
        self._save_state()
        return done

    def _run(self, method: str, seed: int, budget: float, *, name: str) -> dict[str, Any]:
        """An ordinary run inside the study: started, resumed if a previous session left it unfinished, or read."""
        from archsearch.experiment.run import CONFIG_FILE, RESULT_FILE, resume, run

        run_dir = self.runs_dir / name
        if not (run_dir / RESULT_FILE).is_file():
            if (run_dir / CONFIG_FILE).is_file():
                self.log(f"resuming {name}")
                resume(run_dir, quiet=True)
            else:
                self.log(f"searching {name} ({method}, seed {seed}, budget {budget:g})")
                run(method, runs_dir=self.runs_dir, quiet=True, **_run_options(self.settings, seed=seed, name=name,
                                                                               budget=budget))
        result = json.loads((run_dir / RESULT_FILE).read_text(encoding="utf-8"))
        search, best = result["search"], result["best"]  # the search's own clock: kept across resumes
        return {"run": str(run_dir.relative_to(self.dir)), "arch": best["arch"],
                "objectives": best.get("objectives") or {}, "cpu_seconds": float(search["cpu_seconds"]),
                "wall_seconds": float(search["seconds"])}

    # -- judgement ------------------------------------------------------------------------------------------------
    def _judge(self, space: Any) -> dict[str, float]:
        """Retrain every chosen arch (R seeds) and the K random archs (one seed each); key -> test accuracy."""
        from archsearch.experiment.ledger import OptunaLedger, sqlite_url
        from archsearch.executors import create_executor

        ledger = OptunaLedger(sqlite_url(self.dir / "ledger.db"), self.settings.name, spaces=[space.space],
                              cost=space.cost)
        jobs = self._jobs(space)
        results: dict[str, float] = {}
        pending = []
        for key, (arch, task) in jobs.items():
            record = ledger.find(key)
            if record is not None and record.state == "complete":
                results[key] = float(record.values["accuracy"])
            else:
                pending.append((key, arch, task))
        if not pending:
            return results
        self.log(f"retraining {len(pending)} of {len(jobs)} nets from scratch ({self.settings.judge('final_epochs')}"
                 " epochs each, one fixed recipe)")
        executor = create_executor(self.settings.executor, workers=self.settings.workers,
                                   address=self.settings.ray_address, log=self.log)
        from archsearch.tasks.final import run_final_task

        try:
            handles = {}
            for key, arch, task in pending:
                trial = ledger.start(arch, key=key, phase="judge", attrs={"kind": "test acc.",
                                                                          "epochs": task.epochs, "seed": task.seed})
                handles[executor.submit(run_final_task, task)] = (key, trial)
            while handles:
                handle, outcome = executor.wait_any(list(handles))
                key, trial = handles.pop(handle)
                if isinstance(outcome, BaseException) or outcome.test_accuracy is None:
                    reason = str(outcome) if isinstance(outcome, BaseException) else (outcome.error or "diverged")
                    ledger.fail(trial, reason)
                    self.log(f"retraining {key} failed: {reason}")
                    continue
                ledger.complete(trial, {"accuracy": float(outcome.test_accuracy), "macs": float(outcome.macs),
                                        "params": float(outcome.params)}, {"seconds": outcome.seconds})
                results[key] = float(outcome.test_accuracy)
        finally:
            executor.shutdown()
        return results

    def _jobs(self, space: Any) -> dict[str, tuple[Any, Any]]:
        """key -> (arch, EvalTask), in a fixed order: the chosen nets, then the random ones."""
        settings = self.settings
        epochs, seeds = settings.judge("final_epochs"), settings.judge("retrain_seeds")
        jobs: dict[str, tuple[Any, Any]] = {}
        for search_key, search in sorted(self.state["searches"].items()):
            arch = space.space.validate(search["arch"])
            for r in range(seeds):
                jobs[f"chosen/{search_key}/r{r}"] = (arch, self._task(arch, seed=1000 + r))
        for k, arch in enumerate(random_archs(settings, space)):
            jobs[f"random/{k}"] = (arch, self._task(arch, seed=1000 + k))
        return jobs

    def _task(self, arch: Any, *, seed: int) -> Any:
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
                              epochs=self.settings.judge("final_epochs"), seeds=[seed], recipe=self.settings.recipe,
                              device=self.settings.device)
        return task


def _random_space(settings: StudySettings) -> Any:
    """The common space as its runs build it (options resolved against the data), with the constraints checked."""
    from archsearch.experiment.run import resolve_settings
    from archsearch.spaces import create_space

    resolved = resolve_settings(settings.methods[0], **_run_options(settings, seed=0, name="probe"))
    space = create_space(resolved.space["name"], **resolved.space["options"])
    random_archs(settings, space, count=1)
    return space


def random_archs(settings: StudySettings, space: Any, count: int | None = None) -> list[Any]:
    """K uniform draws under the study's constraints (rejection sampling), the same for every study seed 0."""
    from archsearch.cost.constraints import cost_predicate, parse_constraints

    within = cost_predicate(parse_constraints(settings.constraints), space.cost)
    rng = np.random.default_rng([20, 24, 1])  # fixed: the baseline distribution is part of the protocol
    return [space.space.sample(rng, where=within) for _ in range(count or settings.judge("random_archs"))]


def _pilot_name(method: str, budget: float) -> str:
    return f"pilot-{method}-{budget:g}"


def _over_budget(pilot: Mapping[str, Any] | None, target: float | None) -> bool:
    """Even the method's smallest pilot budget cost more than the target: it ran at that budget, above it."""
    return bool(pilot and target is not None and pilot["points"][0][1] >= target)


def _budget_field(method: str, preset: str) -> tuple[str, float, bool]:
    from archsearch.methods import make_config, method_spec

    field = method_spec(method).budget_field
    if field is None:
        raise ConfigError(f"method {method!r} has no single budget field, so compare cannot scale its search")
    value = getattr(make_config(method, preset), field)
    return field, float(value), isinstance(value, int) and not isinstance(value, bool)


def _round_budget(value: float, integer: bool) -> float:
    """A budget of the field's kind: a whole number (at least 1) for an int field."""
    if integer:
        return float(max(1, int(round(value))))
    return float(max(round(value, 3), 0.001))


# -- analysis ------------------------------------------------------------------------------------------------------------
def analyse(settings: StudySettings, state: Mapping[str, Any], results: Mapping[str, float],
            target: float | None, *,
            cost_of: Callable[[Mapping[str, Any]], Any]) -> dict[str, Any]:
    """The study's table: per method the retrained test accuracies against the random distribution.

    Significance: one-sided Mann-Whitney U (scipy.stats.mannwhitneyu, alternative="greater") of the method's
    retrained test accuracies (every search seed x retraining seed) against the K random archs' test accuracies:
    rank-based, so it assumes no normality of either sample.
    """
    from scipy import stats

    from archsearch.cost.constraints import parse_constraints, satisfied
    from archsearch.tasks.final import mean_ci95

    constraints = parse_constraints(settings.constraints)
    random_values = [results[k] for k in sorted((k for k in results if k.startswith("random/")),
                                                 key=lambda k: int(k.split("/")[1]))]  # in draw order
    rows = []
    for method in settings.methods:
        searches = [s for s in state["searches"].values() if s["method"] == method]
        values = [v for k, v in sorted(results.items()) if k.startswith(f"chosen/{method}-s")]
        row: dict[str, Any] = {"method": method, "test_accuracy_n": len(values),
                               "test_accuracies": values,
                               "search_cpu_seconds": float(np.mean([s["cpu_seconds"] for s in searches])),
                               "search_cpu_seconds_each": [s["cpu_seconds"] for s in searches],
                               "budget": searches[0]["budget"] if searches else None,
                               "over_budget": _over_budget(state.get("pilots", {}).get(method), target),
                               "archs": [s["arch"] for s in searches]}
        costs = [cost_of(s["arch"]) for s in searches]
        # DARTS and Fair DARTS know no constraint (as in their papers): a chosen net that breaks one is named
        row["meets_constraints"] = [bool(satisfied(constraints, c)) for c in costs]
        row["macs"] = float(np.mean([c.macs for c in costs]))
        row["params"] = float(np.mean([c.params for c in costs]))
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
        rows.append(row)
    return {"study": settings.name, "settings": dataclasses.asdict(settings), "cpu_budget_target": target,
            "pilots": dict(state.get("pilots", {})), "methods": rows,
            "random": {"test_accuracies": random_values, "n": len(random_values),
                       "mean": mean_ci95(random_values)[0], "ci95": mean_ci95(random_values)[1] or 0.0,
                       "quantiles": ({q: float(np.quantile(random_values, q / 100)) for q in (10, 50, 90)}
                                     if random_values else {})},
            "test": "one-sided Mann-Whitney U, method's retrained test accuracies > the random archs'",
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


def resume_study(directory: str | Path, *, add_methods: Sequence[str] | str = (), quiet: bool = True) -> dict[str, Any]:
    """Continue a study; `add_methods` extends a study with more methods, searched at the study's budget target,
    seeds and protocol (the finished searches and retrainings are kept)."""
    directory = Path(directory)
    try:
        document = yaml.safe_load((directory / STUDY_FILE).read_text(encoding="utf-8"))
        settings = StudySettings(**document)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, TypeError) as err:
        raise UsageError(f"cannot read the study in {directory}: {str(err).splitlines()[0]}") from None
    if isinstance(add_methods, str):
        add_methods = [m.strip() for m in add_methods.split(",") if m.strip()]
    added = [m for m in add_methods if m not in settings.methods]
    if added:
        options = {k: v for k, v in dataclasses.asdict(settings).items() if k not in ("name", "methods")}
        settings = resolve_study(settings.methods + added, name=settings.name, **options)  # checks the new ones
        atomic_write_text(directory / STUDY_FILE, yaml.safe_dump(dataclasses.asdict(settings), sort_keys=False))
    return _execute(settings, directory, quiet)


def _execute(settings: StudySettings, directory: Path, quiet: bool) -> dict[str, Any]:
    import sys

    from archsearch.experiment.run import resolve_settings

    from archsearch.experiment.lock import RunLock

    with RunLock(directory, settings.name, command="compare"):  # one writer per study, as per run
        study = Study(settings, directory, log=None if quiet else (lambda m: print(m, file=sys.stderr)))
        if "run_spec" not in study.state:  # the data/split/space every judged net is trained on (same for all)
            resolved = resolve_settings(settings.methods[0], **_run_options(settings, seed=0, name="probe"))
            study.state["run_spec"] = {"space": resolved.space, "data": resolved.data, "data_dir": resolved.data_dir,
                                       "image_size": resolved.image_size, "split": resolved.split}
            if settings.judge("train_images") is not None:  # at most as many as there are
                from archsearch.train.task import cached_dataset

                available = len(cached_dataset(resolved.data, resolved.data_dir, resolved.image_size).y_train)
                study.state["run_spec"]["train_images"] = min(settings.judge("train_images"), available)
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

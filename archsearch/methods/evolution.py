"""Hierarchical evolution (Liu et al. 2018, "Hierarchical Representations for Efficient Architecture Search",
arXiv:1711.00436, sec. 3.2-3.3 and Algorithms 1-2): asynchronous tournament evolution of motif genotypes.

The driver is the controller. It keeps the table M of evaluated genotypes (the ledger; in memory as
`population`) and a bounded set of evaluations in flight on the executor (local or Ray workers, each training
one genotype from scratch, no weight sharing). Whenever an evaluation finishes, the controller records its fitness
(validation accuracy) and proposes the next genotype: one of the initial random genotypes (1000 random mutations of
the trivial genotype) while the initial population is not exhausted, then the mutation of a tournament winner
(5% of the evaluated population). The population only grows. A genotype already evaluated or in flight is never
trained twice: the controller draws another one. ``strategy="random"`` is the paper's random search on the same
machinery: every proposal a fresh random genotype, no selection (trivially parallel).

On the ``hierarchical`` and ``flat`` spaces (any `MotifSpace`: a `Hierarchy` as ``.hierarchy``) a genotype is a
motif DAG. On any other space (``mobilenet``, a user space of `LayerChoice`s) the same loop runs with the paper's
operators carried over to a flat list of choices: an initial genotype is a uniform draw from the space, and a
mutation changes one choice to another of its values (sec. 3.2 changes one edge's op of one motif).
The ``random`` method (the baseline every other method is compared with) is the same machinery with
``strategy="random"`` on any space: uniform draws from the space (for genotype spaces: the paper's random
genotypes), under the run's resource constraints.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator, Sequence

import numpy as np

from archsearch.cost.constraints import cost_predicate
from archsearch.errors import ConfigError, ConstraintError, check_at_least, unknown_name
from archsearch.methods import register_method
from archsearch.methods._base import Candidate, SearchResult, require_search_space
from archsearch.methods.context import Evaluated, Evaluation, RunContext, failure_reason
from archsearch.methods.final_training import FinalTraining, quick_final, smoke_final
from archsearch.search.evolution import mutate, random_genotype, tournament_select
from archsearch.search.pareto import pareto_front
from archsearch.search.successive_halving import SuccessiveHalving, rung_epochs
from archsearch.space.space import Arch
from archsearch.spaces import MotifSpace
from archsearch.train.recipe import Recipe
from archsearch.tasks import run_eval_task
from archsearch.train.task import EvalTask

STRATEGIES = ("evolution", "random")
PHASE = "evolution"
CHECKPOINTS_PER_POPULATION = 100  # checkpoints while the proposals grow to n: at least one per n / 100 evaluations


def _paper_recipe() -> dict[str, Any]:
    # sec. 4.1 (interpretation of the paper's short fitness training): SGD with momentum, cosine decay, batch 256
    # with lr 0.1 (0.1 per 256 images, Goyal et al. 2017), standard CIFAR augmentation, weight decay 3e-4.
    return {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 3e-4, "schedule": "cosine",
            "batch_size": 256}


def _paper_final_recipe() -> dict[str, Any]:
    # sec. 4.1 (interpretation: the paper gives the fitness training's recipe, the large model is trained alike):
    # SGD momentum 0.9, lr 0.1 cosine, weight decay 3e-4, batch 256
    return _paper_recipe()


# quick: the quick search recipe at the default batch (within the README's first command's 5 minutes)
QUICK_FINAL = quick_final({"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 3e-4,
                           "schedule": "cosine", "batch_size": 128})
SMOKE_FINAL = smoke_final({"optimizer": "sgd", "momentum": 0.9, "schedule": "cosine"})


@dataclass(frozen=True)
class HierarchicalEvolutionConfig:
    """Hierarchical evolution defaults (paper values; presets scale sizes only)."""

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "paper": {},
        # quick: Fashion-MNIST on 2 shared CPU cores, ~10-40 s per evaluation: 32 steps of 32 images, 1000 to
        # validate; no crops and lr 0.1 (three random genotypes: 18/56/53% vs 29/12/40% with crops at lr 0.05)
        "quick": {"population": 4, "evaluations": 12, "epochs": 1, "train_size": 1024, "val_size": 1000,
                  "recipe": {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 3e-4,
                             "schedule": "cosine", "batch_size": 32, "augment": False}, "final": QUICK_FINAL},
        "smoke": {"population": 3, "evaluations": 6, "init_mutations": 100, "epochs": 1, "train_size": 64,
                  "val_size": 64, "recipe": {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "schedule": "cosine",
                                             "batch_size": 32}, "final": SMOKE_FINAL},
    }
    DISPLAY_NAME: ClassVar[str] = "hierarchical evolution"  # Liu et al., ICLR 2018
    BUDGET_FIELD: ClassVar[str] = "evaluations"
    CLI_FLAGS: ClassVar[dict[str, str]] = {"--strategy": "strategy"}
    DEFAULT_SPACE: ClassVar[str] = "hierarchical"
    ACCURACY: ClassVar[str] = "trained"  # validation accuracy after `epochs` of training from scratch

    strategy: str = "evolution"  # sec. 3.3: "evolution" (tournament + mutation) or "random" (random search)
    population: int = 200  # sec. 4.2: initial population of 200 random genotypes
    evaluations: int = 7000  # sec. 4.2: 7000 genotypes evaluated by the evolution (random search: same budget)
    init_mutations: int = 1000  # sec. 3.1: a large number (1000) of random mutations of the trivial genotype
    tournament_fraction: float = 0.05  # sec. 3.2: tournament over 5% of the population
    in_flight: int | None = None  # evaluations running at once; None: the population size (sec. 4.2: 200 workers
    #                               for a population of 200), fixed whatever the machine, so results do not depend
    #                               on the number of workers (the local executor returns results in order)
    max_redraws: int = 1000  # proposals tried before giving up on finding a genotype not yet evaluated
    epochs: int = 32  # sec. 4.1: fitness = val accuracy after a short fixed training (~5000 steps x 256 on 40k
    #                   images = 32 epochs; interpretation)
    recipe: Recipe = field(default_factory=lambda: Recipe.from_dict(_paper_recipe()))  # the fitness training's
    train_size: int | None = None  # images of the training split (None: all; paper 40k CIFAR-10 train)
    val_size: int | None = None  # validation split (None: the data default; paper: 10k held out of train)
    threads: int = 1  # torch threads per evaluation (one evaluation per core)
    # -- successive halving (not in the paper; off by default): a candidate trains min_epochs first and goes on,
    #    eta times longer each rung up to `epochs`, only while in the top 1/eta of its rung (asynchronous successive
    #    halving, Li et al. 2020; the random-search baseline of Li & Talwalkar 2019). Optuna's pruner decides.
    successive_halving: bool = False
    min_epochs: int = 1  # the first rung's training length
    reduction_factor: int = 4  # eta: Optuna's SuccessiveHalvingPruner default, as ASHA's experiments (Li et al. 2020)
    # the chosen genotype's final training (from scratch on every training image; test set): sec. 4.1, the found
    # cell's large model is trained 80K steps at batch 256 (~410 CIFAR-10 epochs); (interpretation) 4 seeds, as
    # sec. 4.3 reports test errors as mean +- std over a few trainings
    final: FinalTraining = field(default_factory=lambda: FinalTraining(410, seeds=4, recipe=_paper_final_recipe()))

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise unknown_name("evolution strategy", self.strategy, STRATEGIES)
        # init_mutations 0 would make every initial genotype the same trivial one (all identity)
        check_at_least(self, 1, ("population", "evaluations", "epochs", "max_redraws", "init_mutations", "in_flight",
                                 "threads"), "evolution: ")
        if not 0 < self.tournament_fraction <= 1:
            raise ConfigError(f"evolution: tournament_fraction must be in (0, 1], got {self.tournament_fraction}")
        for name, size in (("train_size", self.train_size), ("val_size", self.val_size)):
            if size is not None and size < 1:
                raise ConfigError(f"evolution: {name} must be >= 1 or None, got {size}")
        if self.successive_halving:
            rungs = rung_epochs(self.min_epochs, self.reduction_factor, self.epochs)
            if len(rungs) < 2:
                raise ConfigError(f"evolution: successive halving needs epochs ({self.epochs}) above min_epochs "
                                  f"({self.min_epochs}); raise epochs, e.g. --set epochs={self.min_epochs * 4}")
        object.__setattr__(self, "recipe", Recipe.of(self.recipe, "evolution recipe"))  # frozen: read here only


def _evaluation_or_error(task: EvalTask) -> Any:
    """`run_eval_task`, its exception returned as the result (a failed training fails one score, not the run)."""
    try:
        return run_eval_task(task)
    except Exception as err:
        return err


class _Column:
    """A growing column of floats (amortised O(1) append) whose values are one numpy view, and its running max."""

    def __init__(self, values: Sequence[float] = ()) -> None:
        self._data = np.array(values, dtype=np.float64) if len(values) else np.empty(1024)
        self._size = len(values)
        self.max = float(np.max(self._data[:self._size])) if self._size else math.nan

    def append(self, value: float) -> None:
        if self._size == len(self._data):
            self._data = np.concatenate([self._data, np.empty(len(self._data))])
        self._data[self._size] = value
        self._size += 1
        self.max = value if math.isnan(self.max) else max(self.max, value)

    @property
    def values(self) -> np.ndarray:
        return self._data[:self._size]

    def __len__(self) -> int:
        return self._size


@register_method("evolution", HierarchicalEvolutionConfig)
class HierarchicalEvolution:
    """Liu et al. 2018, Algorithm 1 (controller) + 2 (workers, via the executor)."""

    def __init__(self, config: HierarchicalEvolutionConfig, ctx: RunContext) -> None:
        self.config = config
        self.ctx = ctx
        self.search_space = ctx.space
        self.hierarchy = ctx.space.hierarchy if isinstance(ctx.space, MotifSpace) else None
        self.constraints = ctx.constraints
        self._within = cost_predicate(self.constraints, self.search_space.cost)
        self.check_space(ctx.space, config.strategy, config)
        self.rng = ctx.rng(PHASE, "controller")
        # proposals in order: key, arch (dict), origin ("init" | "mutation" | "random"), parent (proposal index or
        # -1), status ("running" | "complete" | "failed" | "pruned"), fitness (None until complete or pruned), epochs
        # (the training length of its current rung), order (when its current rung was queued: resume keeps it)
        self.proposals: list[dict[str, Any]] = []
        self.halving = (SuccessiveHalving(config.min_epochs, config.reduction_factor, config.epochs)
                        if config.successive_halving else None)
        self._promoted: deque[int] = deque()  # proposals promoted to their next rung, not yet submitted
        self._order = 0  # the next rung's place in the submission order
        self.population: list[int] = []  # proposal indices in completion order: the table M
        self._fitness = _Column()  # fitness of `population`, same order (tournaments read it without a copy)
        self._failures = 0  # failed proposals (counted, not searched for: the population grows to 10^4)
        self._seen: dict[str, int] = {}  # arch key -> proposal index (dedup)
        self._archs: dict[int, Arch] = {}  # proposal index -> validated arch (validation and costs are not free)
        self._costs: dict[int, Any] = {}  # proposal index -> its cost
        self._packed: list[str] = []  # proposals' archs in the checkpoint's compact form, kept as they come
        self._edge_names = self.hierarchy.edge_names() if self.hierarchy is not None else []
        self.propose_seconds: list[float] = []  # controller time: select + mutate (+ dedup)
        self.record_seconds: list[float] = []  # controller time: record in the ledger and the population
        if config.train_size is not None or config.val_size is not None:  # sizes the data cannot give fail now,
            from archsearch.train.task import cached_splits  # not in every evaluation

            data = dict(ctx.data_spec)
            cached_splits(data["data"], data.get("data_dir"), self._split(data.get("split")))

    @staticmethod
    def check_space(search_space: Any, method: str, config: HierarchicalEvolutionConfig) -> None:
        """Every candidate is built and trained from scratch (`build`, `cost`); evolution also needs a choice to
        mutate."""
        require_search_space(search_space, method)
        choices = search_space.space.choices.values()
        if config.strategy != "random" and not isinstance(search_space, MotifSpace) and \
                not any(c.cardinality > 1 for c in choices):
            raise ConfigError(f"{method} mutates one choice at a time, but every choice of space "
                              f"{search_space.name!r} has a single value")

    # -- the algorithm box ----------------------------------------------------------------------------------------
    def run(self) -> SearchResult:
        cfg, ctx = self.config, self.ctx
        limit = cfg.in_flight or cfg.population
        with ctx.progress(f"{cfg.strategy} ({ctx.space.name})", total=cfg.evaluations) as bar:
            bar.advance(len(self.population) + self._failures)
            for recorded, done in enumerate(ctx.evaluate_many(self._evaluations(), in_flight=limit), start=1):
                start = time.perf_counter()
                finished = self._record(done)
                self.record_seconds.append(time.perf_counter() - start)
                if finished:
                    bar.advance()
                # the state grows with the population, so a checkpoint after every evaluation would cost O(n^2) in
                # all (at 3,400 cheap evaluations, more than the trainings): one every n/100 keeps it O(n). A resume
                # from an older checkpoint proposes the same genotypes again and records nothing twice
                if recorded % max(1, len(self.proposals) // CHECKPOINTS_PER_POPULATION) == 0:
                    ctx.checkpoint(self)
            ctx.checkpoint(self)
        return self.result()

    def _evaluations(self) -> Iterator[Evaluation | None]:
        """The evaluations in flight at a resume (submitted again into their running trials), then each new
        proposal, read when an evaluation may start: it sees every result recorded before it."""
        running = [i for i, p in enumerate(self.proposals) if p["status"] == "running"]
        for index in sorted(running, key=lambda i: self.proposals[i].get("order", i)):
            yield self._evaluation(index)
        while True:
            if self._promoted:  # a candidate's next rung goes before any new proposal
                yield self._evaluation(self._promoted.popleft())
                continue
            if len(self.proposals) >= self.config.evaluations:
                if self.halving is None or not any(p["status"] == "running" for p in self.proposals):
                    return
                yield None  # a candidate still training may be promoted
                continue
            start = time.perf_counter()
            index = self._propose()
            self.propose_seconds.append(time.perf_counter() - start)
            if index is None:
                self.ctx.log(f"evolution: no genotype left that was not evaluated after {self.config.max_redraws} "
                             "draws")
                yield None  # none until an evaluation running now is recorded (or none runs: the search ends)
            else:
                yield self._evaluation(index)

    # -- controller steps -------------------------------------------------------------------------------------------
    def _propose(self) -> int | None:
        """Next genotype not yet evaluated nor in flight: initial random ones first, then mutated winners."""
        cfg = self.config
        within_constraints = 0
        for _ in range(cfg.max_redraws):
            if len(self.proposals) < cfg.population or cfg.strategy == "random" or not self.population:
                origin = "init" if len(self.proposals) < cfg.population else "random"
                arch, parent = self._random_arch(), -1
            else:
                winner = tournament_select(self._fitness.values, self.rng, cfg.tournament_fraction)
                parent = self.population[winner]
                origin = "mutation"
                arch = self._mutate(Arch(self.proposals[parent]["arch"].items()))
            arch = self.search_space.space.validate(arch)
            if not self._within(arch):
                continue
            within_constraints += 1
            if arch.key in self._seen:
                continue  # identical genotypes are not trained twice
            index = len(self.proposals)
            self.proposals.append({"key": f"{PHASE}/{index}", "arch": arch.to_dict(), "origin": origin,
                                   "parent": parent, "status": "running", "fitness": None,
                                   "epochs": self.halving.rungs[0] if self.halving else cfg.epochs,
                                   "order": self._next_order()})
            self._packed.append(self._pack(self.proposals[index]["arch"]))
            self._archs[index] = arch
            self._seen[arch.key] = index
            return index
        if not within_constraints:
            raise ConstraintError(f"{cfg.strategy}: none of {cfg.max_redraws} proposals satisfies "
                                  f"{', '.join(map(str, self.constraints))}; the constraints are probably impossible")
        return None

    def _next_order(self) -> int:
        self._order += 1
        return self._order - 1

    def _random_arch(self) -> Arch:
        if self.hierarchy is not None:
            return random_genotype(self.hierarchy, self.rng, self.config.init_mutations)
        return self.search_space.space.sample(self.rng, where=self._within)

    def _mutate(self, arch: Arch) -> Arch:
        if self.hierarchy is not None:
            return mutate(arch, self.hierarchy, self.rng)
        return self.search_space.space.mutate(arch, self.rng, 1)

    def _arch_and_cost(self, index: int) -> tuple[Arch, Any]:
        if index not in self._archs:
            self._archs[index] = self.search_space.space.validate(self.proposals[index]["arch"])
        if index not in self._costs:
            self._costs[index] = self.search_space.cost(self._archs[index])
        return self._archs[index], self._costs[index]

    def _evaluation(self, index: int) -> Evaluation:
        proposal = self.proposals[index]
        arch, cost = self._arch_and_cost(index)
        attrs = {"macs": int(cost.macs), "params": int(cost.params), "phase": PHASE, "key": proposal["key"],
                 "arch_json": arch.to_json(), "origin": proposal["origin"], "parent": proposal["parent"],
                 **_latency(cost)}
        task = self._task(index, arch, epochs=proposal.get("epochs", self.config.epochs))
        return Evaluation(proposal["key"], arch, PHASE, run_eval_task, (task,), attrs, tag=index)

    def proxy_accuracy(self, archs: Sequence[Arch]) -> list[float | None]:
        """The search's own estimate for other architectures (a study's proxy tau): each one trained and validated
        exactly as a candidate is (None where that training failed)."""
        tasks = [self._task(i, arch, phase="proxy") for i, arch in enumerate(archs)]
        results = self.ctx.executor.map(_evaluation_or_error, tasks)
        return [None if failure_reason(r) else float(r.val_accuracy) for r in results]

    def _task(self, index: int, arch: Arch, phase: str = "train", epochs: int | None = None) -> EvalTask:
        """The training of one candidate; its seed depends on the candidate alone, so each rung of successive
        halving starts from the same initial weights."""
        cfg, spec = self.config, self.ctx.space_spec
        data = dict(self.ctx.data_spec)
        split = self._split(data.pop("split", None))
        seed = int(self.ctx.rng(PHASE, phase, index).integers(2**31 - 1))
        return EvalTask(space=spec["name"], space_options=dict(spec.get("options") or {}), arch=arch.to_dict(),
                        recipe=cfg.recipe.to_dict(), epochs=epochs or cfg.epochs, split=split, seed=seed, threads=cfg.threads,
                        test=False, **data)

    def _split(self, split: dict[str, Any] | None) -> dict[str, Any]:
        """The run's data split with this config's train / val sizes."""
        split = dict(split or {})
        if self.config.train_size is not None:
            split["train_size"] = self.config.train_size
        if self.config.val_size is not None:
            split["val_size"] = self.config.val_size
        return split

    def _record(self, done: Evaluated) -> bool:
        """Write the evaluation to the ledger and, when it trained, add the genotype to the population (a candidate
        pruned by successive halving too, with its last rung's accuracy). False: the candidate was promoted to its
        next rung and is not done."""
        index = done.evaluation.tag
        proposal = self.proposals[index]
        _, cost = self._arch_and_cost(index)
        status = "complete"
        if self.halving is not None and failure_reason(done.outcome) is None:
            epochs, accuracy = int(proposal["epochs"]), float(done.outcome.val_accuracy)
            self.ctx.ledger.report_epoch(done.trial, epochs, accuracy)  # the rungs are the trial's curve
            if self.halving.report(index, epochs, accuracy):
                proposal["epochs"], proposal["order"] = self.halving.next_rung(epochs), self._next_order()
                self._promoted.append(index)
                return False
            if epochs < self.halving.rungs[-1]:
                status = "pruned"
                self.ctx.ledger.prune(done.trial, f"successive halving: {accuracy:.4f} after {epochs} epochs is "
                                                  f"not in the top 1/{self.config.reduction_factor} of its rung")
            else:  # the rungs, not the last training's epochs, are the curve
                done = dataclasses.replace(done, outcome=dataclasses.replace(done.outcome, per_epoch=[]))
        if status != "pruned":
            # macs, params, phase and key went in with the trial's start: every attribute is one more storage commit
            accuracy = self.ctx.record(done, {"macs": float(cost.macs), "params": float(cost.params)})
        if accuracy is None:
            proposal["status"] = "failed"
            self._failures += 1
            fitness = math.nan
        else:
            fitness = accuracy
            proposal["status"] = status
            proposal["fitness"] = fitness
            self.population.append(index)
            self._fitness.append(fitness)
        best = self._fitness.max
        self.ctx.log_metrics(PHASE, len(self.population) + self._failures, fitness=fitness, best_fitness=best,
                             population=float(len(self.population)), macs=float(cost.macs),
                             origin_mutation=float(proposal["origin"] == "mutation"),
                             epochs=float(proposal.get("epochs", self.config.epochs)))
        return True

    # -- result and state -----------------------------------------------------------------------------------------
    def result(self) -> SearchResult:
        if not self.population:
            failed = self.ctx.ledger.trials(phase=PHASE, state="failed")
            reason = next((t.attrs.get("fail_reason") for t in failed if t.attrs.get("fail_reason")), None)
            raise ConfigError(f"{self.config.strategy}: none of its {len(self.proposals)} candidates trained"
                              + (f" (the first: {reason})" if reason else "")
                              + ("; lower the recipe's lr" if reason and "diverged" in reason else "")
                              + "; the failed trials are in the ledger")
        # the nets trained to the full length compete (successive halving prunes the others at shorter rungs)
        full = [i for i in self.population if self.proposals[i]["status"] == "complete"] or self.population
        candidates = []
        for index in full:
            proposal = self.proposals[index]
            arch, cost = self._arch_and_cost(index)
            candidates.append(Candidate(arch, {"accuracy": proposal["fitness"], "macs": float(cost.macs),
                                               "params": float(cost.params), **_latency(cost)},
                                        {"key": proposal["key"], "origin": proposal["origin"]}))
        # ties go to the cheaper arch, then the earliest completed: the leaderboard's order (report.common)
        best = min(candidates, key=lambda c: (-c.objectives["accuracy"], c.objectives["macs"]))
        front = pareto_front(candidates, lambda c: c.objectives["accuracy"], lambda c: c.objectives["macs"])
        extra = {"evaluations": len(self.population) + self._failures, "failed": self._failures,
                 "strategy": self.config.strategy,
                 "pruned": sum(p["status"] == "pruned" for p in self.proposals),
                 "controller_ms": self.controller_ms()}
        return SearchResult(best=best, pareto_front=tuple(front), extra=extra)

    def controller_ms(self) -> float | None:
        """Mean controller time per evaluation (select + mutate + record), in milliseconds."""
        if not self.propose_seconds or not self.record_seconds:
            return None
        return 1e3 * (float(np.mean(self.propose_seconds)) + float(np.mean(self.record_seconds)))

    def state_dict(self) -> dict[str, Any]:
        """Column-wise and compact (a genotype as one string of op indices): the state is written after every
        evaluation, so at a population of 1000 its size is most of the checkpoint's cost."""
        p = self.proposals
        return {"rng": self.rng.bit_generator.state, "population": list(self.population),
                "archs": list(self._packed), "origins": [x["origin"] for x in p],
                "parents": [int(x["parent"]) for x in p], "status": [x["status"] for x in p],
                "fitness": [math.nan if x["fitness"] is None else float(x["fitness"]) for x in p],
                "epochs": [int(x.get("epochs", self.config.epochs)) for x in p],
                "order": [int(x.get("order", i)) for i, x in enumerate(p)], "next_order": self._order,
                "halving": self.halving.state_dict() if self.halving else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        if "proposals" in state:  # the row-wise format of earlier checkpoints
            self.proposals = [dict(p) for p in state["proposals"]]
        else:
            self.proposals = [
                {"key": f"{PHASE}/{i}", "arch": self._unpack(arch), "origin": origin, "parent": int(parent),
                 "status": status, "fitness": None if math.isnan(fitness) else float(fitness)}
                for i, (arch, origin, parent, status, fitness) in enumerate(
                    zip(state["archs"], state["origins"], state["parents"], state["status"], state["fitness"]))]
        self._packed = [self._pack(p["arch"]) for p in self.proposals] if "proposals" in state else list(state["archs"])
        epochs, order = state.get("epochs"), state.get("order")  # absent in checkpoints before successive halving
        for i, proposal in enumerate(self.proposals):
            proposal.setdefault("epochs", int(epochs[i]) if epochs else self.config.epochs)
            proposal.setdefault("order", int(order[i]) if order else i)
        self._order = int(state.get("next_order", len(self.proposals)))
        if self.halving is not None:
            self.halving.load_state_dict(state.get("halving") or {})
        self.population = [int(i) for i in state["population"]]
        self._fitness = _Column([float(self.proposals[i]["fitness"]) for i in self.population])
        self._failures = sum(p["status"] == "failed" for p in self.proposals)
        self._seen = {self.search_space.space.validate(p["arch"]).key: i for i, p in enumerate(self.proposals)}

    def _pack(self, arch: dict[str, Any]) -> str:
        if self.hierarchy is None:
            return Arch(arch.items()).to_json()
        # one character per edge: chr(48 + op index) ("0".."6" for the paper's 7 ops of a level)
        return "".join(chr(48 + self.hierarchy.ops(level).index(arch[name])) for name, level, *_ in self._edge_names)

    def _unpack(self, packed: str) -> dict[str, Any]:
        if self.hierarchy is None:
            return json.loads(packed)
        return {name: self.hierarchy.ops(level)[ord(c) - 48] for (name, level, *_), c in zip(self._edge_names, packed)}


@dataclass(frozen=True)
class RandomSearchConfig(HierarchicalEvolutionConfig):
    """Random search: every candidate a uniform draw from the space under the constraints, trained from scratch
    for `epochs` with `recipe` (Liu et al. sec. 3.3 on genotype spaces; the baseline of Li & Talwalkar 2019)."""

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "paper": {},
        # quick: Fashion-MNIST on 2 CPU cores in ~5 minutes: 16 mobilenet candidates, one epoch of 4096 images
        # each (64 steps of 64; ~64% validation accuracy for a typical candidate), 2000 images to validate
        "quick": {"population": 16, "evaluations": 16, "epochs": 1, "train_size": 4096, "val_size": 2000,
                  "recipe": {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 3e-4,
                             "schedule": "cosine", "batch_size": 64}, "final": QUICK_FINAL},
        "smoke": HierarchicalEvolutionConfig.PRESETS["smoke"],
    }
    CLI_FLAGS: ClassVar[dict[str, str]] = {}
    DISPLAY_NAME: ClassVar[str] = "random search"  # Liu et al. 2018, sec. 3.3 (and Li & Talwalkar 2019)
    DEFAULT_SPACE: ClassVar[str] = "mobilenet"

    strategy: str = "random"  # no selection: the same evaluation budget as evolution, spent on fresh draws


register_method("random", RandomSearchConfig)(HierarchicalEvolution)


def _latency(cost: Any) -> dict[str, float]:
    """The table latency of a candidate under a ``latency<=`` constraint (its space is costed from a table)."""
    return {} if cost.latency_ms is None else {"latency_ms": float(cost.latency_ms)}

"""What many test modules share: the CLI run in this process or as a new one, and its environment; the toy
weight-sharing space `clitoy` and a finished run of it; what a toy space of `MixedOp` blocks shares, with its
3-class data; a user's space (an `nn.Module` with LayerChoice / InputChoice); a tiny learnable data set; a throwaway
PostgreSQL server.

(`tests/conftest.py` puts this directory on the import path, so a test module in any tier imports it as
``from support import ...``.)"""

from __future__ import annotations

import contextlib
import copy
import glob
import importlib.util
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import optuna
import pytest
import torch
import torch.nn as nn
import yaml

from archsearch.cost.constraints import Cost
from archsearch.space import Categorical, Space
from archsearch.spaces import SPACES, register_space
from archsearch.supernet import set_path

ROOT = Path(__file__).resolve().parents[1]  # the checkout
TEST_DATA = Path(__file__).resolve().parent / "data"  # files the tests read (an old run's directory)


def run_cli(capsys: Any, *argv: str) -> tuple[int, str, str]:
    """`archsearch ARGV...` in this process: (exit code, stdout, stderr)."""
    from archsearch.cli import main

    capsys.readouterr()  # what earlier steps of the test printed is not this command's
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def cli_argv(*args: str) -> list[str]:
    """The command line of `archsearch ARGS...` as a new Python process (this checkout's code)."""
    return [sys.executable, "-c", "import sys; from archsearch.cli import main; sys.exit(main())", *args]


def cli_env(**extra: str) -> dict[str, str]:
    """A child process's environment: this checkout first on the path, no progress bars, one OpenMP thread."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "ARCHSEARCH_PROGRESS": "0", "OMP_NUM_THREADS": "1", **extra}


# -- a tiny weight-sharing space on 8x8 digits, and a finished run of it ------------------------------------------------------------------
KERNELS = ("k3", "k5")


class ToySpace:
    """conv(k, 6 channels) -> act -> 2x2 pool -> linear: two choices, one with no parameters (act)."""

    name = "clitoy"
    input_shape = (1, 8, 8)
    num_classes = 10

    def __init__(self) -> None:
        self.space = Space({"kernel": Categorical(KERNELS), "act": Categorical(("relu", "tanh"))}, name=self.name)

    def build(self, arch) -> nn.Module:
        k = int(arch["kernel"][1])
        return nn.Sequential(nn.Conv2d(1, 6, k, padding=k // 2), nn.ReLU() if arch["act"] == "relu" else nn.Tanh(),
                             nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(24, 10))

    def cost(self, arch) -> Cost:
        k = int(arch["kernel"][1])
        return Cost(macs=6 * k * k * 64 + 240, params=6 * k * k + 6 + 250)

    @property
    def blocks(self) -> list[dict]:
        return [{"name": "kernel", "input_shape": (1, 8, 8), "values": KERNELS}]

    def make_candidate(self, block: str, value: str) -> nn.Module:
        k = int(value[1])
        return nn.Conv2d(1, 6, k, padding=k // 2)

    def supernet(self) -> nn.Module:
        return nn.ModuleDict({k: self.build({"kernel": k, "act": "relu"}) for k in KERNELS})

    def inherit(self, supernet: nn.Module, arch) -> nn.Module:
        child = self.build(arch)
        child.load_state_dict(supernet[arch["kernel"]].state_dict())
        return child


if "clitoy" not in SPACES.names():
    register_space("clitoy")(ToySpace)


def write_run(runs: Path, name: str = "toyrun", *, extra: dict | None = None) -> Path:
    """A finished run of 3 trials written the way the ledger writes it (docs/architecture.md)."""
    run_dir = runs / name
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump({
        "name": name, "method": "random", "space": {"name": "clitoy", "options": {}}, "data": "digits",
        "preset": "smoke", "seed": 3}))
    study = optuna.create_study(study_name=name, storage=f"sqlite:///{run_dir / 'ledger.db'}",
                                directions=["maximize"])
    archs = [{"kernel": "k3", "act": "relu"}, {"kernel": "k5", "act": "tanh"}, {"kernel": "k5", "act": "relu"}]
    for arch, accuracy in zip(archs, (0.70, 0.90, 0.80)):
        cost = ToySpace().cost(arch)
        study.add_trial(optuna.trial.create_trial(
            values=[accuracy], params={}, distributions={},
            user_attrs={"arch_json": json.dumps(arch), "macs": cost.macs, "params": cost.params, "phase": "random",
                        "key": f"random/{len(study.trials)}", "seconds": 0.5}))
    (run_dir / "result.json").write_text(json.dumps({
        "best": {"arch": archs[1], "objectives": {"accuracy": 0.90}}, "pareto_front": [], "extra": extra or {}}))
    return run_dir


# -- toy spaces of MixedOp blocks on 8x8 images, 3 classes ---------------------------------------------------------------
class PathToySpace:
    """A toy space whose networks are its supernet fixed to one path: `build` and `inherit` for a subclass that
    gives `space`, `supernet()` and `cost()` (GreedyNAS's and ProxylessNAS's unit tests)."""

    name = "toy"
    input_shape = (1, 8, 8)
    num_classes = 3

    def build(self, arch: Any) -> nn.Module:
        model = self.supernet()  # type: ignore[attr-defined]
        set_path(model, arch)
        return model

    def inherit(self, supernet: nn.Module, arch: Any) -> nn.Module:
        child = copy.deepcopy(supernet)
        set_path(child, arch)
        return child


def toy_splits() -> Any:
    """3 classes of 8x8 noise shifted by the class: learnable in a few steps; 64 / 48 / 32 / 16 images."""
    from archsearch.data.splits import Splits, TensorPair

    g = torch.Generator().manual_seed(0)

    def pair(n: int) -> TensorPair:
        y = torch.randint(0, 3, (n,), generator=g)
        return TensorPair(torch.randn(n, 1, 8, 8, generator=g) * 0.5 + y.view(-1, 1, 1, 1).float(), y)

    return Splits("toy", pair(64), pair(48), pair(32), pair(16), 3, (1, 8, 8))


# -- a user's space: an ordinary nn.Module with LayerChoice / InputChoice on 8x8 images ------------------------------
class Zero(nn.Module):
    """A user's zero op (DARTS' `none`)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 0.0


def _conv_bn_relu(kernel: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(8, 8, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(8), nn.ReLU())


class ChoiceToy(nn.Module):
    """A user's space as users write one (examples/user_space.py), in every form a choice takes: stem (1x8x8 ->
    8x4x4: the choices see another input than the model's) -> LayerChoice `a` (a dict of 4, one of them a `none`)
    -> LayerChoice `b` (a list: "0" a conv, "1" an identity) -> InputChoice `merge` (2 of stem, a, b summed: "0,1",
    "0,2", "1,2") -> head (global pool, flatten, [dropout], linear). Every candidate keeps the 8x4x4 shape.

    `labels` renames the three choices, `kernel` is b's conv kernel (other layers, same labels and shapes),
    `dropout` puts a Dropout in the head. (DARTS on a user space, NARS on a user space, a user space's latency
    table.)"""

    def __init__(self, num_classes: int = 10, *, labels: tuple[str, str, str] = ("a", "b", "merge"),
                 kernel: int = 3, dropout: float | None = None) -> None:
        from archsearch import InputChoice, LayerChoice

        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.a = LayerChoice({"conv3": _conv_bn_relu(3), "conv5": _conv_bn_relu(5), "pool": nn.MaxPool2d(3, 1, 1),
                              "none": Zero()}, label=labels[0])
        self.b = LayerChoice([_conv_bn_relu(kernel), nn.Identity()], label=labels[1])
        self.merge = InputChoice(3, 2, label=labels[2])
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  *([nn.Dropout(dropout)] if dropout is not None else []), nn.Linear(8, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.stem(x)
        a = self.a(s)
        b = self.b(a)
        return self.head(self.merge([s, a, b]))


# -- a tiny data set ------------------------------------------------------------------------------------------------
def rows_splits() -> Any:
    """80 random 8x8 images in 4 classes where the class lights one row: learnable in a few steps (a cell space's
    resume tests)."""
    from archsearch.data.datasets import from_arrays
    from archsearch.data.splits import make_splits

    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, size=(80, 1, 8, 8), dtype=np.uint8)
    y = np.arange(80) % 4
    x[np.arange(80), 0, y * 2, :] = 255  # a learnable signal: the class lights a row
    dataset = from_arrays(x, y, x[:20], y[:20], name="rows")
    return make_splits(dataset, val_size=16, small_val_size=0)


# -- a throwaway PostgreSQL server ----------------------------------------------------------------------------------
def _extra_modules(extra: str) -> list[str]:
    """The modules an optional extra of pyproject.toml installs (``psycopg[binary]>=3.1`` -> psycopg)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["optional-dependencies"][extra]
    return [re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0].replace("-", "_") for r in requirements]


def _server_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for directory in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(os.path.join(directory, name), os.X_OK):
            return os.path.join(directory, name)
    return None


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL server for as long as the context lasts: its URL (skips the test where none can start)."""
    missing = [m for m in _extra_modules("postgres") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"archsearch[postgres] is not installed (no module {missing[0]}): pip install "
                    "'archsearch[postgres]'")
    initdb, pg_ctl = _server_binary("initdb"), _server_binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("no PostgreSQL server here (initdb / pg_ctl: Debian package postgresql)")
    as_user: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="aspg-"))  # short: a socket path must stay under 108 bytes
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as the package's own user
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(base)
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        runuser = shutil.which("runuser")
        if runuser is None:
            shutil.rmtree(base)
            pytest.skip("running as root and runuser (util-linux) is missing to run the server as 'postgres'")
        as_user = [runuser, "-u", "postgres", "--"]
        os.chown(base, user.pw_uid, user.pw_gid)
    data = base / "data"
    made = _run([*as_user, initdb, "-D", str(data), "-U", "archsearch", "-A", "trust", "-E", "UTF8", "--no-sync"])
    if made.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"initdb failed: {(made.stderr or made.stdout).strip().splitlines()[-1:]}")
    started = _run([*as_user, pg_ctl, "-D", str(data), "-l", str(base / "server.log"), "-w", "-t", "60", "-o",
                    f"-k {base} -c listen_addresses='' -c fsync=off", "start"])
    try:
        if started.returncode != 0:
            log = (base / "server.log").read_text(errors="replace") if (base / "server.log").exists() else ""
            pytest.skip(f"the PostgreSQL server did not start: {(log or started.stderr).strip().splitlines()[-1:]}")
        yield f"postgresql://archsearch@/postgres?host={base}"
    finally:
        _run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(base, ignore_errors=True)

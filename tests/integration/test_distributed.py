"""Data-parallel training under torch.distributed (gloo on CPU): two ranks, each on half of the global batch with
averaged gradients, take exactly the step one process takes on the whole batch; a torchrun search finishes with
rank 0 alone writing the run."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn

from archsearch.train import Recipe
from archsearch.train.distributed import mean_across_ranks
from archsearch.train.trainer import Trainer

pytestmark = pytest.mark.integration  # end to end (docs/architecture.md, "Tests")

RECIPE = Recipe(optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=1e-3, batch_size=8, schedule="cosine",
                warmup_epochs=0)


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 3))


def _batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(8, 1, 4, 4, generator=g), torch.randint(0, 3, (8,), generator=g)) for _ in range(4)]


def _train(model: nn.Module) -> nn.Module:
    trainer = Trainer(model, RECIPE, device="cpu", steps_per_epoch=4, epochs=1)
    for x, y in _batches():
        trainer.step(x, y)
    return model


def _rank(rank: int, port: int, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        torch.save(_train(_model()).state_dict(), f"{out}/rank{rank}.pt")
        torch.save(mean_across_ranks([rank + 0.25, 2.0]), f"{out}/mean{rank}.pt")
        dist.barrier()  # neither rank tears the group down while the other still uses it
    finally:
        dist.destroy_process_group()
    # gloo's threads sometimes abort the interpreter's exit ("terminate called without an active exception") after
    # the work is done and saved; leave without running the exit-time destructors
    os._exit(0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_ranks_take_the_single_process_step(tmp_path):
    mp.spawn(_rank, args=(_free_port(), str(tmp_path)), nprocs=2, join=True)
    single = _train(_model()).state_dict()
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    for name, value in single.items():
        assert torch.equal(ranks[0][name], ranks[1][name]), name  # the ranks stay identical
        torch.testing.assert_close(ranks[0][name], value, rtol=1e-5, atol=1e-6)  # and equal one process
    # rank-local values (GreedyNAS path losses) averaged: every rank holds the same numbers
    assert [torch.load(tmp_path / f"mean{r}.pt", weights_only=True) for r in range(2)] == [[0.75, 2.0], [0.75, 2.0]]


@pytest.mark.slow
def test_torchrun_spos_search_finishes_with_rank_zero_writing(tmp_path):
    torchrun = shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun not on PATH")
    env = {**os.environ, "ARCHSEARCH_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([torchrun, "--nproc-per-node", "2", "--master-port", str(_free_port()), "-m",
                           "archsearch.cli", "run", "spos", "--preset", "smoke", "--data", "digits",
                           "--runs-dir", str(tmp_path), "--name", "ddp"], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    run_dir = tmp_path / "ddp"
    assert (run_dir / "result.json").is_file() and (run_dir / "ledger.db").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp"]

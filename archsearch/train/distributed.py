"""Data-parallel supernet training with ``torchrun`` (``torch.distributed``: gloo on CPU, NCCL on GPU).

The design keeps every method unchanged: all ranks run the same method code on the same seeds, so they draw the
same paths, the same architecture batches and the same *global* training batch; the `Trainer` then trains each rank
on its own slice of that batch and averages the gradients, so the weights stay identical on every rank and the
effective batch is the recipe's batch size, as in a single process. Only rank 0 writes the ledger, checkpoints,
metrics and result (`archsearch.experiment.run`).

    torchrun --nproc-per-node 2 -m archsearch.cli run spos --preset quick --name spos-ddp
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Sequence

import torch
import torch.distributed as dist


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) outside a distributed run."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main() -> bool:
    return world()[0] == 0


def init_from_env() -> bool:
    """Join the process group when started by torchrun (WORLD_SIZE > 1); True when distributed."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_available():
        return False
    if not dist.is_initialized():
        use_cuda = torch.cuda.is_available()
        if use_cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return True


def shard(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """This rank's slice of a global batch (contiguous, near-equal parts)."""
    rank, size = world()
    if size == 1:
        return x, y
    bounds = [len(x) * r // size for r in range(size + 1)]
    return x[bounds[rank]:bounds[rank + 1]], y[bounds[rank]:bounds[rank + 1]]


def average_gradients(params: Iterable[torch.nn.Parameter]) -> None:
    """Average the gradients over ranks in one flat all-reduce. Parameters without a gradient (candidate ops off
    the sampled path) are skipped; every rank samples the same path, so the set is the same on every rank."""
    rank, size = world()
    if size == 1:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= size
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def mean_across_ranks(values: Sequence[float]) -> list[float]:
    """The mean of each value over ranks, the same on every rank. Decisions every rank takes on its own (GreedyNAS
    keeping the k lowest path losses) must agree exactly; on GPU, nondeterministic kernels can make the ranks'
    losses differ in the last bits, and the ranks would then train different paths."""
    if world()[1] == 1:
        return [float(v) for v in values]
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else None
    total = torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)
    dist.all_reduce(total)
    return (total / world()[1]).tolist()


def broadcast_object(value: Any) -> Any:
    """Rank 0's `value` on every rank (run settings: a default run name holds a timestamp)."""
    if world()[1] == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier() -> None:
    if world()[1] > 1:
        dist.barrier()


__all__ = ["average_gradients", "barrier", "broadcast_object", "init_from_env", "is_main", "mean_across_ranks",
           "shard", "world"]

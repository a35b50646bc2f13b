"""Timing in ONNX Runtime: an op or a network exported with torch.onnx at its input and run in a one-thread session.

People deploy small nets through an inference runtime, and ONNX Runtime is the common one on CPUs; it fuses and
schedules ops differently from eager PyTorch (no per-op Python overhead, conv + BN + ReLU fused), so a table for
deployment is measured in it. The session has one intra-op and one inter-op thread and sequential execution, as the
torch measurements use one thread: with one thread ONNX Runtime runs the graph in the calling thread, so the
thread's CPU time measures it as it measures eager ops.

An op that maps one 4-d tensor to another is timed between two 1x1 convolutions, less the time of those two
alone (`Framed`): alone, a convolution pays ONNX Runtime's layout reorders (NCHW to its blocked NCHWc and back)
that a network pays once, and the session call's overhead. On the example user space the held-out error of the
calibrated table fell from 5.7% to 1.9% (benchmarks/latency_lut.py), and a skip costs ~0, as it does in a network,
where ONNX Runtime removes it.

Export: the TorchScript-based exporter (``dynamo=False``, milliseconds per op; a table exports every op), or the
torch.export-based one where that fails. ``onnxruntime`` comes with the ``onnx`` extra.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import warnings
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from archsearch.errors import UsageError

HINT = "pip install 'archsearch[onnx]'"
OPTIMIZATION = "all"  # ONNX Runtime's default graph optimisation, as a deployed session gets it: with its NCHWc
#   layout transform, networks of the mobilenet quick space ran 5-8x faster than at "extended" (an op timed alone
#   then pays layout reorders a network pays once: `Framed`)


def require() -> None:
    """A clear error, naming the extra, when ONNX Runtime or the exporter's packages are missing."""
    missing = [m for m in ("onnxruntime", "onnx", "onnxscript") if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(f"latency runtime onnxruntime needs {' and '.join(missing)}, which are not installed; "
                         f"install them with: {HINT}")


def version() -> str:
    require()
    import onnxruntime

    return str(onnxruntime.__version__)


def _flat(x: Any) -> list[torch.Tensor]:
    """The tensors of a call's arguments in the order torch.onnx numbers the graph's inputs."""
    if isinstance(x, torch.Tensor):
        return [x]
    out: list[torch.Tensor] = []
    for item in x:
        out += _flat(item)
    return out


def export_bytes(module: nn.Module, args: tuple, input_names: list[str]) -> bytes:
    """The ONNX model of `module` called with `args` (eval mode, no grad), fixed shapes."""
    require()
    buffer = io.BytesIO()
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            try:
                torch.onnx.export(module, args, buffer, input_names=input_names, dynamo=False)
            except Exception:  # noqa: BLE001 - an op the TorchScript exporter cannot trace: the default exporter
                buffer = io.BytesIO()
                torch.onnx.export(module, args, buffer, input_names=input_names, dynamo=True, verbose=False)
    finally:
        quiet.setLevel(level)
    return buffer.getvalue()


def session(model: bytes | str, threads: int = 1) -> Any:
    """A CPU inference session with `threads` intra-op threads, one inter-op thread, sequential execution, no
    spinning threads (a spinning pool would burn the core the measurement shares) and every graph optimisation."""
    require()
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


class Framed(nn.Module):
    """`op` between two 1x1 convolutions, as a convolution in a network sits between others: ONNX Runtime keeps
    the activations in its blocked NCHWc layout across the op, so the op is timed without the layout reorders an
    op run alone pays at its edges (and a network pays once). The frame's own cost is measured apart (`frame`)
    and subtracted."""

    def __init__(self, op: nn.Module, c_in: int, c_out: int) -> None:
        super().__init__()
        self.pre, self.op, self.post = nn.Conv2d(c_in, c_in, 1), op, nn.Conv2d(c_out, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(self.op(self.pre(x)))


def framed(module: nn.Module, x: Any) -> tuple[nn.Module, list[tuple[int, ...]]] | None:
    """(`module` framed, the per-sample shapes of its input and output) when it maps one 4-d tensor to one 4-d
    tensor, else None (timed as it is: a head, an op of several inputs)."""
    if not isinstance(x, torch.Tensor) or isinstance(x, tuple) or x.dim() != 4:
        return None
    with torch.no_grad():
        out = module.eval()(x)
    if not isinstance(out, torch.Tensor) or out.dim() != 4:
        return None
    shapes = [tuple(int(s) for s in x.shape[1:]), tuple(int(s) for s in out.shape[1:])]
    return Framed(module, shapes[0][0], shapes[1][0]).eval(), shapes


def frame(shape: tuple[int, ...]) -> nn.Module:
    """The frame alone at `shape` (two 1x1 convolutions): half of it is the cost the framed op pays on that side."""
    return Framed(nn.Identity(), shape[0], shape[0]).eval()


class Runner:
    """`module` exported at input `x` and loaded in a session; calling it runs the session on `x`'s values (the
    argument is ignored: the timing loop calls every op with its own prepared input)."""

    def __init__(self, module: nn.Module, x: Any, *, threads: int = 1) -> None:
        args = tuple(x) if isinstance(x, tuple) else (x,)
        tensors = [t.detach().cpu().contiguous() for t in _flat(args)]
        names = [f"input{i}" for i in range(len(tensors))]
        self.session = session(export_bytes(module.cpu().eval(), args, names), threads)
        kept = {i.name for i in self.session.get_inputs()}  # an input the graph does not use is dropped
        self.feeds = {name: np.ascontiguousarray(t.numpy()) for name, t in zip(names, tensors) if name in kept}

    def __call__(self, *_: Any) -> list:
        return self.session.run(None, self.feeds)


__all__ = ["HINT", "OPTIMIZATION", "Framed", "Runner", "export_bytes", "frame", "framed", "require", "session",
           "version"]

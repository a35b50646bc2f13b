"""`export --format onnx` gives a model ONNX Runtime runs with the PyTorch model's outputs (to 1e-4), on every
built-in space and on the example user space: the model a latency table measured in ONNX Runtime stands for."""

from __future__ import annotations


import numpy as np
import pytest
import torch
import torch.nn as nn

from archsearch.export import save_model
from archsearch.spaces import create_space
from support import ROOT

SPACES = {
    "mobilenet": dict(preset="smoke"),
    "fbnet": dict(preset="smoke"),
    "darts": dict(preset="smoke"),
    "hierarchical": dict(preset="smoke"),
    "user": dict(source=f"{ROOT / 'examples' / 'user_space.py'}:make_space", input_shape=[1, 28, 28], num_classes=10),
}


def _perturbed(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """Batch-norm statistics and affine parameters away from their identity defaults, so a graph that dropped or
    mis-folded one would show."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.running_mean is not None:
            module.running_mean.copy_(0.1 * torch.randn(module.running_mean.shape, generator=generator))
            module.running_var.copy_(0.5 + torch.rand(module.running_var.shape, generator=generator))
            if module.affine:
                module.weight.data.copy_(1 + 0.1 * torch.randn(module.weight.shape, generator=generator))
                module.bias.data.copy_(0.1 * torch.randn(module.bias.shape, generator=generator))
    return model.eval()


# Two random archs of each space (seeds 0 and 1): the first in the default run, the second, other ops of the same
# space through the same export, in the slow tier (an export takes 1 to 5 s here).
@pytest.mark.integration
@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=pytest.mark.slow)], ids=["arch0", "arch1"])
@pytest.mark.parametrize("name", sorted(SPACES))
def test_onnx_export_runs_in_onnxruntime_with_the_pytorch_outputs(name, seed, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    space = create_space(name, **SPACES[name])
    generator = torch.Generator().manual_seed(seed)
    arch = space.space.sample(np.random.default_rng(seed))
    torch.manual_seed(seed)
    model = _perturbed(space.build(arch), generator)
    files = save_model(model, tmp_path / f"{name}{seed}", space.input_shape, ["onnx"])
    session = ort.InferenceSession(str(files["onnx"]), providers=["CPUExecutionProvider"])
    x = torch.randn(3, *space.input_shape, generator=generator)  # another batch size than the export's
    with torch.no_grad():
        expected = model(x).numpy()
    (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    assert got.shape == expected.shape == (3, space.num_classes)
    assert np.abs(expected).max() > 1e-3  # outputs that are not all ~0, so the comparison means something
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)

"""Methods write weight files only through `RunContext.save_weights`: atomic, and under torchrun rank 0 alone
writes (every rank holds the same weights, so the others would only race it for the same file)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import archsearch.methods
from archsearch.experiment.testing import make_context


def test_save_weights_writes_atomically_on_rank_zero_only(tmp_path):
    ctx = make_context(tmp_path, space="hierarchical", space_options={"preset": "smoke"})
    state = {"w": torch.arange(3.0)}
    assert ctx.save_weights("weights/x.pt", state) == "weights/x.pt"
    assert torch.equal(torch.load(ctx.run_dir / "weights" / "x.pt", weights_only=True)["w"], state["w"])
    assert [p.name for p in (ctx.run_dir / "weights").iterdir()] == ["x.pt"]  # no temp file left
    ctx.main = False  # what the other ranks of a torchrun job are
    assert ctx.save_weights("weights/y.pt", state) == "weights/y.pt"
    assert not (ctx.run_dir / "weights" / "y.pt").exists()
    ctx.release()


def test_no_method_writes_files_itself():
    for path in Path(archsearch.methods.__file__).parent.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "torch.save(" not in source and ".write_bytes(" not in source, path.name


def test_an_export_that_fails_midway_leaves_the_old_model_file_whole(tmp_path, monkeypatch):
    from archsearch import export

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    export.save_model(model, tmp_path, (1, 2, 2), ())
    before = (tmp_path / "model.pt").read_bytes()

    def torn(obj, path):  # writes half a file, then the process dies
        with open(path, "wb") as handle:
            handle.write(b"\x80torn")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", torn)
    with pytest.raises(KeyboardInterrupt):
        export.save_model(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3)), tmp_path, (1, 2, 2), ())
    assert (tmp_path / "model.pt").read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]

"""Fair DARTS report plots: the DARTS ones (`archsearch.report.methods.darts`) with sigmoid weights, the polarised
fraction on the final histogram and the 0.85 threshold applied to the drawn cells."""

from __future__ import annotations

from pathlib import Path

from archsearch.report.methods.darts import method_plots


def plots(run_dir: Path, out_dir: Path) -> list[Path]:
    return method_plots(Path(run_dir), Path(out_dir), "fairdarts")


__all__ = ["plots"]

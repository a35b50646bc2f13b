"""Method-specific report plots: ``archsearch/report/methods/<method>.py`` defines
``plots(run_dir: Path, out_dir: Path) -> list[Path]``; `archsearch report RUN` finds it by the run's method name."""

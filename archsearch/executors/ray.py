"""Ray executor: each task runs in a Ray worker (1 CPU, or 1 GPU when asked), retried when its worker dies.

``address=None`` starts a local Ray instance with `workers` CPUs; ``address="ray://head:10001"`` or ``"auto"``
joins an existing cluster (the workers must have archsearch installed). The driver puts each dataset its tasks name
into Ray's object store once; a worker process fetches it on its first task and keeps it, so workers need no copy
of the data files. The driver keeps the ledger: results travel back as values.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from archsearch.errors import UsageError

MAX_RETRIES = 3  # a worker process that dies (OOM, SIGKILL, lost node) costs a retry, not a trial


def _call(fn: Callable[..., Any], datasets: dict[tuple, Any], *args: Any) -> Any:
    """Run ``fn(*args)`` in a worker; `datasets` maps the tasks' dataset keys to object-store references, fetched
    only by a process that has not cached that dataset yet (refs nested in a dict are not resolved by Ray)."""
    if datasets:
        import ray

        from archsearch.train.task import install_dataset

        for key, ref in datasets.items():
            install_dataset(key, lambda ref=ref: ray.get(ref))
    return fn(*args)


class RayExecutor:
    in_process = False  # tasks run in worker processes: their CPU time is reported back in their results

    def __init__(self, *, workers: int | None = None, address: str | None = None, gpus_per_task: float = 0.0,
                 log: Callable[[str], None] | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise UsageError("the ray executor needs Ray: pip install 'archsearch[ray]'") from None
        self._ray = ray
        self._started_here = False
        self._reaper: Any = None
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "configure_logging": False}
            if address:
                kwargs["address"] = address
            else:
                kwargs["num_cpus"] = int(workers or os.cpu_count() or 1)
                # the working directory's code, not a copy, on a local instance
                kwargs["runtime_env"] = {"env_vars": {"OMP_NUM_THREADS": "1", "ARCHSEARCH_PROGRESS": "0"}}
            try:
                ray.init(**kwargs)
            except Exception as err:
                where = address or "a local instance"
                raise UsageError(f"cannot start Ray on {where}: {str(err).splitlines()[0]}") from None
            self._started_here = True
            if not address:  # a local instance outlives a driver killed with SIGKILL: a watcher ends it then
                self._reaper = _start_reaper()
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = int(workers or cpus)
        self._data_refs: dict[tuple, Any] = {}
        self._remote = ray.remote(num_cpus=1, num_gpus=gpus_per_task, max_retries=MAX_RETRIES,
                                  retry_exceptions=False)(_call)
        if log is not None:
            log(f"ray: {self.workers} concurrent tasks on a cluster with {cpus} CPUs")

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self._remote.remote(fn, self._datasets_of(args), *args)

    def _datasets_of(self, args: tuple) -> dict[tuple, Any]:
        """Object-store references to the datasets the arguments (`EvalTask`s) name, put there once per run."""
        refs = {}
        for key in (arg.data_key for arg in args if hasattr(arg, "data_key")):
            if key not in self._data_refs:
                from archsearch.train.task import cached_dataset

                self._data_refs[key] = self._ray.put(cached_dataset(*key))
            refs[key] = self._data_refs[key]
        return refs

    def wait_any(self, handles: list[Any]) -> tuple[Any, Any]:
        ray = self._ray
        ready, _ = ray.wait(list(handles), num_returns=1)
        # the handle given, not the one ray.wait returns: through Ray Client (ray://) that is a new object with the
        # same id, and the caller finds its task by identity
        handle = next((h for h in handles if h.binary() == ready[0].binary()), ready[0])
        try:
            return handle, ray.get(handle)
        except ray.exceptions.RayTaskError as err:  # the task raised: hand back its own exception
            cause = err.as_instanceof_cause()
            return handle, cause if isinstance(cause, BaseException) else err
        except ray.exceptions.RayError as err:  # worker died more than MAX_RETRIES times, node lost, ...
            return handle, err

    def map(self, fn: Callable[..., Any], items: list[Any]) -> list[Any]:
        return self._ray.get([self.submit(fn, item) for item in items])

    def shutdown(self) -> None:
        if self._started_here and self._ray.is_initialized():
            self._ray.shutdown()
        if self._reaper is not None:
            self._reaper.terminate()
            self._reaper.wait()
            self._reaper = None


def _start_reaper() -> Any:
    """`archsearch.executors._reaper` watching this process (Linux: it reads /proc); None elsewhere."""
    import subprocess
    import sys

    if not sys.platform.startswith("linux") or not os.path.isdir("/proc"):
        return None
    import archsearch

    package_root = os.path.dirname(os.path.dirname(os.path.abspath(archsearch.__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)}
    return subprocess.Popen([sys.executable, "-m", "archsearch.executors._reaper", str(os.getpid())], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, close_fds=True)

"""System metrics from a background thread while the main thread trains (a fork included)."""

import os
import threading
import time

import psutil

from naiad.neptune_scale import Run
from naiad.neptune_scale.util.logger import get_logger

logger = get_logger()


class SystemMetricsMonitor:
    def __init__(self, run, sampling_rate=0.01, namespace="runtime"):
        self.run = run
        self.namespace = namespace
        self.sampling_rate = sampling_rate
        self._stop_event = threading.Event()
        self._proc = psutil.Process(os.getpid())
        _fork_step = self.run._fork_step() if callable(self.run._fork_step) else self.run._fork_step
        self._monitoring_step = _fork_step + 1 if _fork_step is not None else 0
        self.run.log_configs(
            {
                f"{namespace}/details/cpu_logical_num": psutil.cpu_count(logical=True),
                f"{namespace}/details/hostname": "build-host",
            }
        )

    def _loop(self):
        while not self._stop_event.is_set():
            mem = self._proc.memory_info()
            self.run.log_metrics(
                data={
                    f"{self.namespace}/monitoring/process/rss_memory_MiB": mem.rss / 1024**2,
                    f"{self.namespace}/monitoring/process/num_threads": self._proc.num_threads(),
                },
                step=self._monitoring_step,
            )
            self._monitoring_step += 1
            time.sleep(self.sampling_rate)

    def __enter__(self):
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop_event.set()
        self._thread.join()


def train(run, start, steps):
    with SystemMetricsMonitor(run):
        for step in range(start, start + steps):
            run.log_metrics({"train/loss": 1.0 / (step + 1)}, step=step)
            time.sleep(0.002)


if __name__ == "__main__":
    with Run(run_id="monitored-parent", experiment_name="monitored") as run:
        train(run, 0, 50)
    with Run(
        run_id="monitored-child", experiment_name="monitored", fork_run_id="monitored-parent", fork_step=20
    ) as run:
        train(run, 21, 30)
    logger.info("done")

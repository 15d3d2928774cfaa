"""``monitoring/<label>/…``: CPU, memory, disk and network I/O, and NVIDIA GPUs, sampled by a
low-priority daemon thread every ``monitoring_interval`` seconds (default 10).

psutil (``pip install 'naiad[monitoring]'``) and nvidia-ml-py (``naiad[gpu]``) are optional:
without them the part they measure is skipped, with one info line in the ``naiad`` logger.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from .._writer import MAX_QUEUE

log = logging.getLogger("naiad")
NICE = 10  # the sampler thread's niceness (Linux), unless the process is already nicer

GPU_READINGS: tuple[tuple[str, Callable[[Any, Any], float]], ...] = (
    ("utilization", lambda nv, h: float(nv.nvmlDeviceGetUtilizationRates(h).gpu)),
    ("memory_used_gb", lambda nv, h: nv.nvmlDeviceGetMemoryInfo(h).used / 2**30),
    ("temperature", lambda nv, h: float(nv.nvmlDeviceGetTemperature(h, 0))),  # 0: the GPU die
    ("power_w", lambda nv, h: nv.nvmlDeviceGetPowerUsage(h) / 1000.0),  # reported in mW
)
_said: set[str] = set()


def _info_once(what: str, message: str, *args: Any) -> None:
    """One info line per process for a missing part, however many runs a script opens."""
    if what not in _said:
        _said.add(what)
        log.info(message, *args)


def _gpus() -> Any:
    try:
        import pynvml  # type: ignore[import-not-found, import-untyped, unused-ignore]

        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
    except Exception as e:
        _info_once("gpu", "naiad: no GPU metrics (%s: %s)", type(e).__name__, e)
        return None, []
    return pynvml, handles


def _lower_priority() -> None:
    """Nice the calling thread (Linux: a thread is its own task), so sampling yields to training."""
    if sys.platform.startswith("linux"):
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), NICE))
        except OSError:  # not permitted in this container: sampling is cheap anyway
            pass


class Sampler:
    def __init__(self, run: Any, prefix: str, interval: float) -> None:
        self._run, self._prefix, self._interval = run, prefix, max(interval, 0.05)
        self._stop = threading.Event()
        self._psutil: Any = None
        self._nvml: Any = None
        self._handles: list[Any] = []
        # psutil is imported here, once per process: imported by the sampler thread while the
        # main thread dies of Ctrl-C, it turned the exit status 130 into 1
        try:
            import psutil  # type: ignore[import-untyped, unused-ignore]
        except ImportError:
            _info_once("psutil", "naiad: no system metrics: install psutil (pip install 'naiad[monitoring]')")
            psutil = None
        self._lib = psutil
        # NVML's init (slow where there are GPUs) runs in the sampler's thread
        self._thread = threading.Thread(target=self._loop, name="naiad-monitoring", daemon=True)
        self._thread.start()

    def _setup(self) -> None:
        if self._lib is not None:
            self._proc = self._lib.Process()
            self._proc.cpu_percent(None)  # the first call primes the counters and returns 0
            self._lib.cpu_percent(None)
            self._psutil = self._lib
        self._nvml, self._handles = _gpus()

    def _loop(self) -> None:
        _lower_priority()
        self._setup()
        while not self._stop.wait(self._interval):
            self._log()

    def _log(self) -> None:
        # a sample never waits on storage: with the writer backed up (a lock held elsewhere)
        # log_metrics would block for room, and close() joining this thread with it
        if len(getattr(self._run, "_queue", ())) > MAX_QUEUE // 2:
            return
        with contextlib.suppress(Exception):  # a closed run or a vanished device: skip this sample
            values = self.sample()
            if values:
                self._run.log_metrics(values)

    def sample(self) -> dict[str, float]:
        p, out = self._prefix, {}
        ps = self._psutil
        if ps is not None:
            mem = ps.virtual_memory()
            out[f"{p}/cpu"] = float(ps.cpu_percent(None))
            out[f"{p}/process_cpu"] = float(self._proc.cpu_percent(None))
            out[f"{p}/memory_percent"] = float(mem.percent)
            out[f"{p}/memory_used_gb"] = mem.used / 2**30
            out[f"{p}/process_memory_gb"] = self._proc.memory_info().rss / 2**30
            disk, net = ps.disk_io_counters(), ps.net_io_counters()
            if disk is not None:
                out[f"{p}/disk_read_mb"] = disk.read_bytes / 2**20
                out[f"{p}/disk_write_mb"] = disk.write_bytes / 2**20
            if net is not None:
                out[f"{p}/net_sent_mb"] = net.bytes_sent / 2**20
                out[f"{p}/net_recv_mb"] = net.bytes_recv / 2**20
        nv = self._nvml
        for i, h in enumerate(self._handles):
            g = f"{p}/gpu/{i}"
            for name, read in GPU_READINGS:
                try:
                    out[f"{g}/{name}"] = read(nv, h)
                except Exception:  # one reading a device lacks (power on some boards) skips alone
                    continue
        return out

    def stop(self) -> None:
        """Stop sampling (the first sample comes one interval after the run opened)."""
        self._stop.set()
        self._thread.join(10)

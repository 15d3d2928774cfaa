"""``monitoring/<label>/…``: CPU, memory, disk and network I/O, and NVIDIA GPUs, sampled by a
low-priority daemon thread every ``monitoring_interval`` seconds (default 10).

psutil (``pip install 'naiad[monitoring]'``) and nvidia-ml-py (``naiad[gpu]``) are optional:
without them the part they measure is skipped, with one info line in the ``naiad`` logger.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("naiad")


def _gpus() -> Any:
    try:
        import pynvml  # type: ignore[import-not-found, import-untyped, unused-ignore]

        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
    except Exception as e:
        log.info("naiad: no GPU metrics (%s: %s)", type(e).__name__, e)
        return None, []
    return pynvml, handles


class Sampler:
    def __init__(self, run: Any, prefix: str, interval: float) -> None:
        self._run, self._prefix, self._interval = run, prefix, max(interval, 0.05)
        self._stop = threading.Event()
        try:
            import psutil  # type: ignore[import-untyped, unused-ignore]
        except ImportError:
            log.info("naiad: no system metrics: install psutil (pip install 'naiad[monitoring]')")
            psutil = None
        self._psutil = psutil
        self._nvml, self._handles = _gpus()
        if psutil is not None:
            self._proc = psutil.Process()
            self._proc.cpu_percent(None)
            psutil.cpu_percent(None)
        self._thread = threading.Thread(target=self._loop, name="naiad-monitoring", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._run.log_metrics(self.sample())
            except Exception:  # a closed run or a vanished device: skip this sample
                continue

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
            out[f"{g}/utilization"] = float(nv.nvmlDeviceGetUtilizationRates(h).gpu)
            out[f"{g}/memory_used_gb"] = nv.nvmlDeviceGetMemoryInfo(h).used / 2**30
            out[f"{g}/temperature"] = float(nv.nvmlDeviceGetTemperature(h, 0))
            out[f"{g}/power_w"] = nv.nvmlDeviceGetPowerUsage(h) / 1000.0
        return out

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

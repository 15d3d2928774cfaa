"""What the run was, recorded beside what it logged: one module per concern.

``start(run, settings)`` is the one call site in :class:`naiad.Run`; it returns a
:class:`Capture` whose ``stop()`` runs first in ``Run.close()``. Each part has a switch:

===================  ==================================  =======  ===============================
part                 argument / variable                 default  paths
===================  ==================================  =======  ===============================
system metrics       capture_hardware_metrics            on       monitoring/<label>/…
console              capture_stdout, capture_stderr      on       monitoring/<label>/stdout|stderr
failure record       capture_traceback                   on       sys/diagnostics/…
source files, git    capture_source, source_files        off [1]  source_code/…
environment          capture_environment                 off      environment/…
===================  ==================================  =======  ===============================

[1] on when ``source_files`` names files. Variables are ``NAIAD_`` plus the argument in
capitals. ``<label>`` is ``rank<k>`` in a distributed launch (see :mod:`.ranks`), else ``main``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import environment, failure, ranks, source
from .console import Console
from .monitoring import Sampler


class Capture:
    def __init__(self, run: Any, settings: Any, environ: Any) -> None:
        self._run = run
        self._settings = settings
        self.process = ranks.detect(environ)
        label = f"monitoring/{self.process.label}"
        self._parts: list[Any] = []
        if settings.capture_stdout:
            self._parts.append(Console(run, "stdout", f"{label}/stdout"))
        if settings.capture_stderr:
            self._parts.append(Console(run, "stderr", f"{label}/stderr"))
        if self.process.rank is not None:
            run.log_configs({f"{label}/hostname": self.process.node, f"{label}/pid": os.getpid()})
        monitor = settings.monitoring_per == "rank" or not self.process.local_rank
        if settings.capture_hardware_metrics and monitor:
            self._parts.append(Sampler(run, label, settings.monitoring_interval))
        if self.process.is_main:
            if settings.capture_environment:
                run.log_configs(environment.describe(environ))
            # naming files (source_files, NAIAD_SOURCE_FILES) is asking for them
            if settings.capture_source or settings.source_files is not None:
                found = source.files(settings.source_files)
                if found:
                    run.assign_files(found)
                info = source.git(Path.cwd())
                diff = info.pop("source_code/git/diff", None)
                run.log_configs(info)
                if diff:
                    run.assign_files({"source_code/git/diff": diff})

    def failed(self, exc: BaseException) -> None:
        """How ``exc`` ends the process, and which rank it was (the traceback: ``Run.mark_failed``)."""
        if not self._settings.capture_traceback:
            return
        values: dict[str, str | int] = {**failure.ending(exc)}
        if self.process.rank is not None:
            values["failed_process"] = self.process.label
        self._run._diagnose(values)

    def exited(self, exc: BaseException) -> None:
        """A clean ``sys.exit()`` left the run's ``with`` block: its exit status, no failure."""
        if self._settings.capture_traceback:
            self._run._diagnose(failure.ending(exc))

    def stop(self) -> None:
        for part in reversed(self._parts):
            part.stop()
        self._parts = []


def start(run: Any, settings: Any, environ: Any = None) -> Capture:
    return Capture(run, settings, os.environ if environ is None else environ)

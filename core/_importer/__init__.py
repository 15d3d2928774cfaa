"""``naiad import neptune``: a neptune-exporter export (Parquet parts plus attached files)
into a naiad store, through the RunStore seam only, so any backend takes it.

- :mod:`._layout`: where the parts are, and which runs are incomplete;
- :mod:`._parts`: reading parts in bounded batches, steps exact from the decimal column;
- :mod:`._scan`: the first pass (every part decoded, ``sys`` rows and ids collected);
- :mod:`._sysmap`: Neptune's ``sys`` onto naiad's;
- :mod:`._rows`: one part into the ops of one transaction;
- :mod:`._attached`: files, file series, file sets and artifacts, confined to the export;
- :mod:`._migrate`: parents first, idempotent, ``replace``;
- :mod:`._report`: what was not kept, run by run, and why.
"""

from __future__ import annotations

from ._layout import sanitize
from ._migrate import Plan, import_export, scan_export
from ._parts import ExportError
from ._report import ImportReport, RunReport

__all__ = ["ExportError", "ImportReport", "Plan", "RunReport", "import_export", "sanitize", "scan_export"]

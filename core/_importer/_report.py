"""What an import did, run by run, and everything it did not keep, with the reason."""

from __future__ import annotations

import collections
import dataclasses

# reasons a row of the export is not kept (the report counts rows per reason)
PADDING = (
    "parameter rows with no value (the exporter's padding rows, or NaN float parameters, which "
    "it writes as null too)"
)
EMPTY_FILE = "file rows naming no file (the exporter's padding rows)"
NO_POINT = "float series rows with neither value nor timestamp (not a point)"
NO_STEP = "series rows without a step"
STEP_RANGE = "series points with a step outside 0 <= step < 1e12"
CONFLICT = "series points at a step that already has another value (the first one is kept)"
NULL_POINT = "series rows with no value"
BAD_HISTOGRAM = "histogram points that are not a histogram naiad can store"
BAD_PATH = "rows whose attribute path is not a valid naiad path"
NO_TYPE = "rows without an attribute path or type"
LONG_STRING = "strings longer than naiad's 64 KiB limit"
FILE_REFUSED = "file rows refused or missing (each named below)"
TYPE_CLASH = "writes refused by the store (a path holding another type)"


@dataclasses.dataclass
class RunReport:
    """One exported run: where it went, what was written, and what was not kept."""

    project: str  # the naiad project
    run: str  # the naiad run id
    source: str  # "<project_id>/<run_id>" in the export
    version: int
    status: str = "imported"  # imported | replaced | resumed | already imported
    parts: int = 0
    rows: int = 0
    points: int = 0
    files: int = 0
    unstamped: int = 0  # series points the export gives no timestamp: they get the creation time
    lost: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    notes: list[str] = dataclasses.field(default_factory=list)

    def lose(self, reason: str, n: int = 1) -> None:
        if n:
            self.lost[reason] += n

    def note(self, text: str) -> None:
        if len(self.notes) < 50 and text not in self.notes:  # a few examples say enough
            self.notes.append(text)

    def lines(self) -> list[str]:
        """The report's lines about this run (none when everything was kept)."""
        out = [f"  {n} {reason}: not kept" for reason, n in sorted(self.lost.items())]
        if self.unstamped:
            out.append(
                f"  {self.unstamped} series points without a timestamp were given the run's creation time"
            )
        return out + [f"  {text}" for text in self.notes]


@dataclasses.dataclass
class ImportReport:
    """The whole import."""

    runs: list[RunReport] = dataclasses.field(default_factory=list)
    incomplete: list[str] = dataclasses.field(default_factory=list)  # runs without part_0
    skipped_dirs: list[str] = dataclasses.field(default_factory=list)  # model registry exports

    def count(self, status: str) -> int:
        return sum(1 for r in self.runs if r.status == status)

"""``naiad import neptune DATA_PATH FILES_PATH``: a neptune-exporter export into the store."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from .._storage import open_store
from . import _output, _Parser, settings

_OFFSET = re.compile(r"^(?P<sign>[+-])?(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?$")


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    imp = commands.add_parser(
        "import",
        parents=[common],
        help="import another tracker's export (neptune)",
        description="Import another tracker's export into the store.",
    )
    kinds = imp.add_subparsers(dest="import_kind", metavar="KIND", parser_class=_Parser)
    kinds.required = True
    neptune = kinds.add_parser(
        "neptune",
        parents=[common],
        help="a neptune-exporter export: Parquet parts and attached files",
        description="Import every run of a neptune-exporter export (its --data-path and "
        "--files-path) into the store: each run into the naiad project named like its Neptune "
        "project (--project overrides), forks rebuilt parents first, every attribute with its "
        "type, series steps exact, NaN and infinities kept, files and file series stored. "
        "Importing again adds nothing; --replace replaces the runs already imported. At the "
        "end a report lists, run by run, anything not kept and why. An unreadable part stops "
        "the import before anything is written, naming the file.",
    )
    neptune.add_argument("data_path", metavar="DATA_PATH", help="the exporter's --data-path")
    neptune.add_argument("files_path", metavar="FILES_PATH", help="the exporter's --files-path")
    neptune.add_argument(
        "--replace", action="store_true", help="replace runs an earlier import wrote (default: skip them)"
    )
    neptune.add_argument(
        "--legacy-utc-offset",
        default="+00:00",
        metavar="[+-]HH:MM",
        type=utc_offset,
        help="the UTC offset of the machine that exported 2.x projects: their series "
        "timestamps were written in its local time as if UTC, and are shifted back by it "
        "(default: +00:00)",
    )
    neptune.set_defaults(handler=cmd_import_neptune)


def utc_offset(text: str) -> float:
    """``+02:00``, ``-0530``, ``2`` as seconds east of UTC."""
    m = _OFFSET.match(text.strip())
    if m is None or int(m["h"]) > 14 or int(m["m"] or 0) > 59:
        raise argparse.ArgumentTypeError(f"expected a UTC offset such as +02:00 or -05:30, got {text!r}")
    seconds = int(m["h"]) * 3600 + int(m["m"] or 0) * 60
    return -seconds if m["sign"] == "-" else float(seconds)


def cmd_import_neptune(args: argparse.Namespace) -> int:
    from .._importer import import_export, scan_export

    s = settings(args)
    files = Path(args.files_path).expanduser()
    if not files.is_dir():
        raise FileNotFoundError(f"The export's files path {files} is not a directory.")
    with _output.progress("reading the export") as update:
        plan = scan_export(Path(args.data_path).expanduser(), progress=update)
    store = open_store(s.store, create=True, blobs=s.blobs)
    try:
        with _output.progress("importing") as update:
            report = import_export(
                plan,
                files,
                store,
                project=args.project,
                replace=args.replace,
                legacy_utc_offset_s=args.legacy_utc_offset,
                progress=update,
            )
    finally:
        store.close()
    for run in report.runs:
        print(
            f"{run.project}/{run.run} ({run.source}, Neptune {run.version}.x): {run.status}, "
            f"{run.parts} part(s), {run.points} points, {run.files} files"
        )
        for line in run.lines():
            print(line)
    for text in report.incomplete:
        print(f"skipped {text}")
    for folder in report.skipped_dirs:
        print(f"skipped {folder}: model registry exports are not runs; this importer leaves them")
    done = len(report.runs) - report.count("already imported")
    print(
        f"Imported {done} run(s) into {store.uri} ({report.count('already imported')} already "
        f"there, {len(report.incomplete)} incomplete in the export)."
    )
    return 0

"""``naiad export``, ``sync``, ``trash`` / ``restore``, ``store info`` and ``ui``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _sys
from .._storage import Assign, RunStore, is_journal, journal_dir, open_store
from .._types import FieldType, epoch_micros
from ..errors import JournalDamaged
from . import CommandError, _output, _Parser, settings
from ._runs import _FILTER_HELP, columns, find_run, trash_choice

if TYPE_CHECKING:
    import pandas as pd

JOURNAL_SUFFIX = ".naiad-journal"


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    export = commands.add_parser(
        "export",
        parents=[common],
        help="write the runs table or metric series to CSV/Parquet",
        description="Write the runs table (one row per run) to a .csv or .parquet file; with "
        "--metrics, write the runs' float series instead, in long format (run, path, "
        "step, value, timestamp).",
    )
    export.add_argument("--to", required=True, metavar="FILE", help="output file: .csv or .parquet")
    export.add_argument("-f", "--filter", metavar="FILTER", help=_FILTER_HELP)
    export.add_argument(
        "-c",
        "--columns",
        action="append",
        metavar="PATHS",
        help="table columns (comma-separated paths or regexes; default: "
        f"{_sys.NAME}, {_sys.STATE}, {_sys.CREATION_TIME} and every non-sys value)",
    )
    export.add_argument(
        "--metrics", metavar="REGEX", help="export the float series whose path matches REGEX ('.*' for all)"
    )
    export.add_argument(
        "--lineage", action="store_true", help="with --metrics: include a forked run's inherited points"
    )
    trash = export.add_mutually_exclusive_group()
    trash.add_argument("--all", action="store_true", help="include trashed runs")
    trash.add_argument("--trashed", action="store_true", help="only trashed runs")
    export.set_defaults(handler=cmd_export)

    sync = commands.add_parser(
        "sync",
        parents=[common],
        help="merge offline journals into the store",
        description="Replay offline journals (directories ending in .naiad-journal) into the "
        "store, idempotently: syncing twice adds nothing the second time. With no "
        "JOURNAL, every journal under <store>/offline is synced. A directory holding "
        "journals may be given too.",
    )
    sync.add_argument("journals", nargs="*", metavar="JOURNAL", help="journal directory")
    sync.set_defaults(handler=cmd_sync)

    for name, flag in (("trash", True), ("restore", False)):
        p = commands.add_parser(
            name,
            parents=[common],
            help="move runs to the trash (hidden from ls and queries)"
            if flag
            else "take runs out of the trash",
            description=(
                "Set sys/trashed on each run: trashed runs are hidden from 'naiad ls' and "
                "naiad.query unless asked for (--all, --trashed, trashed=None). Nothing "
                "is deleted."
                if flag
                else "Clear sys/trashed on each run."
            ),
        )
        p.add_argument("runs", nargs="+", metavar="RUN", help="run id or sys/id")
        p.set_defaults(handler=cmd_trash, trash=flag)

    store = commands.add_parser(
        "store", parents=[common], help="inspect the store", description="Commands about the store itself."
    )
    store_commands = store.add_subparsers(dest="store_command", metavar="COMMAND", parser_class=_Parser)
    store_commands.required = True
    info = store_commands.add_parser(
        "info",
        parents=[common],
        help="location, schema version, size and counts",
        description="Print the store's location, schema version, size on disk and the number "
        "of projects, runs, fields and series points.",
    )
    info.add_argument("--format", choices=["table", "json"], default="table", help="output format")
    info.set_defaults(handler=cmd_store_info)
    copy = store_commands.add_parser(
        "copy",
        help="copy a whole store into another (SQLite <-> PostgreSQL)",
        description="Copy every run of SRC into DST (a directory or postgresql://...): parents "
        "before children, series bit for bit, each file blob once. Runs DST already has are "
        "left alone, so copying again adds nothing. Every copied series is verified; the "
        "summary says how many runs, fields, points and blobs were copied.",
    )
    copy.add_argument("source", metavar="SRC", help="the store to read")
    copy.add_argument("target", metavar="DST", help="the store to write (created when missing)")
    copy.add_argument("--source-blobs", metavar="LOCATION", help="where SRC's files are (default: recorded)")
    copy.add_argument(
        "--target-blobs", metavar="LOCATION", help="where DST's files go: a directory or s3://BUCKET/PREFIX"
    )
    copy.set_defaults(handler=cmd_store_copy)

    ui = commands.add_parser(
        "ui",
        parents=[common],
        help="serve the web UI",
        description="Serve the web UI for the store on HOST:PORT.",
    )
    ui.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    ui.add_argument("--port", type=int, help="port (default: the UI's; 0 picks a free one)")
    ui.add_argument("--token", help="access token required by the UI (default: the UI's own)")
    ui.add_argument("--no-browser", action="store_true", help="do not open a browser")
    ui.set_defaults(handler=cmd_ui)


# -- export --------------------------------------------------------------------------------------------
def cmd_export(args: argparse.Namespace) -> int:
    from .. import query

    s = settings(args)
    target = Path(args.to)
    kind = target.suffix.lower()
    if kind not in (".csv", ".parquet"):
        raise CommandError(f"Cannot export to '{target}': the file name must end in .csv or .parquet.")
    if not target.parent.is_dir():
        raise CommandError(f"Cannot export to '{target}': the directory {target.parent} does not exist.")
    if args.metrics is not None:
        with _output.progress("reading series") as update:
            frame = query._fetch_series(
                FieldType.FLOAT_SERIES,
                runs=".*",
                attributes=args.metrics,
                filter=args.filter,
                lineage_to_the_root=args.lineage,
                include_time="absolute",
                format="long",
                trashed=trash_choice(args),
                project=s.project,
                store=s.store,
                progress=update,
            )
        _save(frame, target, index=False)
        runs = frame["run"].nunique() if len(frame) else 0
        series = len(frame.groupby(["run", "path"])) if len(frame) else 0
        print(f"Wrote {len(frame)} points of {series} series from {runs} runs to {target}")
        return 0
    with _output.progress("reading runs") as update:
        frame = query.fetch_runs_table(
            filter=args.filter,
            attributes=columns(args.columns),
            sort_by=_sys.CREATION_TIME,
            ascending=True,
            trashed=trash_choice(args),
            project=s.project,
            store=s.store,
        )
        update(1, 1)
    _save(frame, target, index=True)
    print(f"Wrote {len(frame)} runs x {len(frame.columns)} columns to {target}")
    return 0


def _save(frame: pd.DataFrame, target: Path, index: bool) -> None:
    if target.suffix.lower() == ".csv":
        _output.flat(frame, "json").to_csv(target, index=index)
        return
    import pyarrow as pa  # type: ignore[import-untyped]

    flat = _output.flat(frame, "list")
    try:
        flat.to_parquet(target, index=index)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        # a path that holds several types across runs: store its values as text
        for col in flat.columns:
            if flat[col].dtype == object:
                flat[col] = [None if _output.is_missing(v) else str(v) for v in flat[col]]
        flat.to_parquet(target, index=index)


# -- sync ----------------------------------------------------------------------------------------------
def journals(paths: list[str], store_location: str) -> list[Path]:
    """The journal directories named (or found inside the named directories)."""
    if not paths:
        return sorted(journal_dir(store_location).glob("*" + JOURNAL_SUFFIX))  # none: nothing to do
    out: list[Path] = []
    for text in paths:
        path = Path(text).expanduser()
        if is_journal(path):
            out.append(path)
        elif path.is_dir() and sorted(path.glob("*" + JOURNAL_SUFFIX)):
            out += sorted(path.glob("*" + JOURNAL_SUFFIX))
        else:
            raise CommandError(
                f"'{text}' is not an offline journal (a directory with naiad.db) "
                "nor a directory holding journals."
            )
    return out


def cmd_sync(args: argparse.Namespace) -> int:
    from .._sync import parents_first, sync_journal

    s = settings(args)
    if s.store.startswith(("http://", "https://")) and not args.journals:
        _replay_spools(s.store)
    todo = journals(args.journals, s.store)
    if not todo:
        print(f"Nothing to sync: no offline journals under {journal_dir(s.store)}.")
        return 0
    todo = parents_first(todo)
    target = open_store(s.store, create=True, blobs=s.blobs)
    refused = 0
    try:
        for journal in todo:
            try:
                with _output.progress(f"syncing {journal.name}") as update:
                    results = sync_journal(journal, target, progress=update)
            except JournalDamaged as e:  # refused before anything reached the target
                refused += 1
                print(f"{journal.name}: not synced: {e}", file=sys.stderr)
                continue
            for r in results:
                parent = ""
                if r.parent_resolved is not None:
                    parent = (
                        ", fork parent resolved"
                        if r.parent_resolved
                        else ", fork parent not in the store yet (sync it, then sync this again)"
                    )
                verb = "created" if r.created else "updated"
                print(
                    f"{journal.name}: run {r.run_id} {verb}: {r.fields} fields, {r.points} new points{parent}"
                )
    finally:
        target.close()
    tail = f"; {refused} refused" if refused else ""
    print(f"Synced {len(todo) - refused} journal(s) into {target.uri}{tail}")
    return 1 if refused else 0


def _replay_spools(uri: str) -> None:
    """Deliver the batches that processes writing to a naiad server spooled and left behind."""
    from .._storage._http import HttpStore

    store = open_store(uri)
    assert isinstance(store, HttpStore)
    try:
        for path, delivered, left in store.replay_spools(journal_dir(uri)):
            still = f"; {left} still spooled (the server is unreachable)" if left else ""
            print(f"{path.name}: {delivered} spooled batch(es) delivered{still}")
    finally:
        store.close()


# -- trash / restore -----------------------------------------------------------------------------------
def cmd_trash(args: argparse.Namespace) -> int:
    s = settings(args)
    store = open_store(s.store, create=False, blobs=s.blobs)
    try:
        runs = [find_run(store, s.project, ref) for ref in args.runs]  # all found, or none changed
        for run in runs:
            store.write_batch(
                run.pk,
                [
                    Assign(_sys.TRASHED, int(FieldType.BOOLEAN), args.trash),
                    Assign(_sys.MODIFICATION_TIME, int(FieldType.DATETIME), epoch_micros(time.time())),
                ],
            )
            print(f"{'Trashed' if args.trash else 'Restored'} run {run.custom_id} ({run.sys_id})")
    finally:
        store.close()
    return 0


# -- store info ----------------------------------------------------------------------------------------
def store_info(store: RunStore) -> dict[str, Any]:
    stats = store.stats()
    return {
        "location": stats.location,
        "schema_version": stats.schema_version,
        "size_bytes": stats.database_bytes + stats.files_bytes,
        "database_bytes": stats.database_bytes,
        "files_bytes": stats.files_bytes,
        "projects": stats.projects,
        "runs": stats.runs,
        "trashed_runs": stats.trashed_runs,
        "fields": stats.fields,
        "points": stats.points,
    }


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def cmd_store_copy(args: argparse.Namespace) -> int:
    from .._storage._copy import copy_store

    source = open_store(args.source, create=False, blobs=args.source_blobs)
    try:
        target = open_store(args.target, create=True, blobs=args.target_blobs)
        try:
            with _output.progress(f"copying {source.uri}") as update:
                summary = copy_store(source, target, progress=update)
        finally:
            target.close()
    finally:
        source.close()
    print(
        f"Copied {summary.runs} run(s) from {source.uri} into {target.uri} ({summary.skipped} already "
        f"there): {summary.fields} fields, {summary.points} points, {summary.blobs} file blob(s) "
        f"uploaded ({summary.blobs_present} already there), {summary.views} saved view(s)."
    )
    if summary.mismatches:
        print(f"Verification FAILED for {len(summary.mismatches)} series:", *summary.mismatches, sep="\n  ")
        return 1
    print(f"Verified: {summary.verified_series} series identical in both stores.")
    return 0


def cmd_store_info(args: argparse.Namespace) -> int:
    s = settings(args)
    store = open_store(s.store, create=False, blobs=s.blobs)
    try:
        info = store_info(store)
    finally:
        store.close()
    if args.format == "json":
        print(json.dumps(info, indent=2))
        return 0
    from rich.table import Table

    t = Table(show_header=False, box=None)
    t.add_column(style="bold")
    t.add_column()
    projects = ", ".join(f"{name} ({n} runs)" for name, n in info["projects"].items()) or "none"
    for key, value in (
        ("location", info["location"]),
        ("schema version", str(info["schema_version"])),
        (
            "size on disk",
            f"{_size(info['size_bytes'])} (database {_size(info['database_bytes'])}, "
            f"files {_size(info['files_bytes'])})",
        ),
        ("projects", f"{len(info['projects'])}: {projects}"),
        ("runs", f"{info['runs']} ({info['trashed_runs']} trashed)"),
        ("fields", str(info["fields"])),
        ("series points", str(info["points"])),
    ):
        t.add_row(key, value)
    _output.console().print(t)
    return 0


# -- ui ------------------------------------------------------------------------------------------------
def cmd_ui(args: argparse.Namespace) -> int:
    try:
        from .. import _ui
    except ModuleNotFoundError as e:
        if e.name != "naiad._ui":
            raise
        raise CommandError(
            "The web UI is not part of this naiad installation (the module naiad._ui is missing)."
        ) from None
    s = settings(args)
    options: dict[str, Any] = {} if args.port is None else {"port": args.port}
    _ui.serve(
        store=s.store,
        project=s.project,
        host=args.host,
        token=args.token,
        open_browser=not args.no_browser,
        **options,
    )
    return 0

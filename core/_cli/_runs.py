"""``naiad ls``, ``naiad experiments`` and ``naiad show RUN``."""

from __future__ import annotations

import argparse
import json
import re
import time
from typing import Any

from .. import _sys
from .._read import decode
from .._settings import Settings
from .._storage import RunRecord, RunStore, open_store
from .._types import FieldType, step_value
from . import CommandError, _output, settings

LS_COLUMNS = [_sys.ID, _sys.NAME, _sys.STATE, _sys.CREATION_TIME, _sys.TAGS]
EXPERIMENT_COLUMNS = [_sys.CUSTOM_RUN_ID, _sys.STATE, _sys.CREATION_TIME]
TABLE_LIMIT = 50  # rows a terminal table shows unless --limit says otherwise

_FILTER_HELP = (
    "filter, e.g. 'config/lr > 0.001 and sys/tags contains \"bert\"' (see the README for the grammar)"
)


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    ls = commands.add_parser(
        "ls",
        parents=[common],
        help="list runs as a table",
        description="List runs (every run, forks included; 'naiad experiments' lists experiment "
        "heads). Trashed runs are hidden unless --all or --trashed.",
    )
    _selection_options(ls, "runs")
    ls.set_defaults(handler=cmd_ls)

    ex = commands.add_parser(
        "experiments",
        parents=[common],
        help="list experiments (their head runs)",
        description="List experiments: one row per experiment, read from its head run (the "
        "newest run created with the name). 'runs' counts the experiment's runs.",
    )
    _selection_options(ex, "experiments")
    ex.set_defaults(handler=cmd_experiments)

    show = commands.add_parser(
        "show",
        parents=[common],
        help="show one run: fields, series, files, lineage",
        description="Show a run's tree of fields with their values, the last value and point "
        "count of each series, its files, and its lineage (parent, fork step, "
        "children). RUN is a run id (sys/custom_run_id) or a sys/id such as DEF-12; "
        "without it, the newest run of the project.",
    )
    show.add_argument("run", metavar="RUN", nargs="?", help="run id or sys/id (default: the newest run)")
    show.add_argument("--format", choices=["tree", "json"], default="tree", help="output format")
    show.set_defaults(handler=cmd_show)


def _selection_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("-f", "--filter", metavar="FILTER", help=_FILTER_HELP)
    parser.add_argument(
        "-c",
        "--columns",
        action="append",
        metavar="PATHS",
        help="comma-separated field paths to show instead of the defaults; an "
        "item with regex characters selects every matching path "
        "(repeatable)",
    )
    parser.add_argument(
        "-s",
        "--sort",
        default=_sys.CREATION_TIME,
        metavar="PATH",
        help="field path to sort by (default: sys/creation_time, newest first)",
    )
    parser.add_argument("--asc", action="store_true", help="sort ascending")
    parser.add_argument(
        "-n",
        "--limit",
        type=_count,
        metavar="N",
        help=f"show at most N {what} (a table shows {TABLE_LIMIT} by default)",
    )
    parser.add_argument(
        "--format", choices=["table", "csv", "json"], default="table", help="output format (default: table)"
    )
    trash = parser.add_mutually_exclusive_group()
    trash.add_argument("--all", action="store_true", help="include trashed runs")
    trash.add_argument("--trashed", action="store_true", help="show only trashed runs")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def columns(values: list[str] | None) -> list[str] | str | None:
    """``--columns`` as the API takes it: exact paths, or one regex when any item is a regex."""
    from .._selection import is_regex

    if not values:
        return None
    items = [c.strip() for v in values for c in v.split(",") if c.strip()]
    if not any(is_regex(c) for c in items):
        return items
    return "|".join(f"(?:{c})" if is_regex(c) else f"^{re.escape(c)}$" for c in items)


def trash_choice(args: argparse.Namespace) -> bool | None:
    return None if getattr(args, "all", False) else bool(getattr(args, "trashed", False))


def cmd_ls(args: argparse.Namespace) -> int:
    from .. import query

    s = settings(args)
    limit = args.limit if args.limit is not None or args.format != "table" else TABLE_LIMIT
    chosen = columns(args.columns) or LS_COLUMNS
    if args.format == "table" and isinstance(chosen, list) and _plain_ls(args, s, chosen, limit):
        return 0
    frame = query.fetch_runs_table(
        filter=args.filter,
        attributes=chosen,
        sort_by=args.sort,
        ascending=args.asc,
        limit=limit,
        trashed=trash_choice(args),
        project=s.project,
        store=s.store,
    )
    frame = show_failed(frame, heads=False, project=s.project, store=s.store)
    caption = _caption(args, s, len(frame), limit) if args.format == "table" else None
    _output.write(frame, args.format, caption=caption)
    return 0


def _caption(args: argparse.Namespace, s: Settings, shown: int, limit: int | None) -> str:
    from .. import query

    total = shown
    if limit is not None and shown == limit:
        total = query._count_runs(
            filter=args.filter, trashed=trash_choice(args), project=s.project, store=s.store
        )
    caption = f"{shown} of {total} runs in project '{s.project}'"
    return caption + " (use --limit to show more)" if total > shown else caption


def _plain_ls(args: argparse.Namespace, s: Settings, chosen: list[str], limit: int | None) -> bool:
    """``naiad ls`` as a table without pandas: the same cells as the frame would show
    (``failed`` for an inactive failed run), read in one selection. False when a column
    mixes types across runs, which the frame path renders."""
    from .. import query

    wanted = chosen if _sys.FAILED in chosen or _sys.STATE not in chosen else [*chosen, _sys.FAILED]
    table = query._plain_table(
        wanted,
        filter=args.filter,
        sort_by=args.sort,
        ascending=args.asc,
        limit=limit,
        trashed=trash_choice(args),
        project=s.project,
        store=s.store,
    )
    if table is None:
        return False
    labels, cells = table
    if _sys.STATE in cells:
        failed = cells[_sys.FAILED][1]
        types, states = cells[_sys.STATE]
        cells[_sys.STATE] = (
            types,
            [_sys.display_state(st, f is True) if st is not None else None for st, f in zip(states, failed)],
        )
    shown = list(dict.fromkeys(chosen))
    _output.rows_table(
        "run",
        labels,
        shown,
        [_output.is_numeric(cells[c][0]) for c in shown],
        list(zip(*(cells[c][1] for c in shown))) if shown else [() for _ in labels],
        caption=_caption(args, s, len(labels), limit),
    )
    return True


def show_failed(frame: Any, *, heads: bool, project: str, store: str) -> Any:
    """The ``sys/state`` column as shown to people: ``failed`` for an inactive failed run."""
    from .. import query

    if _sys.STATE not in frame.columns or frame.empty:
        return frame
    if _sys.FAILED in frame.columns:
        failed = frame[_sys.FAILED].tolist()
    else:
        names = [str(k) for k in frame.index]
        fetch = query.fetch_experiments_table if heads else query.fetch_runs_table
        extra = fetch(names, attributes=[_sys.FAILED], trashed=None, project=project, store=store)
        failed = [extra[_sys.FAILED].get(k) for k in names]
    import pandas as pd

    frame = frame.copy()
    frame[_sys.STATE] = pd.array(
        [
            _sys.display_state(state, f is not None and not pd.isna(f) and bool(f))
            for state, f in zip(frame[_sys.STATE].tolist(), failed)
        ],
        dtype=object,
    )
    return frame


def cmd_experiments(args: argparse.Namespace) -> int:
    from .. import query

    s = settings(args)
    limit = args.limit if args.limit is not None or args.format != "table" else TABLE_LIMIT
    chosen = columns(args.columns)
    frame = query.fetch_experiments_table(
        filter=args.filter,
        attributes=chosen or EXPERIMENT_COLUMNS,
        sort_by=args.sort,
        ascending=args.asc,
        limit=limit,
        trashed=trash_choice(args),
        project=s.project,
        store=s.store,
    )
    frame = show_failed(frame, heads=True, project=s.project, store=s.store)
    if chosen is None:
        sizes = query._experiment_sizes(
            frame.index.tolist(), trashed=trash_choice(args), project=s.project, store=s.store
        )
        frame.insert(1, "runs", [sizes.get(name, 0) for name in frame.index])
        frame = frame.rename(columns={_sys.CUSTOM_RUN_ID: "head run"})
    caption = f"{len(frame)} experiments in project '{s.project}'" if args.format == "table" else None
    _output.write(frame, args.format, caption=caption)
    return 0


def find_run(store: RunStore, project: str, ref: str) -> RunRecord:
    """A run by its run id, or else by its ``sys/id`` label."""
    found = store.find_run(project, ref)
    if found is not None:
        return found
    by_label = store.find_run_by_sys_id(project, ref)
    if by_label is None:
        raise CommandError(
            f"No run '{ref}' in project '{project}' of the store at {store.uri} "
            "(give a run id or a sys/id; 'naiad ls' lists them)."
        )
    return by_label


def newest_run(store: RunStore, project: str) -> RunRecord:
    """The run created last in ``project``."""
    runs = list(store.iter_runs(project))
    if not runs:
        raise CommandError(f"Project '{project}' of the store at {store.uri} has no runs yet.")
    return runs[-1]


def describe(store: RunStore, run: RunRecord) -> dict[str, Any]:
    """Everything ``show`` prints, as plain data."""
    fields: dict[str, Any] = {}
    for rec in store.fields(run.pk):
        ftype = FieldType(rec.type)
        value = decode(rec.type, rec.value)
        item: dict[str, Any] = {"type": ftype.label}
        if ftype.is_series:
            item["last"] = _output.plain(value, nan="nan")
            item["points"] = rec.count
            item["last_step"] = None if rec.step is None else step_value(rec.step)
        else:
            item["value"] = _output.plain(value, nan="nan")
        fields[rec.path] = item
    parent = None if run.parent_pk is None else store.get_run(run.parent_pk)
    live, _ = store.run_state(run.pk, time.time())  # sessions decide: a crashed writer is not live
    failed = fields.get(_sys.FAILED, {}).get("value") is True
    message = fields.get(_sys.DIAGNOSTICS_EXCEPTION, {}).get("value")
    return {
        "run": run.custom_id,
        "sys_id": run.sys_id,
        "project": run.project,
        "experiment": run.experiment,
        "state": _sys.display_state(live, failed),
        "failure": str(message) if failed and message else None,
        "lineage": {
            "parent": None if parent is None else parent.custom_id,
            "fork_step": None if run.fork_step is None else step_value(run.fork_step),
            "depth": run.depth,
            "children": [
                {"run": c.custom_id, "fork_step": None if c.fork_step is None else step_value(c.fork_step)}
                for c in store.children(run.pk)
            ],
        },
        "fields": fields,
    }


def cmd_show(args: argparse.Namespace) -> int:
    s = settings(args)
    store = open_store(s.store, create=False, blobs=s.blobs)
    try:
        run = newest_run(store, s.project) if args.run is None else find_run(store, s.project, args.run)
        info = describe(store, run)
    finally:
        store.close()
    if args.format == "json":
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return 0
    _tree(info)
    return 0


def _tree(info: dict[str, Any]) -> None:
    from rich.text import Text
    from rich.tree import Tree

    title = Text.assemble(
        (info["run"], "bold cyan"),
        f" ({info['sys_id']})",
        f"  experiment {info['experiment'] or '-'}",
        f"  project {info['project']}",
        "  state ",
        (str(info["state"]), "bold red" if info["state"] == _sys.FAILED_STATE else "bold"),
    )
    root = Tree(title)
    if info["failure"]:  # why it failed comes before everything else; the traceback is a field
        root.add(Text.assemble(("failed: ", "bold red"), info["failure"]))
    lin = info["lineage"]
    branch = root.add(Text("lineage", style="bold"))
    if lin["parent"] is not None:
        branch.add(
            f"parent {lin['parent']} at step {lin['fork_step']:g} (depth {lin['depth']}; "
            "series begin with the lineage's points up to each fork step)"
        )
    else:
        branch.add("root run (no parent)")
    for child in lin["children"]:
        branch.add(f"child {child['run']} forked at step {child['fork_step']:g}")
    nodes: dict[str, Any] = {}
    # the user's own fields first, naiad's sys namespace last
    for path, item in sorted(info["fields"].items(), key=lambda kv: (_sys.is_sys(kv[0]), kv[0])):
        *spaces, leaf = path.split("/")
        parent, prefix = root, ""
        for name in spaces:
            prefix = f"{prefix}/{name}" if prefix else name
            if prefix not in nodes:
                nodes[prefix] = parent.add(Text(name + "/", style="bold"))
            parent = nodes[prefix]
        parent.add(Text.assemble((leaf, "green"), "  ", _summary(item), (f"  {item['type']}", "dim")))
    _output.console().print(root)


def _summary(item: dict[str, Any]) -> str:
    kind = item["type"]
    if "points" in item:
        step = "" if item["last_step"] is None else f" at step {item['last_step']:g}"
        if kind == "FloatSeries":
            last = _output.cell(item["last"])
        elif kind == "StringSeries":
            text = str(item["last"])
            last = repr(text if len(text) <= 60 else text[:57] + "...")
        elif kind == "FileSeries":
            last = str((item["last"] or {}).get("name", ""))
        else:
            last = "histogram"
        return f"{last}  (last of {item['points']} points{step})"
    value = item["value"]
    if kind == "File":
        return f"{value['name']} ({value['size']} bytes, {value['mime']})"
    if kind == "Artifact":
        return f"{len(value['files'])} files, hash {value['hash'][:12]}"
    if kind == "String":
        return repr(value)
    return _output.cell(value)

"""Writes a realistic neptune-exporter export, from the format note, for the import tests.

Two projects: ``acme/seabird`` (3.x) with a three-level fork chain (root, a fork at 80.5, a
fork of the fork at 150), a run whose fork parent was not exported, and a run whose export
did not finish (no ``part_0``); ``acme/legacy`` (2.x) with its own naming, shifted
timestamps, positional image series, a file set, an artifact and monitoring series. Every
attribute type, NaN (as the exporter writes it: a null value with a timestamp, and as real
NaN bits with a payload), ±inf, -0.0, micro-steps, several part files, padding rows, files
and file series, and one file path that escapes the files directory.

``write_big_export`` writes a large float-series export for the benchmark.
"""

from __future__ import annotations

import dataclasses
import json
import random
import struct
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from naiad._importer import sanitize

SCHEMA = pa.schema(
    [
        ("project_id", pa.string()),
        ("run_id", pa.string()),
        ("attribute_path", pa.string()),
        ("attribute_type", pa.string()),
        ("step", pa.decimal128(18, 6)),
        ("timestamp", pa.timestamp("ms", tz="UTC")),
        ("int_value", pa.int64()),
        ("float_value", pa.float64()),
        ("string_value", pa.string()),
        ("bool_value", pa.bool_()),
        ("datetime_value", pa.timestamp("ms", tz="UTC")),
        ("string_set_value", pa.list_(pa.string())),
        ("file_value", pa.struct([("path", pa.string())])),
        (
            "histogram_value",
            pa.struct(
                [("type", pa.string()), ("edges", pa.list_(pa.float64())), ("values", pa.list_(pa.float64()))]
            ),
        ),
    ]
)
VALUE_COLUMN = {
    "float": "float_value",
    "int": "int_value",
    "string": "string_value",
    "bool": "bool_value",
    "datetime": "datetime_value",
    "string_set": "string_set_value",
    "float_series": "float_value",
}
NEW, OLD = "acme/seabird", "acme/legacy"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
LEGACY_OFFSET = timedelta(hours=2)  # the 2.x exporting machine ran at UTC+02:00
NAN_PAYLOAD = struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_DEAD_BEEF))[0]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


@dataclasses.dataclass(frozen=True)
class Export:
    root: Path
    data: Path
    files: Path
    outside: Path  # the file the escaping path points at (must never be read)

    def parts(self, project: str, run_id: str) -> list[Path]:
        folder = self.data / sanitize(project)
        return sorted(folder.glob(f"{sanitize(run_id)}_part_*.parquet"))


def row(project: str, run: str, path: str, kind: str, **values: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "project_id": project,
        "run_id": run,
        "attribute_path": path,
        "attribute_type": kind,
    }
    if "value" in values:
        out[VALUE_COLUMN[kind]] = values.pop("value")
    step = values.pop("step", None)
    out["step"] = None if step is None else Decimal(str(step)).quantize(Decimal("1.000000"))
    out.update(values)
    return out


def write_part(export: Export, project: str, run_id: str, n: int, rows: list[dict[str, Any]]) -> Path:
    random.Random(f"{run_id}{n}").shuffle(rows)  # the importer must not rely on row order
    folder = export.data / sanitize(project)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{sanitize(run_id)}_part_{n}.parquet"
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    pq.write_table(table, target, compression="snappy", row_group_size=max(1, len(rows) // 3))
    return target


def attach(export: Export, project: str, relative: str, content: bytes) -> dict[str, str]:
    target = export.files / sanitize(project) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    return {"path": relative}


def ms(t: datetime) -> datetime:
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def sys_rows(project: str, run: str, **fields: tuple[str, Any]) -> list[dict[str, Any]]:
    return [
        row(project, run, f"sys/{k.replace('__', '/')}", kind, value=v) for k, (kind, v) in fields.items()
    ]


def floats(
    project: str, run: str, path: str, points: list[tuple[Any, Any]], start: datetime
) -> list[dict[str, Any]]:
    """Float series rows; a value of None is a NaN point as pandas writes it (null, with a time)."""
    return [
        row(
            project,
            run,
            path,
            "float_series",
            step=s,
            value=v,
            timestamp=ms(start + timedelta(seconds=float(s), milliseconds=7)),
        )
        for s, v in points
    ]


# -- 3.x -------------------------------------------------------------------------------------------
def _new_run(
    export: Export,
    run: str,
    *,
    created: datetime,
    params: dict[str, tuple[str, Any]],
    parent: tuple[str, float, int] | None,
    head: bool,
    tags: list[str],
) -> list[dict[str, Any]]:
    p = NEW
    rows = sys_rows(
        p,
        run,
        id=("string", f"SEA-{len(run)}{run[-1]}"),
        custom_run_id=("string", run),
        name=("string", f"{run} display name"),
        experiment__name=("string", "seabird"),
        experiment__is_head=("bool", head),
        creation_time=("datetime", created),
        modification_time=("datetime", created + timedelta(hours=1)),
        owner=("string", "ada"),
        tags=("string_set", tags),
        group_tags=("string_set", ["team-a"]),
        description=("string", f"the {run} run"),
        failed=("bool", run == "sb-mid"),
        trashed=("bool", False),
        size=("int", 12345),
    )
    if parent is not None:
        rows += sys_rows(
            p,
            run,
            forking__parent=("string", parent[0]),
            forking__step=("float", parent[1]),
            forking__depth=("int", parent[2]),
            forking__requested_parent=("string", parent[0]),
        )
    rows += [row(p, run, path, kind, value=v) for path, (kind, v) in params.items()]
    return rows


def write_new_project(export: Export) -> None:
    p = NEW
    params = {
        "sb-root": {
            "config/lr": ("float", 0.001),
            "config/neg_zero": ("float", -0.0),
            "config/inf": ("float", float("inf")),
            "config/batch": ("int", 64),
            "config/big": ("int", 2**62 + 1),
            "config/optimizer": ("string", "adam ✓ ünïcode"),
            "config/flag": ("bool", True),
            "config/started": ("datetime", datetime(2025, 2, 28, 23, 59, 59, 123000, tzinfo=timezone.utc)),
            "config/labels": ("string_set", ["cat", "dog", "émoji 🐦"]),
            "config/nan_lr": ("float", None),  # a NaN parameter: the exporter writes it as null
        },
        "sb-mid": {"config/lr": ("float", 0.0005), "config/warmup": ("int", 100)},
        "sb-leaf": {"config/lr": ("float", 0.0001), "config/scheduler": ("string", "cosine")},
        "sb-orphan": {"config/lr": ("float", 0.01)},
    }
    # the runs table melts each batch of runs: every run gets every (path, type), null if not its own
    every = {(path, kind) for run_params in params.values() for path, (kind, _) in run_params.items()}
    every |= {("config/lr", "int")}  # a path that another run of the batch had as an int

    def padding(run: str) -> list[dict[str, Any]]:
        own = {(path, kind) for path, (kind, _) in params[run].items()}
        return [row(p, run, path, kind) for path, kind in sorted(every - own)]

    def file_padding(run: str, *paths: str) -> list[dict[str, Any]]:
        return [row(p, run, path, "file") for path in paths]

    t_root = T0
    loss_root = [(s, 1.0 / (s + 1)) for s in range(0, 101)]
    loss_root[3] = (3, None)  # NaN written by pandas as null (the point has its timestamp)
    loss_root[4] = (4, NAN_PAYLOAD)  # NaN with a payload, kept as bits
    loss_root[5] = (5, float("inf"))
    loss_root[6] = (6, float("-inf"))
    loss_root[7] = (7, -0.0)
    part0 = _new_run(
        export,
        "sb-root",
        created=t_root,
        params=params["sb-root"],
        parent=None,
        head=False,
        tags=["baseline", "v1"],
    )
    part0 += padding("sb-root")
    part0 += floats(p, "sb-root", "train/loss", loss_root, t_root)
    part1 = floats(
        p,
        "sb-root",
        "train/micro",
        [(Decimal(1) + Decimal(i).scaleb(-6), i * 0.5) for i in range(1, 40)],
        t_root,
    )
    part1 += floats(p, "sb-root", "eval/acc", [(Decimal(s) / 2, s / 100) for s in range(0, 30)], t_root)
    part1 += [
        row(
            p,
            "sb-root",
            "logs/notes",
            "string_series",
            step=s,
            string_value=f"note {s} — ünïcode",
            timestamp=ms(t_root + timedelta(seconds=s)),
        )
        for s in range(6)
    ]
    part2 = [
        row(
            p,
            "sb-root",
            "train/grad_hist",
            "histogram_series",
            step=s,
            timestamp=ms(t_root + timedelta(seconds=s)),
            histogram_value={
                "type": "COUNTING",
                "edges": [0.0, 0.5, 1.0, 2.0],
                "values": [float(s), 2.0, 3.0],
            },
        )
        for s in range(5)
    ]
    part2 += [
        row(
            p,
            "sb-root",
            "train/act_density",
            "histogram_series",
            step=Decimal("2.5"),
            timestamp=ms(t_root),
            histogram_value={"type": "DENSITY", "edges": [-1.0, 0.0, 1.0], "values": [0.25, 0.75]},
        )
    ]
    notes = attach(export, p, "sb-root/files/notes_txt.txt", b"notes of the root run\n")
    part2.append(row(p, "sb-root", "files/notes", "file", file_value=notes))
    for s in (10, 20):
        image = attach(export, p, f"sb-root/predictions/images/step_{s}_000000.png", PNG + bytes([s]))
        part2.append(
            row(
                p,
                "sb-root",
                "predictions/images",
                "file_series",
                step=s,
                file_value=image,
                timestamp=ms(t_root + timedelta(seconds=s)),
            )
        )
    part2.append(row(p, "sb-root", "predictions/images", "file_series", step=30))  # melted: no file
    part2.append(row(p, "sb-root", "files/evil", "file", file_value={"path": "../../outside/secret.txt"}))
    part2 += file_padding("sb-root", "files/config_yaml")
    write_part(export, p, "sb-root", 0, part0)
    write_part(export, p, "sb-root", 1, part1)
    write_part(export, p, "sb-root", 2, part2)

    t_mid = T0 + timedelta(hours=2)
    mid = _new_run(
        export,
        "sb-mid",
        created=t_mid,
        params=params["sb-mid"],
        parent=("sb-root", 80.5, 1),
        head=False,
        tags=["fork"],
    )
    mid += padding("sb-mid")
    mid += floats(p, "sb-mid", "train/loss", [(s, 0.5 / s) for s in range(81, 151)], t_mid)
    config = attach(export, p, "sb-mid/files/config_yaml.yaml", b"lr: 0.0005\n")
    mid.append(row(p, "sb-mid", "files/config_yaml", "file", file_value=config))
    mid += file_padding("sb-mid", "files/notes")
    write_part(export, p, "sb-mid", 0, mid)

    t_leaf = T0 + timedelta(hours=4)
    leaf = _new_run(
        export,
        "sb-leaf",
        created=t_leaf,
        params=params["sb-leaf"],
        parent=("sb-mid", 150.0, 2),
        head=True,
        tags=["fork", "best"],
    )
    leaf += padding("sb-leaf")
    leaf += floats(p, "sb-leaf", "train/loss", [(s, 0.25 / s) for s in range(151, 201)], t_leaf)
    write_part(export, p, "sb-leaf", 0, leaf)

    t_orphan = T0 + timedelta(hours=5)
    orphan = _new_run(
        export,
        "sb-orphan",
        created=t_orphan,
        params=params["sb-orphan"],
        parent=("sb-deleted", 10.0, 1),
        head=False,
        tags=[],
    )
    orphan += floats(p, "sb-orphan", "train/loss", [(s, 2.0) for s in range(11, 20)], t_orphan)
    write_part(export, p, "sb-orphan", 0, orphan)

    # an export that stopped: part_1 was renamed, part_0 never was
    partial = _new_run(export, "sb-partial", created=T0, params={}, parent=None, head=False, tags=[])
    write_part(export, p, "sb-partial", 1, partial)


# -- 2.x -------------------------------------------------------------------------------------------
def write_legacy_project(export: Export) -> None:
    p = OLD
    for run, custom, created in (
        ("LEG-1", "legacy-baseline", T0 - timedelta(days=30)),
        ("LEG-2", None, T0 - timedelta(days=29)),
    ):
        base = f"{p}/{run}"  # 2.x files: raw <project_id>/<run_id>/<attribute_path>
        fields: dict[str, tuple[str, Any]] = {
            "id": ("string", run),
            "name": ("string", "Untitled"),
            "creation_time": ("datetime", created),
            "modification_time": ("datetime", created + timedelta(minutes=30)),
            "ping_time": ("datetime", created + timedelta(minutes=29)),
            "owner": ("string", "grace"),
            "hostname": ("string", "gpu-box-7"),
            "tags": ("string_set", ["legacy"]),
            "failed": ("bool", False),
            "trashed": ("bool", run == "LEG-2"),
            "running_time": ("float", 1799.5),
            "size": ("int", 999),
            "monitoring_time": ("int", 1790),
        }
        if custom is not None:
            fields["custom_run_id"] = ("string", custom)
        part0 = sys_rows(p, run, **fields)
        part0 += [
            row(p, run, "parameters/lr", "float", value=0.1),
            row(p, run, "parameters/epochs", "int", value=3),
            row(p, run, "parameters/arch", "string", value="resnet"),
            row(p, run, "parameters/pretrained", "bool", value=False),
            row(p, run, "parameters/when", "datetime", value=created),
            row(p, run, "parameters/aug", "string_set", value=["flip", "crop"]),
        ]
        shifted = created + LEGACY_OFFSET  # naive local time written as if UTC
        part0 += floats(p, run, "metrics/acc", [(s, s / 31) for s in range(31)], shifted)
        part0 += floats(p, run, "monitoring/abc123/cpu", [(s, 50.0 + s) for s in range(10)], shifted)
        part0 += [
            row(
                p,
                run,
                "monitoring/abc123/stdout",
                "string_series",
                step=s,
                string_value=f"epoch {s}",
                timestamp=ms(shifted + timedelta(seconds=s)),
            )
            for s in range(3)
        ]
        part1 = [
            row(p, run, "model/weights", "file", file_value=attach(export, p, f"{base}/model/weights", PNG))
        ]
        for position in range(3):  # the image's position in the series, not the logged step
            image = attach(export, p, f"{base}/images/samples/{position}.png", PNG + bytes([position]))
            part1.append(row(p, run, "images/samples", "file_series", step=position, file_value=image))
        attach(export, p, f"{base}/source_code/files/source.zip", b"PK\x03\x04" + b"zip of the sources")
        part1.append(
            row(p, run, "source_code/files", "file_set", file_value={"path": f"{base}/source_code/files"})
        )
        listing = [
            {
                "filePath": "s3://bucket/train/a.csv",
                "fileHash": "abc",
                "type": "S3",
                "size": 10,
                "metadata": {"k": "v"},
            },
            {
                "filePath": "s3://bucket/train/b.csv",
                "fileHash": "def",
                "type": "S3",
                "size": 20,
                "metadata": {},
            },
        ]
        files_list = attach(export, p, f"{base}/data/train/files_list.json", json.dumps(listing).encode())
        part1.append(row(p, run, "data/train", "artifact", file_value=files_list))
        write_part(export, p, run, 0, part0)
        write_part(export, p, run, 1, part1)


def write_export(root: Path) -> Export:
    """The realistic export under ``root`` (``data/`` and ``files/``)."""
    export = Export(root, root / "data", root / "files", root / "outside" / "secret.txt")
    export.outside.parent.mkdir(parents=True, exist_ok=True)
    export.outside.write_bytes(b"a secret the import must never read")
    write_new_project(export)
    write_legacy_project(export)
    return export


def decimal_steps(unscaled: Any) -> pa.Array:
    """A decimal128(18, 6) column from int64 unscaled values (fixed-point steps), built from
    its buffer: casting int64 to it would need more precision than 18 digits."""
    import numpy as np

    words = np.stack([unscaled, unscaled >> 63], axis=1).astype("<i8")
    return pa.Array.from_buffers(pa.decimal128(18, 6), len(unscaled), [None, pa.py_buffer(words.tobytes())])


def write_big_export(
    root: Path, rows: int, *, runs: int = 4, metrics: int = 10, part_rows: int = 2_000_000
) -> Export:
    """``rows`` float-series rows over ``runs`` 3.x runs of ``metrics`` series each."""
    import numpy as np

    export = Export(root, root / "data", root / "files", root / "outside")
    per_run = rows // runs
    steps_per_metric = per_run // metrics
    for r in range(runs):
        run = f"big-{r}"
        meta = pa.Table.from_pylist(
            sys_rows(
                NEW,
                run,
                custom_run_id=("string", run),
                creation_time=("datetime", T0),
                experiment__name=("string", "big"),
            ),
            schema=SCHEMA,
        )
        folder = export.data / sanitize(NEW)
        folder.mkdir(parents=True, exist_ok=True)
        series_per_part = max(1, part_rows // steps_per_metric)
        chunks = [
            list(range(m, min(m + series_per_part, metrics))) for m in range(0, metrics, series_per_part)
        ]
        for n, chunk in enumerate(chunks):
            tables = [meta] if n == 0 else []
            for m in chunk:
                steps = np.arange(steps_per_metric, dtype=np.int64)
                values = np.sin(steps / 100.0 + m)
                stamps = (T0.timestamp() * 1000 + steps * 100).astype("datetime64[ms]")
                k = len(steps)
                tables.append(
                    pa.table(
                        {
                            "project_id": pa.array([NEW] * k, pa.string())
                            .dictionary_encode()
                            .cast(pa.string()),
                            "run_id": pa.array([run] * k, pa.string()),
                            "attribute_path": pa.array([f"train/metric_{m}"] * k, pa.string()),
                            "attribute_type": pa.array(["float_series"] * k, pa.string()),
                            "step": decimal_steps(steps * 1_000_000),
                            "timestamp": pa.array(stamps, pa.timestamp("ms")).cast(
                                pa.timestamp("ms", tz="UTC")
                            ),
                            "int_value": pa.nulls(k, pa.int64()),
                            "float_value": pa.array(values),
                            "string_value": pa.nulls(k, pa.string()),
                            "bool_value": pa.nulls(k, pa.bool_()),
                            "datetime_value": pa.nulls(k, pa.timestamp("ms", tz="UTC")),
                            "string_set_value": pa.nulls(k, pa.list_(pa.string())),
                            "file_value": pa.nulls(k, SCHEMA.field("file_value").type),
                            "histogram_value": pa.nulls(k, SCHEMA.field("histogram_value").type),
                        },
                        schema=SCHEMA,
                    )
                )
            pq.write_table(
                pa.concat_tables(tables), folder / f"{sanitize(run)}_part_{n}.parquet", compression="snappy"
            )
    return export

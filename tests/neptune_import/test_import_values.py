"""Every value of a generated export, read back through naiad's API, equals the Parquet files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from _neptune_export import LEGACY_OFFSET, NEW, OLD, Export
from _truth import bits, fixed, float_points, rows_of

import naiad
from naiad import query

pytestmark = pytest.mark.backends("sqlite", "postgres")

PARAMETERS = {"float", "int", "string", "bool", "datetime", "string_set"}
SYS_MAPPED = {
    "sys/creation_time",
    "sys/modification_time",
    "sys/ping_time",
    "sys/owner",
    "sys/hostname",
    "sys/tags",
    "sys/group_tags",
    "sys/description",
    "sys/failed",
    "sys/trashed",
    "sys/running_time",
    "sys/experiment/is_head",
}
SHAPING = {"sys/custom_run_id", "sys/experiment/name", "sys/forking/parent", "sys/forking/step"}
RUNS = [(NEW, r, r) for r in ("sb-root", "sb-mid", "sb-leaf", "sb-orphan")] + [
    (OLD, "LEG-1", "legacy-baseline"),
    (OLD, "LEG-2", "LEG-2"),
]


@pytest.fixture
def imported(export: Export, store: Any, cli: Any) -> Export:
    status, _, err = cli(
        "--store", store, "import", "neptune", export.data, export.files, "--legacy-utc-offset", "+02:00"
    )
    assert status == 0, err
    return export


def _file_bytes(export: Export, project: str, relative: str) -> bytes:
    from naiad._importer import sanitize

    target = export.files / sanitize(project) / relative
    if target.is_dir():
        (target,) = [p for p in target.rglob("*") if p.is_file()]
    return target.read_bytes()


def _same(kind: str, got: Any, want: Any) -> None:
    if kind == "float":
        assert bits(got) == bits(want)
    elif kind == "string_set":
        assert got == set(want)
    elif kind == "running_time":
        assert got == float(want)
    else:
        assert got == want and type(got) is type(want)


@pytest.mark.parametrize(("project", "run_id", "name"), RUNS)
def test_every_attribute_reads_back_as_exported(
    imported: Export, store: Any, project: str, run_id: str, name: str, tmp_path: Path
) -> None:
    """Each parameter, sys value, series point (step, value bits, timestamp) and file of the
    run is what its Parquet rows say, read with naiad.Run(mode="read-only")."""
    shift_ms = int(LEGACY_OFFSET.total_seconds() * 1000) if project == OLD else 0
    run = naiad.Run(run_id=name, project=project, store=store, mode="read-only")
    try:
        checked = 0
        grouped = rows_of(imported, project, run_id)
        valued = {
            path
            for (path, _), rows in grouped.items()
            for r in rows
            if any(r[c] is not None for c in r if c.endswith("_value"))
        }
        for (path, kind), rows in grouped.items():
            value_rows = [r for r in rows if any(r[c] is not None for c in r if c.endswith("_value"))]
            if kind in PARAMETERS:
                if not value_rows:  # padding, or a NaN parameter written as null: nothing stored
                    assert path in valued or not run.exists(path), path
                    continue
                (row,) = value_rows
                column = {"int": "int_value", "bool": "bool_value"}.get(kind, f"{kind}_value")
                want = row[column]
                if path in SHAPING:
                    continue
                target = (
                    path if path in SYS_MAPPED or not path.startswith("sys/") else f"import/neptune/{path}"
                )
                _same("running_time" if path == "sys/running_time" else kind, run[target].fetch(), want)
            elif kind == "float_series":
                frame = run[path].fetch_values(lineage_to_the_root=False)
                got = [
                    (round(s * 1_000_000), bits(v), round(t.value / 1e6))
                    for s, v, t in zip(frame["step"], frame["value"], frame["timestamp"])
                ]
                assert got == float_points(rows, shift_ms), path
            elif kind in ("string_series", "histogram_series"):
                frame = run[path].fetch_values(lineage_to_the_root=False)
                want_rows = sorted(rows, key=lambda r: r["step"])
                assert [round(s * 1_000_000) for s in frame["step"]] == [fixed(r["step"]) for r in want_rows]
                stamps = [round(t.value / 1e6) for t in frame["timestamp"]]
                assert stamps == [round(r["timestamp"].timestamp() * 1000) - shift_ms for r in want_rows]
                for got, r in zip(frame["value"], want_rows):
                    if kind == "string_series":
                        assert got == r["string_value"]
                    else:
                        h = r["histogram_value"]
                        assert got["bin_edges"] == h["edges"]
                        key = "counts" if h["type"] == "COUNTING" else "densities"
                        assert [float(x) for x in got[key]] == h["values"]
            elif kind in ("file", "file_set"):
                named = [
                    r for r in value_rows if r["file_value"]["path"] and ".." not in r["file_value"]["path"]
                ]
                if not named:
                    assert not run.exists(path), path
                    continue
                (row,) = named
                written = run[path].download(tmp_path / f"{checked}.out")
                assert Path(written).read_bytes() == _file_bytes(imported, project, row["file_value"]["path"])
                meta = run[path].fetch()
                if project == OLD and kind == "file":  # no extension in 2.x: sniffed from the content
                    assert meta["name"] == "weights.png" and meta["mime"] == "image/png"
            elif kind == "file_series":
                frame = run[path].fetch_values(lineage_to_the_root=False)
                named = sorted((r for r in value_rows if r["file_value"]), key=lambda r: r["step"])
                assert [round(s * 1_000_000) for s in frame["step"]] == [fixed(r["step"]) for r in named]
                for meta, r in zip(frame["value"], named):
                    content = _file_bytes(imported, project, r["file_value"]["path"])
                    assert meta["sha256"] == hashlib.sha256(content).hexdigest()
            elif kind == "artifact":
                listing = json.loads(_file_bytes(imported, project, rows[0]["file_value"]["path"]))
                manifest = run[path].fetch()
                assert [f["path"] for f in manifest["files"]] == [item["filePath"] for item in listing]
                assert [f["size"] for f in manifest["files"]] == [item["size"] for item in listing]
            else:  # pragma: no cover - the generator writes no other type
                raise AssertionError(kind)
            checked += 1
        assert checked >= 8
        assert run["import/neptune/project_id"].fetch() == project
        assert run["import/neptune/run_id"].fetch() == run_id
    finally:
        run.close()


def test_nan_infinities_and_negative_zero_are_bit_exact(imported: Export, store: Any) -> None:
    """NaN written as null by the exporter, NaN with a payload, ±inf and -0.0 keep their bits."""
    run = naiad.Run(run_id="sb-root", project=NEW, store=store, mode="read-only")
    frame = run["train/loss"].fetch_values(lineage_to_the_root=False).set_index("step")
    assert bits(frame.loc[3.0, "value"]).hex() == "000000000000f87f"
    assert bits(frame.loc[4.0, "value"]).hex() == "efbeadde0000f87f"  # the payload survives
    assert frame.loc[5.0, "value"] == float("inf") and frame.loc[6.0, "value"] == float("-inf")
    assert bits(frame.loc[7.0, "value"]) == bits(-0.0)
    assert bits(run["config/neg_zero"].fetch()) == bits(-0.0)
    micro = run["train/micro"].fetch_values(lineage_to_the_root=False)
    assert [round(s * 1e6) for s in micro["step"][:3]] == [1_000_001, 1_000_002, 1_000_003]
    run.close()


def test_legacy_runs_are_named_and_shifted_back_to_utc(imported: Export, store: Any) -> None:
    """2.x: named by sys/custom_run_id else sys/id, series times moved back by the offset."""
    runs = set(query.list_runs(project=OLD, store=store, trashed=None))
    assert runs == {"legacy-baseline", "LEG-2"}
    assert query.list_runs(project=OLD, store=store) == ["legacy-baseline"]  # LEG-2 was trashed
    run = naiad.Run(run_id="legacy-baseline", project=OLD, store=store, mode="read-only")
    created = run["sys/creation_time"].fetch()
    first = run["metrics/acc"].fetch_values(lineage_to_the_root=False)["timestamp"][0]
    # the point was logged 7 ms after creation: the 2 h the exporter added are gone
    assert round(first.value / 1e6) - round(created.timestamp() * 1000) == 7
    assert run["import/neptune/sys/id"].fetch() == "LEG-1"
    assert run["sys/hostname"].fetch() == "gpu-box-7"
    run.close()

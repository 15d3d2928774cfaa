"""Media for the UI: image files and file series (thumbnails, step sliders, a gallery across
runs), histogram series (a heatmap over steps and one step's bars), and file previews.

An image is served inline only when its first bytes say it is PNG, JPEG, GIF or WebP: the
stored name and MIME type are the logger's claims, the bytes are what a browser would
render. Anything else is served as a download (``/api/file``); text, CSV and HTML are
fetched by the page and shown as text, a table, or inside a sandboxed frame without scripts.
"""

from __future__ import annotations

from typing import Any

from .._read import decode, lineage, other_series
from .._storage import RunStore
from .._types import STEP_SCALE, FieldType
from ..errors import FieldNotFound
from ._data import find, jsonable

MAX_ENTRIES = 2000  # steps of one file series listed for a slider
MAX_HIST_STEPS = 400  # histogram steps sent for a heatmap (evenly picked when more)
PREVIEW_BYTES = 256 * 1024
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".gif", ".webp")
_TEXT_EXT = {
    ".txt": "text",
    ".log": "text",
    ".md": "text",
    ".json": "text",
    ".yaml": "text",
    ".yml": "text",
    ".py": "text",
    ".csv": "csv",
    ".tsv": "csv",
    ".html": "html",
    ".htm": "html",
}


def image_type(head: bytes) -> str | None:
    """The image MIME type the first bytes prove, or None."""
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def kind(meta: dict[str, Any]) -> str:
    """How the page previews a file: ``image``, ``text``, ``csv``, ``html`` or ``file``."""
    name = str(meta.get("name") or "").lower()
    mime = str(meta.get("mime") or "").lower()
    if (mime.startswith("image/") and mime != "image/svg+xml") or name.endswith(_IMAGE_EXT):
        return "image"
    ext = name[name.rfind(".") :] if "." in name else ""
    if ext in _TEXT_EXT:
        return _TEXT_EXT[ext]
    if mime == "text/html":
        return "html"
    if mime == "text/csv":
        return "csv"
    if mime.startswith("text/") or mime == "application/json":
        return "text"
    return "file"


def media_of(store: RunStore, project: str, run_id: str) -> list[dict[str, Any]]:
    """A run's files and file series with how to preview them (series: their steps)."""
    rec = find(store, project, run_id)
    out = []
    for f in store.fields(rec.pk):
        if f.type == FieldType.FILE:
            meta = decode(f.type, f.value) or {}
            out.append(
                {
                    "path": f.path,
                    "series": False,
                    "kind": kind(meta),
                    "name": meta.get("name"),
                    "size": meta.get("size"),
                    "steps": None,
                }
            )
        elif f.type == FieldType.FILE_SERIES:
            points = store.points(rec.pk, f.path, None)[-MAX_ENTRIES:]
            metas = [decode(f.type, raw) or {} for _, _, raw in points]
            kinds = {kind(m) for m in metas}
            out.append(
                {
                    "path": f.path,
                    "series": True,
                    "kind": kinds.pop() if len(kinds) == 1 else "file",
                    "name": metas[-1].get("name") if metas else None,
                    "size": metas[-1].get("size") if metas else None,
                    "steps": [s / STEP_SCALE for s, _, _ in points],
                }
            )
        elif f.type == FieldType.HISTOGRAM_SERIES:
            out.append(
                {
                    "path": f.path,
                    "series": True,
                    "kind": "histogram",
                    "count": f.count,
                    "name": None,
                    "size": None,
                    "steps": None,
                }
            )
    return out


def gallery(store: RunStore, project: str, runs: list[str]) -> dict[str, Any]:
    """Image files and series of several runs: ``{paths: [{path, runs: {run: steps|None}}]}``."""
    paths: dict[str, dict[str, Any]] = {}
    for run in runs:
        for m in media_of(store, project, run):
            if m["kind"] == "image":
                paths.setdefault(m["path"], {})[run] = m["steps"]
    return {"runs": runs, "paths": [{"path": p, "runs": r} for p, r in sorted(paths.items())]}


def histograms(store: RunStore, project: str, run_id: str, path: str) -> dict[str, Any]:
    """A histogram series along the lineage: steps, and each step's bin edges and values."""
    rec = find(store, project, run_id)
    chain = lineage(store, rec)
    field = store.field(rec.pk, path)
    if field is None or field.type != FieldType.HISTOGRAM_SERIES:
        raise FieldNotFound(f"Run '{run_id}' has no histogram series '{path}'.")
    cols = other_series(store, chain, path, field.type, (None, None), None)
    steps = [s / STEP_SCALE for s in cols["step"].tolist()]
    values = list(cols["value"].tolist())
    if len(steps) > MAX_HIST_STEPS:
        pick = sorted({round(i * (len(steps) - 1) / (MAX_HIST_STEPS - 1)) for i in range(MAX_HIST_STEPS)})
        steps, values = [steps[i] for i in pick], [values[i] for i in pick]
    out = []
    for raw in values:
        h = raw if isinstance(raw, dict) else decode(field.type, raw)
        counts = h.get("counts") if h.get("counts") is not None else h.get("densities")
        out.append(
            {
                "edges": jsonable(h.get("bin_edges")),
                "values": jsonable(counts),
                "density": h.get("counts") is None,
            }
        )
    return {"run": run_id, "path": path, "steps": steps, "histograms": out, "count": field.count}


MAX_IMAGE_BYTES = 32 * 1024 * 1024

"""Neptune's ``sys`` namespace onto naiad's.

Mapped: creation, modification and ping time, owner, hostname, tags, group tags,
description, failed, trashed, running time, and the experiment (its name opens the run; its
head flag is written as exported). The run's id, experiment name and fork parent and step
shape the run itself (its name, experiment and lineage). Every other ``sys`` attribute is
kept as it was, under ``import/neptune/sys/...``, beside ``import/neptune/project_id`` and
``import/neptune/run_id``.
"""

from __future__ import annotations

from .. import _sys
from .._types import FieldType

PREFIX = "import/neptune"
PROJECT_ID = f"{PREFIX}/project_id"
RUN_ID = f"{PREFIX}/run_id"
PARTS = f"{PREFIX}/parts"  # the part numbers already imported: a second import skips them

_DATETIME, _STRING, _BOOL = frozenset({"datetime"}), frozenset({"string"}), frozenset({"bool"})
# Neptune path -> (naiad path, the naiad type, the Neptune attribute types it is taken from)
MAPPED: dict[str, tuple[str, FieldType, frozenset[str]]] = {
    "sys/creation_time": (_sys.CREATION_TIME, FieldType.DATETIME, _DATETIME),
    "sys/modification_time": (_sys.MODIFICATION_TIME, FieldType.DATETIME, _DATETIME),
    "sys/ping_time": (_sys.PING_TIME, FieldType.DATETIME, _DATETIME),
    "sys/owner": (_sys.OWNER, FieldType.STRING, _STRING),
    "sys/hostname": (_sys.HOSTNAME, FieldType.STRING, _STRING),
    "sys/tags": (_sys.TAGS, FieldType.STRING_SET, frozenset({"string_set"})),
    "sys/group_tags": (_sys.GROUP_TAGS, FieldType.STRING_SET, frozenset({"string_set"})),
    "sys/description": (_sys.DESCRIPTION, FieldType.STRING, _STRING),
    "sys/failed": (_sys.FAILED, FieldType.BOOLEAN, _BOOL),
    "sys/trashed": (_sys.TRASHED, FieldType.BOOLEAN, _BOOL),
    "sys/running_time": (_sys.RUNNING_TIME, FieldType.FLOAT, frozenset({"float", "int"})),
    "sys/experiment/is_head": (_sys.EXPERIMENT_IS_HEAD, FieldType.BOOLEAN, _BOOL),
}
# what shapes the run (its id, experiment and lineage) rather than being a field of it
STRUCTURE: dict[str, frozenset[str]] = {
    "sys/custom_run_id": _STRING,
    "sys/experiment/name": _STRING,
    "sys/forking/parent": _STRING,
    "sys/forking/step": frozenset({"float", "int"}),
}


def target(path: str, attribute_type: str) -> tuple[str, FieldType | None] | None:
    """Where an exported attribute goes: (naiad path, the type a mapped ``sys`` field takes,
    else None); None when the attribute shapes the run instead of being stored."""
    if not _sys.is_sys(path):
        return path, None
    mapped = MAPPED.get(path)
    if mapped is not None and attribute_type in mapped[2]:
        return mapped[0], mapped[1]
    if attribute_type in STRUCTURE.get(path, ()):
        return None
    return f"{PREFIX}/{path}", None

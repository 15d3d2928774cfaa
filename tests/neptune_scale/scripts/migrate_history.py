"""Migration: copy runs exported from another tracker (a JSON history) into Neptune runs."""

import json
import sys
from datetime import datetime

from naiad.neptune_scale import Run
from naiad.neptune_scale.exceptions import NeptuneSeriesStepNonIncreasing, NeptuneSeriesTimestampDecreasing
from naiad.neptune_scale.projects import create_project

SUPPORTED_DATATYPES = [int, float, str, datetime, bool, list, set]
warnings_seen = []


def stringify_unsupported(d, parent_key="", sep="/"):
    items = {}
    for k, v in d.items():
        new_key = f"{parent_key}{sep}{k}" if parent_key else k
        if isinstance(v, dict):
            items |= stringify_unsupported(v, new_key, sep=sep)
        else:
            items[new_key] = v if type(v) in SUPPORTED_DATATYPES else str(v)
    return items


def copy_run(exported, project):
    def _error_callback(exc: BaseException, ts: float | None) -> None:
        if isinstance(exc, (NeptuneSeriesStepNonIncreasing, NeptuneSeriesTimestampDecreasing)):
            warnings_seen.append(f"{exported['id']}: {type(exc).__name__}")
        else:
            neptune_run.close()

    with Run(
        run_id=exported["id"],
        project=project,
        experiment_name=exported["name"],
        creation_time=datetime.fromisoformat(exported["created_at"].replace("Z", "+00:00")),
        on_error_callback=_error_callback,
    ) as neptune_run:
        if exported.get("notes"):
            neptune_run.log_configs({"sys/description": exported["notes"]})
        if exported.get("group"):
            neptune_run.add_tags([exported["group"]], group_tags=True)
        neptune_run.add_tags(exported["tags"])
        for key, value in stringify_unsupported(exported["config"]).items():
            neptune_run.log_configs({f"config/{key}": value})
        for record in exported["history"]:
            ts = datetime.fromtimestamp(record["_timestamp"]) if record.get("_timestamp") else None
            for key, value in record.items():
                if value is None or key.startswith("_"):
                    continue
                neptune_run.log_metrics(
                    {key: value},
                    step=record.get("epoch") or record.get("_step"),
                    timestamp=ts,
                )
        neptune_run.wait_for_processing()
        print(f"Copied {exported['id']} to {neptune_run._project}")


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        exported_runs = json.load(f)
    project = create_project(name="team-alpha/imported", description="Exported from another tracker")
    for exported in exported_runs:
        copy_run(exported, project)
    print("WARNINGS", len(warnings_seen))

"""Create a project, then log a run into it; the project name is the naiad project."""

from naiad.neptune_scale import Run
from naiad.neptune_scale.projects import create_project

project = create_project(name="vision", workspace="team-beta")
print("PROJECT", project)
with Run(project=project, run_id="in-new-project", experiment_name="vision-1") as run:
    run.log_metrics({"loss": 0.25}, step=1)
    run.log(step=2, metrics={"loss": 0.125}, configs={"lr": 0.1}, tags_add={"sys/tags": ["legacy-log"]})

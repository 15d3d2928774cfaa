"""Compare runs in a project table, as Neptune's "fetch runs table" guide does."""

import naiad.neptune as neptune

for i, lr in enumerate([0.1, 0.01, 0.001]):
    run = neptune.init_run(custom_run_id=f"sweep-{i}", tags=["sweep", "baseline" if i == 0 else "trial"])
    run["parameters/lr"] = lr
    for step in range(3):
        run["train/loss"].append(lr * (3 - step), step=step)
    run.stop()

project = neptune.init_project(project="team-alpha/seabird", mode="read-only")
runs_df = project.fetch_runs_table(tag="sweep").to_pandas()
print("columns", sorted(c for c in runs_df.columns if not c.startswith("sys/")))
print("ids", sorted(runs_df["sys/id"].tolist()))
print("states", sorted(set(runs_df["sys/state"])))
best = runs_df.sort_values("train/loss").iloc[0]
print("best", best["sys/id"], best["parameters/lr"])
trials = project.fetch_runs_table(tag=["sweep", "trial"], columns=["parameters/lr"]).to_pandas()
print("trials", list(trials.columns), sorted(trials["parameters/lr"].tolist()))
first_id = runs_df["sys/id"].iloc[-1]
print("by id", project.fetch_runs_table(id=first_id).to_pandas()["sys/id"].tolist() == [first_id])
project.stop()

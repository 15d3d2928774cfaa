"""Open an existing run read-only and read its metadata, as Neptune's "fetch" guide does."""

import naiad.neptune as neptune

run = neptune.init_run(custom_run_id="fetch-1", mode="sync")
run["parameters"] = {"lr": 0.01, "model": {"depth": 3, "act": "relu"}}
for step in range(4):
    run["metrics/acc"].append(0.5 + step / 10, step=step)
run.stop()

run = neptune.init_run(with_id="fetch-1", mode="read-only")
print("state", run["sys/state"].fetch())
print("params", run["parameters"].fetch())
print("depth", run["parameters/model/depth"].fetch())
values = run["metrics/acc"].fetch_values()
print("columns", list(values.columns))
print("steps", values["step"].tolist())
print("naive", values["timestamp"].dt.tz is None)
print("exists", run.exists("metrics/acc"), run.exists("metrics/nope"))
run.print_structure()
run.stop()

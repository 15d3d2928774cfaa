"""Resume a run in a second process by its Neptune id (sys/id) and keep logging."""

import sys

import naiad.neptune as neptune

if sys.argv[1] == "create":
    run = neptune.init_run(custom_run_id="resume-1", tags=["resumable"])
    for step in range(5):
        run["train/loss"].append(1.0 / (step + 1), step=step)
    run["params/epochs"] = 5
    with open("run_id.txt", "w") as f:
        f.write(run["sys/id"].fetch())
    run.stop()
else:
    with open("run_id.txt") as f:
        run_id = f.read()
    run = neptune.init_run(with_id=run_id, capture_hardware_metrics=False)
    last = run["train/loss"].fetch_last()
    print("resumed", run["sys/id"].fetch(), "last loss", last)
    for step in range(5, 10):
        run["train/loss"].append(1.0 / (step + 1), step=step)
    run["params/epochs"] = 10
    run.stop()

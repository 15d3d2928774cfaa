"""A training script that crashes inside `with init_run()`: the run is stopped and marked failed."""

import naiad.neptune as neptune

with neptune.init_run(custom_run_id="crash-1") as run:
    run["params/lr"] = 10.0
    for step in range(3):
        run["train/loss"].append(1.0 * 10**step)
    raise FloatingPointError("loss diverged")

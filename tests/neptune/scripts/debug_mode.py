"""mode="debug": the script runs through and nothing is stored."""

import naiad.neptune as neptune

run = neptune.init_run(custom_run_id="debug-1", mode="debug")
run["parameters/lr"] = 0.1
for i in range(3):
    run["loss"].append(1.0 / (i + 1))
run.stop()
print("debug done")

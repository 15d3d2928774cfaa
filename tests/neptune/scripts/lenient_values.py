"""What Neptune 1.x let through: numpy scalars, unsupported values skipped, a step back dropped."""

import numpy as np

import naiad.neptune.new as neptune

run = neptune.init_run(custom_run_id="lenient-1")
run["config"] = {"lr": np.float32(0.5), "epochs": np.int64(3), "scheduler": None, "name": "cosine"}
run["config/epochs"] = 4.0  # a float into the Integer field
run["config/callbacks"] = [print]  # unsupported: skipped with a warning
run["metrics"].append({"loss": 0.9, "acc": np.float64(0.1)}, step=1)
run["metrics"].append({"loss": 0.5, "acc": 0.4}, step=2)
run["metrics/loss"].append(0.7, step=1)  # a step that goes back: dropped with a warning
run["metrics/loss"].extend([0.4, 0.3], steps=[3, 4])
run["flags/ok"] = np.bool_(True)
run.stop()
print("done")

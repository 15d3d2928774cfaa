"""Neptune's offline mode: log with no connection, then sync (`neptune sync` → `naiad sync`)."""

import naiad.neptune as neptune

run = neptune.init_run(custom_run_id="offline-1", mode="offline", tags=["offline"])
run["parameters"] = {"lr": 0.3, "batch_size": 32}
for epoch in range(5):
    run["train/acc"].append(0.5 + epoch / 10)
run.stop()
print("logged offline")

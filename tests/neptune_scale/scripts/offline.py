"""Offline mode (NEPTUNE_MODE=offline): data waits in a local journal until `naiad sync`."""

import os

from naiad.neptune_scale import Run

run = Run(run_id=os.environ.get("RUN_ID", "offline-1"), experiment_name="offline-demo")
run.log_configs({"config/mode": os.environ.get("NEPTUNE_MODE", "async")})
for step in range(5):
    run.log_metrics({"train/loss": 1.0 - step / 10}, step=step)
run.close()

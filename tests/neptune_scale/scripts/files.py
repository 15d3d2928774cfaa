"""Files: a config file, bytes with a MIME type, and a prediction file series per epoch."""

import json
from pathlib import Path

import numpy as np

from naiad.neptune_scale import Run
from naiad.neptune_scale.types import File

out = Path("outputs")
out.mkdir(exist_ok=True)
(out / "config.json").write_text(json.dumps({"lr": 0.01, "epochs": 3}))

with Run(run_id="files-1", experiment_name="files-demo") as run:
    run.assign_files(
        {
            "config/file": "outputs/config.json",
            "model/summary": File(source=b"Linear(8 -> 1)\n", mime_type="text/plain"),
            "model/card": File(source=Path("outputs/config.json"), mime_type="application/json", size=999),
            "missing/file": "outputs/does-not-exist.bin",
        }
    )
    rng = np.random.default_rng(0)
    for epoch in range(3):
        preds = out / f"predictions_{epoch}.csv"
        np.savetxt(preds, rng.random((4, 2)), delimiter=",")
        run.log_files(files={"predictions/val": str(preds)}, step=epoch)
        run.log_files(files={"predictions/raw": preds.read_bytes()}, step=epoch)

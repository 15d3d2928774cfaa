"""Handles as in Neptune's "logging" docs: namespaces, extend with dicts, log(), pop, fetch_last."""

import time

import naiad.neptune as neptune

with neptune.init_run(custom_run_id="handles-1", mode="async", flush_period=1) as run:
    assert isinstance(run, neptune.Run)
    train = run["train"]
    train["config"] = {"epochs": 3, "scheduler": "cosine"}
    start = time.time()
    train["metrics"].extend(
        {"loss": [0.9, 0.6, 0.4], "acc": [0.3, 0.6, 0.8]},
        steps=[1, 2, 3],
        timestamps=[start, start + 1, start + 2],
        wait=True,
    )
    run["eval/loss"].log(0.5)
    run["eval/loss"].log([0.45, 0.4])
    run["tmp/scratch"] = "delete me"
    run.pop("tmp/scratch")
    run["notes"].append("epoch 1 ok")
    run["notes"].append("epoch 2 ok", step=5)
    run.wait()
    print("last", run["train/metrics/loss"].fetch_last(), run["notes"].fetch_last())
    print("exists", run.exists("tmp/scratch"), "train/config/epochs" in run)
    print("structure", run.get_structure()["train"]["metrics"])

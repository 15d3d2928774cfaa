"""The run object's own methods: rename, describe, assign at the root, sync, get_url, reopen by sys/id."""

import naiad.neptune as neptune

run = neptune.init_run(custom_run_id="methods-1", name="baseline")
run["sys/name"] = "baseline, lr 0.1"  # renames the run; the experiment stays "baseline"
run["sys/description"] = "first try"
run.assign({"parameters": {"lr": 0.1, "momentum": 0.9}, "data": {"rows": 100}}, wait=True)
assert run.get_root_object() is run
run["train/acc"].extend([0.5, 0.6, 0.7])
run["scratch"] = 1
del run["scratch"]
run.sync()
print("url", run.get_url())
sys_id = run["sys/id"].fetch()
run.stop()

again = neptune.Run(with_id=sys_id, mode="read-only")
print("name", again["sys/name"].fetch())
print("experiment", again["sys/experiment/name"].fetch())
print("state", again["sys/state"].fetch(), "failed", again["sys/failed"].fetch())
print("root", sorted(k for k in again.fetch() if k != "source_code"))
print("acc", again["train/acc"].fetch_last())
again.stop()

"""Neptune's quickstart: parameters, a loss series, a score, tags (neptune 1.x style)."""

import naiad.neptune as neptune

run = neptune.init_run(
    project="team-alpha/seabird",
    api_token=neptune.ANONYMOUS_API_TOKEN,
    custom_run_id="hello-1",
    tags=["quickstart", "script"],
    dependencies="infer",
    source_files=["*.py"],
)

params = {"learning_rate": 0.001, "optimizer": "Adam"}
run["parameters"] = params

for epoch in range(10):
    run["train/loss"].append(0.9**epoch)

run["eval/f1_score"] = 0.66
run["sys/tags"].add(["extra"])
print(run.get_url())
run.stop()

"""init_run with every argument a real script passes, plus NEPTUNE_* variables for the rest."""

import os
from pathlib import Path

import naiad.neptune as neptune
from naiad.neptune.types import GitRef

Path("train.py").write_text("print('training')\n")
Path("utils.py").write_text("X = 1\n")
run = neptune.init_run(
    project=os.environ["NEPTUNE_PROJECT"],
    api_token=os.environ["NEPTUNE_API_TOKEN"],
    name="all-arguments",
    description="every init_run argument",
    tags="single-tag",
    source_files=["*.py"],
    capture_stdout=True,
    capture_stderr=False,
    capture_hardware_metrics=False,
    capture_traceback=True,
    git_ref=GitRef.DISABLED,
    dependencies="infer",
    flush_period=0.5,
    proxies={"https": "http://proxy.local:3128"},
    monitoring_namespace="monitoring/main",
    fail_on_exception=True,
)  # the custom run id and the mode come from NEPTUNE_CUSTOM_RUN_ID and NEPTUNE_MODE
print("hello from the script")
run["score"] = 1.0
run.stop()

off = neptune.init_run(custom_run_id="no-source", source_files=[], git_ref=False)
off["score"] = 2.0
off.stop()

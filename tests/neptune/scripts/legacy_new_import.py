"""A 0.16-era script: `import neptune.new as neptune`, submodule imports, a with block."""

import naiad.neptune.new as neptune
from naiad.neptune.new.types import File
from naiad.neptune.new.utils import stringify_unsupported

with neptune.init_run(custom_run_id="legacy-1", tags=["legacy"]) as run:
    assert isinstance(run, neptune.Run)
    run["params"] = stringify_unsupported({"layers": (32, 16), "dropout": None, "lr": 0.01})
    run["model/card"].upload(File.from_content("two dense layers"))
    for loss in (0.9, 0.5, 0.3):
        run["train/loss"].log(loss)
print("done")

"""neptune.types.File: content, streams, pickles, images, and a file downloaded back."""

import io

import numpy as np

import naiad.neptune as neptune
from naiad.neptune.types import File

run = neptune.init_run(custom_run_id="files-1")
run["notes/readme"].upload(File.from_content("trained on the seabird set\n"))
run["data/sample"].upload(File.from_content(b"a,b\n1,2\n", extension="csv"))
run["data/stream"].upload(File.from_stream(io.StringIO("streamed text"), extension="txt"))
run["model/pickled"].upload(File.as_pickle({"weights": [1, 2, 3]}))
run["images/gray"] = File.as_image(np.arange(16, dtype=np.uint8).reshape(4, 4) * 16)
run["not/a/file"].upload(object())  # skipped with a warning
run.wait()
run["notes/readme"].download("downloads")
run.stop()

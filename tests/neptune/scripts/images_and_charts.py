"""Neptune's "log images and charts" guide: PIL, matplotlib, numpy and torch, explicit and implicit."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from PIL import Image

import naiad.neptune as neptune
from naiad.neptune.types import File

run = neptune.init_run(custom_run_id="images-1")

fig, ax = plt.subplots(figsize=(2, 2))
ax.plot([1, 2, 3], [3, 1, 2])
run["charts/line"].upload(fig)  # a figure uploads as a PNG
run["charts/line_html"].upload(File.as_html(fig))
run["charts/line_image"] = File.as_image(fig)

pil = Image.new("RGB", (5, 3), color=(255, 0, 0))
run["images/pil"].upload(pil)
run["images/from_array"].upload(File.as_image(np.full((6, 7), 0.5)))
run["images/tensor"].upload(torch.zeros(3, 4, 5))  # channels first, as torch keeps images

frame = pd.DataFrame({"epoch": [1, 2], "acc": [0.7, 0.8]})
run["tables/metrics"].upload(File.as_html(frame))
run["tables/implicit"].upload(frame)  # a DataFrame uploads as HTML

for i in range(3):
    digit = np.full((4, 4), i * 60, dtype=np.uint8)
    run["train/misclassified"].append(digit, name=f"digit {i}", description=f"predicted {i + 1}")
run["train/predictions"].append(File.as_image(np.eye(3)), step=10)
run["train/predictions"].append(pil, step=11)
run["train/predictions"].append(File.create_from(fig), step=12)
plt.close(fig)
run.wait()

run["train/misclassified"].download_last("last")
run["images/pil"].download("got")
print("extensions", run["charts/line"].fetch_extension(), run["tables/metrics"].fetch_extension())
run.stop()

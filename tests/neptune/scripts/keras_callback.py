"""Neptune's Keras example: a small dense model, NeptuneCallback, then evaluation written by hand."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np

import naiad.neptune as neptune
from naiad.neptune.integrations.tensorflow_keras import NeptuneCallback

keras.utils.set_random_seed(0)
x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
y = (x.sum(axis=1) > 0).astype("float32")

run = neptune.init_run(custom_run_id="keras-1", tags=["keras", "dense"])
params = {"lr": 0.01, "epochs": 3, "batch_size": 16}
run["parameters"] = params
model = keras.Sequential(
    [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1, activation="sigmoid")]
)
model.compile(optimizer=keras.optimizers.Adam(params["lr"]), loss="binary_crossentropy", metrics=["accuracy"])
neptune_cbk = NeptuneCallback(run=run, base_namespace="training")
model.fit(
    x,
    y,
    epochs=params["epochs"],
    batch_size=params["batch_size"],
    validation_split=0.25,
    callbacks=[neptune_cbk],
    verbose=0,
)
loss, acc = model.evaluate(x, y, verbose=0)
run["eval/loss"] = loss
run["eval/accuracy"] = acc
run.stop()
print("eval", round(acc, 4))

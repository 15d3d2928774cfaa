"""Keras 3 quickstart: fit a tiny regression model and log it to naiad.

Run it with ``python examples/keras_quickstart.py`` (about 15 s on a laptop CPU, mostly
importing Keras and torch). The data goes to ``./.naiad`` unless ``--store`` says otherwise.
It needs ``pip install 'naiad[keras]' torch``: Keras runs on its torch backend here.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")  # before Keras is imported

import keras
import numpy as np

import naiad
from naiad.integrations.keras import ModelCheckpoint, NaiadCallback


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=".naiad", help="store directory (default: ./.naiad)")
    parser.add_argument("--experiment", default="keras-quickstart", help="experiment name")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.01, help="Adam learning rate")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((512, 8), dtype=np.float32)
    y = x @ rng.random((8, 1), dtype=np.float32) + 0.1 * rng.standard_normal((512, 1), dtype=np.float32)

    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.Adam(args.lr), loss="mse", metrics=["mae"])

    naiad_cb = NaiadCallback(
        experiment_name=args.experiment,
        store=args.store,
        batch_size=32,
        log_every_n_batches=4,
        hyperparams={"hidden": 32},
    )
    with tempfile.TemporaryDirectory() as ckpt_dir, naiad_cb:
        model.fit(
            x,
            y,
            batch_size=32,
            epochs=args.epochs,
            validation_split=0.2,
            verbose=0,
            callbacks=[
                naiad_cb,
                ModelCheckpoint(str(Path(ckpt_dir) / "best.keras"), save_best_only=True),
                keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=1),
            ],
        )

    run = naiad.Run(run_id=naiad_cb.run.run_id, store=args.store, mode="read-only")
    training = run.fetch()["training"]
    print(f"run {run.run_id} ({run.sys_id}) in experiment {run.experiment_name!r}")
    print(f"stored at {run.store_location}")
    print(
        f"model: {training['model']['class']}, {training['model']['num_params']} parameters; "
        f"hyperparams: {training['hyperparams']}"
    )
    val = run["training/val/loss"].fetch_values(include_timestamp=False)
    print("val/loss by optimizer step:")
    for step, value in zip(val["step"], val["value"]):
        print(f"  {int(step):5d}  {value:.4f}")
    best = training["checkpoints"]["best"]
    print(f"best checkpoint at step {best['step']}: {best['monitor']} = {best['score']:.4f}")
    print(
        f"status: {training['summary']['status']}, "
        f"{len(run['training/train/loss'].fetch_values())} batch points logged"
    )
    run.close()


if __name__ == "__main__":
    main()

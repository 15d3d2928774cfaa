"""Train a small logistic-regression model with numpy and log it to naiad.

    python examples/quickstart.py [--store DIR] [--steps N]

Logs hyperparameters, train/validation loss and accuracy every step, the final weights as a
file, and tags; then reads the run back and prints where the data went.
"""

from __future__ import annotations

import argparse
import io

import numpy as np

import naiad


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", default=None, help="store directory (default: ./.naiad)")
    parser.add_argument("--steps", type=int, default=300, help="gradient steps (default: 300)")
    parser.add_argument("--lr", type=float, default=0.5, help="learning rate (default: 0.5)")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 20))
    true_w = rng.normal(size=20)
    y = (x @ true_w + rng.normal(scale=0.5, size=2000) > 0).astype(float)
    x_train, y_train, x_val, y_val = x[:1600], y[:1600], x[1600:], y[1600:]
    w = np.zeros(20)

    def log_loss(target: np.ndarray, prob: np.ndarray) -> float:
        return float(-np.mean(target * np.log(prob + 1e-12) + (1 - target) * np.log(1 - prob + 1e-12)))

    with naiad.Run(experiment_name="quickstart-logreg", store=args.store, tags=["numpy", "example"]) as run:
        run["params"] = {
            "learning_rate": args.lr,
            "steps": args.steps,
            "features": 20,
            "optimizer": "gradient descent",
        }
        for step in range(args.steps):
            p = 1 / (1 + np.exp(-(x_train @ w)))
            w -= args.lr * x_train.T @ (p - y_train) / len(y_train)
            pv = 1 / (1 + np.exp(-(x_val @ w)))
            run.log_metrics(
                {
                    "train/loss": log_loss(y_train, p),
                    "train/accuracy": float(np.mean((p > 0.5) == y_train)),
                    "val/loss": log_loss(y_val, pv),
                    "val/accuracy": float(np.mean((pv > 0.5) == y_val)),
                },
                step=step,
            )
        buffer = io.BytesIO()
        np.save(buffer, w)
        run["model/weights"].upload(naiad.File(buffer.getvalue(), name="weights.npy"))
        run.wait()
        val = run["val/accuracy"].fetch_values(include_timestamp=False)
        print(f"logged run {run.run_id} ({run.sys_id}) of experiment '{run.experiment_name}'")
        print(f"  store: {run.store_location}")
        print(
            f"  {len(val)} steps; final val/accuracy {val['value'].iloc[-1]:.3f}, "
            f"train/loss {run['train/loss'].fetch_last():.4f}"
        )
        print(f"  see it with: naiad show {run.run_id}" + (f" --store {args.store}" if args.store else ""))


if __name__ == "__main__":
    main()

"""Forking: a parent run, then a child forked at the best evaluation step that trains on."""

import math
import sys

from naiad.neptune_scale import Run

PARENT, CHILD = "forking-parent", "forking-child"


def train(run, start, stop, lr):
    best_step, best_loss = None, None
    for step in range(start, stop):
        loss = math.exp(-lr * step)
        run.log_metrics({"metrics/train/loss": loss, "metrics/train/lr": lr}, step=step)
        if step % 10 == 0:
            eval_loss = loss + 0.05 * math.sin(step)
            run.log_metrics({"metrics/eval/loss": eval_loss}, step=step)
            if best_loss is None or eval_loss < best_loss:
                best_step, best_loss = step, eval_loss
    return best_step


def main():
    with Run(experiment_name="forking-demo", run_id=PARENT) as parent:
        parent.log_configs({"config/lr": 0.01, "config/algo": "SGD"})
        parent.add_tags(["parent"])
        train(parent, 0, 100, lr=0.01)
    fork_step = 60
    child = Run(
        experiment_name="forking-demo",
        run_id=CHILD,
        fork_run_id=PARENT,
        fork_step=fork_step,
    )
    print("child forked at", child._fork_step, "run id", child._run_id)
    child.log_configs({"config/lr": 0.02})
    train(child, fork_step + 1, 120, lr=0.02)
    child.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

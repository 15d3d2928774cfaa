"""Error callbacks: bad points are dropped, reported to the callback, and training goes on."""

from naiad.neptune_scale import Run
from naiad.neptune_scale.exceptions import (
    NeptuneAttributeTypeMismatch,
    NeptuneScaleError,
    NeptuneSeriesStepNonIncreasing,
)

seen = []


def on_error(exc, last_seen_at):
    assert isinstance(exc, NeptuneScaleError)
    kind = "step" if isinstance(exc, NeptuneSeriesStepNonIncreasing) else type(exc).__name__
    if isinstance(exc, NeptuneAttributeTypeMismatch):
        kind = "type"
    seen.append(kind)


run = Run(run_id="callbacks-1", on_error_callback=on_error, on_warning_callback=lambda exc, ts: None)
for step in range(5):
    run.log_metrics({"train/loss": 1.0 / (step + 1), "train/acc": step / 10}, step=step)
# a restarted epoch logs steps again: those points are dropped, the new metric is kept
run.log_metrics({"train/loss": 0.9, "train/acc": 0.9, "train/new_metric": 7}, step=2)
run.log_metrics({"train/loss": "not a number", "train/acc": 0.95}, step=5)
run.log_configs({"params/batch_size": 32})
run.log_configs({"params/batch_size": 0.5})  # a float into an Integer field
run.log_string_series({"train/loss": "oops"}, step=6)
run.log_metrics({"train/loss": 0.1}, step=6)
run.close()
run.log_metrics({"after/close": 1.0}, step=7)  # ignored, as in neptune-scale
run.log_configs({"params/seen": ",".join(seen)})  # ignored too
print("SEEN", ",".join(seen))

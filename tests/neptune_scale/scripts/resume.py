"""Resume: the same run_id continues the run in a second process (as after a crash)."""

import argparse

from naiad.neptune_scale import Run

parser = argparse.ArgumentParser()
parser.add_argument("--start", type=int, default=0)
parser.add_argument("--stop", type=int, default=10)
args = parser.parse_args()

run = Run(run_id="resumable-7", experiment_name="resume-demo", resume=args.start > 0)
if args.start == 0:
    run.log_configs({"config/epochs": args.stop})
    run.add_tags(["first-attempt"])
else:
    run.add_tags(["resumed"])
    # a resumed training loop replays its last logged step: Neptune dropped it, so does naiad
    run.log_metrics({"train/loss": 1.0 / args.start}, step=args.start - 1)
    run.log_metrics({"train/loss": 123.0}, step=1)

for step in range(args.start, args.stop):
    run.log_metrics({"train/loss": 1.0 / (step + 1)}, step=step)
run.log_configs({"status/last_step": args.stop - 1})
run.wait_for_processing()
run.close()

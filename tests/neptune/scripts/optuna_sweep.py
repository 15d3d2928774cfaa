"""Neptune's Optuna example: a sweep logged with NeptuneCallback, then a study logged after the fact."""

import optuna

import naiad.neptune as neptune
import naiad.neptune.integrations.optuna as npt_utils

optuna.logging.set_verbosity(optuna.logging.WARNING)


def objective(trial):
    x = trial.suggest_float("x", -4.0, 4.0)
    layers = trial.suggest_int("layers", 1, 3)
    for step in range(3):
        trial.report((x - 1.0) ** 2 + step, step)
    return (x - 1.0) ** 2 + 0.1 * layers


run = neptune.init_run(
    api_token=neptune.ANONYMOUS_API_TOKEN,
    tags=["optuna", "sweep"],
)
neptune_callback = npt_utils.NeptuneCallback(
    run,
    plots_update_freq=5,
    visualization_backend="matplotlib",
    log_plot_contour=False,
    log_plot_param_importances=False,
)
study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=0))
study.optimize(objective, n_trials=10, callbacks=[neptune_callback])
print("best", study.best_trial.number, round(study.best_value, 6))
run.stop()

# the second half of the example: log a finished study, then load it back from the run
run = neptune.init_run(custom_run_id="optuna-after", api_token=neptune.ANONYMOUS_API_TOKEN)
npt_utils.log_study_metadata(study, run, base_namespace="hpo", log_plots=False)
run.stop()

run = neptune.init_run(with_id="optuna-after", mode="read-only")
loaded = npt_utils.load_study_from_run(run["hpo"])
print("loaded", len(loaded.trials), loaded.best_trial.number)

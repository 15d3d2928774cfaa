"""Neptune scripts that use an integration (Optuna, scikit-learn, XGBoost, LightGBM, TensorBoard, ...)."""

from __future__ import annotations

import importlib.util
import json
import pickle

import pytest
from _nep import PROJECT, Scripts

from naiad import query


def test_optuna_callback_logs_trials_best_so_far_plots_and_the_study(scripts: Scripts) -> None:
    """NeptuneCallback: one value per trial, the best so far, each trial's facts, plots, the pickle."""
    pytest.importorskip("optuna")
    pytest.importorskip("matplotlib")
    done = scripts.run("optuna_sweep.py", NEPTUNE_CUSTOM_RUN_ID="optuna-1")
    best_line, loaded_line = done.stdout.splitlines()
    _, best_number, best_value = best_line.split()
    assert loaded_line == f"loaded 10 {best_number}"  # load_study_from_run gave the same study back
    values = scripts.series("optuna-1", "trials/values")
    assert [s for s, _ in values] == [float(n) for n in range(10)]
    best_so_far = [v for _, v in scripts.series("optuna-1", "best/values")]
    assert best_so_far == [min(v for _, v in values[: i + 1]) for i in range(10)]
    with scripts.stored("optuna-1") as run:
        data = run.fetch()
        plot = run["visualizations/plot_optimization_history"].download(scripts.cwd / "plot")
        study = pickle.loads(run["study/study"].download(scripts.cwd / "study").read_bytes())  # type: ignore[union-attr]
    assert data["best"]["trial"] == int(best_number) and data["best"]["value"] == pytest.approx(
        float(best_value)
    )
    trial = data["trials"]["trials"][best_number]
    assert trial["state"] == "COMPLETE" and set(trial["params"]) == {"x", "layers"}
    assert data["best"]["params"] == trial["params"]
    assert trial["value"] == pytest.approx(
        (trial["params"]["x"] - 1.0) ** 2 + 0.1 * trial["params"]["layers"]
    )
    assert trial["duration"] >= 0.0 and "FloatDistribution" in trial["distributions"]["x"]
    inter = scripts.series("optuna-1", f"trials/trials/{best_number}/intermediate_values")
    assert [s for s, _ in inter] == [0.0, 1.0, 2.0]
    assert (
        data["study"]["storage_type"] == "InMemoryStorage" and data["study"]["directions"] == "['MINIMIZE']"
    )
    assert data["sys"]["tags"] == {"optuna", "sweep"}
    assert plot.read_bytes().startswith(b"\x89PNG")  # type: ignore[union-attr]
    assert len(study.trials) == 10
    with scripts.stored("optuna-after") as after:  # log_study_metadata: the same facts, after the fact
        assert after["hpo/best/trial"].fetch() == int(best_number)
        assert after["hpo/trials/values"].fetch_values()["value"].tolist() == [v for _, v in values]


def test_sklearn_summaries_store_params_pickle_predictions_scores_and_charts(scripts: Scripts) -> None:
    """create_*_summary dicts assigned to a run: every part readable, the pickle a working model."""
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    scripts.run("sklearn_summaries.py")
    project = "common/sklearn-integration"
    with scripts.stored("sklearn-1", project=project) as run:
        data = run.fetch()
        model = pickle.loads(run["rfc_summary/pickled_model"].download(scripts.cwd / "m").read_bytes())  # type: ignore[union-attr]
        preds = run["rfr_summary/test/preds"].download(scripts.cwd / "p").read_text()  # type: ignore[union-attr]
        chart = run["rfc_summary/diagnostics_charts/confusion_matrix"].download(scripts.cwd / "c")
    rfc = data["rfc_summary"]
    assert rfc["all_params"]["n_estimators"] == 12 and rfc["all_params"]["class_weight"] == "None"
    assert type(model).__name__ == "RandomForestClassifier" and model.n_estimators == 12
    scores = rfc["test"]["scores"]
    assert set(scores) == {"class_0", "class_1"}
    assert all(0.0 <= s["precision"] <= 1.0 and s["support"] > 0 for s in scores.values())
    assert sum(s["support"] for s in scores.values()) == 30  # a quarter of 120 samples
    assert rfc["test"]["preds_proba"]["name"] == "preds_proba.html"
    assert chart.read_bytes().startswith(b"\x89PNG")  # type: ignore[union-attr]
    rfr = data["rfr_summary"]
    assert set(rfr["test"]["scores"]) == {
        "explained_variance_score",
        "max_error",
        "mean_absolute_error",
        "r2_score",
    }
    assert data["scores"]["r2"] == rfr["test"]["scores"]["r2_score"] > 0.5
    assert "<table" in preds and "y_true" in preds and "y_pred" in preds
    assert set(rfr["diagnostics_charts"]) == {"prediction_error", "residuals"}
    assert data["kmeans_summary"]["all_params"]["n_clusters"] == 3  # the kwargs refitted the model
    assert data["kmeans_summary"]["cluster_labels"]["mime"] == "text/html"
    assert data["sys"]["name"] == "classification-example"


def test_transformers_neptune_callback_logs_under_base_namespace_into_the_users_run(scripts: Scripts) -> None:
    """NeptuneCallback(run=run, base_namespace=...): metrics, eval, the last checkpoint's files."""
    done = scripts.run("transformers_callback.py")
    assert done.stdout.splitlines()[-1] == "same run hf-callback-1"  # get_run(trainer): the script's run
    assert query.list_runs(project=PROJECT, store=scripts.store) == ["hf-callback-1"]
    with scripts.stored("hf-callback-1") as run:
        data = run.fetch()
    tuned = data["finetuning"]
    assert data["data"]["version"] == "synthetic-12" and tuned["notes"] == "two epochs"
    assert [s for s, _ in scripts.series("hf-callback-1", "finetuning/train/loss")] == [
        float(s) for s in range(1, 7)
    ]
    assert [s for s, _ in scripts.series("hf-callback-1", "finetuning/val/loss")] == [
        3.0,
        6.0,
    ]  # once per epoch
    assert tuned["hyperparams"]["max_epochs"] == 2 and tuned["status"] == "finished"
    assert "model.safetensors" in tuned["checkpoints"]["last"]["files"]  # log_checkpoints="last"
    assert data["sys"]["experiment"]["name"] == "bert-callback"


def test_lightning_own_neptune_logger_logs_into_naiad_through_install(scripts: Scripts) -> None:
    """lightning.pytorch.loggers.NeptuneLogger, unedited, after naiad.neptune.install()."""
    done = scripts.run("lightning_own_logger.py")
    assert done.stdout.strip() == "logger naiad.neptune.integrations.pytorch_lightning"
    project = "common/pytorch-lightning-integration"
    with scripts.stored("lightning-own-1", project=project) as run:
        data = run.fetch()
    assert data["sys"]["tags"] == {"simple", "showcase"}
    assert data["training"]["hyperparams"]["lr"] == 0.05
    assert data["eval"] == {"note": "fit done"}
    loss = scripts.series("lightning-own-1", "training/train/loss", project=project)
    assert [s for s, _ in loss] == [float(s) for s in range(1, 9)]


def test_keras_neptune_callback_logs_the_fit_into_the_scripts_run(scripts: Scripts) -> None:
    """NeptuneCallback(run=run): batch and epoch metrics under training/, the run left open for eval."""
    if importlib.util.find_spec("keras") is None:  # importing it here would pick a backend for this process
        pytest.skip("keras is not installed")
    done = scripts.run("keras_callback.py", KERAS_BACKEND="torch")
    accuracy = float(done.stdout.split()[-1])
    with scripts.stored("keras-1") as run:
        data = run.fetch()
    assert data["parameters"] == {"lr": 0.01, "epochs": 3, "batch_size": 16}
    assert data["eval"]["accuracy"] == pytest.approx(accuracy, abs=1e-4)
    assert [s for s, _ in scripts.series("keras-1", "training/train/loss")] == [
        float(s) for s in range(1, 10)
    ]
    assert [s for s, _ in scripts.series("keras-1", "training/val/loss")] == [
        3.0,
        6.0,
        9.0,
    ]  # 3 batches an epoch
    assert data["training"]["summary"]["epochs"] == 3 and data["sys"]["tags"] == {"keras", "dense"}


def test_xgboost_callback_logs_each_iterations_metrics_config_model_importance_and_trees(
    scripts: Scripts,
) -> None:
    """NeptuneCallback in xgb.train: XGBoost's own evals_result per step, a loadable booster."""
    xgb = pytest.importorskip("xgboost")
    done = scripts.run("xgboost_train.py")
    evals_line, predicted_line = done.stdout.splitlines()[-2:]
    evals_result = json.loads(evals_line)
    project = "common/xgboost-integration"
    for stage in ("train", "valid"):
        for metric in ("mae", "rmse"):
            points = scripts.series("xgb-1", f"training/{stage}/{metric}", project=project)
            assert [s for s, _ in points] == [float(i) for i in range(12)]
            assert [v for _, v in points] == pytest.approx(evals_result[stage][metric])
    rates = [v for _, v in scripts.series("xgb-1", "training/learning_rate", project=project)]
    # the rate each iteration trained with: the params' eta, then the scheduler's, set after each one
    assert rates == pytest.approx([0.7] + [0.7 * 0.9**i for i in range(11)], rel=1e-6)
    with scripts.stored("xgb-1", project=project) as run:
        data = run.fetch()
        model = run["training/pickled_model"].download(scripts.cwd / "model")
        tree = run["training/trees/tree_2"].download(scripts.cwd / "tree")
        chart = run["training/plots/importance"].download(scripts.cwd / "chart")
    training = data["training"]
    booster = pickle.loads(model.read_bytes())  # type: ignore[union-attr]
    origin = xgb.DMatrix([[0.0] * 5], feature_names=["a", "b", "c", "d", "e"])
    assert isinstance(booster, xgb.Booster) and booster.num_boosted_rounds() == 12
    assert float(booster.predict(origin)[0]) == float(predicted_line.split()[1])  # the trained model
    assert training["booster_config"]["learner"]["objective"]["name"] == "reg:squarederror"
    assert training["booster_config"]["learner"]["gradient_booster"]["tree_train_param"]["max_depth"] == "3"
    best = training["early_stopping"]
    assert best["best_score"] == pytest.approx(min(evals_result["valid"]["rmse"]))
    assert evals_result["valid"]["rmse"][best["best_iteration"]] == pytest.approx(best["best_score"])
    gain = training["feature_importance"]["gain"]
    assert max(gain, key=gain.__getitem__) == "a"  # y leans on a the most
    assert "leaf=" in tree.read_text()  # type: ignore[union-attr]
    assert chart.read_bytes().startswith(b"\x89PNG")  # type: ignore[union-attr]
    assert data["sys"]["tags"] == {"xgb-integration", "train"}


def test_lightgbm_callback_and_booster_summary_store_metrics_params_model_and_charts(
    scripts: Scripts,
) -> None:
    """NeptuneCallback: LightGBM's own evaluations per step; the summary: a loadable booster, charts."""
    lgb = pytest.importorskip("lightgbm")
    pytest.importorskip("sklearn")  # the confusion matrix
    done = scripts.run("lightgbm_train.py")
    evals_line, predicted_line = done.stdout.splitlines()[-2:]
    evals_result = json.loads(evals_line)
    project = "common/lightgbm-integration"
    for stage in ("training", "validation"):
        for metric in ("multi_logloss", "multi_error"):
            points = scripts.series("lgbm-1", f"{stage}/{metric}", project=project)
            assert [s for s, _ in points] == [float(i) for i in range(15)]
            assert [v for _, v in points] == pytest.approx(evals_result[stage][metric])
    with scripts.stored("lgbm-1", project=project) as run:
        data = run.fetch()
        model = run["lgbm_summary/pickled_model"].download(scripts.cwd / "model")
        tree = run["lgbm_summary/trees_as_dataframe/tree_1"].download(scripts.cwd / "tree")
        gain = run["lgbm_summary/visualizations/feature_importances/gain"].download(scripts.cwd / "gain")
        matrix = run["lgbm_summary/visualizations/confusion_matrix"].download(scripts.cwd / "cm")
    booster = pickle.loads(model.read_bytes())  # type: ignore[union-attr]
    assert isinstance(booster, lgb.Booster) and booster.current_iteration() == 15
    predicted = json.loads(predicted_line)
    proba = [float(p) for p in booster.predict([predicted["row"]])[0]]
    assert proba == pytest.approx(predicted["proba"])  # the trained model itself
    assert data["params"]["objective"] == "multiclass" and data["params"]["num_leaves"] == 7
    assert data["params"]["metric"] == "['multi_logloss', 'multi_error']"
    assert data["train_set"] == {"num_features": 6, "num_rows": 180}
    assert data["feature_names"] == {f"Column_{i}" for i in range(6)}
    rows = tree.read_text().splitlines()  # type: ignore[union-attr]
    assert rows[0].startswith("tree_index,") and all(r.startswith("1,") for r in rows[1:])
    assert set(data["lgbm_summary"]["trees_as_dataframe"]) == {"tree_0", "tree_1"}
    assert gain.read_bytes().startswith(b"\x89PNG") and matrix.read_bytes().startswith(b"\x89PNG")  # type: ignore[union-attr]
    assert data["sys"]["tags"] == {"lgbm-integration", "train", "cls"}


def test_tensorboard_logging_mirrors_summary_writer_calls_into_the_run(scripts: Scripts) -> None:
    """enable_tensorboard_logging: SummaryWriter's scalars, text, figure and hparams, in TensorBoard too."""
    pytest.importorskip("tensorboard")
    pytest.importorskip("matplotlib")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    done = scripts.run("tensorboard_pytorch.py")
    losses = json.loads(done.stdout.splitlines()[-1])
    project = "common/tensorboard-integration"
    train = scripts.series("tb-1", "tensorboard/Loss/train", project=project)
    assert [s for s, _ in train] == [float(e) for e in range(6)]
    assert [v for _, v in train] == pytest.approx([t for t, _ in losses])
    val = scripts.series("tb-1", "tensorboard/Loss/compare/val", project=project)
    assert [v for _, v in val] == pytest.approx([v for _, v in losses])
    assert [v for _, v in scripts.series("tb-1", "tensorboard/notes", project=project)] == [
        "linear regression on synthetic data"
    ]
    with scripts.stored("tb-1", project=project) as run:
        data = run.fetch()
        figure = run["tensorboard/charts/loss"].fetch_values(include_timestamp=False)
    board = data["tensorboard"]
    assert board["hparams"] == {"lr": 0.1, "epochs": 6, "optimizer": "SGD"}
    assert board["hparam_metrics"]["hparam"]["val_loss"] == pytest.approx(losses[-1][1])
    assert "hparam" not in board  # TensorBoard's own add_scalar inside add_hparams is not logged twice
    assert "after" not in board  # disable_tensorboard_logging(): TensorBoard only
    assert figure["step"].tolist() == [6.0] and figure["value"][0]["mime"] == "image/png"
    events = EventAccumulator(str(scripts.cwd / "tb_logs")).Reload()  # TensorBoard still got its files
    assert [e.value for e in events.Scalars("Loss/train")] == pytest.approx([t for t, _ in losses])
    assert data["sys"]["tags"] == {"tensorboard", "test"}

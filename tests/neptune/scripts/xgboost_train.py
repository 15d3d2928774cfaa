"""Neptune's XGBoost example: xgb.train with two evals, early stopping, a learning-rate schedule."""

import json

import numpy as np
import xgboost as xgb

import naiad.neptune as neptune
from naiad.neptune.integrations.xgboost import NeptuneCallback

run = neptune.init_run(
    project="common/xgboost-integration",
    api_token=neptune.ANONYMOUS_API_TOKEN,
    name="xgb-train",
    tags=["xgb-integration", "train"],
    custom_run_id="xgb-1",
)
neptune_callback = NeptuneCallback(run=run, log_tree=[0, 1, 2, 3])

rng = np.random.default_rng(0)
X = rng.normal(size=(200, 5))
y = 2.0 * X[:, 0] - X[:, 1] + rng.normal(scale=0.1, size=200)
dtrain = xgb.DMatrix(X[:160], label=y[:160], feature_names=["a", "b", "c", "d", "e"])
dval = xgb.DMatrix(X[160:], label=y[160:], feature_names=["a", "b", "c", "d", "e"])

model_params = {
    "eta": 0.7,
    "gamma": 0.001,
    "max_depth": 3,
    "objective": "reg:squarederror",
    "eval_metric": ["mae", "rmse"],
}
evals = [(dtrain, "train"), (dval, "valid")]
num_round = 12
evals_result: dict = {}
booster = xgb.train(
    params=model_params,
    dtrain=dtrain,
    num_boost_round=num_round,
    evals=evals,
    evals_result=evals_result,
    verbose_eval=False,
    early_stopping_rounds=30,
    callbacks=[neptune_callback, xgb.callback.LearningRateScheduler(lambda epoch: 0.7 * 0.9**epoch)],
)
print(json.dumps(evals_result))
origin = xgb.DMatrix(np.zeros((1, 5)), feature_names=["a", "b", "c", "d", "e"])
print("predicted", float(booster.predict(origin)[0]))
run.stop()

"""Neptune's LightGBM example: a multiclass lgb.train with two valid sets, then the booster summary."""

import json

import lightgbm as lgb
import numpy as np

import naiad.neptune as neptune
from naiad.neptune.integrations.lightgbm import NeptuneCallback, create_booster_summary

run = neptune.init_run(
    project="common/lightgbm-integration",
    api_token=neptune.ANONYMOUS_API_TOKEN,
    name="train-cls",
    tags=["lgbm-integration", "train", "cls"],
    custom_run_id="lgbm-1",
)
neptune_callback = NeptuneCallback(run=run)

rng = np.random.default_rng(0)
X = rng.normal(size=(240, 6))
y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)  # three classes
X_train, X_test, y_train, y_test = X[:180], X[180:], y[:180], y[180:]
lgb_train = lgb.Dataset(X_train, y_train)
lgb_eval = lgb.Dataset(X_test, y_test, reference=lgb_train)

params = {
    "boosting_type": "gbdt",
    "objective": "multiclass",
    "num_class": 3,
    "metric": ["multi_logloss", "multi_error"],
    "num_leaves": 7,
    "learning_rate": 0.1,
    "min_data_in_leaf": 5,
    "verbose": -1,
}
evals_result: dict = {}
gbm = lgb.train(
    params,
    lgb_train,
    num_boost_round=15,
    valid_sets=[lgb_train, lgb_eval],
    valid_names=["training", "validation"],
    callbacks=[neptune_callback, lgb.record_evaluation(evals_result)],
)
y_pred = gbm.predict(X_test)
run["lgbm_summary"] = create_booster_summary(
    booster=gbm,
    log_trees_as_dataframe=True,
    list_trees=[0, 1],
    log_confusion_matrix=True,
    y_pred=y_pred,
    y_true=y_test,
)
print(json.dumps(evals_result))
print(json.dumps({"row": X_test[0].tolist(), "proba": gbm.predict(X_test[:1])[0].tolist()}))
run.stop()

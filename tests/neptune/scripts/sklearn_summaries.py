"""Neptune's scikit-learn example: a classifier, a regressor and k-means, each summary assigned."""

import numpy as np
from sklearn.cluster import KMeans
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.model_selection import train_test_split

import naiad.neptune as neptune
import naiad.neptune.integrations.sklearn as npt_utils

rng = np.random.default_rng(0)
X = rng.normal(size=(120, 4))
y_cls = (X[:, 0] + X[:, 1] > 0).astype(int)
y_reg = 3.0 * X[:, 0] - X[:, 2] + rng.normal(scale=0.1, size=120)

run = neptune.init_run(
    project="common/sklearn-integration",
    api_token=neptune.ANONYMOUS_API_TOKEN,
    name="classification-example",
    tags=["RandomForestClassifier", "classification"],
    custom_run_id="sklearn-1",
)
parameters = {"n_estimators": 12, "max_depth": 3, "min_samples_split": 3}
rfc = RandomForestClassifier(random_state=0, **parameters)
X_train, X_test, y_train, y_test = train_test_split(X, y_cls, test_size=0.25, random_state=28743)
rfc.fit(X_train, y_train)
run["rfc_summary"] = npt_utils.create_classifier_summary(rfc, X_train, X_test, y_train, y_test)

rfr = RandomForestRegressor(random_state=0, **parameters)
X_train, X_test, y_train, y_test = train_test_split(X, y_reg, test_size=0.25, random_state=28743)
rfr.fit(X_train, y_train)
run["rfr_summary"] = npt_utils.create_regressor_summary(rfr, X_train, X_test, y_train, y_test)
run["scores/r2"] = npt_utils.get_scores(rfr, X_test, y_test)["r2_score"]

km = KMeans(n_init=3, random_state=0)
run["kmeans_summary"] = npt_utils.create_kmeans_summary(km, X, n_clusters=3)
run.stop()

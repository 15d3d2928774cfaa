"""Neptune's model registry guide: a model, two versions, stages, and the versions table."""

import naiad.neptune as neptune

model = neptune.init_model(key="CLF", name="classifier")
model["signature"] = "f(x: float[4]) -> int"
model.stop()

for i, acc in enumerate([0.81, 0.87]):
    model_version = neptune.init_model_version(model="SEA-CLF")  # the old Neptune project key is fine
    model_version["validation/acc"] = acc
    model_version["model/binary"].upload(neptune.types.File.from_content(f"weights v{i}", extension="bin"))
    if acc > 0.85:
        model_version.change_stage("production")
    print("version", model_version["sys/custom_run_id"].fetch(), model_version["sys/stage"].fetch())
    model_version.stop()

model = neptune.init_model(with_id="CLF")
table = model.fetch_model_versions_table(columns=["validation/acc"]).to_pandas()
print("table", list(table.columns))
for _, row in table.sort_values("validation/acc").iterrows():
    print("row", row["validation/acc"], row["model_registry/stage"])
production = table[table["model_registry/stage"] == "production"]
print("production", production["validation/acc"].tolist())
model.stop()

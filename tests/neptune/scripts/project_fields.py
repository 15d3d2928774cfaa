"""Neptune's "project metadata" guide: a brief, a data sample and a dataset version on the project."""

from pathlib import Path

import naiad.neptune as neptune

Path("sample.csv").write_text("id,label\n1,cat\n2,dog\n")
project = neptune.init_project(project="team-alpha/seabird", api_token=neptune.ANONYMOUS_API_TOKEN)
project["general/brief"] = "Classify seabirds from camera-trap photos"
project["general/deadline"] = 2027
project["general/sample"].upload("sample.csv")
project["datasets/v1"].track_files("sample.csv")
project["general/team"].add(["ana", "ben"])
project.wait()

run = neptune.init_run(custom_run_id="uses-project-data")
run["data/version"] = project["datasets/v1"].fetch_hash()
run["data/brief"] = project["general/brief"].fetch()
run.stop()
project.stop()

project = neptune.init_project(project="team-alpha/seabird", mode="read-only")
print("brief", project["general/brief"].fetch())
print("general", sorted(project["general"].fetch()))
print("exists", project.exists("general/deadline"), "datasets/v2" in project)
table = project.fetch_runs_table().to_pandas()
print("runs", table["sys/id"].tolist(), len(table))
project.stop()

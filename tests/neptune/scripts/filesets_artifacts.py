"""Neptune's "upload files" and "track artifacts" guides: a FileSet, then data versions by hash."""

from pathlib import Path

import naiad.neptune as neptune
from naiad.neptune.types import FileSet

Path("data/raw").mkdir(parents=True)
Path("data/train.csv").write_text("x,y\n1,2\n")
Path("data/test.csv").write_text("x,y\n3,4\n")
Path("data/raw/dump.bin").write_bytes(b"\x00\x01\x02")
Path("notes.md").write_text("# notes\n")

run = neptune.init_run(custom_run_id="filesets-1")
run["dataset/csvs"].upload_files("data/*.csv")
run["dataset/csvs"].upload_files(["data/raw", "notes.md"])  # adds to the set
run["dataset/csvs"].delete_files("notes.md")
run["configs"] = FileSet(["notes.md"])

run["artifacts/train"].track_files("data/train.csv")
run["artifacts/all"].track_files("data")
run.wait()

print("root", [(f.name, f.file_type) for f in run["dataset/csvs"].list_fileset_files()])
print("data", [(f.name, f.size) for f in run["dataset/csvs"].list_fileset_files("data")])
Path("downloads").mkdir()
run["dataset/csvs"].download("downloads")  # a FileSet comes back as <name>.zip

files = run["artifacts/all"].fetch_files_list()
print("tracked", sorted(f.file_path for f in files), sorted(f.size for f in files))
print("hash", run["artifacts/train"].fetch_hash())
run.stop()

# a later run checks that it trains on the same data version
Path("data/train.csv").write_text("x,y\n1,2\n")
run = neptune.init_run(custom_run_id="filesets-2")
run["artifacts/train"].track_files("data/train.csv")
run.wait()
old = neptune.init_run(with_id="filesets-1", mode="read-only")
print("same data", run["artifacts/train"].fetch_hash() == old["artifacts/train"].fetch_hash())
old.stop()
run.stop()

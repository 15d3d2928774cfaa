"""Forking, experiments and resume: lineage views, inheritance, heads, and their errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import naiad
from naiad._storage import open_store
from naiad._sync import sync_journal

# the same behaviour on every store backend (tests/conftest.py)
pytestmark = pytest.mark.backends()


def values(run: naiad.Run, path: str, lineage: bool = True) -> list[tuple[float, float, str]]:
    df = run[path].fetch_values(lineage_to_the_root=lineage)
    owners = df["run_id"].tolist() if lineage else [run.run_id] * len(df)
    return list(zip(df["step"].tolist(), df["value"].tolist(), owners))


@pytest.fixture
def chain(store: Path) -> Path:
    """root logs 0–4; child forks root at 4 and logs 5–8; grandchild forks child at 8, logs 9–11."""
    with naiad.Run(run_id="root", experiment_name="e", store=store) as root:
        for s in range(5):
            root.log_metrics({"loss": 100.0 + s}, step=s)
        root["params/lr"] = 0.1
        root.add_tags(["base"])
        root["sys/description"] = "the root"
    with naiad.Run(
        run_id="child", experiment_name="e", store=store, fork_run_id="root", fork_step=4
    ) as child:
        for s in range(5, 9):
            child.log_metrics({"loss": 200.0 + s}, step=s)
    with naiad.Run(
        run_id="grand", experiment_name="e", store=store, fork_run_id="child", fork_step=8
    ) as grand:
        for s in range(9, 12):
            grand.log_metrics({"loss": 300.0 + s}, step=s)
    return store


def test_three_level_chain_read_with_and_without_lineage(chain: Path) -> None:
    grand = naiad.Run(run_id="grand", store=chain, mode="read-only")
    assert values(grand, "loss") == (
        [(float(s), 100.0 + s, "root") for s in range(5)]
        + [(float(s), 200.0 + s, "child") for s in range(5, 9)]
        + [(float(s), 300.0 + s, "grand") for s in range(9, 12)]
    )
    assert values(grand, "loss", lineage=False) == [(float(s), 300.0 + s, "grand") for s in range(9, 12)]
    child = naiad.Run(run_id="child", store=chain, mode="read-only")
    assert [v[0] for v in values(child, "loss")] == [float(s) for s in range(9)]


def test_forking_attributes_and_family(chain: Path) -> None:
    g = naiad.Run(run_id="grand", store=chain, mode="read-only").fetch()["sys"]
    assert g["forking"] == {"parent": "child", "requested_parent": "child", "step": 8, "depth": 2}
    assert g["family"] == "root"
    r = naiad.Run(run_id="root", store=chain, mode="read-only").fetch()["sys"]
    assert r["forking"] == {"depth": 0} and r["family"] == "root"


def test_children_inherit_configs_tags_and_description(chain: Path) -> None:
    grand = naiad.Run(run_id="grand", store=chain, mode="read-only")
    assert grand["params/lr"].fetch() == 0.1
    assert grand["sys/tags"].fetch() == {"base"}
    assert grand["sys/description"].fetch() == "the root"
    bare = naiad.Run(
        run_id="bare",
        experiment_name="e",
        store=chain,
        fork_run_id="root",
        fork_step=2,
        inherit_configs=False,
        tags=["own"],
    )
    assert not bare.exists("params/lr") and bare["sys/tags"].fetch() == {"own"}
    assert [v[0] for v in values(bare, "loss")] == [0.0, 1.0, 2.0]  # series are always inherited
    bare.close()


def test_newest_run_of_an_experiment_is_its_only_head(chain: Path) -> None:
    def heads() -> dict[str, bool]:
        return {
            rid: naiad.Run(run_id=rid, store=chain, mode="read-only")["sys/experiment/is_head"].fetch()
            for rid in ("root", "child", "grand")
        }

    assert heads() == {"root": False, "child": False, "grand": True}
    with naiad.Run(run_id="root", store=chain) as old:  # a later write to an older run
        old["notes"] = "still a head? no"
    assert heads()["grand"] is True and heads()["root"] is False


def test_fork_at_a_step_the_parent_never_logged(store: Path) -> None:
    with naiad.Run(run_id="p", store=store) as parent:
        for s in (0, 2, 4, 6):
            parent.log_metrics({"loss": float(s)}, step=s)
    child = naiad.Run(run_id="c", store=store, fork_run_id="p", fork_step=3)
    child.log_metrics({"loss": 30.0}, step=3)  # after the last inherited point (2)
    assert values(child, "loss") == [(0.0, 0.0, "p"), (2.0, 2.0, "p"), (3.0, 30.0, "c")]
    child.close()


def test_a_parent_logging_past_the_fork_point_is_not_seen_by_the_child(store: Path) -> None:
    parent = naiad.Run(run_id="p", store=store)
    for s in range(10):
        parent.log_metrics({"loss": float(s)}, step=s)
    parent.wait()
    child = naiad.Run(run_id="c", store=store, fork_run_id="p", fork_step=5)
    for s in range(10, 20):
        parent.log_metrics({"loss": float(s)}, step=s)
    parent.wait()
    child.log_metrics({"loss": 60.0}, step=6)
    assert [v[0] for v in values(child, "loss")] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    child.close()
    parent.close()


def test_step_order_after_a_fork_names_fork_step_and_parent(chain: Path) -> None:
    run = naiad.Run(run_id="late", store=chain, fork_run_id="child", fork_step=7)
    with pytest.raises(naiad.StepOrderError) as err:
        run.log_metrics({"loss": 1.0}, step=7)
    text = str(err.value)
    assert "step 7" in text and "'child'" in text and "forked at step 7" in text
    run.log_metrics({"loss": 1.0}, step=8)
    run.log_metrics({"new_series": 1.0}, step=0)  # nothing inherited: any step
    run.close()


def test_fork_arguments_are_both_or_neither_and_the_parent_must_exist(store: Path) -> None:
    with pytest.raises(ValueError, match="both fork_run_id and fork_step"):
        naiad.Run(store=store, fork_run_id="x")
    with pytest.raises(naiad.ForkParentNotFound, match="'ghost'"):
        naiad.Run(store=store, fork_run_id="ghost", fork_step=1)
    with pytest.raises(LookupError):
        naiad.Run(store=store, fork_run_id="ghost", fork_step=1)


def test_resume_keeps_locks_and_rejects_other_fork_arguments(chain: Path) -> None:
    with pytest.raises(ValueError, match="forked from 'root' at step 4"):
        naiad.Run(run_id="child", store=chain, fork_run_id="root", fork_step=3)
    resumed = naiad.Run(run_id="child", store=chain)  # no fork arguments: resume
    with pytest.raises(naiad.StepOrderError):
        resumed.log_metrics({"loss": 0.0}, step=8)
    resumed.log_metrics({"loss": 209.0}, step=9)
    with pytest.raises(naiad.FieldTypeError):
        resumed["params/lr"] = "inherited and locked"
    resumed.close()


def test_offline_fork_is_resolved_at_sync(chain: Path) -> None:
    off = naiad.Run(
        run_id="off", experiment_name="e", store=chain, mode="offline", fork_run_id="grand", fork_step=10
    )
    off.log_metrics({"loss": 999.0}, step=11)
    off.close()
    assert off.store_location is not None
    [result] = sync_journal(off.store_location, open_store(chain))
    assert result.parent_resolved is True
    back = naiad.Run(run_id="off", store=chain, mode="read-only")
    assert back["sys/forking/parent"].fetch() == "grand" and back["sys/forking/depth"].fetch() == 3
    assert [v[2] for v in values(back, "loss")][-3:] == ["grand", "grand", "off"]


CREATE = textwrap.dedent("""
    import sys, naiad
    naiad.Run(run_id=sys.argv[2], experiment_name="race", store=sys.argv[1]).close()
""")


def test_concurrent_creation_leaves_exactly_one_head(store: Path) -> None:
    naiad.Run(store=store, run_id="seed").close()  # the store exists; creation races below
    for i in range(20):
        procs = [subprocess.Popen([sys.executable, "-c", CREATE, str(store), f"r{i}-{k}"]) for k in range(2)]
        assert [p.wait(timeout=60) for p in procs] == [0, 0]
        heads = [
            rid
            for rid in (f"r{j}-{k}" for j in range(i + 1) for k in range(2))
            if naiad.Run(run_id=rid, store=store, mode="read-only")["sys/experiment/is_head"].fetch()
        ]
        assert len(heads) == 1 and heads[0].startswith(f"r{i}-")


def test_string_series_tail_and_step_range_along_the_lineage(store: Path) -> None:
    """The tail and step range are pushed into each link, newest first; the stitched result is
    the same as reading everything and cutting it (the parent's points past the fork stay out)."""
    from naiad import query

    with naiad.Run(run_id="p", experiment_name="e", store=store) as parent:
        for s in range(10):
            parent.log_string_series({"log": f"p{s}"}, step=s)
    with naiad.Run(run_id="c", experiment_name="e", store=store, fork_run_id="p", fork_step=5) as child:
        for s in range(6, 9):
            child.log_string_series({"log": f"c{s}"}, step=s)
    whole = ["p0", "p1", "p2", "p3", "p4", "p5", "c6", "c7", "c8"]
    for tail in (0, 1, 3, 4, 9, 50):
        df = query.fetch_series(runs=["c"], attributes=["log"], tail_limit=tail, format="long", store=store)
        assert df["value"].tolist() == (whole[-tail:] if tail else [])
    ranged = query.fetch_series(
        runs=["c"], attributes=["log"], step_range=(2, 6), tail_limit=3, format="long", store=store
    )
    assert ranged["value"].tolist() == ["p4", "p5", "c6"]

"""The examples of the seed document on namespaces and fields, run against naiad unchanged
but for the import and the constructor, give the seed's results."""

from __future__ import annotations

from pathlib import Path

import pytest

import naiad


def test_flat_and_nested_fields_give_the_seed_structure(store: Path, tmp_path: Path) -> None:
    (tmp_path / "model.pkl").write_bytes(b"pickled model")
    run = naiad.Run(store=store)
    # Flat
    run["f1_score"] = 0.66
    run["model"].upload(str(tmp_path / "model.pkl"))
    # Nested
    run["params/batch_size"] = 64
    # Nested twice
    run["params/optimization/learning_rate"] = 0.001
    run["params/optimization/algorithm"] = "Adam"
    run.close()

    back = naiad.Run(run_id=run.run_id, store=store, mode="read-only")
    values = back.fetch()
    assert values["f1_score"] == 0.66
    assert values["model"]["name"] == "model.pkl"
    assert values["params"] == {
        "batch_size": 64,
        "optimization": {"learning_rate": 0.001, "algorithm": "Adam"},
    }
    structure = back.get_structure()
    assert structure["params"]["optimization"] == {"learning_rate": "Float", "algorithm": "String"}
    assert structure["model"] == "File"


def test_reassigning_a_float_overrides_it_and_uploading_to_it_fails(store: Path, tmp_path: Path) -> None:
    (tmp_path / "sample.csv").write_text("a,b\n1,2\n")
    run = naiad.Run(store=store)
    # Create new Float field
    run["parameters/momentum"] = 0.9
    # Update the value of the field
    run["parameters/momentum"] = 0.8
    # It's no longer possible to store a File under a Float field
    with pytest.raises(naiad.FieldTypeError) as err:
        run["parameters/momentum"].upload(str(tmp_path / "sample.csv"))  # Error
    assert "Field 'parameters/momentum' is a Float; cannot upload a File to it" in str(err.value)
    assert 'delete it first (del run["parameters/momentum"]) or use another path' in str(err.value)
    assert run["parameters/momentum"].fetch() == 0.8
    run.close()

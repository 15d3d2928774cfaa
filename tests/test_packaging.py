"""The wheel carries every package folder, `import naiad` stays light, `__all__` stays honest."""

from __future__ import annotations

import json
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import naiad

ROOT = Path(__file__).resolve().parents[1]
HEAVY = (
    "torch",
    "numpy",
    "pandas",
    "pyarrow",
    "lightning",
    "pytorch_lightning",
    "keras",
    "transformers",
    "tensorflow",
    "rich",
)


def test_the_wheel_holds_every_file_of_core_and_integrations(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("naiad-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = set()
    for source, target in (("core", "naiad"), ("integrations", "naiad/integrations")):
        for path in (ROOT / source).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                expected.add(f"{target}/{path.relative_to(ROOT / source).as_posix()}")
    missing = sorted(expected - names)
    assert not missing, f"missing from the wheel (add the package or package-data): {missing}"
    assert "naiad/py.typed" in names


def test_import_naiad_loads_no_heavy_module() -> None:
    code = f"import sys, json, naiad; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_import_naiad_and_a_read_never_load_the_capture_package(tmp_path: Path) -> None:
    """Console, monitoring and git capture load when a writing run starts, never for a reader."""
    with naiad.Run(store=tmp_path, run_id="r") as run:
        run["x"].append(1.0)
    code = (
        "import sys, naiad; assert 'naiad._capture' not in sys.modules, 'import'; "
        f"naiad.Run(store={str(tmp_path)!r}, run_id='r', mode='read-only')['x'].fetch_values(); "
        "print(sorted(m for m in sys.modules if m.startswith('naiad._capture')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_all_is_sorted_and_every_name_exists() -> None:
    assert naiad.__all__ == sorted(naiad.__all__)
    for name in naiad.__all__:
        assert hasattr(naiad, name), name
    public = {
        n for n, v in vars(naiad).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)
    } - {"annotations"}
    assert public <= set(naiad.__all__), sorted(public - set(naiad.__all__))

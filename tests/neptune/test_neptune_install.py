"""naiad.neptune.install(): `import neptune` resolves to naiad's layer, in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**{k: v for k, v in __import__("os").environ.items() if not k.startswith("NAIAD_")}, **env},
    )


def test_install_aliases_neptune_and_submodules_to_one_module_each() -> None:
    done = run_python(
        """
        import sys
        import naiad
        assert "neptune" not in sys.modules  # importing naiad installs nothing
        import naiad.neptune
        naiad.neptune.install()
        import neptune
        from neptune.types import File
        from neptune.utils import stringify_unsupported
        import neptune.new
        import neptune_scale
        from neptune_scale.types import Histogram
        assert neptune is naiad.neptune and File is naiad.neptune.types.File
        assert neptune_scale.Run is naiad.neptune_scale.Run
        try:
            import neptune.not_a_module
        except ImportError:
            print("missing ok")
        print(neptune.init_run.__module__)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["missing", "ok", "naiad.neptune._run"]


def test_env_hook_installs_only_when_set() -> None:
    code = """
        import importlib.util, naiad.neptune
        print(naiad.neptune.install_from_env(), importlib.util.find_spec("neptune") is not None)
        """
    assert run_python(code).stdout.split() == ["False", "False"]
    assert run_python(code, NAIAD_NEPTUNE_SHIM="1").stdout.split() == ["True", "True"]


def test_lightning_neptune_logger_is_the_layers_while_installed_and_lightnings_after() -> None:
    """Installed after Lightning loaded: its NeptuneLogger names change at once; uninstall puts them back."""
    done = run_python(
        """
        import lightning.pytorch.loggers as loggers
        import lightning.pytorch.loggers.neptune as sub
        stub = sub.NeptuneLogger  # Lightning 2.6: a stub that raises, not exported from loggers
        had = hasattr(loggers, "NeptuneLogger")
        import naiad.neptune
        from naiad.neptune.integrations.pytorch_lightning import NeptuneLogger
        naiad.neptune.install()
        print(loggers.NeptuneLogger is NeptuneLogger, sub.NeptuneLogger is NeptuneLogger)
        import neptune.new.types
        print(neptune.new.types.File is naiad.neptune.types.File)
        naiad.neptune.uninstall()
        print(getattr(loggers, "NeptuneLogger", None) is (stub if had else None), sub.NeptuneLogger is stub)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "True", "True", "True"]

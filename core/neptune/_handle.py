"""``run["a/b"]`` in ``naiad.neptune``: Neptune 1.x's handle, lenient, over :class:`naiad.Handle`."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import FieldNotFound, FieldTypeError, NaiadError
from .. import File as NaiadFile
from .. import _sys as sysf
from . import _filesets as fs
from . import _values as v
from .types import File, FileSet

if TYPE_CHECKING:
    import pandas as pd

    from ._run import Run

__all__ = ["Handle"]


def neptune_state(value: Any) -> Any:
    """``sys/state`` as Neptune 1.x read it back: ``Active`` / ``Inactive``."""
    return value.capitalize() if isinstance(value, str) else value


class Handle:
    """A path of a Neptune-style run: what ``run["train/loss"]`` returns.

    Example:
        >>> run["train/loss"].append(0.5, step=1)  # doctest: +SKIP
        >>> run["params"] = {"lr": 0.01, "optimizer": "Adam"}  # doctest: +SKIP
    """

    __slots__ = ("_path", "_run")

    def __init__(self, run: Run, path: str) -> None:
        self._run = run
        self._path = path.strip("/")

    def __repr__(self) -> str:
        return f"<naiad.neptune.Handle {self._path!r}>"

    def __getitem__(self, sub: str) -> Handle:
        return Handle(self._run, f"{self._path}/{sub}")

    def __setitem__(self, sub: str, value: Any) -> None:
        self[sub].assign(value)

    def __delitem__(self, sub: str) -> None:
        self[sub].pop()

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"naiad.neptune handles have no method '{name}' (path '{self._path}')")

    # -- writing ----------------------------------------------------------------------------------
    def assign(self, value: Any, wait: bool = False) -> None:
        """Set the field; a dict makes a namespace, each value stored (or skipped) on its own."""
        if isinstance(value, Mapping):
            for key, sub in value.items():
                self[str(key)].assign(sub)
            return
        if isinstance(value, FileSet):
            self.upload_files(value.file_globs)
            return
        if isinstance(value, File) or v.is_image(value):
            self.upload(value)
            return
        value = v.atom(self._path, value)
        if value is None:
            return
        naiad = self._run._naiad
        try:
            naiad[self._path] = value
        except FieldTypeError:
            if isinstance(value, float) and isinstance(self._stored(), int):
                # Neptune cast a float into an existing Integer field (int(value))
                v.guarded(lambda: naiad.__setitem__(self._path, int(value)))
            else:
                v.warn(f"'{self._path}' keeps its type; the {type(value).__name__} value was skipped.")
        except NaiadError as e:  # a core refusal never stops the script, as in Neptune
            v.warn(f"{e} The value was skipped, as Neptune skipped it.")
        if wait:
            naiad.wait()

    def append(
        self,
        value: Any,
        step: float | None = None,
        timestamp: float | datetime | None = None,
        wait: bool = False,
        **kwargs: Any,
    ) -> None:
        """Append a point (a dict appends to each key's series); a step that goes back is skipped."""
        if isinstance(value, Mapping):
            for key, sub in value.items():
                self[str(key)].append(sub, step=step, timestamp=timestamp)
        else:
            point = v.series_value(self._path, value)
            name = kwargs.get("name")
            if isinstance(point, NaiadFile) and isinstance(name, str) and name:
                # a file series point's name= becomes the stored file's name (its description is not kept)
                suffix = Path(point.resolved_name()).suffix
                point = dataclasses.replace(point, name=name if name.endswith(suffix) else name + suffix)
            if point is not None:
                handle = self._run._naiad[self._path]
                v.guarded(lambda: handle.append(point, step=step, timestamp=timestamp))
        if wait:
            self._run._naiad.wait()

    def extend(
        self,
        values: Any,
        steps: Sequence[float] | None = None,
        timestamps: Sequence[float | datetime] | None = None,
        wait: bool = False,
        **kwargs: Any,
    ) -> None:
        """Append several points (a dict of lists extends each key's series)."""
        if isinstance(values, Mapping):
            for key, sub in values.items():
                self[str(key)].extend(sub, steps=steps, timestamps=timestamps)
        else:
            for i, value in enumerate(list(values)):
                self.append(
                    value,
                    step=None if steps is None else steps[i],
                    timestamp=None if timestamps is None else timestamps[i],
                )
        if wait:
            self._run._naiad.wait()

    def log(
        self, value: Any, step: float | None = None, timestamp: float | None = None, **kwargs: Any
    ) -> None:
        """The deprecated 1.x name: a list extends, anything else appends."""
        if isinstance(value, (list, tuple)):
            self.extend(value)  # one step per value: a shared step would keep only the first
        else:
            self.append(value, step=step, timestamp=timestamp)

    def upload(self, value: Any, wait: bool = False) -> None:
        """Upload a file: a path, a :class:`~naiad.neptune.types.File`, bytes, a figure, an image,
        an array or a DataFrame (see :func:`naiad.neptune._values.to_file`)."""
        if isinstance(value, FileSet):
            self.upload_files(value.file_globs, wait=wait)
            return
        file = v.to_file(self._path, value)
        if file is not None:
            handle = self._run._naiad[self._path]
            v.guarded(lambda: handle.upload(file))
        if wait:
            self._run._naiad.wait()

    # -- FileSet (a ZIP in a File field, see naiad.neptune._filesets) ---------------------------------
    def upload_files(self, value: str | os.PathLike[str] | Iterable[str], wait: bool = False) -> None:
        """Add the files that paths or globs match to this FileSet (kept as ``<field>.zip``)."""
        globs = [value] if isinstance(value, (str, os.PathLike)) else list(value)
        archive = fs.merged(self._archive(), globs)
        if archive is None:
            v.warn(f"No file matches {globs!r} for the FileSet '{self._path}'; nothing was uploaded.")
            return
        self._store_archive(archive)
        if wait:
            self._run._naiad.wait()

    def delete_files(self, paths: str | Iterable[str], wait: bool = False) -> None:
        """Remove files (or directories) from this FileSet."""
        archive = self._archive()
        if archive is not None:
            self._store_archive(fs.without(archive, [paths] if isinstance(paths, str) else paths))

    def list_fileset_files(self, path: str | None = None) -> list[fs.FileEntry]:
        """The files and directories directly under ``path`` in this FileSet."""
        archive = self._archive()
        if archive is None:
            raise FieldNotFound(f"'{self._path}' holds no FileSet: upload_files(...) first.")
        return fs.entries(archive, path)

    def _archive(self) -> bytes | None:
        naiad = self._run._naiad
        if not naiad.exists(self._path):
            return None
        naiad.wait()
        with tempfile.TemporaryDirectory() as tmp:
            got = naiad[self._path].download(tmp)
            return got.read_bytes() if isinstance(got, Path) else None

    def _store_archive(self, archive: bytes) -> None:
        stem = self._path.rsplit("/", 1)[-1]
        file = NaiadFile(archive, name=f"{stem}.zip", mime=fs.ZIP_MIME)
        handle = self._run._naiad[self._path]
        v.guarded(lambda: handle.upload(file))

    # -- Artifact (naiad's track_files manifest) -----------------------------------------------------
    def track_files(
        self, path: str | os.PathLike[str], destination: str | None = None, wait: bool = False
    ) -> None:
        """Record the hashes, sizes and paths of a file, a directory, a glob or an ``s3://`` URI."""
        handle = self._run._naiad[self._path]
        v.guarded(lambda: handle.track_files(path))
        if wait:
            self._run._naiad.wait()

    def fetch_files_list(self) -> list[fs.ArtifactFileData]:
        """The files an Artifact tracks (paths relative to the folder they lie in)."""
        return fs.artifact_files(self._stored())

    def add(self, values: str | Sequence[str], wait: bool = False) -> None:
        """Add strings to a StringSet (``run["sys/tags"].add(["a", "b"])``)."""
        handle = self._run._naiad[self._path]
        v.guarded(lambda: handle.add(values))

    def remove(self, values: str | Sequence[str], wait: bool = False) -> None:
        handle = self._run._naiad[self._path]
        v.guarded(lambda: handle.remove(values))

    def clear(self, wait: bool = False) -> None:
        handle = self._run._naiad[self._path]
        v.guarded(handle.clear)

    def pop(self, path: str | None = None, wait: bool = False) -> None:
        """Delete this field or namespace (or ``path`` under it)."""
        target = self._path if path is None else f"{self._path}/{path}"
        v.guarded(lambda: self._run._naiad.pop(target))

    delete = pop

    # -- reading ----------------------------------------------------------------------------------
    def exists(self) -> bool:
        return self._run.exists(self._path)

    def fetch(self) -> Any:
        """The value; for a namespace, the nested dict of its values (Neptune 1.x's ``fetch``)."""
        value = self._stored()
        if self._path == sysf.STATE:
            return neptune_state(value)
        state = sysf.STATE.removeprefix(self._path + "/")
        if isinstance(value, dict) and state != sysf.STATE and state in value:  # the sys namespace
            value[state] = neptune_state(value[state])
        return value

    def fetch_last(self) -> Any:
        return self._run._naiad[self._path].fetch_last()

    def fetch_values(self, include_timestamp: bool = True, **kwargs: Any) -> pd.DataFrame:
        """The series as a DataFrame with Neptune's columns: ``step``, ``value``, ``timestamp``.

        Timestamps are naive (UTC), as Neptune 1.x returned them.
        """
        df = self._run._naiad[self._path].fetch_values(include_timestamp=include_timestamp)
        columns = ["step", "value", "timestamp"] if include_timestamp else ["step", "value"]
        df = df[columns].copy()
        if include_timestamp and getattr(df["timestamp"].dt, "tz", None) is not None:
            df["timestamp"] = df["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None)
        return df

    def fetch_hash(self) -> str:
        """An Artifact's hash, or a File's content hash (SHA-256 hex; Neptune's own hashes differed)."""
        stored = self._stored()
        return str(stored["hash"] if "hash" in stored and "files" in stored else stored["sha256"])

    def fetch_extension(self) -> str:
        """The stored file's extension, without the dot (``png``, ``pkl``)."""
        name = str(self._stored()["name"])
        return name.rsplit(".", 1)[1] if "." in name else ""

    def download(self, destination: str | os.PathLike[str] | None = None, **kwargs: Any) -> None:
        """Download the file (or a file series' files) into ``destination`` (default: here)."""
        self._run._naiad[self._path].download(Path.cwd() if destination is None else destination)

    def download_last(self, destination: str | os.PathLike[str] | None = None) -> None:
        """Download the last file of a file series (into ``destination``, a folder or a file name)."""
        with tempfile.TemporaryDirectory() as tmp:
            got = self._run._naiad[self._path].download(tmp)
            last = got[-1] if isinstance(got, list) else got
            if isinstance(got, list) and not got:
                raise FieldNotFound(f"The file series '{self._path}' has no file yet.")
            dest = Path.cwd() if destination is None else Path(destination)
            if dest.is_dir():
                dest = dest / f"{self._path.rsplit('/', 1)[-1]}{last.suffix}"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(last), dest)

    def _stored(self) -> Any:
        return self._run._naiad[self._path].fetch()

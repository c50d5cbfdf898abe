"""Writing output folders: deterministic CSV, JSON, and all-or-nothing folders.

A run's files are written into a hidden temporary folder beside the target and moved into place
only when every file is complete, so a refused or crashed run leaves nothing half-written.
This module owns byte-level output format; it must never decide what goes into a file.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["atomic_output_dir", "sha256_file", "write_csv", "write_json", "write_text_table"]


def _arrow_text_table(frame: pd.DataFrame):
    """``frame`` as an Arrow table of plain strings and integers, or ``None`` when the fast writer
    could not give the same bytes as pandas (floats, booleans, mixed objects, fields needing quotes)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if any(ch in str(name) for name in frame.columns for ch in ',"\r\n'):
        return None  # a header that needs quoting: only pandas quotes headers
    arrays = []
    for name in frame.columns:
        col = frame[name]
        dtype = col.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            if not pd.api.types.is_string_dtype(dtype.categories.dtype):
                return None
        elif pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_extension_array_dtype(dtype):
            arrays.append(pa.array(col.to_numpy()))
            continue
        elif not pd.api.types.is_string_dtype(dtype) or (
                dtype == object and pd.api.types.infer_dtype(col, skipna=True) not in ("string", "empty")):
            return None
        arr = pa.array(col, from_pandas=True)
        if pa.types.is_dictionary(arr.type):
            arr = arr.cast(arr.type.value_type)
        arr = arr.cast(pa.large_string())
        if len(arr) and pc.any(pc.match_substring_regex(arr, r'[,"\r\n]')).as_py():
            return None
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, names=[str(c) for c in frame.columns])


def write_csv(frame: pd.DataFrame, path: str | Path, columns: tuple[str, ...] | None = None) -> None:
    """Write ``frame`` as contract CSV: UTF-8, no index, ``\\n`` line ends, empty for missing.

    Frames of text and integers whose fields need no quoting (the usual case for exports) go
    through Arrow's CSV writer, ~10x faster; anything else through pandas. Both give the same
    bytes for the same frame: unquoted header, minimal quoting, empty string for missing values.
    """
    if columns is not None:
        frame = frame.loc[:, list(columns)]
    table = _arrow_text_table(frame) if len(frame.columns) else None
    if table is None:
        frame.to_csv(path, index=False, lineterminator="\n", na_rep="")
        return
    import pyarrow.csv as pcsv

    pcsv.write_csv(table, str(path), pcsv.WriteOptions(include_header=True, quoting_style="none", quoting_header="none"))


def write_json(data: Any, path: str | Path) -> None:
    """Write JSON with sorted keys and a trailing newline, so equal data gives equal bytes."""
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def sha256_file(path: str | Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextmanager
def atomic_output_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary folder; on success its files replace those of the same name in ``target``.

    Files already in ``target`` that the run does not write are left alone (a report written
    later into a reconcile folder keeps the reconcile files). On any exception nothing in
    ``target`` changes and the temporary folder is removed.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield tmp
        target.mkdir(parents=True, exist_ok=True)
        for item in sorted(tmp.iterdir()):
            dest = target / item.name
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            os.replace(item, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_text_table(table, path: str | Path) -> None:
    """Write an Arrow table of text (and integer) columns as contract CSV, straight from Arrow.

    The same bytes :func:`write_csv` gives for the same values as a frame: unquoted header, no
    quoting, empty field for null, ``\\n`` line ends. The caller guarantees no field needs quoting
    (no comma, double quote, CR or LF): generated text is built from such safe pieces; anything
    else goes through :func:`write_csv`, which checks.
    """
    import pyarrow.csv as pcsv

    pcsv.write_csv(table, str(path), pcsv.WriteOptions(include_header=True, quoting_style="none",
                                                       quoting_header="none"))

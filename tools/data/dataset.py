"""Load CSV, JSON, JSONL, Parquet or a `datasets` save_to_disk folder into an immutable `Dataset`
of rows with stable integer ids.

Ids come from the id column when it holds integers, else from the row position, so a row keeps
its id across sessions as long as the file does not change. Gold-label edits are not made here: a
conversation keeps its own overrides (see `Dataset.with_labels`).

Damaged files are refused with one line naming the place, never read into something else (issue 22):
- a CSV line with more or fewer fields than the header, or an unclosed quote (which would swallow
  the following lines into one field), is an error naming the line: skipping it would change which
  rows every later answer is about, and a merged row would be explained as if it were real;
- an integer id column with duplicates is an error naming them: renumbering every row by position
  would silently give each row another id than the file's;
- a CSV field over csv's limit (128 KiB) and JSON nested too deep to parse get a message, not a
  traceback.
"""
from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

from tools.errors import DataError, InputError

DEMO_NAME = "demo"


def demo_path() -> Path:
    """The bundled demo reviews (218 short reviews written for whybox, gold sentiment labels)."""
    return Path(str(resources.files("tools.data").joinpath("demo_reviews.jsonl")))


@dataclass(frozen=True)
class Row:
    id: int
    text: str
    label: str | None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_words(self) -> int:
        return len(self.text.split())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "text": self.text, "label": self.label}
        out.update({k: v for k, v in self.extra.items() if k not in out})
        return out


class Dataset:
    """Rows in file order with an id index; `labels` is the sorted gold label set."""

    def __init__(self, rows: list[Row], name: str, source: str, columns: list[str], row_noun: str = "row") -> None:
        self.rows = rows
        self.name = name
        self.row_noun = row_noun  # what answers call a row: "review #12", "row #3" (tools/data/row_noun.py)
        self.source = source
        self.columns = columns
        self._by_id = {row.id: row for row in rows}
        if len(self._by_id) != len(rows):
            raise DataError(f"Dataset {name!r} has duplicate ids.")

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    @property
    def labels(self) -> list[str]:
        """Sorted; integer labels in numeric order (2 before 10)."""
        return sorted({row.label for row in self.rows if row.label is not None}, key=_label_order)

    @property
    def has_labels(self) -> bool:
        return any(row.label is not None for row in self.rows)

    @property
    def ids(self) -> list[int]:
        return [row.id for row in self.rows]

    def median_words(self) -> int:
        """Rows with at most this many words count as "short" in questions."""
        lengths = sorted(row.n_words for row in self.rows)
        return lengths[(len(lengths) - 1) // 2] if lengths else 8

    def get(self, row_id: int) -> Row:
        try:
            return self._by_id[row_id]
        except KeyError:
            lo, hi = (min(self._by_id), max(self._by_id)) if self._by_id else (0, -1)
            raise InputError(
                f"There is no row with id {row_id} in {self.name}.",
                f"Ids run from {lo} to {hi} ({len(self)} rows).",
            ) from None

    def with_labels(self, overrides: Mapping[int, str]) -> "Dataset":
        """A view with some gold labels replaced (a conversation's `edit_label`s)."""
        if not overrides:
            return self
        rows = [
            Row(r.id, r.text, overrides.get(r.id, r.label), r.extra) if r.id in overrides else r
            for r in self.rows
        ]
        return Dataset(rows, self.name, self.source, self.columns, self.row_noun)

    def texts_hash(self) -> str:
        """Hash of ids and texts only: predictions depend on these, not on gold labels."""
        return _hash_rows((row.id, row.text) for row in self.rows)

    def content_hash(self) -> str:
        """Hash of ids, texts and gold labels (edits included)."""
        return _hash_rows((row.id, row.text, row.label) for row in self.rows)


def _label_order(label: str) -> tuple[int, float, str]:
    try:
        return (0, float(int(label)), "")
    except ValueError:
        return (1, 0.0, label)


def label_text(value: Any) -> str | None:
    """A gold label as text: 1 and 1.0 (JSON, pandas exports) both read "1"; empty is no label."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() if isinstance(value, str) else str(value)


def _hash_rows(items: Iterable[tuple]) -> str:
    digest = hashlib.sha256()
    for item in items:
        digest.update(json.dumps(item, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()[:16]


def _arrow_records(path: Path) -> list[dict[str, Any]]:
    """Records of a Parquet file or of a Hugging Face `datasets` folder (`save_to_disk`: Arrow
    stream files listed in state.json), read with pyarrow alone (the optional `data` extra):
    people keep datasets this way, and `datasets` itself is not needed to read them."""
    try:
        import pyarrow.ipc
        import pyarrow.parquet
    except ImportError:
        raise DataError(f"Reading {path.name} needs pyarrow.", "pip install 'whybox[data]'.") from None
    try:
        if path.is_file():
            return pyarrow.parquet.read_table(path).to_pylist()
        if (path / "dataset_dict.json").exists():
            splits = json.loads((path / "dataset_dict.json").read_text()).get("splits", [])
            raise DataError(f"{path.name} holds several splits ({', '.join(map(str, splits))}).",
                            f"Give one split's folder, e.g. {path / str(splits[0] if splits else 'train')}.")
        state = json.loads((path / "state.json").read_text())
        records: list[dict[str, Any]] = []
        for part in state.get("_data_files", []):
            with pyarrow.ipc.open_stream(path / part["filename"]) as reader:
                records.extend(reader.read_all().to_pylist())
        return records
    except (OSError, ValueError, KeyError, TypeError, pyarrow.ArrowException) as exc:
        raise DataError(f"{path.name} cannot be read as Parquet / Arrow data: {str(exc).splitlines()[0]}") from None


def _is_saved_dataset(path: Path) -> bool:
    return path.is_dir() and any((path / name).exists() for name in ("state.json", "dataset_dict.json"))


def _read_records(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".parquet" or _is_saved_dataset(path):
        return _arrow_records(path)
    try:
        if suffix == ".csv":
            return _read_csv(path)
        if suffix == ".jsonl":
            records = []
            with path.open(encoding="utf-8") as handle:
                for number, line in enumerate(handle, start=1):
                    if line.strip():
                        try:
                            records.append(json.loads(line))
                        except json.JSONDecodeError as exc:
                            raise DataError(f"{path.name} line {number} is not valid JSON: {exc.msg}.") from None
                        except RecursionError:
                            raise DataError(f"{path.name} line {number} is nested too deeply to read.") from None
            return records
        if suffix == ".json":
            with path.open(encoding="utf-8") as handle:
                try:
                    obj = json.load(handle)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path.name} is not valid JSON: {exc.msg} (line {exc.lineno}).") from None
                except RecursionError:
                    raise DataError(f"{path.name} is nested too deeply to read.") from None
            if isinstance(obj, dict):  # {"data": [...]} or {"rows": [...]}
                for key in ("data", "rows", "records", "examples"):
                    if isinstance(obj.get(key), list):
                        obj = obj[key]
                        break
            if not isinstance(obj, list):
                raise DataError(f"{path.name} must hold a list of records (or {{'data': [...]}}).")
            return obj
    except UnicodeDecodeError:
        raise DataError(f"{path.name} is not UTF-8 text.") from None
    raise DataError(f"Unsupported data format {suffix or '(none)'} for {path.name}.",
                    "Use .csv, .json, .jsonl or .parquet.")


def _read_csv(path: Path) -> list[dict[str, Any]]:
    """Records of a CSV file; a line that does not fit the header is an error naming it."""
    records = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, strict=True)  # strict: an unclosed quote raises, not merges lines
        line = 1
        try:
            header = next(reader, None)
            if header is None:
                return []
            line = reader.line_num + 1
            for fields in reader:
                if fields and len(fields) != len(header):
                    raise DataError(f"{path.name} line {line} has {len(fields)} fields; the header has "
                                    f"{len(header)}.", "Quote fields that contain commas or line breaks.")
                if fields:
                    records.append(dict(zip(header, fields)))
                line = reader.line_num + 1
        except csv.Error as exc:
            limit = csv.field_size_limit()
            what = (f"line {line} has a field over {limit:,} characters (csv's limit)" if "field limit" in str(exc)
                    else f"cannot be read from line {line} on: {exc}")
            raise DataError(f"{path.name} {what}.", "Check for an unclosed quote near that line.") from None
    return records


def _stable_ids(records: list[dict[str, Any]], id_column: str | None) -> list[int]:
    if id_column and records and all(id_column in r for r in records):
        try:
            ids = [int(str(r[id_column]).strip()) for r in records]
        except ValueError:
            ids = []
        if ids and len(set(ids)) != len(ids):
            seen: set[int] = set()
            twice = sorted({i for i in ids if i in seen or seen.add(i)})
            shown = ", ".join(map(str, twice[:10])) + (" ..." if len(twice) > 10 else "")
            raise DataError(f"The {id_column!r} column has duplicate ids: {shown}.",
                            "Make the ids unique, or remove the column to number rows by position.")
        if ids:
            return ids
    return list(range(len(records)))


def load_dataset(
    spec: str,
    text_column: str = "text",
    label_column: str | None = "label",
    id_column: str | None = "id",
) -> Dataset:
    """Load `spec` ('demo', a path to .csv/.json/.jsonl/.parquet, or a save_to_disk folder)."""
    if spec == DEMO_NAME:
        path, name = demo_path(), "demo reviews"
    else:
        path = Path(spec).expanduser()
        name = path.name
        if not path.exists():
            raise DataError(f"Data file not found: {spec}.")
        if path.is_dir() and not _is_saved_dataset(path):
            raise DataError(f"{spec} is a folder; give a .csv, .json, .jsonl or .parquet file, "
                            "or a folder written by `datasets`' save_to_disk.")
    records = _read_records(path)
    if not records:
        raise DataError(f"{name} has no rows.")
    if not all(isinstance(r, dict) for r in records):
        raise DataError(f"{name} must hold records (objects with named fields).")
    columns = list(dict.fromkeys(key for record in records for key in record))
    if text_column not in columns:
        raise DataError(f"Unknown text column {text_column!r} in {name}.", f"Columns: {', '.join(columns)}.")
    if label_column and label_column not in columns:
        if label_column != "label":  # the default may be absent (unlabelled data); a named one may not
            raise DataError(f"Unknown label column {label_column!r} in {name}.", f"Columns: {', '.join(columns)}.")
        label_column = None
    ids = _stable_ids(records, id_column)
    rows = []
    skip = {text_column, label_column, id_column}
    for row_id, record in zip(ids, records):
        text = record.get(text_column)
        if text is None:
            raise DataError(f"Row {row_id} of {name} has no {text_column!r} value.")
        label = record.get(label_column) if label_column else None
        extra = {k: v for k, v in record.items() if k not in skip}
        rows.append(Row(row_id, str(text), label_text(label), extra))
    from tools.data.row_noun import row_noun

    return Dataset(rows, name=name, source=str(path), columns=columns, row_noun=row_noun(path, spec == DEMO_NAME))


def peek_columns(spec: str, id_column: str | None = "id") -> tuple[list[str], str | None, str | None]:
    """(columns, likely text column, likely label column) of a data file, for a UI to offer before
    loading it: 'text'/'label' when present, else the column with the longest values for the text
    and the other column with the fewest distinct values (2-50) for the label."""
    path = demo_path() if spec == DEMO_NAME else Path(spec).expanduser()
    if not (path.is_file() or _is_saved_dataset(path)):
        raise DataError(f"Data file not found: {spec}.")
    records = [r for r in _read_records(path) if isinstance(r, dict)]
    columns = list(dict.fromkeys(key for record in records for key in record))
    if not columns:
        raise DataError(f"{path.name} has no rows with named fields.")

    def values(column: str) -> list[str]:
        return [str(r[column]) for r in records if r.get(column) not in (None, "")]

    candidates = [c for c in columns if c != id_column] or columns
    text = "text" if "text" in columns else max(
        candidates, key=lambda c: sum(map(len, values(c))) / max(1, len(values(c))))
    counts = {c: len(set(values(c))) for c in candidates if c != text}
    label = "label" if "label" in columns else min(
        (c for c, n in counts.items() if 2 <= n <= 50), key=lambda c: counts[c], default=None)
    return columns, text, label


def validate_text(text: str, max_chars: int = 20_000) -> str:
    """Normalise free text given by a user; empty or huge input gets a clear message."""
    if not isinstance(text, str) or not text.strip():
        raise InputError("The text is empty.", "Give a sentence or a row id.")
    if len(text) > max_chars:
        raise InputError(f"The text is {len(text):,} characters long; the limit is {max_chars:,}.")
    return text.strip()

"""Damaged data and model files (issue 22): each gets one clear line naming the place, never a
traceback, and never a silently different dataset or model."""
from __future__ import annotations

import json

import pytest

from tools.data.dataset import load_dataset
from tools.errors import DataError, ModelLoadError


def test_a_csv_line_with_an_extra_field_is_named(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("id,text,label\n1,good food,positive\n2,bad, very bad,negative\n3,fine,positive\n")
    with pytest.raises(DataError, match=r"d\.csv line 3 has 4 fields; the header has 3"):
        load_dataset(str(path))


def test_an_unclosed_quote_does_not_merge_the_following_rows(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('id,text,label\n1,"good food,positive\n2,bad,negative\n3,fine,positive\n')
    with pytest.raises(DataError, match=r"d\.csv cannot be read from line 2 on"):
        load_dataset(str(path))


def test_a_quoted_multiline_field_is_still_one_row(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('id,text,label\n1,"good\nfood",positive\n2,bad,negative\n')
    data = load_dataset(str(path))
    assert [r.text for r in data] == ["good\nfood", "bad"] and data.ids == [1, 2]


def test_duplicate_ids_are_refused_with_the_ids_named(tmp_path):
    path = tmp_path / "d.jsonl"
    rows = [{"id": i, "text": f"t{n}", "label": "a"} for n, i in enumerate([5, 7, 5, 9, 7])]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError, match=r"'id' column has duplicate ids: 5, 7\."):
        load_dataset(str(path))


def test_a_field_over_the_csv_limit_gets_a_message(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("id,text,label\n1,short,a\n2," + "x" * (200 * 1024) + ",b\n")
    with pytest.raises(DataError, match=r"d\.csv line 3 has a field over 131,072 characters"):
        load_dataset(str(path))


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_json_nested_100k_deep_gets_a_message(tmp_path, suffix):
    path = tmp_path / f"d{suffix}"
    path.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(DataError, match="nested too deeply to read"):
        load_dataset(str(path))


def test_a_config_json_that_is_not_json_is_named(tmp_path):
    from tools.models.loading import resolve_model_folder

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text("{not json")
    (folder / "model.safetensors").write_bytes(b"\0" * 16)
    with pytest.raises(ModelLoadError, match=r"m/config\.json is not valid JSON \(JSONDecodeError\)"):
        resolve_model_folder(str(folder), tmp_path / "models")


def _converted(models_dir, name="SmolLM2-abc"):
    """A converted-model folder as convert_gguf leaves it (sizes recorded at conversion time)."""
    from tools.models.loading import CONVERTED_META, weight_sizes

    target = models_dir / name
    target.mkdir(parents=True)
    (target / "model.safetensors").write_bytes(b"w" * 1000)
    (target / CONVERTED_META).write_text(json.dumps({"gguf": "x.gguf", "sizes": weight_sizes(target)}))
    return target


def test_a_truncated_converted_model_is_detected_and_removed_for_reconversion(tmp_path):
    from tools.models.loading import conversion_is_whole

    whole = _converted(tmp_path, "whole")
    assert conversion_is_whole(whole) and whole.exists()
    damaged = _converted(tmp_path, "damaged")
    with (damaged / "model.safetensors").open("r+b") as handle:
        handle.truncate(600)
    assert not conversion_is_whole(damaged)
    assert not damaged.exists()  # convert_gguf then converts it again


def test_staging_folders_of_a_killed_conversion_are_removed(tmp_path):
    from tools.models.loading import remove_stale_staging

    (tmp_path / ".SmolLM2-abc.k3j2_x").mkdir()
    (tmp_path / ".SmolLM2-abc.k3j2_x" / "model.safetensors").write_bytes(b"partial")
    keep = _converted(tmp_path, "SmolLM2-abc")
    other = tmp_path / ".Other-def.zz"
    other.mkdir()
    remove_stale_staging(tmp_path, "SmolLM2-abc")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".Other-def.zz", "SmolLM2-abc"] and keep.exists()


ROWS = [{"id": 10 + i, "text": t, "label": lab} for i, (t, lab) in
        enumerate([("good food", "positive"), ("bad service", "negative"), ("fine", "positive")])]


def test_parquet_loads_like_jsonl(tmp_path):
    pa, pq = pytest.importorskip("pyarrow"), pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "d.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), path)
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    data, same = load_dataset(str(path)), load_dataset(str(jsonl))
    assert data.ids == [10, 11, 12] and data.labels == ["negative", "positive"]
    assert data.content_hash() == same.content_hash()


def test_a_save_to_disk_folder_loads_and_a_split_dict_names_its_splits(tmp_path):
    """The layout `datasets.Dataset.save_to_disk` writes: Arrow stream shards listed in state.json."""
    pa = pytest.importorskip("pyarrow")
    folder = tmp_path / "saved"
    folder.mkdir()
    table = pa.Table.from_pylist(ROWS)
    for n, part in enumerate((table.slice(0, 2), table.slice(2))):
        with pa.ipc.new_stream(folder / f"data-0000{n}-of-00002.arrow", table.schema) as writer:
            writer.write_table(part)
    (folder / "state.json").write_text(json.dumps({"_data_files": [
        {"filename": "data-00000-of-00002.arrow"}, {"filename": "data-00001-of-00002.arrow"}]}))
    assert [r.text for r in load_dataset(str(folder))] == ["good food", "bad service", "fine"]
    splits = tmp_path / "dict"
    splits.mkdir()
    (splits / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "test"]}))
    with pytest.raises(DataError, match=r"dict holds several splits \(train, test\)\. Give one split's folder"):
        load_dataset(str(splits))

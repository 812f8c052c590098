import json

import pytest

from tools.data import load_dataset
from tools.data.dataset import validate_text
from tools.errors import DataError, InputError
from tools.where import Where, select


def test_demo_dataset_is_large_balanced_and_has_hard_cases():
    ds = load_dataset("demo")
    assert len(ds) >= 200
    counts = {label: sum(r.label == label for r in ds) for label in ds.labels}
    assert ds.labels == ["negative", "positive"]
    assert abs(counts["positive"] - counts["negative"]) <= 0.1 * len(ds)
    domains = {r.extra["domain"] for r in ds}
    assert domains == {"restaurant", "film", "product", "service"}
    texts = " ".join(r.text.lower() for r in ds)
    for word in ("not ", "price", "battery", "but"):
        assert word in texts
    assert ds.ids == list(range(len(ds)))


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_loads_each_format_with_custom_columns_and_stable_ids(tmp_path, fmt):
    records = [{"rid": 7, "body": "great phone", "y": "pos"}, {"rid": 3, "body": "awful, slow", "y": "neg"}]
    path = tmp_path / f"d.{fmt}"
    if fmt == "csv":
        path.write_text("rid,body,y\n7,great phone,pos\n3,\"awful, slow\",neg\n")
    elif fmt == "json":
        path.write_text(json.dumps({"data": records}))
    else:
        path.write_text("\n".join(json.dumps(r) for r in records))
    ds = load_dataset(str(path), text_column="body", label_column="y", id_column="rid")
    assert ds.ids == [7, 3]
    assert ds.get(3).text == "awful, slow"
    assert ds.labels == ["neg", "pos"]


def test_ids_fall_back_to_positions_when_not_unique_integers(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n')
    ds = load_dataset(str(path))
    assert ds.ids == [0, 1] and not ds.has_labels


@pytest.mark.parametrize(
    "spec, kwargs, message",
    [
        ("/no/such/file.csv", {}, "Data file not found"),
        ("demo", {"text_column": "body"}, "Unknown text column 'body'"),
        ("demo", {"label_column": "gold"}, "Unknown label column 'gold'"),
    ],
)
def test_bad_data_options_give_clear_messages(spec, kwargs, message):
    with pytest.raises(DataError, match=message):
        load_dataset(spec, **kwargs)


def test_malformed_files(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{oops\n')
    with pytest.raises(DataError, match="line 2 is not valid JSON"):
        load_dataset(str(bad))
    other = tmp_path / "data.txt"
    other.write_text("hello")
    with pytest.raises(DataError, match="Unsupported data format"):
        load_dataset(str(other))


def test_unknown_id_names_the_range():
    with pytest.raises(InputError, match=r"no row with id 999.*Ids run from 0 to 217"):
        load_dataset("demo").get(999)


def test_where_filters_combine_with_and():
    ds = load_dataset("demo")
    price = select(ds, Where(includes="price"))
    assert price and all("price" in r.text.lower() for r in price)
    # whole-word, case-insensitive: "Overpriced" alone does not count as "price"
    assert all(" price" in " " + r.text.lower().replace(",", " ") or r.text.lower().startswith("price") for r in price)
    both = select(ds, Where(includes="price", label="negative", min_words=8))
    assert both == [r for r in price if r.label == "negative" and r.n_words >= 8]
    short = select(ds, Where(max_words=4))
    assert short and all(r.n_words <= 4 for r in short)
    assert [r.id for r in select(ds, Where(ids=[5, 2]))] == [2, 5]
    assert select(ds, Where(label="POSITIVE")) == [r for r in ds if r.label == "positive"]


def test_where_prediction_and_correct_use_the_predictions_lazily():
    ds = load_dataset("demo")
    calls = []

    def predicted():
        calls.append(1)
        return {r.id: "positive" for r in ds}

    select(ds, Where(label="negative"), predicted)
    assert calls == []
    wrong = select(ds, Where(correct=False), predicted)
    assert [r.id for r in wrong] == [r.id for r in ds if r.label == "negative"]
    assert len(select(ds, Where(prediction="positive"), predicted)) == len(ds)


def test_where_errors():
    ds = load_dataset("demo")
    with pytest.raises(InputError, match="Unknown label 'neutral'"):
        select(ds, Where(label="neutral"))
    with pytest.raises(InputError, match="min_words"):
        select(ds, Where(min_words=10, max_words=5))
    with pytest.raises(InputError, match="no row with id 5000"):
        select(ds, Where(ids=[5000]))
    with pytest.raises(Exception):
        Where.model_validate({"contains": "x"})  # unknown keys are rejected


@pytest.mark.parametrize("text", ["", "   ", "x" * 20_001])
def test_validate_text_rejects_empty_and_huge(text):
    with pytest.raises(InputError):
        validate_text(text)

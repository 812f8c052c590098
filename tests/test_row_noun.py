"""Answers call a dataset's rows by the data's own noun (issue 18): "review #3" on the demo reviews,
"tweet #3" when the data's metadata says its rows are tweets, "row #3" when it says nothing."""
import json

import pytest

from tools.data.dataset import load_dataset
from tools.data.row_noun import noun_from_metadata

TWEETS = [("the food was good", "positive"), ("bad service", "negative"), ("it was very good", "positive"),
          ("terrible food", "negative"), ("a great movie", "positive")]


def _tweets_csv(folder):
    path = folder / "olid_tweets.csv"  # the file name says tweets; only metadata may name the rows
    path.write_text("id,text,label\n" + "".join(f"{i},{t},{label}\n" for i, (t, label) in enumerate(TWEETS)))
    return path


def test_noun_comes_from_metadata_or_is_row(tmp_path):
    csv_path = _tweets_csv(tmp_path)
    assert load_dataset(str(csv_path)).row_noun == "row"
    assert load_dataset("demo").row_noun == "review"
    assert load_dataset("demo").with_labels({0: "negative"}).row_noun == "review"  # a conversation's edits keep it
    (tmp_path / "olid_tweets.csv.meta.json").write_text(json.dumps({"row_noun": "tweet"}))
    assert load_dataset(str(csv_path)).row_noun == "tweet"
    described = tmp_path / "posts.json"
    rows = [{"id": i, "text": t, "label": label} for i, (t, label) in enumerate(TWEETS)]
    described.write_text(json.dumps({"description": "A collection of 5 forum posts labelled for offence.",
                                     "data": rows}))
    assert load_dataset(str(described)).row_noun == "post"


@pytest.mark.parametrize("meta, noun", [
    ({"description": "14,100 English tweets annotated for offensive language (OLID)."}, "tweet"),
    ({"description": "Movie Reviews from IMDB."}, "review"),
    ({"description": "Sentiment of things."}, None),
    ({"row_noun": "Dialogue"}, "dialogue"),
    ({"row_noun": "<script>"}, None),
    (["not", "a", "mapping"], None),
])
def test_noun_from_metadata(meta, noun):
    assert noun_from_metadata(meta) == noun


def _assistant(tiny_models, data):
    from agent import Assistant
    from tools.settings import Settings

    return Assistant(Settings.from_env(model=str(tiny_models["causal"]), data=str(data)), quiet=True)


def test_narrated_answer_says_row_for_undescribed_data_and_review_on_the_demo(tiny_models, tmp_path):
    tweets = _assistant(tiny_models, _tweets_csv(tmp_path)).ask("What does the model predict for row 3?")
    assert [s.tool for s in tweets.steps] == ["predict"] and tweets.steps[0].args == {"id": 3}
    assert "row #3" in tweets.narration and "review" not in tweets.narration.lower()
    demo = _assistant(tiny_models, "demo").ask("What does the model predict for review 3?")
    assert "review #3" in demo.narration and "row #3" not in demo.narration


def test_notebook_result_and_described_data_use_the_noun(tiny_models, tmp_path):
    from tools.display import text

    path = _tweets_csv(tmp_path)
    (tmp_path / "olid_tweets.csv.meta.json").write_text(json.dumps({"description": "OLID: offensive tweets"}))
    assistant = _assistant(tiny_models, path)
    result = assistant.run_tool("predict", {"id": 2})
    assert result.provenance.row_noun == "tweet"
    assert "tweet #2" in text(*result._display_parts())
    assert "tweet #2" in assistant.ask("What does the model predict for row 2?").narration

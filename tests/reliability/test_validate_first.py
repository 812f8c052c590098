"""Issue 22: arguments naming labels are checked against the loaded model and data before any
expensive work: `count` with an unknown prediction label ran the model on every row first."""
from __future__ import annotations

import pytest

from tools.errors import InputError


@pytest.fixture
def forwards(tiny_assistant):
    """How many forward passes the (loaded) model has run since the fixture started."""
    model = tiny_assistant.workspace.model.model
    calls = [0]
    hook = model.register_forward_pre_hook(lambda module, args: calls.__setitem__(0, calls[0] + 1))
    yield calls
    hook.remove()


@pytest.mark.parametrize("where", [{"prediction": "neutral"}, {"prediction": "neutral", "correct": False},
                                   {"label": "neutral", "correct": True}, {"ids": [99999], "prediction": "positive"},
                                   {"match": {"colour": "red"}, "correct": False}])
def test_count_refuses_an_unknown_label_id_or_column_before_predicting(tiny_assistant, forwards, where):
    with pytest.raises(InputError) as caught:
        tiny_assistant.run_tool("count", {"where": where})
    assert forwards[0] == 0, f"{forwards[0]} forward passes before refusing {where}"
    message = str(caught.value)
    if "neutral" in str(where) and "label" not in where:
        assert message == "Unknown predicted label 'neutral'. Labels: negative, positive."
    assert "Traceback" not in message


def test_a_known_prediction_label_still_counts(tiny_assistant, forwards):
    result = tiny_assistant.run_tool("count", {"where": {"prediction": "POSITIVE"}})  # any case, as before
    assert forwards[0] > 0  # now the dataset is predicted
    predicted = tiny_assistant.workspace.predictions().predicted
    assert result.output["count"] == sum(1 for label in predicted.values() if label == "positive")
    assert result.output["total"] == 10

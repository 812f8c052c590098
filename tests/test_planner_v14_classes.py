"""v14 failure classes (issue 17), in wordings of my own: each was a silent wrong call or a needless
'not understood' on the independent v14 sets' first measurement (86.0% / 83.0%; working sessions of a
QA tester, a labeller, a researcher, a teacher, a phone typist and a manager)."""
from __future__ import annotations

import pytest

from tests.planner_eval.harness import last_calls, make_planner


@pytest.fixture(scope="module")
def planner():
    return make_planner()


@pytest.mark.parametrize("questions, expected", [
    (("show me 5 and 6",), [("show", {"where": {"ids": [5, 6]}})]),
    (("show 3 negative-labelled reviews that mention 'staff'",),
     [("show", {"where": {"includes": "staff", "label": "negative"}, "k": 3})]),
    (("the confusion table please: which label gets mistaken for which",), [("mistakes", {"mode": "confusion"})]),
    (("wat does it say for 40",), [("predict", {"id": 40})]),
    (("someone tagged review 9 as positive and got it backwards, it's negative",),
     [("edit_label", {"id": 9, "label": "negative"})]),
    (("70 and 71 are both positive actually",),
     [("edit_label", {"id": 70, "label": "positive"}), ("edit_label", {"id": 71, "label": "positive"})]),
    (("how mny positiv reviews r there",), [("count", {"where": {"label": "positive"}})]),
    (("try to break review 20 with a small typo",), [("adversarial", {"id": 20})]),
    (("break it down by domain",), [("score", {"by": "domain"})]),
    (("the smallest tweak of review 8 that makes it negative",),
     [("counterfactual", {"id": 8, "target": "negative"})]),
    (("a user says 'love it, works great' got flagged negative, check",),
     [("predict", {"text": "love it, works great"})]),
    (("probe the first layer and the last layer",), [("probe", {"layers": [0, 29]})]),
    (("which words drive the predictions on film reviews", "top 5 with occlusion"),
     [("global_importance", {"where": {"match": {"domain": "film"}}, "method": "occlusion", "k": 5})]),
])
def test_v14_class(planner, questions, expected):
    assert last_calls(planner, *questions) == expected

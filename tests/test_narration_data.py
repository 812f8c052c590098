"""Narration of the data, about, knowledge, performance and report tools, on typed outputs built
by hand (no model, no dataset): the exact wording, so a refactor cannot change it silently."""
from __future__ import annotations

import typing

import pytest

from tools.builtin.capabilities import Capabilities, CapabilitiesOutput
from tools.builtin.count import Count, CountOutput
from tools.builtin.describe_data import DescribeData, DescribeDataOutput
from tools.builtin.describe_model import DescribeModel, DescribeModelOutput
from tools.builtin.edit_label import EditLabel, EditLabelOutput
from tools.builtin.explain_concept import ExplainConcept, ExplainConceptOutput
from tools.builtin.keywords import Keywords, KeywordsOutput
from tools.builtin.label_distribution import LabelDistribution, LabelDistributionOutput
from tools.builtin.mistakes import Mistakes, MistakesOutput
from tools.builtin.report import Report, ReportOutput
from tools.builtin.score import METRIC_CARDS, METRICS, Score, ScoreOutput, ScoreParams
from tools.builtin.show import Show, ShowOutput

ROW = {"id": 12, "text": "the  food was\ncold", "label": "negative", "domain": "restaurant"}
PREDICTED = {**ROW, "prediction": "positive", "confidence": 0.9123}


def test_show_one_row_and_a_selection():
    one = ShowOutput(selection="row 12", total=1, rows=[PREDICTED])
    assert Show().narrate(one, {"id": 12}) == (
        'Here is row 12:\n- #12 "the food was cold" (gold: negative, predicted: positive at 91.2%)')
    many = ShowOutput(selection="rows that include 'food'", total=7,
                      rows=[ROW, {"id": 3, "text": "ok", "label": None}])
    assert Show().narrate(many, {"where": {"includes": "food"}}) == (
        "7 rows match (rows that include 'food'); showing 2:\n"
        '- #12 "the food was cold" (gold: negative)\n'
        '- #3 "ok"')
    assert many.rows[0].model_dump()["domain"] == "restaurant"  # the dataset's own columns are kept
    assert Show().narrate(ShowOutput(selection="rows that include 'zebra'", total=0, rows=[]), {}) == (
        "No rows match (rows that include 'zebra').")


def test_count():
    assert Count().narrate(CountOutput(selection="all rows", count=10, total=10), {}) == (
        "There are 10 rows in the dataset.")
    assert Count().narrate(CountOutput(selection="rows labelled negative", count=4, total=10), {}) == (
        "4 of the 10 rows match (rows labelled negative).")


def test_label_distribution():
    out = LabelDistributionOutput(selection="all rows", total=8, labels=[
        {"label": "negative", "count": 3, "share": 0.375}, {"label": "positive", "count": 5, "share": 0.625}])
    assert LabelDistribution().narrate(out, {}) == "Gold labels (8 rows): negative: 3 (37.5%); positive: 5 (62.5%)."
    scoped = out.model_copy(update={"selection": "rows with at most 5 words"})
    assert LabelDistribution().narrate(scoped, {}).startswith("Gold labels among rows with at most 5 words (8 rows):")


def test_keywords():
    out = KeywordsOutput(selection="all rows", rows=10,
                         keywords=[{"word": "good", "count": 5}, {"word": "food", "count": 3}],
                         by_label={"negative": [], "positive": [{"word": "good", "count": 4}]})
    assert Keywords().narrate(out, {}) == (
        "The most frequent content words in all rows (10 rows) are: good (5), food (3).\nIn positive rows: good (4).")
    empty = KeywordsOutput(selection="rows that include 'zebra'", rows=0, keywords=[], by_label={})
    assert Keywords().narrate(empty, {}) == "No content words found in rows that include 'zebra'."


def test_edit_label():
    changed = EditLabelOutput(id=5, text="fine", old_label="negative", new_label="positive", edits=2)
    assert EditLabel().narrate(changed, {}) == (
        "Changed the gold label of row #5 from negative to positive for this conversation "
        "(2 edit(s) so far; the data file is unchanged).")
    same = changed.model_copy(update={"old_label": "positive"})
    assert EditLabel().narrate(same, {}) == "Row #5 already has the label positive; nothing changed."


MODEL = dict(name="tiny-gpt2", architecture="GPT2LMHeadModel", kind="causal_lm", parameters=1_234_567, layers=2,
             hidden_size=32, intermediate_size=None, vocab_size=100, task="label_words",
             labels=["negative", "positive"], label_words=[" negative", " positive"], prompt="review-v1",
             calibrated=True, content_hash="abc", folder="/models/tiny", device="cpu")


def test_describe_model_per_task():
    out = DescribeModelOutput(**MODEL)
    assert DescribeModel().narrate(out, {}) == (
        "The loaded model is tiny-gpt2 (GPT2LMHeadModel, 1.2M parameters, 2 layers, hidden size 32). It is a causal "
        "language model used as a classifier: a prompt asks for the label and the probabilities of the label words "
        "( negative,  positive) are read from its next-token logits, calibrated on content-free inputs.")
    classifier = out.model_copy(update={"task": "sequence_classification"})
    assert DescribeModel().narrate(classifier, {}).endswith(
        "It is a sequence classifier with labels negative, positive.")
    generator = out.model_copy(update={"task": "generation"})
    assert DescribeModel().narrate(generator, {}).endswith("It is used as a text generator.")


def test_describe_data_keeps_an_integer_median():
    out = DescribeDataOutput(name="reviews", source="reviews.csv", rows=10, columns=["id", "text", "label", "domain"],
                             text_column="text", label_column="label", labels={"negative": 5, "positive": 5},
                             words={"min": 1, "median": 4, "mean": 4.2, "max": 9},
                             domains={"film": 4, "restaurant": 6}, label_edits=0)
    assert DescribeData().narrate(out, {}) == (
        "The dataset is reviews: 10 rows with columns id, text, label, domain. Gold labels: negative 5, positive 5. "
        "Texts are 1-9 words long (median 4). Domains: film 4, restaurant 6.")
    words = {"min": 1, "median": 4.5, "mean": 4.2, "max": 9}
    even = DescribeDataOutput.model_validate({**out.model_dump(), "words": words, "labels": {}, "domains": {}})
    assert DescribeData().narrate(even, {}) == (
        "The dataset is reviews: 10 rows with columns id, text, label, domain. Texts are 1-9 words long (median 4.5).")


def test_capabilities():
    out = CapabilitiesOutput(tools=[
        {"tool": "count", "description": "How many rows match (a filter). More.", "examples": ["how many reviews?"],
         "available": True},
        {"tool": "show", "description": "Show rows.", "examples": [], "available": True},
        {"tool": "predict", "description": "LLM prediction.", "examples": ["predict 3"], "available": True,
         "scope": "instance"},
        {"tool": "steer", "description": "Steer.", "examples": [], "available": False},
    ])
    assert Capabilities().narrate(out, {}) == (  # a question first, the tool's name last, grouped
        "Ask in your own words; one example each (the tool's name in brackets):\n"
        "About one review, or a text of yours:\n"
        "- \"predict 3\": LLM prediction (predict)\n"
        "About the data, or a group of rows:\n"
        "- \"how many reviews?\": how many rows match (count)\n"
        "- show rows (show)\n"
        "Planned but not available yet in this version: steer.")
    groups = {t.tool: t.scope for t in Capabilities().run(None, None).tools}
    assert groups["attribute"] == "instance" and groups["show"] == "rows" and groups["probe"] == "model"
    assert groups["explain_concept"] == "ideas" and groups["edit_label"] == "instance"


def test_explain_concept_found_and_not_found():
    found = ExplainConceptOutput(found=True, topic="attention", card="attention", title="Attention as explanation",
                                 kind="method", answer=["First paragraph.", "Second."], caveat="Not an explanation.",
                                 sources=["Jain and Wallace (2019), NAACL", "Wiegreffe and Pinter (2019), EMNLP"],
                                 related=[{"card": "saliency", "title": "Saliency maps"}], tools=["attribute"],
                                 scores=[{"card": "attention", "score": 0.9, "dense": 0.8, "lexical": 0.5}])
    assert ExplainConcept().narrate(found, {}) == (
        "**Attention as explanation**\n\nFirst paragraph.\n\nSecond.\n\nMain caveat: Not an explanation.\n\n"
        "Sources:\n1. Jain and Wallace (2019), NAACL\n2. Wiegreffe and Pinter (2019), EMNLP\n\n"
        "Related: Saliency maps.")
    missing = ExplainConceptOutput(found=False, topic="the weather  in Paris", card=None, answer=[], caveat=None,
                                   sources=[], related=[], tools=[], scores=[],
                                   closest=[{"card": "lime", "title": "LIME"}, {"card": "shap", "title": "SHAP"}])
    assert missing.title is None and missing.kind is None
    assert ExplainConcept().narrate(missing, {}) == (
        "My knowledge base has no card about \"the weather in Paris\", so I will not guess. "
        "The closest cards are: LIME, SHAP. Ask about one of them, or rephrase.")


def test_score_accuracy_and_averaged_metrics():
    accuracy = ScoreOutput(metric="accuracy", average=None, value=0.8, per_label={}, rows=10, correct=8,
                           selection="all rows", majority_baseline=0.5)
    assert Score().narrate(accuracy, {}) == (
        "The model's accuracy on all rows is 0.800: 8 of 10 rows correct. "
        "Always predicting the majority label would give 0.500.")
    f1 = ScoreOutput(metric="f1", average="macro", value=0.75, per_label={"negative": 0.7, "positive": 0.8}, rows=10,
                     correct=8, selection="rows that include 'good'", majority_baseline=0.5)
    assert Score().narrate(f1, {}) == (
        "The model's F1 (macro-averaged) on rows that include 'good' is 0.750 over 10 rows. "
        "Per label: negative 0.700, positive 0.800.")
    auc = f1.model_copy(update={"metric": "roc_auc", "average": None, "per_label": {}})
    assert Score().narrate(auc, {}) == "The model's ROC AUC on rows that include 'good' is 0.750 over 10 rows."


def test_score_metrics_have_one_owner():
    assert typing.get_args(ScoreParams.model_fields["metric"].annotation) == METRICS
    assert set(METRIC_CARDS) == set(METRICS)
    assert [Score().card_for(ScoreParams(metric=m), {}) for m in ("precision", "recall")] == ["precision_recall"] * 2
    with pytest.raises(ValueError):
        ScoreOutput(metric="bleu", average=None, value=0.1, per_label={}, rows=1, correct=0, selection="all rows",
                    majority_baseline=1.0)


def test_mistakes_count_and_sample():
    count = MistakesOutput(mode="count", selection="all rows", rows=10, mistakes=3, error_rate=0.3,
                           by_gold_label={"negative": 2, "positive": 1, "neutral": 0})
    assert count.examples is None
    assert Mistakes().narrate(count, {}) == (
        "The model misclassifies 3 of 10 rows (error rate 30.0%). "
        "Of these, 2 with gold label negative, 1 with gold label positive.")
    sample = MistakesOutput.model_validate({**count.model_dump(), "mode": "sample",
                                            "selection": "rows that include 'food'", "examples": [PREDICTED]})
    assert Mistakes().narrate(sample, {}) == (
        "The model misclassifies 3 of 10 rows among rows that include 'food' (error rate 30.0%). "
        "Of these, 2 with gold label negative, 1 with gold label positive.\n"
        "The 1 most confident mistakes:\n"
        '- #12 "the food was cold" (gold: negative, predicted: positive at 91.2%)')


def test_report_with_and_without_pdf_and_summary():
    plain = ReportOutput(title="Explanation of review #3", kind="instance", html="/r/a.html", pdf="/r/a.pdf", pages=1,
                         figures=2, sections=1, summary=None)
    assert Report().narrate(plain, {}) == (
        'I wrote the report "Explanation of review #3" (1 sections, 2 figures, 1 page).\n'
        "HTML: /r/a.html\nPDF: /r/a.pdf")
    summary = {"rows": 10, "mistakes": 3, "error_rate": 0.3, "explained": 2,
               "confusions": [{"pair": "negative → positive", "count": 2},
                              {"pair": "positive → negative", "count": 1}],
               "mean_confidence_mistakes": 0.7, "mean_confidence_correct": 0.9, "mean_words_mistakes": 6.0,
               "mean_words_correct": 4.5,
               "overrepresented_words": [{"word": "not", "mistakes": 3, "correct": 0, "ratio": 7.33}],
               "top_attributed_words": [{"word": "not", "count": 2}], "attributions_beating_random": None}
    mistakes = ReportOutput(title="Mistakes", kind="mistakes", html="/r/m.html", pdf=None, pages=None, figures=0,
                            sections=3, summary=summary)
    assert Report().narrate(mistakes, {}) == (
        'I wrote the report "Mistakes" (3 sections, 0 figures).\nHTML: /r/m.html\n'
        "(No PDF: WeasyPrint is not installed.)\n"
        "It explains 2 of the 3 mistakes (negative → positive: 2; positive → negative: 1). "
        "Words more common in mistakes than in correct rows: not (7.33x).")
    with pytest.raises(ValueError):  # a summary key the report tool does not know is our bug
        ReportOutput.model_validate({**mistakes.model_dump(), "summary": {**summary, "surprise": 1}})

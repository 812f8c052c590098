"""Synthetic training questions for the planner's learned concept detector (agent/planner/intent_model.py):
questions ABOUT a method, metric or operation (answer from a knowledge card) and requests to RUN it, in
the same words. Development time only (`make intent-model`).

Why synthetic: our sets hold ~150 concept questions, and each new held-out set found wordings the rules
had never seen ("does occlusion need gradients from the model", "what does an AUC of 0.5 tell me").
The detector needs to learn the difference of register (a question about how a thing works in general
vs a request about this model, this row, these data), not a list of wordings; so the same topic words
appear on both sides, across registers (terse, polite, non-native, chatty openers).
"""
from __future__ import annotations

import random

METHODS = ["lime", "kernel shap", "shap", "integrated gradients", "occlusion", "gradient x input",
           "attention weights", "the logit lens", "activation patching", "a probe", "probing",
           "steering", "a steering vector", "counterfactuals", "adversarial examples", "influence functions",
           "tracin", "data augmentation", "a rationale", "a bias audit", "neuron explanations",
           "polysemantic neurons", "leave-one-out"]
METRICS = ["f1", "the f1 score", "precision", "recall", "accuracy", "roc auc", "auc", "a confusion matrix",
           "faithfulness", "comprehensiveness", "sufficiency", "calibration"]
PROPERTIES = ["gradients", "the model's weights", "a baseline", "many forward passes", "a gpu", "random sampling",
              "labelled data", "access to the training data", "a reference input", "retraining"]

ABOUT_METHOD = [
    "does {m} need {p}?", "does {m} require {p}", "how many forward passes does {m} need",
    "is {m} deterministic?", "why is {m} unstable", "what does {m} assume about the model",
    "what baseline does {m} start from?", "can {m} be fooled?", "when would you pick {m} over {m2}?",
    "how is {m} different from {m2}", "what are the limits of {m}", "is {m} faithful to the model in general?",
    "why would {m} miss interactions between words", "what's the intuition behind {m}",
    "explain {m} like i'm five", "does {m} change the model's weights?", "how does {m} decide which words matter",
    "is {m} expensive to compute", "why do people say {m} is unreliable", "remind me what {m} does",
    "does {m} work on transformers?", "can {m} explain one prediction or only the whole model?",
    "what does {m} measure exactly", "in {m}, what is the clean run and what is the corrupted one",
    "is it true that {m} is random", "why does {m} give different answers each run", "how do i read the output of {m}",
    "what can go wrong with {m}", "should i trust {m}", "where does {m} come from", "who invented {m}",
    "what is {m} good for", "pros and cons of {m}", "{m} vs {m2}, which is better and why",
    "quick question: how does {m} work", "sorry, what exactly is {m}?", "please to explain me {m}",
    "i dont get {m}, can you explain", "what's the math behind {m}", "how does {m} pick its samples",
]
ABOUT_METRIC = [
    "what does {k} tell me", "what does a {k} of 0.5 mean", "is {k} or {k2} more important for a spam filter",
    "if false alarms are costly do i want high {k} or high {k2}", "how is {k} computed",
    "why is {k} misleading on imbalanced data",
    "what does {k} average, exactly?", "is {k} just the mean of {k2} and something else", "what counts as a good {k}",
    "how do i read {k}", "what's the difference between {k} and {k2}", "when is {k} the wrong metric",
    "can {k} be high while {k2} is low?", "what does it mean if {k} is 1",
]
RUN_METHOD = [
    "run {m} on review {n}", "{m} for review {n}", "explain review {n} with {m}", "use {m} on 'the soup was cold'",
    "why is review {n} negative, use {m}", "what does {m} say about review {n}", "{m} on it", "now with {m}",
    "compare {m} and {m2} on review {n}", "top 5 words by {m} for review {n}", "try {m} instead",
    "show me the {m} explanation for id {n}", "apply {m} to this review", "redo it with {m} please",
    "can you do {m} on review {n}?", "what words does {m} pick for 'i loved it'", "{m} please",
]
RUN_METRIC = [
    "what's the {k}?", "{k}?", "show me the {k} on the film reviews", "{k} on the short reviews",
    "what is the model's {k}", "how high is the {k} on the test set", "give me the {k} and the {k2}",
    "{k} per domain", "what {k} does it get on the negative reviews", "compute the {k}",
    "and the {k}?", "is the {k} better on film or restaurant reviews", "what's its {k} overall",
]
OPENERS = ["", "", "", "hm, ", "ok so ", "btw ", "wait, ", "one more thing: ", "hey ", "quick q: "]


def _fill(template: str, rng: random.Random, words: list[str]) -> str:
    first, second = rng.sample(words, 2)
    return template.format(m=first, m2=second, k=first, k2=second, p=rng.choice(PROPERTIES), n=rng.randint(0, 217))


def concept_examples(n_per_template: int = 6, seed: int = 0) -> list[tuple[str, bool]]:
    """(question, asks about a concept) pairs, both sides built from the same topic words."""
    rng = random.Random(seed)
    out: list[tuple[str, bool]] = []
    for templates, words, about in ((ABOUT_METHOD, METHODS, True), (ABOUT_METRIC, METRICS, True),
                                    (RUN_METHOD, METHODS, False), (RUN_METRIC, METRICS, False)):
        for template in templates:
            for _ in range(n_per_template):
                question = rng.choice(OPENERS) + _fill(template, rng, words)
                out.append((question.lower() if rng.random() < 0.5 else question, about))
    return out

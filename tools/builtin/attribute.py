"""attribute: which input words drove the prediction (or the generated answer), with faithfulness."""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from tools.attribution.catalog import NAMES as METHODS
from tools.attribution.catalog import WORDING as METHOD_WORDING
from tools.attribution.catalog import MethodName, find_methods
from tools.base import InstanceParams, Output, Tool
from tools.common import resolve_instance
from tools.errors import InputError
from tools.narration import quote, signed, subject
from tools.planning import PlanQuery, Trigger, alternatives

if TYPE_CHECKING:
    from tools.context import ToolContext

# Chosen on the demo data by benchmarks/attribution_faithfulness.py (see README): the fastest
# method that beats the random ranking on both AOPC measures most often.
DEFAULT_METHOD = "occlusion"
# "the most important words", "which features were decisive": an adjective and a feature noun.
_FEATURES = r"(?:features?|tokens?|words?|characteristics|parts?|attributions?|terms?)"
_ADJ = (r"(?:important|influential|relevant|critical|key|major|significant|essential|decisive|top|salient|main"
        r"|dominant)")


class AttributeParams(InstanceParams):
    method: MethodName | None = None
    k: int | None = Field(default=None, ge=1, le=100, description="how many top words to list")
    target: str | None = Field(
        default=None, description="label to explain (default: the predicted one); with output=answer, an answer text")
    contrast: str | None = Field(default=None, description="explain `target` rather than this label")
    output: Literal["label", "answer"] | None = Field(
        default=None, description="explain the label (classifiers) or the generated answer")
    per_token: bool | None = Field(default=None, description="generation: one row per answer token")
    steps: int | None = Field(default=None, ge=4, le=256, description="integrated gradients: starting step count")
    samples: int | None = Field(default=None, ge=8, le=4096, description="kernel_shap / lime samples")
    seed: int | None = None
    unit: Literal["word", "token"] | None = None


class AttributionTarget(Output):
    """What is explained: a label (kind "label", maybe against a contrast label) or the answer
    tokens (kind "tokens": the model's own answer, or a forced one)."""

    kind: Literal["label", "tokens"]
    label: str | None = None
    contrast: str | None = None
    predicted: str | None = None
    probabilities: dict[str, float] | None = None
    answer: str | None = None
    answer_tokens: list[str] | None = None
    forced: bool | None = None


class WordScore(Output):
    word: str
    score: float
    start: int  # characters in the text
    end: int


class TopWord(Output):
    word: str
    score: float
    index: int  # into `words`


class TokenScore(Output):
    token: str
    score: float
    word: int  # index into `words`


class AnswerMatrix(Output):
    outputs: list[str]  # the answer tokens (rows)
    scores: list[list[float]]  # [answer token][input word]


class Faithfulness(Output):
    """ERASER comprehensiveness / sufficiency (AOPC) next to random rankings."""

    comprehensiveness: float
    sufficiency: float
    random_comprehensiveness: float
    random_sufficiency: float
    beats_random: bool
    verdict: str
    bins: list[float]
    random_rankings: int
    seed: int
    probability_measured: str


class SignCheck(Output):
    """Sanity check: do all words' scores share one sign (then they mostly carry a shared offset)?"""

    all_same_sign: bool
    sign: Literal["positive", "negative"] | None
    n_words: int
    n_positive: int
    n_negative: int
    mean_score: float


class AttributeOutput(Output):
    text: str
    id: int | None = None
    gold_label: str | None = None
    method: str
    diagnostic_only: bool
    target: AttributionTarget
    words: list[WordScore]
    method_info: dict[str, Any]  # the method's own numbers (IG steps and convergence, samples...)
    top: list[TopWord]
    tokens: list[TokenScore] | None = None  # gradient methods: per-token scores
    matrix: AnswerMatrix | None = None  # per_token: answer tokens x input words
    faithfulness: Faithfulness | None = None
    sanity: SignCheck | None = None
    forwards: int
    heatmap_html: str
    seconds: float


class Attribute(Tool):
    name = "attribute"
    description = (
        "Which input words drove the prediction (or the generated answer), with a faithfulness check "
        "(ERASER comprehensiveness/sufficiency against random rankings). Methods: " + ", ".join(METHODS) + "."
    )
    Params = AttributeParams
    Output = AttributeOutput
    figure_name = "attribution"
    figure_caption = "Attribution heatmap: blue pushed towards the target, red away."
    triggers = (
        Trigger(alternatives(
            rf"\b{METHOD_WORDING}\b",
            rf"\b{_ADJ}\b.*\b{_FEATURES}\b",
            rf"\b{_FEATURES}\b.*\b{_ADJ}\b",
            r"\bwhy\b",
            r"importance",
            r"attribut",
            r"salien",
            r"heat ?map",
            r"drove",
            r"\bdrive[sn]?\b",
            r"contribut",
            r"\bexplain",
            r"explanation",
            r"reasons? for",
            r"\brel(?:y|ies) on\b",
            r"how (?:does |did |do )?(?:the |this |your )?model (?:decide|"
            r"decided|decides|arrive|arrived|arrives|come|came|reach|reached)",
            r"which (?:words?|tokens?|parts?)",
            r"what (?:words?|tokens?) (?:made|make|caused|led)",
            r"\bwhat (?:in|about) (?:review|row|item|it|this|that|QUOTED)\b.*\b(?:push|pull|drive|make|lead|made|led"
            r"|decide)\w*",
            # "what tipped it on review 202", "what's driving the score on 7", "what is it keying on"
            r"\bwhat (?:tipped|swung|decided)\b",
            # "what makes review 54 negative"
            r"\bwhat (?:makes|made) (?:(?:review|row|item|id) ?#?\d+|it|this|that|QUOTED|#?\d+)\b",
            r"\bwhat(?:'s| is) (?:driving|behind|causing)\b",
            r"\b(?:keying|keyed|picking up|picked up|focusing|latching) on\b",
            r"\b(?:words?|tokens?) (?:pull|push|drag|nudge|tip)\w*\b",
        ), priority=200),
        # "what pushes review 54 towards negative?", "..., what pushes the model towards positive on it?":
        # a question about what drives one prediction, before steer's imperative "push it towards" (65)
        Trigger(r"\bwhat(?:'s| is)? (?:actually |really |even |exactly )?"
                r"(?:in (?:review|row|item|it|this|that) ?#?\d* )?"
                r"(?:pushes|pulls|drives|moves|nudges"
                r"|pushing|pulling|driving|moving|nudging)\b"
                r"(?=\s+#?\d|.*(?:\b(?:review|row|item|id)\s*#?\d|\bon it\b|\bit\b|QUOTED))", priority=60),
    )
    intent_examples = (
        "why did the model predict review 8 like that?",
        "which words mattered for item 5?",
        "explain the prediction for row 77",
        "top 4 tokens for review 2 with lime",
        "show a heatmap of attributions for review 20",
        "what parts of review 6 pushed it to positive?",
        "integrated gradients for id 4",
        "primary features of review 110 by input gradient",
        "the most important word for item 3",
        "what five features most influence the prediction for review 15?",
    )
    needs_model = True
    cacheable = True
    version = "2"  # 2: perturbations delete words (were replaced by the pad token); sign check (issue 18)
    examples = ("why did it call review 12 negative?", "top 3 words for id 78 by integrated gradients",
                "which prompt words drove the answer to 'My favourite food is'?")

    concept_topic = r"feature attribution"

    @classmethod
    def plan_args(cls, query: PlanQuery, args: dict[str, Any]) -> dict[str, Any]:
        """'the most important word' asks for k=1; 'why positive rather than negative?' contrasts two
        labels; 'which words push it towards negative?' names the label to explain. A single label
        in 'why did it call it negative?' restates the prediction and adds nothing."""
        if query.follow_up:
            return args
        if query.k() is None and (one := query.singular_k()) is not None:
            args["k"] = one
        methods = find_methods(query.text)
        named = [label for label in query.labels if query.search(rf"\b{re.escape(label)}\b")]
        if len(named) == 2 and query.search(r"\b(?:rather than|instead of|and not|versus|vs\.?)\b"):
            first, second = sorted(named, key=lambda label: query.search(rf"\b{re.escape(label)}\b").start())
            args["target"], args["contrast"] = first, second
        else:
            toward = next((label for label in named if query.search(
                r"\b(?:towards?|in favou?r of|evidence for|push\w* (?:it |them )?(?:to|into)|for the label|for label)"
                rf"\s+(?:the label\s+|the\s+)?['\"]?{re.escape(label)}\b")), None)  # "towards the positive logit"
            if toward:
                args["target"] = toward
        answer = r"\b(?:the|its|that|this) (?:generated )?(?:answer|continuation|completion) to\b"
        if "text" in args and query.search(answer):
            args["output"] = "answer"  # "which prompt words drove the answer to 'My favourite food is'?"
        if len(methods) > 1:  # "compare IG and LIME on review 3", "..., both towards negative": one call each
            return [{**args, "method": method} for method in methods]
        return args

    def run(self, ctx: ToolContext, params: AttributeParams) -> AttributeOutput:
        from tools.attribution.engine import Request, explain

        text, origin = resolve_instance(ctx, params)
        task = ctx.task
        wants_answer = params.output == "answer" or not task.is_classifier
        if params.contrast and wants_answer:
            raise InputError("A contrast label only applies to classification.")
        request = Request(
            method=params.method or DEFAULT_METHOD,
            explain_answer=wants_answer,
            label=None if wants_answer else params.target,
            contrast=params.contrast,
            answer=params.target if wants_answer else None,
            per_output=bool(params.per_token),
            steps=params.steps or 32,
            samples=params.samples,
            seed=params.seed or 0,
            unit=params.unit or "word",
            max_new_tokens=min(ctx.settings.max_new_tokens, 20),
        )
        result = explain(ctx.model, task, text, request, k=params.k or 5)
        return AttributeOutput(text=text, **origin, **result)

    def narrate(self, output: AttributeOutput, args: dict[str, Any]) -> str:
        o = output
        target = o.target
        method = o.method.replace("_", " ")
        if target.kind == "label":
            goal = f"**{target.label}**" + (f" rather than {target.contrast}" if target.contrast else "")
            p = (target.probabilities or {})[target.label]
            head = (f"The model predicts {target.predicted} for {subject(o)}; "
                    f"the probability of {target.label} is {p:.3f}.")
        else:
            goal = "its answer"
            head = f"For {subject(o)} the model answers {quote(target.answer or '', 200)}."
        pushing = [t for t in o.top if t.score > 0]
        against = [t for t in o.top if t.score < 0]
        listed = ", ".join(f"'{t.word}' ({signed(t.score)})" for t in o.top)
        if o.sanity and o.sanity.all_same_sign:  # "none pushed towards it" would misread a shared offset
            text = head + f" By {method}, every word scores {o.sanity.sign} for {goal}; the largest: {listed}."
        else:
            text = head + f" By {method}, the words that pushed it towards {goal} most: "
            towards = ", ".join(f"'{t.word}' ({signed(t.score)})" for t in pushing)
            text += towards or "none pushed towards it"
            if against:
                text += "; words that pushed away: " + ", ".join(f"'{t.word}' ({signed(t.score)})" for t in against)
            text += "."
        text += self._baseline_sentences(o, goal)
        if o.diagnostic_only:
            text += " These are attention weights: where the model looked, not why it decided (a diagnostic only)."
        f = o.faithfulness
        if f:
            text += (f"\nFaithfulness: deleting the top-ranked words lowers the {f.probability_measured} by "
                     f"{f.comprehensiveness:.3f} on average (comprehensiveness; random rankings "
                     f"{f.random_comprehensiveness:.3f}), and keeping only them loses {f.sufficiency:.3f} "
                     f"(sufficiency, lower is better; random {f.random_sufficiency:.3f}). "
                     f"Verdict: the explanation {f.verdict}.")
        if o.matrix:
            text += (f"\nPer answer token: a {len(o.matrix.outputs)} x {len(o.words)} matrix "
                     "(answer tokens x input words) is in the heatmap.")
        return text

    @staticmethod
    def _baseline_sentences(o: AttributeOutput, goal: str) -> str:
        """The baseline the scores compare with, the offset a token baseline adds, and, when every
        word scores one sign, what that means (not that no word supports the target)."""
        info = o.method_info
        text = f" Baseline: {info['baseline_description']}." if info.get("baseline_description") else ""
        if "mean_baseline_offset" in info:
            raw = ", ".join(f"'{w.word}' {signed(d)}" for w, d in zip(o.words, info["deletion_effect"]))
            text += (f" Replacing a word adds an offset of {signed(info['mean_baseline_offset'])} on average by the "
                     f"token itself; deleting each word instead: {raw}.")
        check = o.sanity
        if not check or not check.all_same_sign:
            return text
        effect = "deleting" if info.get("baseline") == "delete" else "switching off"
        if o.method == "integrated_gradients":
            cause = (f"the baseline scores {'below' if check.sign == 'positive' else 'above'} the text itself "
                     f"(f(x) - f(baseline) = {signed(info.get('output_gap', check.mean_score))}), and every word "
                     "takes a share of that gap")
        elif check.sign == "negative":
            cause = (f"{effect} any single word makes {goal} more likely, which happens when the model reacts to "
                     "any edit of the text (an offset shared by every word) more than to what a word says")
        else:
            cause = (f"{effect} any single word makes {goal} less likely, so part of each score may be an offset "
                     "shared by every word rather than evidence carried by that word")
        mean = signed(check.mean_score)
        return text + (f" Sanity check: all {check.n_words} words score {check.sign} (mean {mean}): {cause}. "
                       "Compare the words with each other (the order), not with zero.")

    def figure(self, output: AttributeOutput, path: Path) -> Path:
        """The heatmap PNG, and next to it the same heatmap as a self-contained HTML file."""
        from tools.atomic import write_bytes_atomic
        from tools.attribution.heatmap import heatmap_png

        heatmap_png(output.model_dump(), path)
        page = f"<!doctype html><meta charset='utf-8'>{output.heatmap_html}"
        write_bytes_atomic(path.with_suffix(".html"), page.encode())
        return path

    def terminal(self, output: AttributeOutput) -> str:
        from tools.attribution.heatmap import heatmap_terminal

        return heatmap_terminal([(w.word, w.score) for w in output.words])

    def card_for(self, params, output):
        return output["method"]  # each method has its own card, caveat and source

    def caveats(self, ctx, params, output):
        notes = []
        info = output.get("method_info", {})
        if output["method"] == "integrated_gradients" and not info.get("converged", True):
            notes.append(
                f"Integrated gradients did not converge: after {info['steps']} steps the attributions still miss "
                f"f(x) - f(baseline) by {info['relative_delta']:.0%} (target under {info['tolerance']:.0%})."
            )
        faith = output.get("faithfulness")
        if faith and not faith["beats_random"]:
            notes.append(f"This explanation {faith['verdict']}; treat its ranking with caution.")
        return notes

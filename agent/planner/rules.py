"""Which tool a clause asks for: ordered rules over the wording (first match wins), after two
structural checks (a question about a concept; a request outside what whybox does).

Rules were tuned on the development part of CoXQL and on our own examples, never on the
held-out sets in tests/planner_eval (see its README).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from tools.planning import Trigger


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


# --- concepts -------------------------------------------------------------------------------
# (pattern, canonical topic): the knowledge base is keyed by these topics.
CONCEPT_TERMS: tuple[tuple[str, str], ...] = (
    (r"plausib\w+", "plausibility"),
    (r"sanity checks?|randomi[sz]ation tests?", "sanity checks"),
    (r"disagree\w*", "disagreement between methods"),
    (r"chain[- ]of[- ]thought|\bcot\b", "chain of thought"),
    (r"control (?:tasks?|baselines?)|selectivity|\bmdl\b|description length", "control tasks"),
    (r"tuned[ -]?lens", "tuned lens"),
    (r"\bcalibrat\w+", "calibration"),
    (r"\bbaselines?\b(?! (?:accuracy|model))|reference inputs?", "baselines"),
    (r"polysemant\w*|monosemant\w*", "polysemanticity and superposition"),
    (r"\btracin\b|representer points?", "influence functions"),
    (r"perturbation[- ]based|perturbation (?:methods?|attribution)", "perturbation attribution"),
    (r"\bshapley values?\b", "shapley values"),
    (r"integrated[ _-]?gradients?|\bIG\b", "integrated gradients"),
    (
        r"gradients?[ _]?(?:x|times|\*|×)[ _]?inputs?"
        r"|input[ _]?(?:x |times |\* |× )?gradients?"
        r"|saliency",
        "gradient x input",
    ),
    (r"kernel[ _-]?shap|\bshap(?:ley)?\b", "kernel shap"),
    (r"\blime\b", "lime"),
    (r"occlusion|leave[- ]one[- ]out|feature ablation", "occlusion"),
    (r"\battention\b", "attention"),
    (r"counterfactuals?|\bcfes?\b", "counterfactual"),
    (r"adversarial(?: examples?| attacks?)?", "adversarial examples"),
    (r"(?:data )?augmentation|\baugment\b|\bparaphras\w*", "data augmentation"),
    (r"rationales?|rationali[sz]\w*|explains? (?:its|their) own (?:answers?|decisions?|predictions?|outputs?)"
     r"|self[- ](?:written|generated)|explanations? of (?:its|their) own",
     "rationale"),
    (r"logit[ -]?lens", "logit lens"),
    (r"\bprob(?:e|es|ing)\b", "probing (probe)"),
    (r"sparse auto-?encoders?|\bsaes?\b", "sparse autoencoder"),
    (r"superposition", "superposition"),
    (r"activation patching|causal tracing|\bpatching\b|\bpatch(?:es|ed)? (?:the )?activations?\b",
     "activation patching"),
    (r"\bsteer(?:ing)?\b|activation addition", "steering"),
    (r"\bneurons?\b", "neurons"),
    (r"influence(?: functions?)?", "influence functions"),
    (r"(?:semantic )?similarity|(?<!sound )(?<!sounds )(?<!look )(?<!looks )(?<!seem )(?<!seems )\bsimilar\b"
     r"(?! to (?:me|us)\b)", "similarity"),
    (r"label[ -]?edit\w*|edit(?:ing)? (?:the )?labels?|\beditlabel\b", "label editing"),
    (r"\bunlearn(?:ing)?\b", "unlearn"),
    (r"\blearn\b(?= functionality| operation| feature|\W*$)", "learn"),
    (r"comprehensiveness", "comprehensiveness (faithfulness)"),
    (r"sufficiency", "sufficiency (faithfulness)"),
    (r"faithful(?:ness)?|\baopc\b", "faithfulness"),
    (r"roc[ _-]?auc|\broc\b|\bauc\b", "roc auc"),
    (r"confusion matri(?:x|ces)", "confusion matrix"),  # before the metrics it is compared with
    (r"\bf1\b|f-score|f-measure", "f1"),
    (r"\bprecision\b", "precision"),
    (r"\brecall\b", "recall"),
    (r"\baccuracy\b", "accuracy"),
    (r"\bmetrics?\b|\bmatrices\b|score operation", "metrics"),
    (r"feature (?:attribution|importance)|\battributions?\b|nlpattribute", "feature attribution"),
    (r"white[- ]box", "white-box methods"),
    (r"black[- ]box", "black-box methods"),
    (r"post[- ]hoc", "post-hoc explanations"),
    (r"explainab\w+|interpretab\w+|\bxai\b|explanation methods?", "explainability"),
    (r"\btutorial\b", "tutorial"),
    (r"\bbias(?:es|ed)?\b(?! audit)|\bbias audits?\b|\bfairness\b", "bias"),
    # not the verb: "why would anyone report roc auc instead of plain accuracy"
    (r"(?<!why )(?<!to )\breports?\b(?!\s+(?:the\s+|plain\s+)?(?:roc|auc|accuracy|f1|precision|recall|metrics?|scores?"
     r"|numbers?|it|them|that|this)\b)",
     "report"),
)
# Asking what something is or how it works (anywhere in the clause).
CONCEPT_STRONG = _rx(
    # how it is computed or works; whether to trust it
    r"\bhow (?:is|are|can|could|do|does|would|should|you)\b.*"
        r"\b(?:describe|calculated|computed|measured|defined|work|works|working|implemented|operate|operates|function"
        r"|functions|obtained|get|derived|help|used)\b"
    r"|\b(?:can|should|could) (?:i|we|you|one) (?:trust|rely on|believe)\b"
    r"|\b(?:is|are) (?:\w+ ){0,3}(?:reliable|trustworthy|stable|faithful|meaningful)\b"
    # comparisons and caveats
    r"|\bwhy (?:do|does|are|is) (?:\w+ ){0,4}(?:disagree|differ|noisy|unstable)"
    r"|\bdifference between\b"
    # "precision vs recall", not two selections compared ("on long vs short reviews", "film vs the restaurant ones")
    r"|\b(?:vs\.?|versus)\b(?!\s+(?:the\s+)?(?:short|long|(?:\w+\s+){1,2}(?:reviews?|ones|rows|texts|examples))\b)"
    r"|\b(?:pitfalls?|limitations?|drawbacks?|caveats?)\b"
    r"|\bwhat does \w+(?: \w+)? measure\b"
    # which to prefer, what it costs, what it needs: questions about the method, not a run of it
    r"|\b(?:more|less) (?:important|useful|reliable|appropriate|suitable|trustworthy|robust)\b"
    r"|\b(?:matters?|counts?) (?:more|less|most)\b"  # "does precision matter more than recall for ..."
    r"|\bwhen (?:should|would|do|to) (?:i |you |we |one )?(?:use|prefer|pick|choose)\b"
    r"|\bhow (?:many|much) \w+(?: \w+)? (?:does|do|did|would|will) (?:a |an |the )?\w+(?: \w+)? "
        r"(?:need|use|take|require|cost|burn|eat|consume|spend|run|make|perform|call)\b"
    r"|\bwhy (?:do|does|would|should|must) (?:a |an |the )?\w+(?: \w+)? (?:need|use|require|have)\b"
    r"|\bhow (?:do|should|can|would) (?:i|you|we|one) (?:read|interpret|understand|choose|pick)\b"
    # a question about any instance of the thing: "can a probe find structure that is not there?"
    r"|^\W*(?:can|could|does|do|is|will|would|should|might|may) (?:a|an|any) "
    r"|\bwhat (?:does|do|can|could) .* (?:tell|teach|show) (?:you|us|me)\b"
    r"|\bin general\b|\bgenerally\b|\busually\b|\btypically\b|\bin theory\b|\bin principle\b"
    r"|\b(?:good|useful|meant) for\b|\bexplain (?:me|to me)\b|\bi (?:am not|'m not|don't|do not) (?:understand|get)\w*"
    r"|\bdifferent from\b|\bwhy (?:would|might|could|does|do|can) \w+ (?:miss|fail|break|mislead|lie)\b"
    r"|\bwhy do people\b|\bguard against\b|\bjust the (?:average|mean|same)\b"
    r"|\bhow (?:do|can|would|could) (?:you|we|i|one) (?:know|tell|be sure)\b|\bmaking (?:stuff|things|it) up\b"
    # "how does LIME ...", unless about a row ("how does occlusion explain review 3")
    r"|\bhow (?:does|do|can|could|would) (?:a |an |the )?(?:\w+[ -]){0,2}?"
        r"(?:lime|shap|gradients?|occlusion|attention|lens|probes?|probing|counterfactuals?|augmentation"
        r"|influence functions?|tracin|rationales?)\b"
        r" (?!.*\b(?:review|id|item|instance|row|data ?point|sample)\s*#?\d)"
    # what it is, means, does; an overview
    r"|\b(?:the|this|your) \w+ (?:operation|function|command)\b"
    r"|\bhow (?:does|do) .* work"
    r"|in (?:what|which) way"
    r"|\bused for\b"
    r"|\bwhat does .* (?:mean|entail|involve|do)\b"
    r"|\bwhat (?:exactly |actually |all )?goes into\b|\bwhat counts as\b|\bwhat ends up in\b"
    r"|\bwhat (?:does|do) (?:the |an? )?[\w -]{1,30}? (?:average|combine|weigh|trade off)\b"
    r"|\bwhy would (?:anyone|anybody|someone|people|one)\b|\bconceptually\b|\bin a nutshell\b"
    # "how does a bias audit decide what counts as a real shift?"
    r"|\bhow (?:does|do) (?:a |an |the )?\w+(?: \w+)? (?:decide|judge|determine|tell whether|know whether)\b"
    r"|\bconcept of\b"
    r"|\bdefinition\b"
    r"|\bdefine\b"
    r"|what do you (?:understand|mean) by"
    r"|walk me through"
    r"|steps involved"
    r"|procedure for"
    r"|functionality"
    r"|\boverview\b"
    r"|\belaborate\b"
    r"|insight into"
    r"|\bintroduce me\b"
    r"|\bwhat(?:'s| is) the (?:idea|purpose|point|intuition)\b"
    # what whybox offers
    r"|\bsupported\b"
    r"|\bdo you (?:support|offer)\b"
    r"|\bwhich .* (?:do you|are) (?:offer|support|available)"
)
CONCEPT_WEAK = _rx(
    # an opening that asks for an explanation
    r"^(?:(?:so|and|ok(?:ay)?|hmm+|hey|wait|well|oh|um+|uh+|you|please|pls|can you|could you)[,!]?\s+)*"
        r"(?:what(?:'s|s| is| are| was)\b"
        r"|explain\b"
        r"|describe\b"
        r"|tell me (?:about|more)"
        r"|can you (?:explain|describe|clarify|detail|tell me about|introduce)"
        r"|could you (?:explain|describe|clarify|detail|give|provide|tell me about)"
        r"|clarify\b"
        r"|detail\b"
        r"|provide (?:information|details|an explanation)"
        r"|introduce\b"
        r"|i (?:want|would like|'d like) to (?:know|learn|understand))"
    r"|\b(?:details|information|more) (?:about|on)\b"
    r"|\bwhat (?:are|is) (?:an? |the )?\w+ (?:examples?|explanations?|methods?)\b"
)
# "what's the accuracy?" asks for a number, not a definition.
METRIC_QUESTION = _rx(
    r"\bhow accurate\b"
    # "the accuracy", "the model's f1" (not "the accuracy metric")
    r"|\b(?:the|its|model'?s|my|your|overall|current)\s+"
        r"(?:accuracy|f1(?: score)?|precision|recall|roc[ _-]?auc|roc(?: score)?|auc|performance|score)\b"
        r"(?!\s+(?:metric|measure))"
    # "accuracy on the test set"
    r"|\b(?:accuracy|f1|precision|recall|roc[ _-]?auc|auc)\s+(?:on|for|of|over|across|in)\b"
    # "how well does the model do on ...", unless on one row
    r"|\bhow (?:good|well) (?:is|does|do) (?:the |this |your )?(?:model|classifier|it)\b"
        r"(?:\s+(?:do|does|perform))?\s+(?:at|in|on|when) (?!(?:review|item|row|id|instance)\s*\d)"
)
OUT_OF_SCOPE = _rx(
    # changing the model or its training
    r"\b(?:(?:modify|change|update|alter|adjust|improve) (?:the )?training"
    r"|train(?:ing)? (?:it |the model )?(?:with|on|using) (?:instance|item|id|row|data ?point|example|the)"
    r"|fine[- ]?tun\w*"
    r"|re-?train\w*"
    r"|rlhf\b|reinforcement learning from (?:human )?feedback"
    r"|unlearn\w*"
    r"|learn from"
    r"|incorporate .* (?:into|to) (?:the )?(?:training|model)"
    r"|train (?:the )?(?:model|classifier)"
    r"|update (?:the )?model"
    # "run a few gradient steps on the film reviews so the accuracy goes up": optimising the weights
    r"|gradient (?:descent )?(?:steps?|updates?)|(?:sgd|optimi[sz]er) steps?|backprop\w* (?:on|through|into) (?:the )?"
    r"(?:\w+ )?(?:reviews|data|rows)"
    # removing or adding data, forgetting
    r"|(?:exclude|remove|delete|drop|erase) .*\b(?:from|of|in) (?:the )?(?:\w+'?s? )?(?:training|model)\b"
    r"|(?:add|use|include) .* (?:to|for|in|into) (?:the )?(?:re)?train\w*"
    # "forget review 12" unlearns; "forget the domains now" / "forget it" only drop a filter or a topic
    r"|forget (?:about )?(?:(?:review|row|item|id|instance|example|data ?point|sample)s?\b|(?:the )?training|#?\d"
    r"|what (?:you|it|the model) (?:learn|saw|know)\w*)"
    r"|\bteach (?:it|the model)"
    # editing weights for good (steering and patching change activations for one run, never weights)
    r"|(?:set|change|edit|modify|update|overwrite|zero(?: out)?) (?:the |its |their )?weights?\b"
    r"|\bpermanently\b"
    r"|\bsave (?:the |a |an )?(?:edited |new |modified |changed |resulting )?(?:model|weights|checkpoint)\b"
    r"|\b(?:train|fit|add)\w* (?:a |an )?(?:lora|adapter|peft)\b|\blora\b)"
)
# ablating a unit: whybox has no ablation tool (steering and patching move activations, never zero a unit)
ABLATES_A_UNIT = _rx(
    r"\b(?:ablat\w*|zero[- ]?(?:out|ablat\w*)|knock(?:ing)? out|kill(?:ing)?|switch(?:ing)? off|turn(?:ing)? off)"
    r" (?:the )?(?:mlp )?(?:neurons?|units?|heads?|features?)\b"
)


# "how does lime pick the neighbours it samples", "how does this steering thing pick its direction",
# "what makes a paraphrase label-preserving": how a method works inside. The "it"/"its" there is the
# method, not the conversation's row, so such a question is about the method even mid-conversation.
MECHANISM = _rx(
    r"\bhow (?:does|do|did|would|can|could|is|are) (?P<subject>(?:(?:this|that|the|a|an|your|whybox'?s?) )?"
    r"(?:[\w-]+ ){0,2}?[\w-]+)(?: (?:thing|method|stuff|tool|technique|one))? (?:actually |really |even )?"
    r"(?:pick|choose|select|decide|sample|find|compute|calculate|get|know|handle|treat|build|generate|come up with"
    r"|determine|make|deal with|estimate|weigh|weight|combine|avoid|measure|define|set)s?\b"
    r"|\bwhat makes (?P<thing>(?:a|an|the) [\w-]+(?: [\w-]+)?) (?:\w+[ -])?\w+"
    r"|\beli5\b|\bexplain (?:it )?like (?:i'?m|i am) (?:five|5)\b"
)


def asks_how_a_method_works(clause: str) -> bool:
    """MECHANISM, where the clause's subject is a known topic ("how does lime pick", not "how does
    it pick"): then "it" and "its" later in the clause are the method, not a row."""
    m = MECHANISM.search(clause)
    if not m:
        return False
    named = m.group("subject") or m.group("thing")
    return concept_topic(named if named else clause) is not None


def concept_topic(clause: str) -> str | None:
    """The canonical topic the clause names, if any."""
    for pattern, topic in CONCEPT_TERMS:
        if re.search(pattern, clause, re.I):
            return topic
    return None


# "in general", "usually": about the method even when "that" could point at the conversation's row
GENERALLY = _rx(r"\bin general\b|\bgenerally\b|\busually\b|\btypically\b|\bin theory\b|\bin principle\b")
# two topics set against each other: "precision vs recall", "roc auc instead of plain accuracy", "recall more
# than precision", "is gradient x input a cheap version of integrated gradients"
CONTRASTS = _rx(r"\b(?:vs\.?|versus|difference|differ\w*|compared?|or|and|instead of|rather than|than|version of"
                r"|over)\b")


# a topic that a more specific one named with it covers: "why would one neuron respond to unrelated
# things (polysemantic ...)" asks about polysemanticity, not neurons in general
COVERED_BY = {"neurons": ("polysemanticity and superposition",),
              "baselines": ("integrated gradients", "kernel shap", "shapley values"),  # what the method needs
              "superposition": ("polysemanticity and superposition",),
              "metrics": ("accuracy", "precision", "recall", "f1", "roc auc", "confusion matrix"),
              "feature attribution": ("integrated gradients", "gradient x input", "kernel shap", "lime", "occlusion",
                                      "attention", "shapley values", "faithfulness", "plausibility", "sanity checks"),
              "accuracy": ("probing (probe)",)}  # "does high probe accuracy mean ...": about probes
# "lime or occlusion, which is usually more faithful?": faithfulness is what they are compared on
CRITERION = _rx(r"\bwhich (?:one |of them |of the two )?(?:is|are|gives?|tends? to be) "
                r"(?:usually |generally |typically )?(?:more|less|most|least|better|worse) (\w+)")


def topic_order(topic: str) -> int:
    """The topic's place in CONCEPT_TERMS: the more specific topics come first."""
    return next(i for i, (_, name) in enumerate(CONCEPT_TERMS) if name == topic)


def concept_topics(clause: str) -> list[str]:
    """Every canonical topic the clause names, in the order named: 'precision vs recall' asks
    about both (one card each), 'the f1 score' once. A topic a more specific one covers, or the
    criterion two methods are compared on, is no card of its own."""
    found: dict[str, int] = {}
    for pattern, topic in CONCEPT_TERMS:
        m = re.search(pattern, clause, re.I)
        if m and topic not in found and not any(m.start() == start for start in found.values()):
            found[topic] = m.start()
    topics = sorted(found, key=found.__getitem__)
    topics = [t for t in topics if not any(other in topics for other in COVERED_BY.get(t, ()))]
    if len(topics) > 1:  # "... what activation patching is? I'm new to interpretability": background, no card
        topics = [t for t in topics if t != "explainability"]
    criterion = CRITERION.search(clause)
    if criterion and len(topics) > 2:
        topics = [t for t in topics if found[t] < criterion.start(1)]
    return topics


POINTS_AT_SOMETHING = _rx(
    r"\b(?:this|that|the same|its) (?:neuron|unit|review|instance|example|row|layer|prediction|text|one)\b",
)


def _names_pairs(clause: str) -> bool:
    from tools.builtin.bias_audit import named_pairs  # the audit's own reading of identity-term pairs

    return bool(named_pairs(clause))


# "... whether sentiment can be read off the hidden layers. Could you check that for me?": a request to
# run something on this model, however much background comes before it
RUN_REQUEST = _rx(r"\b(?:could|can|would|will) you (?:please |pls )?(?:check|test|try|verify|run|measure|find out)"
                  r" (?:that|this|it|whether|if)\b"
                  r"|\b(?:check|test) (?:that|this|it) (?:for me|on (?:this|the) model)\b")


def is_concept_question(clause: str, has_instance: bool) -> bool:
    if has_instance or concept_topic(clause) is None or POINTS_AT_SOMETHING.search(clause):
        return False
    if RUN_REQUEST.search(clause) and re.search(r"\b(?:this|the|your) model\b", clause, re.I):
        return False
    if re.search(r"\baudit\b", clause, re.I) and _names_pairs(clause):
        return False  # "bias audit with John vs Aisha and he vs she": the pairs to swap, not two concepts
    if CONCEPT_STRONG.search(clause):
        return True
    return bool(CONCEPT_WEAK.search(clause)) and not METRIC_QUESTION.search(clause)


# --- tools ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Intent:
    tool: str
    trigger: Trigger


@lru_cache(maxsize=1)
def intents() -> tuple[Intent, ...]:
    """Every tool's triggers (tools/builtin/<tool>.py), lowest priority number first."""
    from tools.registry import all_tools

    found = [Intent(name, trigger) for name, tool in all_tools().items() for trigger in tool.triggers]
    return tuple(sorted(found, key=lambda intent: intent.trigger.priority))


def matched_exactly(tool: str | None, clause: str) -> bool:
    """Does one of the tool's exact triggers (a phrase only its requests use) match the clause?"""
    return any(i.tool == tool and i.trigger.exact and i.trigger.search(clause) for i in intents())


DRIVES_THE_SCORE = _rx(r"\bwhat(?:'s| is)? (?:driving|behind|pushing|pulling|causing)\b")


def clause_intent(clause: str) -> str | None:
    """The tool the clause's wording asks for: the first trigger that matches, in priority order,
    unless that tool defers to another whose trigger matches too ("keywords in the reviews the
    model misclassifies" is keywords over a selection, not mistakes)."""
    from agent.planner.catalog import catalog

    cat = catalog()
    if (METRIC_QUESTION.search(clause) and not re.search(r"\b(?:mistakes?|errors?|wrong)\b", clause, re.I)
            and not DRIVES_THE_SCORE.search(clause)):  # "what's driving the score on review 7": an attribution
        return cat.role("metric")
    for intent in intents():
        if intent.trigger.search(clause):
            if intent.trigger.exact:  # a phrase only this tool's requests use: no deferring
                return intent.tool
            deferred = cat.tools[intent.tool].defers_to
            over = next((i.tool for i in intents() if i.tool in deferred and i.trigger.search(clause)), None)
            return over or intent.tool
    return None

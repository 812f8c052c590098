"""Which tool a clause asks for: ordered rules over the wording (first match wins), after two
structural checks (a question about a concept; a request outside what whybox does).

Rules were tuned on the development part of CoXQL and on our own examples, never on the
held-out sets in tests/planner_eval (see its README).
"""
from __future__ import annotations

import re
from dataclasses import dataclass


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


# --- concepts -------------------------------------------------------------------------------
# (pattern, canonical topic): the knowledge base is keyed by these topics.
CONCEPT_TERMS: tuple[tuple[str, str], ...] = (
    (r"plausib\w+", "plausibility"),
    (r"sanity checks?|randomi[sz]ation tests?", "sanity checks"),
    (r"disagree\w*", "disagreement between methods"),
    (r"chain[- ]of[- ]thought|\bcot\b", "chain of thought"),
    (r"control tasks?|selectivity|\bmdl\b|description length", "control tasks"),
    (r"tuned[ -]?lens", "tuned lens"),
    (r"\bcalibrat\w+", "calibration"),
    (r"\bbaselines?\b(?! (?:accuracy|model))|reference inputs?", "baselines"),
    (r"polysemant\w*|monosemant\w*", "superposition"),
    (r"\btracin\b|representer points?", "influence functions"),
    (r"perturbation[- ]based|perturbation (?:methods?|attribution)", "perturbation attribution"),
    (r"\bshapley values?\b", "shapley values"),
    (r"integrated[ _-]?gradients?|\bIG\b", "integrated gradients"),
    (r"gradients?[ _]?(?:x|times|\*|×)[ _]?inputs?|input[ _]?(?:x |times |\* |× )?gradients?|saliency", "gradient x input"),
    (r"kernel[ _-]?shap|\bshap(?:ley)?\b", "kernel shap"),
    (r"\blime\b", "lime"),
    (r"occlusion|leave[- ]one[- ]out|feature ablation", "occlusion"),
    (r"\battention\b", "attention"),
    (r"counterfactuals?|\bcfes?\b", "counterfactual"),
    (r"adversarial(?: examples?| attacks?)?", "adversarial examples"),
    (r"(?:data )?augmentation|\baugment\b", "data augmentation"),
    (r"rationales?|rationali[sz]\w*", "rationale"),
    (r"logit[ -]?lens", "logit lens"),
    (r"\bprob(?:e|es|ing)\b", "probing"),
    (r"sparse auto-?encoders?|\bsaes?\b", "sparse autoencoder"),
    (r"superposition", "superposition"),
    (r"activation patching|causal tracing", "activation patching"),
    (r"\bneurons?\b", "neurons"),
    (r"influence(?: functions?)?", "influence functions"),
    (r"(?:semantic )?similarity|\bsimilar\b", "similarity"),
    (r"label[ -]?edit\w*|edit(?:ing)? (?:the )?labels?|\beditlabel\b", "label editing"),
    (r"\bunlearn(?:ing)?\b", "unlearn"),
    (r"\blearn\b(?= functionality| operation| feature|\W*$)", "learn"),
    (r"comprehensiveness", "comprehensiveness (faithfulness)"),
    (r"sufficiency", "sufficiency (faithfulness)"),
    (r"faithfulness|\baopc\b", "faithfulness"),
    (r"roc[ _-]?auc|\broc\b|\bauc\b", "roc auc"),
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
)
# Asking what something is or how it works (anywhere in the clause).
CONCEPT_STRONG = _rx(
    r"\bhow (?:is|are|can|could|do|does|would|should|you)\b.*\b(?:describe|calculated|computed|measured|defined|work|works|working|implemented|operate|operates|function|functions|obtained|get|derived|help|used)\b"
    r"|\b(?:can|should|could) (?:i|we|you|one) (?:trust|rely on|believe)\b|\b(?:is|are) (?:\w+ ){0,3}(?:reliable|trustworthy|stable|faithful|meaningful)\b"
    r"|\bwhy (?:do|does|are|is) (?:\w+ ){0,4}(?:disagree|differ|noisy|unstable)|\bdifference between\b|\b(?:vs\.?|versus)\b|\b(?:pitfalls?|limitations?|drawbacks?|caveats?)\b|\bwhat does \w+(?: \w+)? measure\b"
    r"|\bhow (?:does|do|can|could|would) (?:a |an |the )?(?:\w+[ -]){0,2}?(?:lime|shap|gradients?|occlusion|attention|lens|probes?|probing|counterfactuals?|augmentation|influence functions?|tracin|rationales?)\b (?!.*\b(?:review|id|item|instance|row|data ?point|sample)\s*#?\d)"
    r"|\b(?:the|this|your) \w+ (?:operation|function|command)\b"
    r"|\bhow (?:does|do) .* work|in (?:what|which) way|\bused for\b|\bwhat does .* (?:mean|entail|involve|do)\b|\bconcept of\b|\bdefinition\b|\bdefine\b"
    r"|what do you (?:understand|mean) by|walk me through|steps involved|procedure for|functionality|\boverview\b|\belaborate\b"
    r"|insight into|\bintroduce me\b|\bwhat(?:'s| is) the (?:idea|purpose|point|intuition)\b|\bsupported\b|\bdo you (?:support|offer)\b|\bwhich .* (?:do you|are) (?:offer|support|available)"
)
CONCEPT_WEAK = _rx(
    r"^(?:so |and |ok(?:ay)?,? )?(?:what(?:'s| is| are| was)\b|explain\b|describe\b|tell me (?:about|more)|can you (?:explain|describe|clarify|detail|tell me about|introduce)"
    r"|could you (?:explain|describe|clarify|detail|give|provide|tell me about)|clarify\b|detail\b|provide (?:information|details|an explanation)|introduce\b|i (?:want|would like|'d like) to (?:know|learn|understand))"
    r"|\b(?:details|information|more) (?:about|on)\b|\bwhat (?:are|is) (?:an? |the )?\w+ (?:examples?|explanations?|methods?)\b"
)
# "what's the accuracy?" asks for a number, not a definition.
METRIC_QUESTION = _rx(
    r"\bhow accurate\b|\b(?:the|its|model'?s|my|your|overall|current)\s+(?:accuracy|f1(?: score)?|precision|recall|roc[ _-]?auc|roc(?: score)?|auc|performance|score)\b(?!\s+(?:metric|measure))"
    r"|\b(?:accuracy|f1|precision|recall|roc[ _-]?auc|auc)\s+(?:on|for|of|over|across|in)\b"
    r"|\bhow (?:good|well) (?:is|does|do) (?:the |this |your )?(?:model|classifier|it)\b(?:\s+(?:do|does|perform))?\s+(?:at|in|on|when) (?!(?:review|item|row|id|instance)\s*\d)"
)
OUT_OF_SCOPE = _rx(
    r"\b(?:(?:modify|change|update|alter|adjust|improve) (?:the )?training|train(?:ing)? (?:it |the model )?(?:with|on|using) (?:instance|item|id|row|data ?point|example|the)"
    r"|fine[- ]?tun\w*|re-?train\w*|unlearn\w*|learn from|incorporate .* (?:into|to) (?:the )?(?:training|model)|train (?:the )?(?:model|classifier)"
    r"|update (?:the )?model|(?:exclude|remove|delete|drop|erase) .*\b(?:from|of|in) (?:the )?(?:\w+'?s? )?(?:training|model)\b|(?:add|use|include) .* (?:to|for|in|into) (?:the )?(?:re)?train\w*|forget\b|\bteach (?:it|the model))"
)


def concept_topic(clause: str) -> str | None:
    """The canonical topic the clause names, if any."""
    for pattern, topic in CONCEPT_TERMS:
        if re.search(pattern, clause, re.I):
            return topic
    return None


POINTS_AT_SOMETHING = _rx(r"\b(?:this|that|the same|its) (?:neuron|unit|review|instance|example|row|layer|prediction|text|one)\b")


def is_concept_question(clause: str, has_instance: bool) -> bool:
    if has_instance or concept_topic(clause) is None or POINTS_AT_SOMETHING.search(clause):
        return False
    if CONCEPT_STRONG.search(clause):
        return True
    return bool(CONCEPT_WEAK.search(clause)) and not METRIC_QUESTION.search(clause)


# --- tools ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Intent:
    tool: str
    pattern: re.Pattern[str]


_METHOD = r"(?:integrated[ _-]?gradients?|gradients?[ _]?(?:x|times|\*)[ _]?inputs?|input[ _]?(?:x |times )?gradients?|occlusion|leave[- ]one[- ]out|kernel[ _-]?shap|\bshap\b|\blime\b|\battention\b)"
_FEATURES = r"(?:features?|tokens?|words?|characteristics|parts?|attributions?|terms?)"
_ADJ = r"(?:important|influential|relevant|critical|key|major|significant|essential|decisive|top|salient|main|dominant)"

INTENTS: tuple[Intent, ...] = (
    Intent("report", _rx(r"\breport\b|write[- ]?up|\bpdf\b")),
    Intent("explain_neuron", _rx(r"\bneuron\s*#?\s*\d+|same neuron|\b(?:what does|describe|explain) (?:this|that|the) neuron|\blayer \d+,? (?:neuron|unit) \d+")),
    Intent("top_neurons", _rx(r"\bneurons\b|\bneuron activations?\b|\bmlp units\b")),
    Intent("logit_lens", _rx(r"logit[ -]?lens|each layer (?:would )?predict|layer by layer|what (?:does|would) (?:each|every) layer|(?:each|every) layer'?s? (?:prediction|guess)")),
    Intent("probe", _rx(r"\bprob(?:e|ing)\b|\bencode[sd]?\b|linearly (?:decodable|separable)|represent(?:s|ed)?\b.*\b(?:in|by) (?:each |every |the )?layers?|(?:each|which) layers? (?:represent|capture|know)")),
    Intent("edit_label", _rx(r"\b(?:change|edit|modify|revise|update|set|correct|fix|alter|switch|adjust|amend|assign)\b.*\blabel|\brelabel|\b(?:mark|tag|annotate)\b.*\b(?:as|with the label)\b|\b(?:change|set|switch|turn|put|mark) (?:it|this|that|them|this one|that one)(?: back)? (?:to|as)\b|\blabel\b.*\b(?:to|as) (?:be )?(?:the )?(?:given|specified|provided|designated|assigned)")),
    Intent("counterfactual", _rx(r"counterfactual|contrastive|\bwhat (?:edit|change|modification)s? (?:would|could|will|can|should|might)\b|\bturn (?:it|QUOTED|this|that|(?:review|id|item|row|instance) \d+) into\b|\bcfes?\b|alternative outcomes?|\bflips?\b|flipped|smallest (?:change|edit)|minimal (?:change|edit)|what (?:would|could|should) (?:i|you|we) (?:need to )?change|(?:change|alter|reverse) (?:the|its|it'?s) (?:prediction|mind|output|label|answer|decision|outcome)|what would (?:make|it take)|how (?:can|could) (?:i|we|you) (?:make|get) (?:it|the model) (?:to )?(?:say|predict)|(?:way|how) to change|(?:should|must) change .* to\b|changed so\b|make (?:it|review \d+|id \d+|the prediction) (?:positive|negative)|how (?:can|could|would|might) (?:it|review \d+|row \d+|id \d+|this|that) (?:become|turn|be (?:classified|predicted|labell?ed) (?:as )?)")),
    Intent("adversarial", _rx(r"adversar|\battack|\bfool|\btrick|decept|deceiv|mislead|confus(?:e|ed|ing) the model|model (?:would be|be|gets?|is) confused|perturbation")),
    Intent("influence", _rx(r"(?:influen\w*|dominant|prominent|important) (?:\w+ )?(?:training|train)|influen\w* (?:important )?data (?:instance|point)|(?:dominant|prominent) (?:\w+ )?data|where did it learn|which training|training (?:rows|examples|points|instances|data) (?:that|which) (?:most|influenc)|\binfluence\b")),
    Intent("augment", _rx(r"augment|paraphras|\bnew (?:\w+ )?(?:instances?|examples?|samples?|data ?points?|variants?|versions?|data)\b|\bvariants?\b|rewordings?|rephras|more (?:examples|data) like|generate (?:\d+ )?(?:variants|versions|examples)|derived from|based on (?:id|item|instance|review)")),
    Intent("mistakes", _rx(r"(?:predicts?|predicting|predicted|forecasts?|classif\w*|gets?|got|labell?ed) (?:\w+ )?(?:incorrectly|falsely|inaccurately|wrong(?:ly)?)|\bmistakes?\b|\berrors?\b|misclassif|\bwrong(?:ly)?\b|incorrect(?:ly)?\b|\bmispredict|\berrs?\b|\binaccuracies\b|\bfailures?\b")),
    Intent("label_distribution", _rx(r"gold labels?|true labels?|target labels?|label(?:ing|ling)\b|labell?ed\??$|different labels?|(?:data|dataset)(?:'s)? labels|label distribution|distribution of (?:the )?(?:gold )?(?:labels|classes)|class (?:balance|distribution|breakdown)|breakdown of (?:the )?(?:gold )?(?:labels|classes)|(?:what|which) (?:are the )?(?:\w+ )?(?:labels|classes)\b|labels? (?:are )?(?:there|present|available|in the data)|(?:available|possible|existing) (?:\w+ )?(?:labels|classes)|how (?:are|is) .* (?:labels? distributed|labell?ed)|\blabels? (?:counts|shares|frequenc)|how many .* (?:per|each|of each) (?:label|class)|proportion of|classes (?:exist|are there)|labels can|what labels|label options|(?:what|which) (?:\w+ )?categor(?:y|ies)|categor(?:y|ies) (?:can|do|are|exist)|\babout the labels\b|\blabels of (?:the |this |your )?(?:data|dataset|data set)\b|labels (?:are |do we )?(?:assigned|have|present|available|at our disposal)")),
    Intent("keywords", _rx(r"words? (?:that )?(?:occur|appear|come up)s? (?:the )?most|(?:appear|occur|come up)s? most|\bkey ?words?\b|keyword|most (?:frequent|common|used|popular) (?:words|tokens|terms)|(?:frequent|common|used) (?:words|tokens|terms)|word frequenc|top (?:\d+ )?(?:words|terms|tokens) (?:in|of|across) (?:the )?data|highest occurrence")),
    Intent("describe_model", _rx(r"\b(?:what|which) (?:kind|type|sort) of (?:model|network|classifier|llm|language model)\b|(?:information|info|details|background) (?:of|on|about) (?:the |your |this )?(?:underlying |deployed )?(?:classifier|network)\b|\bhow many (?:layers|parameters|params|attention heads|heads|blocks)\b(?!.*\b(?:review|item|row|id|instance)\s*\d)|^\W*(?:and |what about |how about )?(?:the |your |this )?model\W*$")),
    Intent("describe_data", _rx(r"^\W*(?:and |what about |how about )?(?:the |your |this )?(?:data|dataset|data ?set)\W*$")),
    Intent("count", _rx(r"\bid'?s? of all|item ids|how many|number of|\bcount\b|\bcounts\b|quantity|total (?:number|count)|size of the (?:data|dataset)|how (?:big|large) is the (?:data|dataset)|amount of (?:data|rows|items|instances|samples)")),
    Intent("rationalize", _rx(r"rationali[sz]|rationale|justif|in (?:your|its) own words|natural[- ]language|everyday language|plain(?:[- ]english| language| words| terms)|simple (?:terms|words|language)|layman|understandable|comprehensible|reasoning\b|(?:verbal|textual) explanation|expound|shed light on (?:id|item|instance|data|review)|\binterpret (?:id|item|instance|review|data)|detailed explanation|give an account|simplify the explanation|explanation for the output|self-explain|\bask (?:the|this) model (?:itself )?(?:why|to explain)|how does (?:the|this) model (?:justify|explain itself)|\bargue\b")),
    Intent("describe_model", _rx(r"^(?!.*\b(?:predict\w*|decisions?|outputs?|behaviou?r|neurons?|layers? \d)\b).*(?:(?:explain|describe|introduce|learn about|know more about|tell me about) (?:\w+ )?(?:what )?(?:the|your|this) model\b|(?:architecture|features|design|functionality) (?:and \w+ )?of the model|what (?:is|are) (?:the|this|your) model\b)")),
    Intent("describe_data", _rx(r"^(?!.*\b(?:predict\w*|model)\b).*(?:\bdata (?:look like|and its importance)|(?:aspects|features|characteristics|types) (?:\w+ )?of (?:the )?data\b|what (?:is|are) (?:the )?data\b|what are (?:the )?features\b(?!.*capabilit)|features (?:are )?in (?:the )?data)")),
    Intent("attribute", _rx(rf"\b{_METHOD}\b|\b{_ADJ}\b.*\b{_FEATURES}\b|\b{_FEATURES}\b.*\b{_ADJ}\b|\bwhy\b|importance|attribut|salien|heat ?map|drove|\bdrive[sn]?\b|contribut|\bexplain|explanation|reasons? for|\brel(?:y|ies) on\b|how (?:does |did |do )?(?:the |this |your )?model (?:decide|decided|decides|arrive|arrived|arrives|come|came|reach|reached)|which (?:words?|tokens?|parts?)|what (?:words?|tokens?) (?:made|make|caused|led)")),
    Intent("show", _rx(r"\bwhat (?:does|do|did) (?:it|that|this|they|that one|this one|(?:the )?(?:review|item|row|instance|example|sample|id|data ?point) ?#?\d+) (?:look like|say)\b")),
    Intent("similar", _rx(r"similar|similarity|nearest|neighbou?rs?|closest|look(?:s)? like|resembl|most like\b(?!ly)|analogous|\bakin\b|comparable|\blike (?:id|item|instance|review|row)")),
    Intent("predict", _rx(r"\bconfidence scores?\b|\blikel(?:y|ihood)\b|probab|confiden|how sure|certain|\bpredict|prediction|inference|\bclassif|what (?:does|would) (?:the model|it) (?:say|think|output|answer)|what label|\bcontinue\b|\bcomplete\b|what comes next|\bsentiment of\b|\boutput\b|\bgenerate\b|\banswer\b")),
    Intent("score", _rx(r"rate .* correct|(?:get|gets|getting) (?:it|them|things) (?:correct|right)|correct predictions|accura|\bf1\b|f-score|precision|recall|roc\b|roc[ _-]?auc|\bauc\b|performance|how (?:well|good) .* perform|how (?:well|good) (?:does|is)|\bscores?\b|how often .* (?:right|correct)")),
    Intent("describe_model", _rx(r"what (?:the )?model (?:is|are)\b|(?:what|which) (?:is|are) (?:the|this|your) model\b(?!.*\bpredict)|(?:description|characteristics|details|information|info) (?:of|on|about) (?:the |your |this )?(?:underlying |deployed )?model|(?:explain|tell me|inform me|learn) (?:\w+ )*?(?:what|about) (?:the |your |this )?(?:deployed |underlying )?model\b(?! predict)|something (?:related to|about) the model|(?:explain|describe|introduce) (?:the|your|this) model|model'?s? (?:features|design|architecture|functionality|details|size|type|name|parameters)|\bmodel\b.*\b(?:architecture|size|layers|parameters|name|details|information|info|type|kind|about)\b|(?:which|what) (?:model|llm|network)|(?:architecture|layers|parameters) (?:of|does|is) (?:the )?model|how (?:big|large) is (?:the|your) model|shed (?:some )?light on the model|about (?:the|your) model")),
    Intent("capabilities", _rx(r"what can you do|what (?:are|is) (?:you|your) (?:capable|able)|what (?:else )?can (?:i|we) (?:ask|do)|\bhelp\b|\bfunctions\b|functionalit|what (?:tasks|operations|things|kind of \w+|kinds of \w+)|what do you (?:do|support|offer)|your (?:capabilities|features|abilities|strengths|skills)|how (?:can|do) i use you|capabilit|what can you (?:accomplish|handle|perform|offer)|functional (?:strengths|abilities)|(?:tasks|operations|actions|things|functions|services) (?:that )?(?:you|this \w+) (?:can|are able|could|provide|offer|support)|capable of|able to (?:do|perform|handle|execute)|what (?:can|could) (?:this|the) (?:chat|tool|system|assistant|bot)|what i can do|(?:can|could) you (?:do|handle|perform|execute|carry out)\b|(?:which|what) (?:operations|services|features) (?:do|does|can)")),
    Intent("describe_data", _rx(r"(?:about|describe|introduce|overview|summar\w+|information on|info on|look like|features in|more about|elaborate on)\b.*\bdata(?:set)?\b|(?:what|show|list) (?:are )?(?:me )?(?:the )?(?:\w+ )?features\b|\bdata ?set\b|\bdata\b.*\b(?:describe|about|introduce|summar|overview|tell|information|info|details|columns|source|comes? from|aspects|characteristics|types|importance)|(?:describe|introduce|summari[sz]e|overview of|tell me about) (?:the |your |this )?data|what (?:is|are) (?:the |this |your )?data\b|what data|what kind of data|characteristics of data|concept of data|features of (?:the )?data")),
    Intent("show", _rx(r"\bshow\b|\bdisplay\b|\bpull up\b|\bbring up\b|\bopen\b|\bread\b|\blist\b|\bprint\b|\bfetch\b|\bsee\b|\bgive me\b|\bpresent\b|\bretrieve\b|\bexamine\b|\blook at\b|\bview\b|(?:text|content|contents|details|information|data) (?:of|for|associated with|pertaining to|linked with|is linked with)|associated with|linked with|pertaining to|values of the features|what (?:is|does) (?:id|item|instance|review|row|example|data ?point)s? ?#?\d")),
)


_AGGREGATES_OVER_ROWS = ("label_distribution", "keywords")


def clause_intent(clause: str) -> str | None:
    if METRIC_QUESTION.search(clause) and not re.search(r"\b(?:mistakes?|errors?|wrong)\b", clause, re.I):
        return "score"
    for intent in INTENTS:
        if intent.pattern.search(clause):
            if intent.tool == "mistakes":  # "keywords in the reviews the model misclassifies": keywords over a selection
                over = next((i.tool for i in INTENTS if i.tool in _AGGREGATES_OVER_ROWS and i.pattern.search(clause)), None)
                return over or "mistakes"
            return intent.tool
    return None

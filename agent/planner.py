"""The offline planner: no LLM, no network, no model weights. Rules pick the tools a question
asks for, slot extractors fill their arguments, and the conversation state resolves follow-ups.

Version 1 (foundation issue); the planner issue extends it and measures it on held-out sets.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agent.plan import Call, ConversationState, Plan
from agent.slots import (
    find_ids, find_k, find_layers, find_method, find_metric, find_neuron, find_where, quoted_texts, strip_quotes,
)

OUT_OF_SCOPE = re.compile(r"\b(?:(?:modify|change|update|alter|adjust|improve) (?:the )?training|train(?:ing)? (?:it |the model )?(?:with|on) (?:instance|item|id|row|data ?point|example)|fine[- ]?tun\w*|re-?train\w*|unlearn\w*|learn from|incorporate .* (?:into|to) (?:the )?(?:training|model)|train (?:the )?model|update the model|(?:add|use) .* (?:to|for) (?:re)?train\w*)\b", re.I)
REFERENT = re.compile(r"\b(?:it|its|that|this|those|these|them|the same|same one|that one|this one|the last one|the previous one)\b", re.I)


@dataclass(frozen=True)
class Intent:
    tool: str
    pattern: re.Pattern[str]
    needs_instance: bool = False


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


# Ordered: the first intent whose pattern matches a clause wins that clause.
INTENTS: tuple[Intent, ...] = (
    Intent("report", _rx(r"\breport\b|write[- ]?up|\bpdf\b")),
    Intent("explain_neuron", _rx(r"\bneuron\s*#?\s*\d+|what does (?:this|that|the) neuron|describe (?:this|that|the) neuron")),
    Intent("top_neurons", _rx(r"\b(?:top|most active|which|important|responsible|strongest)\b.*\bneurons\b|\bneurons?\b.*\b(?:fire|active|activate|responsible)")),
    Intent("logit_lens", _rx(r"logit[ -]?lens|each layer (?:would )?predict|layer by layer|what (?:does|would) (?:each|every) layer")),
    Intent("probe", _rx(r"\bprob(?:e|ing)\b|\bencode[sd]?\b|linearly (?:decodable|separable)|represent(?:s|ed)? .* in layer")),
    Intent("explain_concept", _rx(r"^(?:what(?:'s| is| are| does)|explain|define|describe|tell me about|how does|how do|can you explain|could you explain)\b.*\b(?:integrated gradients|gradient|saliency|lime|shap|occlusion|attention|counterfactual|adversarial|augmentation|rationali[sz]\w*|logit lens|probing|probe|neurons?|influence functions?|faithfulness|comprehensiveness|sufficiency|aopc|f1|precision|recall|roc|auc|accuracy|explainab\w+|interpretab\w+|xai|attribution|feature importance|superposition|sparse autoencoder|activation patching|white-box|black-box|post-hoc|explanation method)s?\b(?!.*\b(?:id|item|instance|review|row|example)\s*#?\d)")),
    Intent("capabilities", _rx(r"what can you do|what (?:are|is) (?:you|your) (?:capable|able)|what (?:else )?can (?:i|we) (?:ask|do)|\bhelp\b|functions|functionalit|what (?:tasks|operations|things|kind of \w+)|what do you (?:do|support|offer)|your (?:capabilities|features|abilities)|how (?:can|do) i use you")),
    Intent("describe_model", _rx(r"what (?:the )?model (?:is|are)\b|(?:description|characteristics|details|information|info) (?:of|on|about) (?:the |your |this )?(?:deployed )?model|(?:explain|tell me|inform me) (?:\w+ )*?(?:what|about) (?:the |your |this )?(?:deployed )?model\b(?! predict)|something (?:related to|about) the model")),
    Intent("capabilities", _rx(r"(?:tasks|operations|actions|things|functions) (?:that )?(?:you|this \w+) (?:can|are able|could)|(?:tasks|operations|actions) (?:you|that you) (?:are capable|perform|execute|carry out)|capable of|able to (?:do|perform|handle|execute)|what (?:can|could) (?:this|the) (?:chat|tool|system|assistant|bot)|what i can do|(?:can|could) you (?:do|handle|perform|execute|carry out)\b")),
    Intent("edit_label", _rx(r"\b(?:change|edit|modify|revise|update|set|correct|relabel|fix|alter|switch)\b.*\blabel|\brelabel")),
    Intent("mistakes", _rx(r"(?:predicts?|predicting|forecasts?|classif\w*|gets?) (?:\w+ )?(?:incorrectly|falsely|inaccurately|wrong(?:ly)?)|\bmistakes?\b|\berrors?\b|misclassif|\bwrong(?:ly)?\b|incorrect(?:ly)? (?:predicted|classified)|\bmispredict|gets? wrong|errs?\b")),
    Intent("score", _rx(r"rate .* correct|(?:get|gets|getting) (?:it|them|things) (?:correct|right)|correct predictions|accura|\bf1\b|f-score|precision|recall|roc[ _-]?auc|\bauc\b|performance|how (?:well|good) (?:does|is)|\bscore\b|how often .* (?:right|correct)")),
    Intent("keywords", _rx(r"words? (?:that )?(?:occur|appear)s? (?:the )?most|\bkey ?words?\b|most (?:frequent|common|used|popular) (?:words|tokens|terms)|frequent (?:words|tokens|terms)|common (?:words|tokens|terms)|word frequenc|top (?:\d+ )?(?:words|terms|tokens) (?:in|of|across) (?:the )?data")),
    Intent("label_distribution", _rx(r"gold labels|target labels?|label(?:ing|ling)? options|different label|(?:data|dataset) labels|how (?:is )?(?:the )?data (?:is )?labell?ed|how often .* label|label distribution|distribution of (?:the )?(?:gold )?labels|class (?:balance|distribution)|(?:what|which) (?:are the )?(?:classification )?(?:labels|classes)|labels? (?:are )?(?:there|present|available|in the data)|how (?:are|is) .* labels? distributed|\blabel(?:s)? (?:counts|shares|frequenc)|how many .* (?:per|each|of each) (?:label|class)|proportion of")),
    Intent("count", _rx(r"\bids? of all|item ids|how many|number of|count|quantity|total (?:number|count)|size of the (?:data|dataset)")),
    Intent("counterfactual", _rx(r"counterfactual|\bflip|smallest (?:change|edit)|minimal (?:change|edit)|what (?:would|could) (?:i|you|we) (?:need to )?change|change (?:the|its|it'?s) (?:prediction|mind|output|label|answer)|what would (?:make|it take)|how (?:can|could) (?:i|we|you) (?:make|get) (?:it|the model) (?:to )?(?:say|predict)")),
    Intent("adversarial", _rx(r"adversar|attack|fool (?:the|it)|robust|perturb")),
    Intent("augment", _rx(r"augment|paraphras|new (?:instances|examples|samples)|similar (?:sentences|variants) with the same label|more (?:examples|data) like|generate (?:\d+ )?(?:variants|versions|examples)")),
    Intent("rationalize", _rx(r"rationali[sz]|rationale|justif|in (?:your|its) own words|natural language explanation|free-text explanation|explain .* in (?:plain|simple|layman)|reasoning|(?:verbal|textual) explanation|why does the model think|argue|self-explain")),
    Intent("influence", _rx(r"influen|training (?:rows|examples|points|data) (?:that|which|most)|where did it learn|which training")),
    Intent("similar", _rx(r"similar|nearest|neighbou?rs?|closest|look(?:s)? like|resembl|most like")),
    Intent("attribute", _rx(r"\bwhy\b|important|importance|\bfeatures?\b|attribut|salien|\bexplain\b|explanation|which (?:words?|tokens?|parts?)|what (?:words?|tokens?)|drove|contribut|responsible|heat ?map|reason for|influential (?:words|tokens)|\bdrive\b|rely on|relies on")),
    Intent("predict", _rx(r"predict|prediction|classif|\blikel(?:y|ihood)\b|probabilit|confiden|how sure|what (?:does|would) (?:the model|it) (?:say|think|output|answer)|what label|\bcontinue\b|\bcomplete\b|what comes next|\bsentiment of\b|\boutput\b")),
    Intent("describe_model", _rx(r"\bmodel\b.*\b(?:architecture|size|layers|parameters|name|details|information|info|type|kind|about)\b|(?:which|what) (?:model|llm|network)|describe (?:the|your) model|about (?:the|your) model|tell me about the model|model (?:details|info|description)|introduce (?:the|your) model|how (?:big|large) is")),
    Intent("describe_data", _rx(r"(?:about|describe|introduce|overview|summar\w+|information on|info on|look like|features in|more about)\b.*\bdata(?:set)?\b|what are the features|show me the features|\bdata ?set\b|\bdata\b.*\b(?:describe|about|introduce|summar|overview|tell|information|info|details|columns|source)|(?:describe|introduce|summari[sz]e|overview of|tell me about) (?:the |your |this )?data|what (?:is|are) (?:the|this|your) data|what data")),
    Intent("show", _rx(r"\bshow\b|\bdisplay\b|\blist\b|\bprint\b|\bfetch\b|\bsee\b|\bgive me\b|what (?:is|does) (?:id|item|instance|review|row|example|data ?point)s? ?#?\d|\bview\b|(?:text|content) of")),
)

INSTANCE_TOOLS = {"predict", "attribute", "counterfactual", "adversarial", "augment", "rationalize", "similar", "influence", "logit_lens", "top_neurons"}
WHERE_TOOLS = {"show", "count", "label_distribution", "keywords", "score", "mistakes", "report"}
SPLIT = re.compile(r"\s*(?:;|\band then\b|\bthen\b|\band also\b|\bas well as\b|\balso\b|,\s*and\b|\band\b(?=\s+(?:what|why|how|show|give|tell|explain|predict|list|count|which|find|generate|write|compute|display|describe|make|produce|create|follow|provide|the rationale|its|also)))\s*", re.I)
METRIC_QUESTION = re.compile(r"\b(?:the|its|model'?s|my|your|overall)\s+(?:accuracy|f1|precision|recall|roc[ _-]?auc|roc|auc|performance|score)\b|\b(?:accuracy|f1|precision|recall|roc[ _-]?auc|auc)\s+(?:on|for|of|over|across|in)\b", re.I)
FOLLOW_UP = re.compile(r"^(?:and |now |ok(?:ay)?,? |what about |how about |same |the same |do the same|again)", re.I)


class RulePlanner:
    """Deterministic question -> plan. `labels` are the dataset's labels (for filters and targets)."""

    def __init__(self, labels: list[str] | None = None) -> None:
        self.labels = list(labels or [])

    # ---------- public ----------
    def plan(self, question: str, state: ConversationState | None = None) -> Plan:
        state = state or ConversationState()
        raw = (question or "").strip()
        if not raw:
            return Plan(question=question, message="Please ask a question, e.g. \"How many reviews are there?\"")
        raw = raw[:2000]  # planning never needs more; huge inputs stay fast
        texts = quoted_texts(raw)
        bare = strip_quotes(raw)
        if OUT_OF_SCOPE.search(bare):
            return Plan(question=question, message=(
                "whybox explains a fixed model; it does not train, fine-tune or unlearn it. "
                "I can show which rows matter (influence), or how a label edit changes the scores."
            ))
        clauses = [c for c in SPLIT.split(bare) if c and c.strip()]
        calls: list[Call] = []
        for clause in clauses:
            intent = self._intent(clause)
            if intent is None:
                continue
            if calls and calls[-1].tool == intent.tool:
                continue
            calls.append(Call(tool=intent.tool, args={}))
        if not calls:
            follow = self._follow_up(bare, texts, state)
            if follow is not None:
                return follow
            return Plan(question=question, message=(
                "I did not understand that. Try \"What's the accuracy?\", \"Show me 3 mistakes\" or "
                "\"What does the model predict for 'the battery died after a day'?\""
            ))
        plan = Plan(question=question)
        for call in calls:
            message = self._fill(call, bare, texts, state)
            if message:
                return Plan(question=question, message=message)
            plan.calls.append(call)
        return plan

    # ---------- internals ----------
    def _intent(self, clause: str) -> Intent | None:
        if METRIC_QUESTION.search(clause):  # "what's the accuracy?" asks for a score, not a definition
            return next(i for i in INTENTS if i.tool == "score")
        for intent in INTENTS:
            if intent.pattern.search(clause):
                return intent
        return None

    def _follow_up(self, bare: str, texts: list[str], state: ConversationState) -> Plan | None:
        """'what about review 5?', 'and with LIME?', 'now neuron 301': the last tool, new slots."""
        if not state.last_tool or not (FOLLOW_UP.search(bare) or find_ids(bare) or texts or find_method(bare)):
            return None
        call = Call(tool=state.last_tool, args=dict(state.last_args))
        ids = find_ids(bare)
        if call.tool not in INSTANCE_TOOLS | {"show"} and (ids or texts):
            call = Call(tool="show" if ids else "predict", args={})
        if ids or texts:
            for key in ("id", "text", "where"):
                call.args.pop(key, None)
            call.args.update({"id": ids[0]} if ids else {"text": texts[0]})
        method = find_method(bare)
        if method and call.tool == "attribute":
            call.args["method"] = method
        k = find_k(bare)
        if k is not None and "k" in call.args or (k is not None and call.tool in {"attribute", "mistakes", "keywords", "similar", "show"}):
            call.args["k"] = k
        where = find_where(bare, self.labels)
        if where and call.tool in WHERE_TOOLS:
            call.args["where"] = where
        return Plan(question=bare, calls=[call])

    def _instance(self, bare: str, texts: list[str], state: ConversationState) -> dict[str, Any] | None:
        ids = find_ids(bare)
        if ids:
            return {"id": ids[0]}
        if texts:
            return {"text": texts[0]}
        m = re.search(r"\b(?:for|on|of|about|to|text|sentence)\s*:\s*(.+)$", bare)
        if m and len(m.group(1).split()) >= 2:
            return {"text": m.group(1).strip()}
        if REFERENT.search(bare) or state.instance() is not None:
            return state.instance()
        return None

    def _fill(self, call: Call, bare: str, texts: list[str], state: ConversationState) -> str | None:
        tool, args = call.tool, call.args
        if tool in INSTANCE_TOOLS:
            instance = self._instance(bare, texts, state)
            if instance is None:
                return f"Which review or text do you mean? Give an id (\"review 12\") or quote a text for `{tool}`."
            args.update(instance)
        k = find_k(bare)
        if tool in {"attribute", "similar", "influence", "augment", "counterfactual", "keywords", "mistakes", "top_neurons"} and k is not None:
            args["k"] = k
        if tool == "show":
            ids = find_ids(bare)
            if len(ids) == 1:
                args["id"] = ids[0]
            else:
                where = find_where(bare, self.labels)
                if ids:
                    where["ids"] = ids
                if where:
                    args["where"] = where
                if k is not None:
                    args["k"] = k
        elif tool in WHERE_TOOLS - {"show"}:
            where = find_where(bare, self.labels)
            ids = find_ids(bare)
            if ids and tool != "report":
                where["ids"] = ids
            if tool == "mistakes":
                where.pop("correct", None)
                args["mode"] = "count" if re.search(r"how many|number of|count|how often|\brate\b|how much|total", bare, re.I) else "sample"
            if tool == "report" and ids:
                args["id"] = ids[0]
            if tool == "report" and re.search(r"\b(?:mistakes|errors|misclassif\w*|wrong)\b", bare, re.I):
                where["correct"] = False
            if where:
                args["where"] = where
        if tool == "score":
            args["metric"] = find_metric(bare) or "accuracy"
        if tool == "attribute":
            method = find_method(bare)
            if method:
                args["method"] = method
        if tool == "edit_label":
            ids = find_ids(bare) or ([state.last_id] if state.last_id is not None else [])
            label = next((l for l in self.labels if re.search(rf"\b(?:to|as|into|with)\s+(?:the label\s+)?['\"]?{re.escape(l)}\b", bare, re.I)), None)
            if not ids:
                return "Which row's label should I change? Give its id."
            if label is None:
                return f"Which label should row {ids[0]} get? Labels: {', '.join(self.labels) or '(none)'}."
            args.update({"id": ids[0], "label": label})
        if tool in {"counterfactual", "attribute"}:
            target = next((l for l in self.labels if re.search(rf"\b(?:to|into|become|be|as|rather than|instead of|not)\s+(?:the label\s+)?{re.escape(l)}\b", bare, re.I)), None)
            if target and tool == "counterfactual":
                args["target"] = target
        if tool in {"explain_neuron", "top_neurons", "logit_lens"}:
            layers = find_layers(bare)
            if tool == "explain_neuron":
                neuron = find_neuron(bare)
                layer = layers[0] if layers else state.last_layer
                neuron = neuron if neuron is not None else state.last_neuron
                if layer is None or neuron is None:
                    return "Which neuron? Say e.g. \"neuron 811 in layer 14\"."
                args.update({"layer": layer, "neuron": neuron})
            elif tool == "top_neurons" and layers:
                args["layer"] = layers[0]
            elif tool == "logit_lens":
                m = re.search(r"\bposition\s*(-?\d+)", bare, re.I)
                if m:
                    args["position"] = int(m.group(1))
        if tool == "probe":
            layers = find_layers(bare)
            if layers:
                args["layers"] = layers
            m = re.search(r"\bencode[sd]?\s+(?:the\s+)?([a-z][\w -]*?)(?:\?|$| in | at | across )", bare, re.I)
            concept = m.group(1).strip() if m else None
            if concept and concept.lower() not in {"sentiment", "the label", "labels", "the labels", "label"}:
                args["concept"] = concept
        if tool == "explain_concept":
            args["topic"] = _topic(bare)
        return None


def _topic(question: str) -> str:
    t = re.sub(r"^(?:what(?:'s| is| are| does)|explain|define|describe|tell me about|how does|how do|can you explain|could you explain)\s+", "", question.strip(), flags=re.I)
    t = re.sub(r"\b(?:mean|work|works|stand for)\b\??$", "", t, flags=re.I)
    return t.strip(" ?.!").removeprefix("the ").removeprefix("a ").strip() or question.strip()

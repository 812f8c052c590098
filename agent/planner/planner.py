"""The offline planner: no LLM, no network, no model weights. `agent.planner.rules` picks the tool each
clause asks for, `agent.planner.slots` fills its arguments, and the conversation state resolves
follow-ups ("it", "those", "the same with LIME", "now neuron 301", "and on the short ones?") and
what-if edits in words (`agent.planner.whatif`).

Version 2 (planner issue). Accuracy on held-out sets: `python benchmarks/planner_eval.py`.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from agent.plan import Call, ConversationState, Plan
from agent.planner.catalog import catalog
from agent.planner.intent_model import Guess, IntentModel, shared_model
from agent.planner.rules import (
    OUT_OF_SCOPE,
    clause_intent,
    concept_topic,
    is_concept_question,
)
from agent.planner.slots import (
    find_ids,
    find_k,
    find_layers,
    find_method,
    find_metric,
    find_metrics,
    find_neuron,
    find_singular_k,
    find_where,
    quoted_texts,
    strip_quotes,
)
from agent.planner.spelling import shared_speller
from agent.planner.whatif import apply_edits, find_edits

VERSION = "rules+intent-model-3"
# When the learned model's guess wins (agent/intent_model.py); set on the development sets.
FALLBACK_P, NO_REFERENT_P, OVER_SHOW_P, OVERRIDE_P, DECLINE_P = 0.5, 0.5, 0.6, 0.9, 0.9

REFERENT = re.compile(r"\b(?:it|its|that|this|those|these|them|they|the same|same one|that one|this one|the last one|the previous one|the answer|the prediction)\b", re.I)
SELECTION_REFERENT = re.compile(r"\b(?:those|these|them|they|among (?:those|them|these)|of (?:those|them|these)|there|the same (?:rows|reviews|ones|selection))\b", re.I)
FOLLOW_UP = re.compile(r"^\W*(?:and\b|now\b|ok(?:ay)?\b|what about\b|how about\b|same\b|the same\b|do the same\b|again\b|only\b|just\b|instead\b|also\b|but\b|then\b|at\b|with\b|using\b|use\b|top \d+\b|for\b|in\b|on\b)", re.I)
SPLIT = re.compile(
    r"\s*(?:;|\band then\b|\bthen\b|\band also\b|\bas well as\b|\balso\b|(?<=[?!.])\s+(?=[A-Z])|,\s*and\b"
    r"|\band\b(?=\s+(?:what|why|how|show|give|tell|explain|predict|list|count|which|find|generate|write|compute|display|describe|make|produce|create|follow|provide|the rationale|a rationale|its|also|then)))\s*",
)
# "explain that with occlusion": with an instance in the conversation, "that"/"it" points at it.
POINTS_BACK = re.compile(r"\b(?:it|that one|this one|that|this)\b(?!\s+(?:method|technique|approach|concept|term|metric|measure|means?|is|does|operation|feature|functionality)\b)", re.I)
ROW_NOUN = re.compile(r"\b(?:reviews?|rows?|items?|examples?|instances?|data ?points?|samples?|texts?|entries|records)\b", re.I)
APPLY_IT = re.compile(r"^\W*(?:ok(?:ay)?,? |now |great,? |then )?(?:(?:use|apply|try|run|do) (?:it|that|this|that method|this method)|(?:generate|make|create|produce|give me|find|compute|show me) (?:one|some|an? (?:example|one))\b)", re.I)
USING_METHOD = re.compile(r"\b(?:with|using|via|by|through)\s+(?:the\s+)?(?:integrated[ _-]?gradients?|gradients?[ _]?(?:x|times|\*)[ _]?inputs?|input[ _]?(?:x |times )?gradients?|occlusion|kernel[ _-]?shap|shap|lime|attention)\b", re.I)
INSTANCE_POINTER = re.compile(r"\b(?:it|that one|this one|(?:that|this|the same) (?:review|row|item|instance|example|text|sample|data ?point|sentence))\b", re.I)
TOOL_OF_TOPIC = ((r"counterfactual", "counterfactual"), (r"adversarial", "adversarial"), (r"augmentation", "augment"),
                 (r"rationale", "rationalize"), (r"logit lens", "logit_lens"), (r"influence", "influence"),
                 (r"similarity", "similar"), (r"feature attribution", "attribute"))
SHORT = re.compile(r"\b(?:short|shorter|brief)\b(?! than)", re.I)
LONG = re.compile(r"\b(?:long|longer|lengthy)\b(?! than)", re.I)
CLARIFY_INSTANCE = "Which review or text do you mean? Give an id (\"review 12\") or quote a text for `{tool}`."
DECLINE = ("whybox explains a fixed model; it does not train, fine-tune or unlearn it. I can show which rows "
           "matter (influence), or how a label edit changes the scores.")
NOT_UNDERSTOOD = ("I did not understand that. Try \"What's the accuracy?\", \"Show me 3 mistakes\" or "
                  "\"What does the model predict for 'the battery died after a day'?\"")


class RulePlanner:
    """Deterministic question -> plan.

    `labels`: the dataset's labels (filters and targets). `short_words`: rows with at most this many
    words are "short", longer ones "long" (the dataset's median). `text_of`: row id -> text, so
    what-if edits can apply to a dataset row (None when no dataset is at hand).
    """

    def __init__(self, labels: list[str] | None = None, short_words: int = 8,
                 text_of: Callable[[int], str | None] | None = None,
                 intent_model: IntentModel | None | str = "shared") -> None:
        self.labels = list(labels or [])
        self.short_words = short_words
        self.text_of = text_of
        self.intent_model = shared_model() if intent_model == "shared" else intent_model
        self.speller = shared_speller() if intent_model == "shared" else None

    def _guess(self, clause: str) -> Guess | None:
        return self.intent_model.guess(clause) if self.intent_model is not None and self._worth_guessing(clause) else None

    def _worth_guessing(self, clause: str) -> bool:
        """A clause with fewer than two English words ('xq3 ?!', a row of emoji) has no intent to
        guess; skipping it keeps noise as cheap as the rules."""
        return self.speller is None or self.speller.known_words(clause) >= 2

    # ---------- public ----------
    def plan(self, question: str, state: ConversationState | None = None) -> Plan:
        state = state or ConversationState()
        raw = " ".join((question or "").split())[:2000]  # planning never needs more; huge inputs stay fast
        if not raw:
            return Plan(question=question, message="Please ask a question, e.g. \"How many reviews are there?\"")
        if self.speller is not None:
            raw = self.speller.fix(raw)  # "lbels" -> "labels"; quoted text is never touched
        raw = _unquote_concepts(raw)
        texts = quoted_texts(raw)
        bare = strip_quotes(raw)
        ids = find_ids(bare)
        points_back = state.instance() is not None and bool(
            POINTS_BACK.search(bare) or (USING_METHOD.search(bare) and not re.match(r"\W*(?:what|how|why|which)\b", bare, re.I)))
        if is_concept_question(bare, bool(ids or texts or points_back or re.search(r"\d", bare))):
            return Plan(question=question, calls=[Call(tool="explain_concept", args={"topic": _topic(bare)})])
        if OUT_OF_SCOPE.search(bare):
            return Plan(question=question, message=DECLINE)
        clauses = _clauses(bare)
        if self.intent_model is not None:
            self.intent_model.guess_many([c for c in (bare, *clauses) if self._worth_guessing(c)])  # one batched forward, cached
        guess = self._guess(bare)
        if guess is not None and guess.tool == "decline" and guess.probability >= DECLINE_P:
            return Plan(question=question, message=DECLINE)
        edits = find_edits(raw)
        if edits:
            return self._what_if(question, raw, edits, state)
        applied = self._apply_concept(question, bare, texts, state)
        if applied:
            return applied
        tools = self._tools(clauses, bool(ids or texts or points_back), state)
        if not tools:
            follow = self._follow_up(question, bare, texts, state)
            return follow or Plan(question=question, message=NOT_UNDERSTOOD)
        plan = Plan(question=question)
        messages = []
        for tool in tools:
            calls, message = self._fill(tool, bare, texts, state)
            messages += [message] if message else []
            plan.calls.extend(calls)
        if messages and not plan.calls:  # a part that needs a referent only matters when nothing else was planned
            return Plan(question=question, message=messages[0])
        return plan

    # ---------- intents ----------
    def _tools(self, clauses: list[str], has_instance: bool, state: ConversationState) -> list[str]:
        tools: list[str] = []
        guessed: set[str] = set()  # tools that only the learned model found
        clauses_of: dict[str, str] = {}
        for clause in clauses:
            clause_has_instance = bool(find_ids(clause)) or "QUOTED" in clause
            if is_concept_question(clause, clause_has_instance or has_instance or bool(re.search(r"\d", clause))):
                tool = rule_found = "explain_concept"
            else:
                tool = clause_intent(clause)
                if tool in catalog().no_args and clause_has_instance:
                    tool = "show"
                rule_found = tool
                tool = self._arbitrate(tool, clause, clause_has_instance or has_instance, state)
            if tool == "mistakes" and re.search(r"\bwhy\b", clause, re.I) and find_ids(clause):
                tool = "attribute"  # "why is review 70 wrong?"
            if tool == "show" and state.last_tool == "mistakes" and SELECTION_REFERENT.search(clause) and not find_ids(clause):
                tool = "mistakes"  # "show me 4 of them" after a mistakes turn
            if tool == "count" and state.last_tool == "mistakes" and not ROW_NOUN.search(clause):
                tool = "mistakes"  # "how many are there in total?" after "show me 5 mistakes"
            if tool in {"label_distribution", "predict"} and not find_ids(clause) and "QUOTED" not in clause:
                tool = _beyond_filters(tool, clause, self.labels)
            if tool == "label_distribution" and len(find_ids(clause)) == 1:
                tool = "show"
            if tool and tool != rule_found:
                guessed.add(tool)
            if tool and tool not in tools:
                tools.append(tool)
                clauses_of[tool] = clause
        if len(tools) > 1 and set(tools) - guessed:  # a clause only the model understood restates the request
            tools = [t for t in tools if t not in guessed]
        if len(tools) > 1:  # "... Could you display them?" / "Can you help me with that?" restate the request
            tools = [t for t in tools if not (t in {"show", "capabilities"} and not find_ids(clauses_of[t]) and "QUOTED" not in clauses_of[t])] or tools
        if len(tools) > 1 and "show" in tools[1:] and set(tools) & catalog().instance:
            tools.remove("show")
        return tools

    def _arbitrate(self, rule: str | None, clause: str, has_instance: bool, state: ConversationState) -> str | None:
        """Rules first; the learned model's guess wins only where the rules are known to be weak:
        nothing matched, an instance tool with nothing to point at, the catch-all `show`, or a
        confident disagreement. Thresholds were set on the development sets (tests/planner_eval)."""
        guess = self._guess(clause)
        if guess is None or guess.tool == "decline" or rule in catalog().precise or rule == guess.tool:
            return rule
        fits = self._fits(guess.tool, clause, has_instance, state)
        if rule is None:
            if state.last_tool and (FOLLOW_UP.search(clause) or len(clause.split()) <= 4):
                return None  # a follow-up: _follow_up reuses the last tool
            return guess.tool if fits and guess.probability >= FALLBACK_P else None
        if rule in catalog().instance and not has_instance and state.instance() is None:
            return guess.tool if fits and guess.tool not in catalog().instance and guess.probability >= NO_REFERENT_P else rule
        if rule == "show" and fits and guess.probability >= OVER_SHOW_P:
            return guess.tool
        return guess.tool if fits and guess.probability >= OVERRIDE_P else rule

    @staticmethod
    def _fits(tool: str, clause: str, has_instance: bool, state: ConversationState) -> bool:
        """Can the tool be planned here? Instance tools need an instance; questions about concepts,
        the model or the data point at none (not even "it" or "the same" with one in the state)."""
        if tool in catalog().instance:
            return has_instance or state.instance() is not None
        if tool == "explain_concept" and concept_topic(clause) is None and REFERENT.search(clause):
            return False  # "explain it"
        if tool in catalog().no_args or tool == "explain_concept":
            return not has_instance and not (state.last_tool and (REFERENT.search(clause) or FOLLOW_UP.search(clause)))
        return True

    def _apply_concept(self, question: str, bare: str, texts: list[str], state: ConversationState) -> Plan | None:
        """'use it on review 8' right after 'explain integrated gradients': run what was explained."""
        if state.last_tool != "explain_concept" or not APPLY_IT.search(bare):
            return None
        topic = str(state.last_args.get("topic") or "")
        method = find_method(topic)
        tool = "attribute" if method else next((t for pattern, t in TOOL_OF_TOPIC if re.search(pattern, topic, re.I)), None)
        instances = self._instances(bare, texts, ConversationState())
        if tool is None or not instances:
            return None
        calls = [Call(tool=tool, args={**instance, **({"method": method} if method else {})}) for instance in instances]
        return Plan(question=question, calls=calls)

    # ---------- slots ----------
    def _instances(self, bare: str, texts: list[str], state: ConversationState) -> list[dict[str, Any]]:
        ids = find_ids(bare)
        if ids:
            return [{"id": i} for i in ids]
        if texts:
            return [{"text": texts[0]}]
        m = re.search(r"\b(?:for|on|of|about|to|text|sentence|this)\s*:\s*(.+)$", bare)
        if m and len(m.group(1).split()) >= 2:
            return [{"text": m.group(1).strip()}]
        instance = state.instance()
        return [instance] if instance else []

    def _selection(self, bare: str, state: ConversationState, same_tool: bool, texts: list[str] | None = None) -> dict[str, Any]:
        where = find_where(bare, self.labels, texts)
        if SHORT.search(bare) and "max_words" not in where:
            where["max_words"] = self.short_words
        if LONG.search(bare) and "min_words" not in where:
            where["min_words"] = self.short_words + 1
        previous = dict(state.last_where or {})
        if previous and SELECTION_REFERENT.search(bare):
            return {**previous, **where}
        if previous and not where and (FOLLOW_UP.search(bare) or same_tool):
            return previous
        return where

    def _fill(self, tool: str, bare: str, texts: list[str], state: ConversationState) -> tuple[list[Call], str | None]:
        same_tool = tool == state.last_tool and bool(FOLLOW_UP.search(bare) or not (find_ids(bare) or texts))
        args: dict[str, Any] = dict(state.last_args) if same_tool and tool in catalog().instance | {"explain_neuron", "probe", "logit_lens"} else {}
        k = find_k(bare)
        if tool == "explain_concept":
            return [Call(tool=tool, args={"topic": _topic(bare)})], None
        if tool in catalog().instance:
            instances = self._instances(bare, texts, state) if (find_ids(bare) or texts or not same_tool) else [
                {key: args[key]} for key in ("id", "text") if key in args]
            if not instances:
                return [], CLARIFY_INSTANCE.format(tool=tool)
            for key in ("id", "text"):
                args.pop(key, None)
            calls = []
            for instance in instances:
                call_args = {**instance, **args}
                calls.append(Call(tool=tool, args=call_args))
            for call in calls:
                self._tool_slots(tool, call.args, bare, k, state)
            return calls, None
        if tool == "show":
            ids = find_ids(bare)
            if len(ids) == 1:
                return [Call(tool=tool, args={"id": ids[0]})], None
            where = self._selection(bare, state, same_tool=False, texts=texts) if not ids else {"ids": ids}
            if not where and not ids and REFERENT.search(bare) and state.instance() and not SELECTION_REFERENT.search(bare):
                return [Call(tool=tool, args=dict(state.instance()))], None
            if not where and state.instance() and re.search(r"\b(?:that one|this one|it)\b", bare, re.I):
                return [Call(tool=tool, args=dict(state.instance()))], None
            args = {"where": where} if where else {}
            if k is not None:
                args["k"] = k
            return [Call(tool=tool, args=args)], None
        if tool in catalog().where:
            if tool == "score" and same_tool:
                args = {key: v for key, v in state.last_args.items() if key == "metric"}
            if tool == "mistakes" and same_tool:
                args = {key: v for key, v in state.last_args.items() if key in {"mode", "k"}}
            if tool == "keywords" and same_tool and "k" in state.last_args:
                args["k"] = state.last_args["k"]
            if tool == "report" and re.search(r"\b(?:conversation|chat|session|discussion|so far|what we (?:did|discussed|found))\b", bare, re.I):
                return [Call(tool=tool, args={})], None  # the conversation's own record
            where = self._selection(bare, state, same_tool, texts)
            ids = find_ids(bare)
            if tool == "report" and ids:
                return [Call(tool=tool, args={"id": ids[0]})], None
            if tool == "report" and texts:
                return [Call(tool=tool, args={"text": texts[0]})], None
            if tool == "report" and state.instance() and INSTANCE_POINTER.search(bare):
                return [Call(tool=tool, args=dict(state.instance()))], None  # "a report on that review"
            if ids:
                where["ids"] = ids
            if tool == "mistakes":
                where.pop("correct", None)
                counting = re.search(r"how many|number of|\bcount|how often|\brate\b|how much|total|amount|frequen|how common|\bcommon\b|regularly|occurrence", bare, re.I)
                args["mode"] = "count" if counting else ("sample" if not same_tool or k is not None or re.search(r"\b(?:show|list|give|which|what are|examples?|some)\b", bare, re.I) else args.get("mode", "sample"))
                if args["mode"] == "count":
                    args.pop("k", None)
            if tool == "report" and re.search(r"\b(?:mistakes|errors|misclassif\w*|wrong)\b", bare, re.I):
                where["correct"] = False
            if where:
                args["where"] = where
            if tool == "score":
                metrics = find_metrics(bare)
                if len(metrics) > 1:  # "the recall and the f1 on long reviews": one call per metric
                    return [Call(tool=tool, args={**args, "metric": metric}) for metric in metrics], None
                args["metric"] = find_metric(bare) or args.get("metric") or "accuracy"
            if k is not None and tool in catalog().k and not (tool == "mistakes" and args.get("mode") == "count"):
                args["k"] = k
            return [Call(tool=tool, args=args)], None
        if tool == "edit_label":
            ids = find_ids(bare) or ([state.last_id] if state.last_id is not None else [])
            if not ids:
                return [], "Which row's label should I change? Give its id."
            label = next((l for l in self.labels if re.search(rf"\b(?:to|as|into|with|be|is)\s+(?:the label\s+|label\s+)?['\"]?{re.escape(l)}\b", bare, re.I)), None)
            return [Call(tool=tool, args={"id": ids[0], **({"label": label} if label else {})})], None
        if tool == "explain_neuron":
            layers, neuron = find_layers(bare), find_neuron(bare)
            layer = layers[0] if layers else state.last_layer
            neuron = neuron if neuron is not None else state.last_neuron
            if layer is None or neuron is None:
                return [], "Which neuron? Say e.g. \"neuron 811 in layer 14\"."
            return [Call(tool=tool, args={"layer": layer, "neuron": neuron})], None
        if tool == "probe":
            layers = find_layers(bare)
            if layers:
                args["layers"] = layers
            concept = _probe_concept(bare)
            if concept:
                args["concept"] = concept
            return [Call(tool=tool, args=args)], None
        return [Call(tool=tool, args=args)], None

    def _tool_slots(self, tool: str, args: dict[str, Any], bare: str, k: int | None, state: ConversationState) -> None:
        if k is None and tool in {"similar", "influence", "attribute"}:
            k = find_singular_k(bare)
        if k is not None and tool in catalog().k:
            args["k"] = k
        if tool == "attribute":
            method = find_method(bare)
            if method:
                args["method"] = method
            # "why positive rather than negative?" contrasts two labels; a single label in "why did it
            # call it negative?" restates the prediction and adds nothing (planner convention).
            named = [l for l in self.labels if re.search(rf"\b{re.escape(l)}\b", bare, re.I)]
            if len(named) == 2 and re.search(r"\b(?:rather than|instead of|and not|versus|vs\.?)\b", bare, re.I):
                first, second = sorted(named, key=lambda l: re.search(rf"\b{re.escape(l)}\b", bare, re.I).start())
                args["target"], args["contrast"] = first, second
            else:  # "which words push it towards negative?" names the label to explain
                toward = next((l for l in named if re.search(
                    rf"\b(?:towards?|in favou?r of|evidence for|push\w* (?:it |them )?(?:to|into)|for the label|for label)\s+(?:the label\s+)?['\"]?{re.escape(l)}\b", bare, re.I)), None)
                if toward:
                    args["target"] = toward
            if "text" in args and re.search(r"\b(?:the|its|that|this) (?:generated )?(?:answer|continuation|completion) to\b", bare, re.I):
                args["output"] = "answer"  # "which prompt words drove the answer to 'My favourite food is'?"
        if tool == "counterfactual":
            target = next((l for l in self.labels if re.search(
                rf"\b(?:to|into|become|becomes|be|as|rather than|instead of|says?|predicts?|make[s]?(?: \S+){{0,3}})\s+(?:the label\s+|an?\s+)?{re.escape(l)}\b", bare, re.I)), None)
            if target is None and re.search(r"\b(?:make|turn|flip|get)\b", bare, re.I):  # "make 'the food was cold' positive?"
                target = next((l for l in self.labels if re.search(rf"\b{re.escape(l)}\W*$", bare, re.I)), None)
            if target:
                args["target"] = target
        if tool in {"top_neurons", "logit_lens"}:
            layers = find_layers(bare)
            if tool == "top_neurons" and layers:
                args["layer"] = layers[0]
            elif tool == "top_neurons" and re.search(r"\b(?:that|this|the same) layer\b", bare, re.I) and state.last_layer is not None:
                args["layer"] = state.last_layer
            m = re.search(r"\bposition\s*(-?\d+)", bare, re.I)
            if tool == "logit_lens" and m:
                args["position"] = int(m.group(1))

    # ---------- follow-ups ----------
    def _follow_up(self, question: str, bare: str, texts: list[str], state: ConversationState) -> Plan | None:
        """'what about review 5?', 'only layer 5', 'top 20', 'at position 2': the last tool, new slots."""
        if not state.last_tool:
            return None
        ids, k, layers, neuron = find_ids(bare), find_k(bare), find_layers(bare), find_neuron(bare)
        method, metric = find_method(bare), find_metric(bare)
        position = re.search(r"\bposition\s*(-?\d+)", bare, re.I)
        where = find_where(bare, self.labels, texts)
        if SHORT.search(bare):
            where.setdefault("max_words", self.short_words)
        if LONG.search(bare):
            where.setdefault("min_words", self.short_words + 1)
        bare_k = re.fullmatch(r"\W*(?:(?:only|just|the)\s+)?(?:top|first)?\s*(\d+)\s*(?:please)?\W*", bare, re.I)
        if bare_k:
            k = int(bare_k.group(1))
        if not (FOLLOW_UP.search(bare) or ids or texts or method or layers or neuron is not None or position or where or k is not None):
            return None
        tool, args = state.last_tool, dict(state.last_args)
        if tool not in catalog().instance | {"show"} and (ids or texts):
            tool, args = ("show" if ids else "predict"), {}
        if ids or texts:
            for key in ("id", "text", "where"):
                args.pop(key, None)
            args.update({"id": ids[0]} if ids else {"text": texts[0]})
        if method and tool == "attribute":
            args["method"] = method
        if metric and tool == "score":
            args["metric"] = metric
        if k is not None and tool in catalog().k:
            args["k"] = k
        if where and tool in catalog().where:
            args.pop("id", None)
            args.pop("text", None)
            args["where"] = where
        if tool == "explain_neuron":
            if layers:
                args["layer"] = layers[0]
            if neuron is not None:
                args["neuron"] = neuron
        elif tool == "top_neurons" and layers:
            args["layer"] = layers[0]
        elif tool == "probe":
            if layers:
                args["layers"] = layers
            concept = _probe_concept(bare) or _follow_up_concept(bare)
            if concept:
                args["concept"] = concept
        if tool == "logit_lens" and position:
            args["position"] = int(position.group(1))
        if args == state.last_args and tool == state.last_tool and not FOLLOW_UP.search(bare):
            return None
        return Plan(question=question, calls=[Call(tool=tool, args=args)])

    def _what_if(self, question: str, raw: str, edits: list, state: ConversationState) -> Plan:
        base = state.last_text
        if base is None and state.last_id is not None and self.text_of is not None:
            base = self.text_of(state.last_id)
        if base is None:
            return Plan(question=question, message="Which text should I edit? Quote it first, e.g. \"What does it predict for 'the soup was cold'?\"")
        edited, missing = apply_edits(base, edits)
        if missing:
            return Plan(question=question, message=f"The last text does not contain {', '.join(repr(m) for m in missing)}: {base!r}.")
        if not edited:
            return Plan(question=question, message="That edit would leave no text.")
        rest = re.sub(r"[\"'“‘][^\"'”’]+[\"'”’]", " ", raw)
        tool = clause_intent(re.sub(r"\b(?:replace|swap|substitute|change|without|remove|delete|add|insert|what if|with|by)\b", " ", rest, flags=re.I))
        tool = tool if tool in catalog().instance else "predict"
        args: dict[str, Any] = {"text": edited}
        self._tool_slots(tool, args, strip_quotes(raw), find_k(strip_quotes(raw)), state)
        return Plan(question=question, calls=[Call(tool=tool, args=args)])


def planner_for(dataset: Any, labels: list[str] | None) -> RulePlanner:
    """The planner for a loaded dataset: its labels, its median length as "short", its rows for
    what-if edits. Shared by the Assistant and `whybox plan` (which loads no model)."""
    def text_of(row_id: int) -> str | None:
        try:
            return dataset.get(row_id).text
        except Exception:  # noqa: BLE001 - an unknown id only means there is no text to edit
            return None

    return RulePlanner(labels or [], short_words=dataset.median_words(), text_of=text_of)


def _clauses(bare: str) -> list[str]:
    """The question's parts: SPLIT's separators, then a bare "and" between two different requests
    ("show the label distribution and the top 5 keywords"), never inside a filter or a list of ids."""
    out = []
    for clause in (c for c in SPLIT.split(bare) if c and c.strip()):
        parts = re.split(r"\s+and\s+", clause)
        if len(parts) < 2:
            out.append(clause)
            continue
        current = parts[0]
        for part in parts[1:]:
            left, right = clause_intent(current), clause_intent(part)
            if left and right and left != right and re.match(r"\W*(?:the|a|an|its|their|my|show|give|what|how|which|tell|list|predict|explain|count|find|compute|why|please|can|could|do)\b", part, re.I):
                out.append(current)
                current = part
            else:
                current = f"{current} and {part}"
        out.append(current)
    return out


def _beyond_filters(tool: str, clause: str, labels: list[str]) -> str:
    """'5 reviews predicted negative', 'instances with the gold label negative': the words that
    matched `tool` only describe a selection; what is asked is in the rest ("how many" -> count),
    or, with nothing else, the rows themselves (show)."""
    if not labels or not find_where(clause, labels):
        return tool
    names = "|".join(re.escape(l) for l in labels)
    rest = re.sub(rf"\b(?:the )?(?:gold |true )?(?:label(?:l?ed)?|predicted|predictions?|classified)(?: as| to be)? (?:{names})\b", " ", clause, flags=re.I)
    if rest == clause:
        return tool
    other = clause_intent(rest)
    if other and other != tool:
        return other
    return "show" if tool == "predict" and re.search(r"\b(?:reviews|rows|items|examples|instances|samples|data ?points|ones)\b", clause, re.I) else tool


def _follow_up_concept(bare: str) -> str | None:
    """'and negation in those layers?' after a probe: the concept is the bare noun phrase."""
    m = re.match(r"\W*(?:and|what about|how about|now|then)\s+(?:for\s+)?(?:the\s+)?([a-z][a-z -]*?)\s*(?:(?:in|at|for|across|on|of)\s+(?:those|these|the same|that|all|each)?\s*layers?\b.*)?\W*$", bare, re.I)
    concept = m.group(1).strip().lower() if m else None
    if not concept or len(concept.split()) > 3 or re.fullmatch(r"(?:the )?(?:sentiment|labels?|classes|class|layers?.*|it|them|those|these|same|all)", concept):
        return None
    return concept


def _unquote_concepts(text: str) -> str:
    """'the "learn" functionality': a quoted operation name is not an instance text."""
    def repl(m: re.Match[str]) -> str:
        inner = next(g for g in m.groups() if g)
        return inner if len(inner.split()) <= 3 and concept_topic(inner) and not re.search(r"\b(?:review|text|sentence)\b", text[:m.start()][-25:], re.I) and _looks_like_name(inner, text) else m.group(0)
    return re.sub(r"\"([^\"]+)\"|“([^”]+)”|(?<![a-z])'([^']+)'(?![a-z])", repl, text)


def _looks_like_name(inner: str, text: str) -> bool:
    return bool(re.search(r"functionality|operation|feature|method|technique|concept|term|mean|work", text, re.I)) or len(inner.split()) == 1


def _topic(question: str) -> str:
    topic = concept_topic(question)
    if topic:
        return topic
    t = re.sub(r"^(?:what(?:'s| is| are| does)|explain|define|describe|tell me about|how does|how do|can you explain|could you explain)\s+", "", question.strip(), flags=re.I)
    t = re.sub(r"\b(?:mean|work|works|stand for)\b\??$", "", t, flags=re.I)
    return t.strip(" ?.!").removeprefix("the ").removeprefix("a ").strip() or question.strip()


def _probe_concept(bare: str) -> str | None:
    m = re.search(r"\b(?:encode[sd]?|represent(?:s|ed)?|for|capture[sd]?|know)\s+(?:the\s+)?([a-z][\w -]*?)(?:\?|$| in | at | across | by )", bare, re.I)
    concept = m.group(1).strip().lower() if m else None
    if not concept or re.fullmatch(r"(?:the )?(?:sentiment|labels?|classes|class|gold labels?|layers?(?: \d+.*)?|each layer|it|them)", concept):
        return None
    return concept

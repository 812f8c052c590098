"""The offline planner: no LLM, no network, no model weights. `agent.planner.rules` picks the tool each
clause asks for, `agent.planner.slots` fills its arguments, and the conversation state resolves
follow-ups ("it", "those", "the same with LIME", "now neuron 301", "and on the short ones?") and
what-if edits in words (`agent.planner.whatif`).

Version 2 (planner issue). Accuracy on held-out sets: `python benchmarks/planner_eval.py`.
"""
from __future__ import annotations

import re
import typing
from typing import Any, Callable

from agent.plan import Call, Choice, ConversationState, Plan
from agent.planner.catalog import catalog
from agent.planner.claims import corrected_row, corrected_rows, corrects_a_label
from agent.planner.clarify_answers import answered
from agent.planner.clauses import _beyond_filters, _clauses, _topic, _unquote_concepts
from agent.planner.corrections import corrected
from agent.planner.dataset_slots import (
    DataFacts,
    compared_selections,
    find_by,
    find_match,
    fix_category_typos,
    named_layer,
    plain_filters,
)
from agent.planner.follow_ups import (
    NARROWS,
    FollowUpPlanning,
    layer_step,
    narrowed,
)
from agent.planner.follow_ups import AskBack as _Ask
from agent.planner.honour import LABEL_LIKE, checked, unknown_label
from agent.planner.intent_model import Guess, IntentModel, shared_model
from agent.planner.normalise import (
    counts_in_words,
    expand_shorthand,
    foreign_language,
    id_ranges,
    layer_slash_neuron,
    numbers_in_words,
    spoken_forms,
    without_length_idioms,
)
from agent.planner.query import Query
from agent.planner.rules import (
    ABLATES_A_UNIT,
    CONTRASTS,
    GENERALLY,
    METRIC_QUESTION,
    OUT_OF_SCOPE,
    POINTS_AT_SOMETHING,
    RUN_REQUEST,
    asks_how_a_method_works,
    clause_intent,
    concept_topic,
    concept_topics,
    is_concept_question,
    matched_exactly,
)
from agent.planner.slots import (
    find_ids,
    find_k,
    find_layers,
    find_method,
    find_neuron,
    find_where,
    quoted_texts,
    strip_quotes,
)
from agent.planner.spelling import shared_speller
from agent.planner.vocabulary import (
    APPLY_IT,
    FOLLOW_UP,
    LONG,
    METHOD_WORDING,
    POINTS_BACK,
    REFERENT,
    SELECTION_REFERENT,
    SHORT,
    USING_METHOD,
)
from agent.planner.whatif import apply_edits, edited_in_question, find_edits, find_word_edits
from tools.planning import NeedsClarification

# "swap 'John' and 'Maria' on those reviews": a term swap over rows (an audit), not an edit of one text
SWAPS_IN_ROWS = re.compile(
    r"\b(?:bias\w*|fair\w*|gender\w*|names?)\b"
    r"|\b(?:those|these|the|all|same) (?:\w+ )?(?:reviews|rows|texts)\b",
    re.I,
)
# "with occlusion" right after a tool that takes a method: the same tool, that method
METHOD_ONLY = re.compile(
    rf"\W*(?:and |now |ok |then |but )?(?:(?:do it|try it|try|redo it|again|top \d+|the top \d+) )?"
    rf"(?:with|using|via|by|use|switch to|go with) (?:the )?"
    rf"{METHOD_WORDING}(?: instead| please| too| then)?\W*",
    re.I,
)

# "an auc of 0.5 means what exactly", "if a probe gets 90% at layer 5, does that mean ...":
# a question about what a figure means
MEANING = re.compile(
    r"\bmeans? what\b|\bwhat (?:does|do|would|should) .{0,40}\bmean\b"
    r"|\bdoes (?:that|this|it) (?:really )?mean\b"
    r"|\bwhat (?:does|do|would) (?:an? |the )?[\w ]{1,25}? of \d*\.?\d+%? (?:tell|say|signal|indicate)", re.I)

# "neurons 12 and 40", "units 5, 6 and 9"
NEURON_LIST = re.compile(r"\b(?:neurons|units)\s+(#?\d+(?:\s*(?:,|and|&|,\s*and)\s*#?\d+)+)\b"
                         r"|\b(?:neuron|unit)\s+(#?\d+(?:\s*(?:,|and|&|,\s*and)\s*(?:neuron|unit)\s+#?\d+)+)\b", re.I)
# "can you run it on review 20" after "what's lime": the method the same message asked about
RUN_IT = re.compile(r"\b(?:use|apply|try|run|do)\s+(?:it|that|this)(?: method)?\b", re.I)

VERSION = "rules+intent-model-3"
# When the learned model's guess wins (agent/intent_model.py); set on the development sets.
FALLBACK_P, NO_REFERENT_P, OVER_SHOW_P, OVERRIDE_P, DECLINE_P = 0.5, 0.5, 0.6, 0.9, 0.9
CONCEPT_P = 0.7  # the concept head's probability above which a question about a named topic is a concept question

CLARIFY_INSTANCE = "Which review or text do you mean? Give an id (\"review 12\") or quote a text for `{tool}`."
NO_ABLATION = ("whybox has no ablation tool: it does not zero or remove a neuron. I can describe the neuron "
               "(explain_neuron), show the neurons that fire most on a review (top_neurons), or move activations "
               "with steer or patch and show what changes.")
DECLINE = ("whybox explains a fixed model; it does not train, fine-tune or unlearn it. I can show which rows "
           "matter (influence), or how a label edit changes the scores.")
NOT_ENGLISH = ("I can only read questions in English so far, and this one does not look English to me. Could you "
               "ask it in English? For example \"Why is review 12 negative?\" or \"Show me 3 mistakes\".")
NOT_UNDERSTOOD = ("I did not understand that. Try \"What's the accuracy?\", \"Show me 3 mistakes\" or "
                  "\"What does the model predict for 'the battery died after a day'?\"")


class RulePlanner(FollowUpPlanning):
    """Deterministic question -> plan.

    `labels`: the dataset's labels (filters and targets). `short_words`: rows with at most this many
    words are "short", longer ones "long" (the dataset's median). `text_of`: row id -> text, so
    what-if edits can apply to a dataset row (None when no dataset is at hand).
    """

    def __init__(self, labels: list[str] | None = None, short_words: int = 8,
                 text_of: Callable[[int], str | None] | None = None,
                 intent_model: IntentModel | None | str = "shared", facts: DataFacts | None = None) -> None:
        self.labels = list(labels or [])
        self.facts = facts
        self.short_words = short_words
        self.text_of = text_of
        self.intent_model = shared_model() if intent_model == "shared" else intent_model
        self.speller = shared_speller() if intent_model == "shared" else None

    def _guess(self, clause: str) -> Guess | None:
        return (self.intent_model.guess(clause)
                if self.intent_model is not None and self._worth_guessing(clause) else None)

    def _worth_guessing(self, clause: str) -> bool:
        """A clause with fewer than two English words ('xq3 ?!', a row of emoji) has no intent to
        guess; skipping it keeps noise as cheap as the rules."""
        return self.speller is None or self.speller.known_words(clause) >= 2

    # ---------- public ----------
    def plan(self, question: str, state: ConversationState | None = None) -> Plan:
        meant = self._as_meant(question or "")
        if state is not None and state.instance() is not None:  # "and 141 as well, same label": review 141
            meant = BARE_ROW_TOO.sub(lambda m: f"{m.group(1)}review {m.group(2)}", meant, count=1)
        plan = self._plan_meant(meant, state)
        if NO_BREAKDOWN.search(meant):  # "f1 on just the product slice, no breakdown": no `by` carried over
            for call in plan.calls:
                call.args.pop("by", None)
        return plan if meant == question else plan.model_copy(update={"question": question})

    def _as_meant(self, question: str) -> str:
        """What was meant, as typed words: spoken forms ("review one oh five", "question mark"), Neuronpedia's
        "14/811", and self-corrections ("review 12, sorry, 21"), so every later reader sees one value."""
        values = [*self.labels, *(v for vs in (self.facts.categories.values() if self.facts else ()) for v in vs)]
        meant = corrected(layer_slash_neuron(spoken_forms(without_length_idioms(question))), values)
        return id_ranges(plain_filters(meant, self.labels))

    def _plan_meant(self, question: str, state: ConversationState | None = None) -> Plan:
        several = NEURON_LIST.search(question or "")
        if several:  # "explain neurons 12 and 40 of layer 3": one plan per neuron, in the typed order
            plans = [self.plan(question[:several.start()] + f"neuron {n}" + question[several.end():], state)
                     for n in re.findall(r"\d+", several.group(1) or several.group(2))]
            if all(p.calls for p in plans):
                return Plan(question=question, calls=[c for p in plans for c in p.calls])
            return next(p for p in plans if not p.calls).model_copy(update={"question": question})
        plan = self._plan(question, state or ConversationState())
        bare = strip_quotes(fix_category_typos(expand_shorthand(" ".join((question or "").split())[:2000]),
                                               self.facts, self.speller.known if self.speller else set(),
                                               self.labels))
        return checked(bare, plan, self.labels, self.facts)  # what cannot be honoured is asked about, never run

    def _plan(self, question: str, state: ConversationState) -> Plan:
        raw = " ".join((question or "").split())[:2000]  # planning never needs more; huge inputs stay fast
        if not raw:
            return Plan(question=question, message="Please ask a question, e.g. \"How many reviews are there?\"")
        if foreign_language(strip_quotes(raw)):
            return Plan(question=question, message=NOT_ENGLISH)
        raw = numbers_in_words(expand_shorthand(raw))  # "review forty two", "acc?"
        raw = fix_category_typos(raw, self.facts, self.speller.known if self.speller else set(), self.labels)
        if self.speller is not None:
            raw = numbers_in_words(self.speller.fix(raw))  # "lbels" -> "labels"; "reveiw eighty" -> "review 80"
        quoted_terms = [t for t in quoted_texts(raw) if len(t.split()) <= 3 and concept_topic(t)]
        raw = named_layer(_unquote_concepts(raw), self.facts.n_layers if self.facts else None)
        raw = _the_other_row(raw, state)  # "and the same for the other one" after rows 70 and 71
        texts = quoted_texts(raw)
        bare = strip_quotes(raw)
        answer = answered(bare, texts, state, self.labels)  # "oops, layer 25" after "there is no layer 45"
        if answer:
            return Plan(question=question, calls=answer)
        if MOVING_ON.match(bare):  # "nvm, back to the review: top 2": the rest is the request
            raw, bare = MOVING_ON.sub("", raw, count=1), MOVING_ON.sub("", bare, count=1)
        ids = find_ids(bare)
        points_back = state.instance() is not None and bool(
            POINTS_BACK.search(bare)
            or (USING_METHOD.search(bare) and not re.match(r"\W*(?:what|how|why|which)\b", bare, re.I))
        )
        pointed = points_back and not GENERALLY.search(bare)
        opened = TOPIC_FIRST.match(bare)
        if opened and not ids and concept_topic(opened.group(1)):  # "lime = random perturbations right? how many
            topics = concept_topics(bare)  # samples does it need": about the method, mid-conversation too
            return Plan(question=question, calls=[Call(tool=catalog().role("concept"), args={"topic": t})
                                                  for t in (topics[:3] if len(topics) > 1 else [_topic(bare)])])
        if quoted_terms and not ids and WHAT_IS_THAT.search(bare):  # "your note says 'integrated gradients'. what
            return Plan(question=question, calls=[  # is that, in normal language?": the term, mid-conversation
                Call(tool=catalog().role("concept"), args={"topic": _topic(quoted_terms[0])})])
        if (is_concept_question(bare, bool(ids or texts or pointed or SOME_NUMBER.search(bare)))
                or (asks_how_a_method_works(bare) and not ids and all(len(t.split()) <= 2 for t in texts)
                    and find_neuron(bare) is None
                    and not find_layers(bare))
                or (MEANING.search(bare) and concept_topic(bare) and not (ids or texts or pointed)
                    and find_neuron(bare) is None)
                or self._learned_concept(bare, bool(ids or texts or pointed), state)):
            topics = concept_topics(bare)
            if len(topics) > 1 and CONTRASTS.search(bare) and not re.search(r"\bjust the\b", bare, re.I):
                return Plan(question=question, calls=[Call(tool=catalog().role("concept"), args={"topic": t})
                                                      for t in topics[:3]])  # "precision vs recall": a card each
            return Plan(question=question, calls=[Call(tool=catalog().role("concept"), args={"topic": _topic(bare)})])
        if ABLATES_A_UNIT.search(bare):
            return Plan(question=question, message=NO_ABLATION)
        if OUT_OF_SCOPE.search(bare):
            return Plan(question=question, message=DECLINE)
        clauses = _clauses(bare)
        if self.intent_model is not None:
            # one batched forward, cached
            self.intent_model.guess_many([c for c in (bare, *clauses) if self._worth_guessing(c)])
        guess = self._guess(bare)
        if guess is not None and guess.tool == "decline" and guess.probability >= DECLINE_P:
            return Plan(question=question, message=DECLINE)
        edits = find_edits(raw) or self._word_edits(raw, state)
        base = edited_in_question(raw, edits, texts) if edits else None
        if not edits and len(texts) == 1:  # "what would it say about 'the pasta was cold' if cold were hot"
            edits = find_word_edits(strip_quotes(raw), texts[0])
            base = texts[0] if edits else None
        swaps_in_rows = catalog().takes(state.last_tool or "", "groups") or SWAPS_IN_ROWS.search(bare)
        if edits and not swaps_in_rows:  # "swap 'John' and 'Maria' in those reviews" audits rows, edits no text
            if base is None and len(ids) == 1 and self.text_of is not None:  # "what if review 12 said 'bad' ..."
                base = self.text_of(ids[0])
            return self._what_if(question, raw, edits, state, base)
        if state.last_tool and state.last_tool not in catalog().instance and catalog().takes(
                state.last_tool, "method") and METHOD_ONLY.fullmatch(bare):
            follow = self._follow_up(question, bare, texts, state)
            if follow:
                return follow
        if state.last_tool and self._only_new_slots(bare, ids, state):
            follow = self._follow_up(question, bare, texts, state)
            if follow:
                return follow
        if catalog().takes(state.last_tool or "", "groups") and len(texts) >= 2 and not len(texts) % 2 and not ids:
            follow = self._follow_up(question, bare, texts, state)  # "add 'mr' vs 'mrs' to that" after an audit
            if follow:
                return follow
        applied = self._apply_concept(question, bare, texts, state)
        if applied:
            return applied
        relabel = self._relabel(question, bare, ids, state)
        if relabel:
            return relabel
        tools = self._tools(clauses, bool(ids or texts or points_back), state)
        tools = self._comparison(bare, tools)
        counted = self._two_counts(question, clauses, tools, texts)
        if counted:
            return counted
        if not tools:
            follow = self._follow_up(question, bare, texts, state) or self._with_unknown_label(question, raw, state)
            # "what's a polysemantic neuron, is that what i'm looking at?": no tool is asked for, a topic is
            if not follow and not ids and is_concept_question(bare, False):
                follow = Plan(question=question,
                              calls=[Call(tool=catalog().role("concept"), args={"topic": _topic(bare)})])
            return follow or Plan(question=question, message=NOT_UNDERSTOOD)
        plan = Plan(question=question)
        asks: list[_Ask] = []
        for tool in tools:
            calls, ask = self._fill(tool, bare, texts, state)
            asks += [ask] if ask else []
            plan.calls.extend(call for c in calls for call in _split_contrast(c, bare))
        for call in plan.calls:
            self._concept_by_values(call, bare)
        plan.calls += _some_of_them(plan.calls, clauses)
        if len(tools) > 1:
            _k_to_its_clause(plan.calls, clauses)
            _target_to_its_clause(plan.calls, clauses, self.labels)
        elif len(plan.calls) == 1:
            plan.calls = self._compared(plan.calls[0], bare)
            shown = (state.last_where or {}).get("ids") or []
            if (not ids and len(plan.calls) == 1 and len(shown) >= 2 and WHICH_OF_THEM.search(bare)
                    and plan.calls[0].args.get("id") in shown):  # "which of them is it more sure about": each shown
                only = plan.calls[0]
                plan.calls = [Call(tool=only.tool, args={**only.args, "id": row}) for row in shown[:6]]
            picked = [] if ids else _ordinal_of_shown(bare, shown)
            if len(plan.calls) == 1 and picked and "id" in plan.calls[0].args:  # "the last of the four rows"
                only = plan.calls[0]
                among = re.search(r"\bof\s+(?:the|those|these)\s+(\d+)\s", counts_in_words(bare))
                args = {key: v for key, v in only.args.items()  # "four" counts the rows shown, not a k
                        if not (key == "k" and among and v == int(among.group(1)))}
                plan.calls = [Call(tool=only.tool, args={**args, "id": row}) for row in picked]
        if asks and not plan.calls:  # a part that needs a referent only matters when nothing else was planned
            ask = asks[0]
            no_row = state.instance() is None and not (ids or texts)
            aggregate = self._over_the_selection(tools[0], ask, bare, state)
            if aggregate:  # "(accuracy on restaurant reviews) which words drive the model there, with lime"
                return Plan(question=question, calls=[aggregate])
            if ask.asks_for in ("instance", None) and no_row and concept_topic(bare) and find_neuron(bare) is None:
                # "does lime give the same answer if you run it twice on the same review?": no row is
                # named or in the conversation, a method is: a question about the method
                concept = Call(tool=catalog().role("concept"), args={"topic": _topic(bare)})
                return Plan(question=question, calls=[concept])
            message, choices = _which_row_shown(ask, state)
            picked = _ordinal_of_shown(bare, [c.args.get("id") for choice in choices for c in choice.calls])
            if choices and picked:  # "predict the first two of them", "the last of the four rows"
                return Plan(question=question, calls=[c for choice in choices for c in choice.calls
                                                      if c.args.get("id") in picked])
            if choices and WHICH_OF_THEM.search(bare):  # "which of them is it more sure about": each, to compare
                return Plan(question=question, calls=[c for choice in choices for c in choice.calls])
            return Plan(question=question, message=message, pending=[ask.pending] if ask.pending else [],
                        asks_for=ask.asks_for, choices=choices)
        return plan

    @staticmethod
    def _over_the_selection(tool: str, ask: _Ask, bare: str, state: ConversationState) -> Call | None:
        """An attribution asked with no row, right after a selection, and pointing at it ("there", "in those"):
        the attributions aggregated over that selection, with the method and k asked for."""
        cat = catalog()
        if (ask.asks_for not in ("instance", None) or state.instance() is not None or not state.last_where
                or not cat.takes(tool, "method")
                or not re.search(r"\b(?:there|in (?:those|these|them|that (?:slice|group|selection)))\b", bare, re.I)):
            return None
        aggregate = cat.role("aggregate")
        args: dict[str, Any] = {"where": state.last_where}
        if (method := find_method(bare)) is not None:
            args["method"] = method
        if (k := find_k(bare)) is not None and cat.takes(aggregate, "k"):
            args["k"] = k
        return Call(tool=aggregate, args=args)

    def _concept_by_values(self, call: Call, bare: str) -> None:
        """A probe's concept said through its values: "whether a review is positive or negative" is the
        labels (no concept); "what the review is about, like film or restaurant" is the domain column."""
        concept = call.args.get("concept")
        if call.tool == catalog().role("concept") or not catalog().takes(call.tool, "concept"):
            return
        def labels_in(text: str) -> int:
            return sum(bool(re.search(rf"\b{re.escape(x)}s?\b", text, re.I)) for x in self.labels)

        if isinstance(concept, str) and (labels_in(concept) >= 2 or (labels_in(bare) >= 2 and re.search(
                r"\bback to\b", bare, re.I))):  # "ok, back to positive versus negative": the labels again
            call.args.pop("concept")
            return
        for column, values in (self.facts.categories if self.facts else {}).items():
            if sum(bool(re.search(rf"\b{re.escape(v)}s?\b", bare, re.I)) for v in values) >= 2:
                call.args["concept"] = column
                return

    def _with_unknown_label(self, question: str, raw: str, state: ConversationState) -> Plan | None:
        """'make review 20 neutral' plans nothing because 'neutral' is no label here: planned with a real
        label in its place, a call that takes a label is the request, and the unknown label is asked about."""
        m = re.search(rf"\b({LABEL_LIKE})\b", strip_quotes(raw), re.I)
        if not m or not self.labels or m.group(1).lower() in {x.lower() for x in self.labels}:
            return None
        stand_in = raw[:m.start()] + self.labels[0] + raw[m.end():]
        plan = self._plan(stand_in, state.model_copy(deep=True))
        if not plan.calls:
            return None
        for call in plan.calls:
            for key in ("label", "target"):
                if call.args.get(key) == self.labels[0]:
                    call.args[key] = m.group(1)
        return unknown_label(strip_quotes(raw), plan.model_copy(update={"question": question}), self.labels)

    def _learned_concept(self, bare: str, has_referent: bool, state: ConversationState) -> bool:
        """The learned concept head (agent/planner/intent_model.py) finds questions about how a method or
        metric works that the concept rules have no wording for ("does occlusion need gradients from the
        model", "what does an AUC of 0.5 tell me"). It speaks only for a question that names a known
        topic and points at no row, text, layer or neuron; the threshold was set on the development sets."""
        if has_referent or concept_topic(bare) is None or find_layers(bare) or find_neuron(bare) is not None:
            return False
        # "what is the precision?" asks for a number; "this neuron" points at something
        if METRIC_QUESTION.search(bare) or POINTS_AT_SOMETHING.search(bare):
            return False
        if state.last_tool and (FOLLOW_UP.search(bare) or len(bare.split()) <= 5):  # "what about attention?"
            return False
        if USING_METHOD.search(bare) and clause_intent(bare) not in (None, catalog().role("concept")):
            return False  # "which words drive the model there, with lime": a run with that method
        guess = self._guess(bare)
        return guess is not None and guess.concept is not None and guess.concept >= CONCEPT_P

    # ---------- intents ----------
    def _tools(self, clauses: list[str], has_instance: bool, state: ConversationState) -> list[str]:
        cat = catalog()
        tools: list[str] = []
        guessed: set[str] = set()  # tools that only the learned model found
        clauses_of: dict[str, str] = {}
        # "I'm curious whether ... can be read off the hidden layers. Could you check that for me?": a run
        run_request = any(RUN_REQUEST.search(c) for c in clauses) and any(
            re.search(r"\b(?:this|the|your) model\b", c, re.I) for c in clauses)
        for clause in clauses:
            clause_has_instance = bool(find_ids(clause)) or "QUOTED" in clause
            # "what's lime, and can you run it on review 20?": the row belongs to the other clause
            row_in_reach = clause_has_instance or (has_instance and (len(clauses) == 1 or bool(re.search(
                r"\b(?:it|its|that|this|them|those|these|one)\b", clause, re.I))))
            if not run_request and is_concept_question(clause, row_in_reach or bool(re.search(r"\b\d+\b", clause))):
                tool = rule_found = cat.role("concept")
            else:
                tool = clause_intent(clause)
                concept_clause = clauses_of.get(cat.role("concept"), "")
                if tool is None and RUN_IT.search(clause) and find_method(concept_clause):
                    # "what's lime, and can you run it on review 20?": run the method just asked about
                    tool = _method_tool()
                if tool in cat.no_args and clause_has_instance:
                    tool = cat.role("rows")
                rule_found = tool
                tool = self._arbitrate(tool, clause, clause_has_instance or has_instance, state)
            if tool:  # the tool's own second look at the clause (tools/base.py `reroute`)
                tool = cat.tools[tool].reroute(self._query(clause, state)) or tool
            if tool and tool != rule_found:
                guessed.add(tool)
            if tool and tool not in tools:
                tools.append(tool)
                clauses_of[tool] = clause
        if len(tools) > 1 and set(tools) - guessed:  # a clause only the model understood restates the request
            tools = [t for t in tools if t not in guessed]
        if len(tools) > 1:  # "... Could you display them?" / "Can you help me with that?" restate the request
            restating = {cat.role("rows"), cat.role("help")}
            tools = [t for t in tools if not (t in restating and not find_ids(clauses_of[t])
                                              and "QUOTED" not in clauses_of[t]
                                              and not THE_ROW_ITSELF.search(clauses_of[t]))] or tools
        for tool in list(tools):  # "explain its own decision ... and is that explanation faithful?": one tool
            covers = cat.tools[tool].answers_also
            if covers and tool in tools:
                tools = [t for t in tools if t == tool or find_method(clauses_of[t])
                         or not re.search(covers, clauses_of[t], re.I)]
        if (len(tools) > 1 and cat.role("rows") in tools[1:] and set(tools) & cat.instance
                and not THE_ROW_ITSELF.search(clauses_of[cat.role("rows")])):
            tools.remove(cat.role("rows"))
        return tools

    def _relabel(self, question: str, bare: str, ids: list[int], state: ConversationState) -> Plan | None:
        """'actually review 7 is positive', 'that one is mislabelled': a gold-label correction."""
        correction, label = corrects_a_label(bare, self.labels)
        if not correction:
            return None
        names = "|".join(re.escape(x) for x in sorted(self.labels, key=len, reverse=True))
        pairs = (re.findall(rf"#?(\d+)\s+(?:to|as|is|should be|=)\s+(?:a |an )?({names})\b", bare, re.I)
                 if names else [])
        if len(pairs) > 1 and len({row for row, _ in pairs}) == len(pairs):
            # "set review 8 to negative and review 9 to positive": one edit per row, each its own label
            label_of = {x.lower(): x for x in self.labels}
            return Plan(question=question, calls=[Call(tool=catalog().role("relabel"),
                                                       args={"id": int(row), "label": label_of[lab.lower()]})
                                                  for row, lab in pairs])
        ids = ids or corrected_rows(bare)  # "mark 12 and 13 as negative"
        if len(ids) > 1 and label:  # "reviews 71 and 72 are both actually negative": the label for each
            relabel = catalog().role("relabel")
            return Plan(question=question, calls=[Call(tool=relabel, args={"id": row, "label": label}) for row in ids])
        row = ids[0] if ids else corrected_row(bare)
        row = state.last_id if row is None else row
        if row is None:
            return Plan(question=question, message="Which row's label should I change? Give its id.")
        return Plan(question=question, calls=[Call(tool=catalog().role("relabel"),
                                                   args={"id": row, **({"label": label} if label else {})})])

    def _compared(self, call: Call, bare: str) -> list[Call]:
        """'frequent words in positive vs negative reviews', 'compare the label balance of film reviews
        with restaurant reviews': two selections compared by a tool with no `by`, one call each."""
        cat = catalog()
        if (not cat.takes(call.tool, "where") or cat.takes(call.tool, "by") or call.tool == cat.role("row_count")
                or call.args.get("mode") == "confusion"):  # "mistakes positives for negatives": one matrix
            return [call]
        selections = compared_selections(bare, self.facts, self.labels)
        if len(selections) != 2 or (call.tool == cat.role("label_counts") and "label" in selections[0]):
            return [call]
        where = {key: v for key, v in (call.args.get("where") or {}).items()
                 if key not in selections[0] and key != "ids"}
        return [Call(tool=call.tool, args={**call.args, "where": {**where, **selection}}) for selection in selections]

    def _two_counts(self, question: str, clauses: list[str], tools: list[str], texts: list[str]) -> Plan | None:
        """'how many film reviews are there, and how many of them are negative?': two counts, the second
        inside the first when it says "of them"."""
        count = catalog().role("row_count")
        asks = [c for c in clauses if re.search(r"\bhow many\b", c, re.I) and clause_intent(c) == count]
        if tools != [count] or len(asks) != 2:
            return None
        first, second = self._where(asks[0], texts), self._where(asks[1], texts)
        if re.search(r"\b(?:of|among|from) (?:them|those|these)\b", asks[1], re.I):
            second = narrowed(first, second)
        calls = [Call(tool=count, args={"where": where} if where else {}) for where in (first, second)]
        return Plan(question=question, calls=calls)

    def _comparison(self, bare: str, tools: list[str]) -> list[str]:
        """"is it better on film or restaurant reviews?", "which domain is worst": a comparison of
        groups is the metric tool's `by`, unless another tool that compares groups was asked for."""
        cat = catalog()
        counting = tools == [cat.role("row_count")] and not re.search(r"\bof (?:them|those|these)\b", bare, re.I)
        if counting and sum(bool(re.search(rf"\b{re.escape(x)}", bare, re.I)) for x in self.labels) > 1:
            return [cat.role("label_counts")]  # "how many are positive and how many negative": every label counted
        if not find_by(bare, self.facts) or any(cat.takes(t, "by") for t in tools):
            return tools
        if set(tools) <= cat.no_args | {cat.role("rows"), cat.role("help")}:
            return [cat.role("metric")]
        return tools

    def _arbitrate(self, rule: str | None, clause: str, has_instance: bool, state: ConversationState) -> str | None:
        """Rules first; the learned model's guess wins only where the rules are known to be weak:
        nothing matched, an instance tool with nothing to point at, the catch-all `show`, or a
        confident disagreement. Thresholds were set on the development sets (tests/planner_eval)."""
        guess = self._guess(clause)
        if (guess is None or guess.tool == "decline" or rule in catalog().precise or rule == guess.tool
                or matched_exactly(rule, clause)):
            return rule
        fits = self._fits(guess.tool, clause, has_instance, state)
        if rule is None:
            if state.last_tool and (FOLLOW_UP.search(clause) or len(clause.split()) <= 4):
                return None  # a follow-up: _follow_up reuses the last tool
            return guess.tool if fits and guess.probability >= FALLBACK_P else None
        if rule in catalog().instance and not has_instance and state.instance() is None:
            return (guess.tool if fits and guess.tool not in catalog().instance and guess.probability >= NO_REFERENT_P
                    else rule)
        if (rule == catalog().role("rows") and fits and guess.probability >= OVER_SHOW_P
                and not JUST_SHOW_SOME.fullmatch(clause)  # "show me a few" names nothing but rows
                and "includes" not in find_where(clause, self.labels, ["QUOTED"])):  # "data that includes 'x'"
            return guess.tool
        return guess.tool if fits and guess.probability >= OVERRIDE_P else rule

    @staticmethod
    def _fits(tool: str, clause: str, has_instance: bool, state: ConversationState) -> bool:
        """Can the tool be planned here? Instance tools need an instance; questions about concepts,
        the model or the data point at none (not even "it" or "the same" with one in the state)."""
        if tool in catalog().instance:
            return has_instance or state.instance() is not None
        concept = catalog().role("concept")
        if tool == concept and concept_topic(clause) is None and REFERENT.search(clause):
            return False  # "explain it"
        if tool in catalog().no_args or tool == concept:
            return not has_instance and not (state.last_tool and (REFERENT.search(clause) or FOLLOW_UP.search(clause)))
        return True

    def _apply_concept(self, question: str, bare: str, texts: list[str], state: ConversationState) -> Plan | None:
        """'use it on review 8' right after 'explain integrated gradients': run what was explained."""
        cat = catalog()
        if state.last_tool != cat.role("concept") or not APPLY_IT.search(bare):
            return None
        topic = str(state.last_args.get("topic") or "")
        method = find_method(topic)
        if method:  # "explain integrated gradients", then "use it on review 8"
            tool = _method_tool()
        else:
            tool = next((name for name, t in cat.tools.items()
                         if t.concept_topic and re.search(t.concept_topic, topic, re.I)), None)
        instances = self._instances(bare, texts, ConversationState()) or _lone_number_id(bare, find_k(bare))
        if tool is not None and not instances and tool in cat.where and not cat.tools[tool].takes_instance():
            # "whats a confusion matrix" then "give me one for those": on the selection before the question
            where = self._where(bare, texts) or (dict(state.last_where or {}) if SELECTION_REFERENT.search(bare)
                                                 else {})
            where.pop("ids", None)
            args = {**cat.tools[tool].concept_args, **({"where": where} if where else {})}
            return Plan(question=question, calls=[Call(tool=tool, args=args)])
        base: dict[str, Any] = {}
        if not instances and state.instance() and re.search(r"\b(?:the same|that|this|the) (?:review|row|text|one)\b",
                                                            bare, re.I):
            instances = [state.instance()]  # "ok, use that on the same review": as it was last run there
            earlier = next((c for c in reversed(state.history) if c.tool == tool
                            and {k: c.args.get(k) for k in ("id", "text")} == {k: state.instance().get(k)
                                                                                 for k in ("id", "text")}), None)
            base = {k: v for k, v in (earlier.args if earlier else {}).items() if k not in ("id", "text", "method")}
        if tool is None or not instances:
            return None
        if cat.takes(tool, "contrast_id") and len(instances) == 2 and all("id" in i for i in instances):
            return Plan(question=question, calls=[Call(tool=tool, args={  # "ok, do it on 3 and 4": a pair
                "id": instances[0]["id"], "contrast_id": instances[1]["id"]})])
        calls = [Call(tool=tool, args={**instance, **base, **({"method": method} if method else {})})
                 for instance in instances]
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

    def _where(self, bare: str, texts: list[str] | None = None) -> dict[str, Any]:
        """The selection the words describe: filters, "short"/"long", and a category value."""
        where = find_where(bare, self.labels, texts)
        if SHORT.search(bare) and "max_words" not in where:
            where["max_words"] = self.short_words
        if LONG.search(bare) and "min_words" not in where:
            where["min_words"] = self.short_words + 1
        match = find_match(bare, self.facts)
        by = find_by(bare, self.facts)
        match.pop(by or "", None)
        if by == "label":
            where.pop("label", None)  # the comparison's groups, not a selection
        if match:
            where["match"] = match
        return where

    def _selection(self, bare: str, state: ConversationState, same_tool: bool,
                   texts: list[str] | None = None, tool: str | None = None) -> dict[str, Any]:
        where = self._where(bare, texts)
        previous = dict(state.last_where or {})
        previous.pop("ids", None)
        # (not for a metric: the accuracy "on those" mistakes is the selection's accuracy, not 0)
        implied = (catalog().tools[state.last_tool].rows_are
                   if state.last_tool and not same_tool and tool != catalog().role("metric") else {})
        if not (implied and SHOWN_ROWS.search(bare) and not where):
            implied = {}  # "a report on those" after the mistakes: the misclassified ones of that selection
        if previous and NARROWS.search(bare):
            return {**narrowed(previous, where), **implied}  # "the long ones only", "accuracy on them": narrowed
        if previous and not where and (FOLLOW_UP.search(bare) or same_tool):
            return {**previous, **implied}
        return where

    def _query(self, clause: str, state: ConversationState, texts: list[str] | None = None,
               same_tool: bool = False, follow_up: bool = False) -> Query:
        return Query(clause, self.labels, state, list(texts or []), same_tool, follow_up,
                     beyond=lambda tool, text: _beyond_filters(tool, text, self.labels))

    def _fill(self, tool: str, bare: str, texts: list[str],
              state: ConversationState) -> tuple[list[Call], _Ask | None]:
        try:
            return self._fill_calls(tool, bare, texts, state)
        except _Ask as ask:
            return [], ask

    def _fill_calls(self, tool: str, bare: str, texts: list[str],
                    state: ConversationState) -> tuple[list[Call], _Ask | None]:
        cat = catalog()
        same_tool = tool == state.last_tool and bool(FOLLOW_UP.search(bare) or not (find_ids(bare) or texts))
        keeps = tool in cat.instance or cat.takes(tool, "layer") or cat.takes(tool, "layers")
        args: dict[str, Any] = dict(state.last_args) if same_tool and keeps else {}
        k = find_k(bare)
        query = self._query(bare, state, texts, same_tool)
        if tool == cat.role("concept"):
            return [Call(tool=tool, args={"topic": _topic(bare)})], None
        if tool in cat.instance:
            instances = self._instances(bare, texts, state) if (find_ids(bare) or texts or not same_tool) else [
                {key: args[key]} for key in ("id", "text") if key in args]
            instances = instances or cat.tools[tool].plan_instances(query)  # the tool's own reading (tools/base.py)
            instances = instances or _lone_number_id(bare, k)
            if not instances:
                pending = {key: v for key, v in self._slots(tool, dict(args), bare, k, state).items()
                           if key not in ("id", "text")}
                return [], _Ask(CLARIFY_INSTANCE.format(tool=tool), Call(tool=tool, args=pending), "instance")
            for key in ("id", "text"):
                args.pop(key, None)
            calls = []
            for instance in instances:
                calls += self._hooked(tool, self._slots(tool, {**instance, **args}, bare, k, state), query)
            return calls, None
        if tool == cat.role("rows"):
            return [self._rows_call(tool, bare, texts, k, state)], None
        if tool in cat.where:
            if same_tool:  # "and on the short ones?": the same request on another selection
                args = {key: v for key, v in state.last_args.items() if key not in ("where", "id", "text")}
                forgot = FORGETS.search(bare)
                word = forgot.group(1).lower() if forgot else ""
                if word and str(args.get("by", "")).lower() in (word, word[:-1]):
                    args.pop("by")  # "forget the domains now: f1 on the short ones": no longer per domain
            where = self._selection(bare, state, same_tool, texts, tool)
            ids = find_ids(bare)
            if ids:
                where["ids"] = ids
            by = find_by(bare, self.facts) if cat.takes(tool, "by") else None
            if by:  # "accuracy per domain": a comparison across the column, not a selection inside it
                args["by"] = by
                where.get("match", {}).pop(by, None)
                if not where.get("match"):
                    where.pop("match", None)
            if where:
                args["where"] = where
            if k is not None and cat.takes(tool, "k"):
                args["k"] = k
            return self._hooked(tool, args, query), None
        return self._hooked(tool, self._slots(tool, args, bare, k, state), query), None

    def _hooked(self, tool: str, args: dict[str, Any], query: Query) -> list[Call]:
        """The tool's own `plan_args` hook on what the planner filled (several calls for a list)."""
        try:
            out = catalog().tools[tool].plan_args(query, args)
        except NeedsClarification as ask:
            pending = Call(tool=tool, args={**args, **ask.partial}) if ask.asks_for else None
            raise _Ask(str(ask), pending, ask.asks_for) from None
        return [Call(tool=tool, args=a) for a in (out if isinstance(out, list) else [out])]

    def _rows_call(self, tool: str, bare: str, texts: list[str], k: int | None, state: ConversationState) -> Call:
        """Rows to show: one id, several ids, a selection, or the conversation's instance."""
        ids = find_ids(bare)
        if len(ids) == 1:
            return Call(tool=tool, args={"id": ids[0]})
        if not ids and THE_ROW_ITSELF.search(bare) and state.instance():
            return Call(tool=tool, args=dict(state.instance()))  # "also show me the review itself"
        some = bool(JUST_SHOW_SOME.fullmatch(bare))  # "show me a few" after a selection: a few of it
        where = self._selection(bare, state, same_tool=some, texts=texts) if not ids else {"ids": ids}
        if (not where and not ids and REFERENT.search(bare) and state.instance()
                and not SELECTION_REFERENT.search(bare)):
            return Call(tool=tool, args=dict(state.instance()))
        if not where and re.search(r"\b(?:that one|this one|it|the same one)\b", bare, re.I):
            if state.instance() is None:  # "show me that one again" with nothing shown yet
                raise _Ask("Which row do you mean? Give its id, e.g. \"show review 12\".")
            return Call(tool=tool, args=dict(state.instance()))
        args: dict[str, Any] = {"where": where} if where else {}
        if k is None and some and (n := re.search(r"\b\d+\b", counts_in_words(bare))):
            k = int(n.group(0))  # "show me three" after a count: three rows of it, not row 3
        if k is not None:
            args["k"] = k
        return Call(tool=tool, args=args)

    def _slots(self, tool: str, args: dict[str, Any], bare: str, k: int | None,
               state: ConversationState) -> dict[str, Any]:
        """Arguments read straight from the tool's `Params` fields: k, method, layer(s), position."""
        cat = catalog()
        if k is None and cat.takes(tool, "k") and re.search(r"\bsame (?:k|number|count)\b", bare, re.I):
            k = state.last_args.get("k")  # "infl, same k" after "nn x5"
        if k is not None and cat.takes(tool, "k"):
            args["k"] = k
        if cat.takes(tool, "method") and (method := find_method(bare)):
            args["method"] = method
        layers = find_layers(bare)
        if cat.takes(tool, "layer"):
            if layers:
                args["layer"] = layers[0]
            elif re.search(r"\b(?:that|this|the same) layer\b", bare, re.I) and state.last_layer is not None:
                args["layer"] = state.last_layer
            if state.last_layer is not None and (step := layer_step(bare)):
                args["layer"] = state.last_layer + step  # "and in the layer before this one?"
        if cat.takes(tool, "layers") and layers:
            args["layers"] = layers
        elif cat.takes(tool, "layers") and re.search(r"\b(?:the )?same layers\b", bare, re.I):
            earlier = next((c.args["layers"] for c in reversed(state.history) if c.args.get("layers")), None)
            if earlier:  # "back to sentiment, same layers": the layers of the last call that had some
                args["layers"] = list(earlier)
        m = re.search(r"\bposition\s*(-?\d+)", bare, re.I)
        if cat.takes(tool, "position") and m:
            args["position"] = int(m.group(1))
        return args

    def _base_text(self, state: ConversationState) -> str | None:
        """The text a what-if edit applies to: the last text, or the last row's."""
        if state.last_text is None and state.last_id is not None and self.text_of is not None:
            return self.text_of(state.last_id)
        return state.last_text

    def _word_edits(self, raw: str, state: ConversationState) -> list:
        base = self._base_text(state)
        return find_word_edits(strip_quotes(raw), base) if base and not quoted_texts(raw) else []

    def _what_if(self, question: str, raw: str, edits: list, state: ConversationState,
                 base: str | None = None) -> Plan:
        base = base or self._base_text(state)
        if base is None:
            return Plan(question=question, message="Which text should I edit? Quote it first, e.g. "
                                                   "\"What does it predict for 'the soup was cold'?\"")
        edited, missing = apply_edits(base, edits)
        if missing:
            return Plan(question=question,
                        message=f"The text to edit does not contain {', '.join(repr(m) for m in missing)}: {base!r}.")
        if not edited:
            return Plan(question=question, message="That edit would leave no text.")
        first: list[Call] = []
        split = WHAT_IF_PART.search(raw)
        if split and split.start() > 0 and base in quoted_texts(raw[:split.start()]):
            # "why is '...' positive, and what if 'better' were 'worse'?": the first ask on the text as
            # written, then the what-if on the edited text
            before = strip_quotes(raw[:split.start()])
            first_tool = clause_intent(before)
            if first_tool in catalog().instance and first_tool != catalog().role("default"):
                slots = self._slots(first_tool, {"text": base}, before, find_k(before), state)
                first = self._hooked(first_tool, slots, self._query(before, state, [base]))
                raw = raw[split.start():]
        rest = re.sub(r"[\"'“‘][^\"'”’]+[\"'”’]", " ", raw)
        tool = clause_intent(re.sub(
            r"\b(?:replace|swap|substitute|change|without|remove|delete|add|insert|what if|with|by)\b",
            " ",
            rest,
            flags=re.I,
        ))
        tool = tool if tool in catalog().instance else catalog().role("default")
        if WOULD_IT_FLIP.search(rest):  # "would the prediction flip if 'great' became 'okay'": the edit is given
            tool = catalog().role("default")
        bare = strip_quotes(raw)
        args = self._slots(tool, {"text": edited}, bare, find_k(bare), state)
        try:
            return Plan(question=question, calls=first + self._hooked(tool, args, self._query(bare, state, [edited])))
        except _Ask as ask:
            return Plan(question=question, message=str(ask), pending=[ask.pending] if ask.pending else [],
                        asks_for=ask.asks_for)


def _method_tool() -> str | None:
    """The instance tool that takes a `method` (attribute): what 'run it' means after a method was named."""
    cat = catalog()
    return next((t for t in sorted(cat.instance) if cat.takes(t, "method")), None)


# "also show me the review itself": the row, a second ask, not a restatement of the first
THE_ROW_ITSELF = re.compile(r"\b(?:the|that|this) (?:review|row|text|sentence) itself\b", re.I)

# a message that opens with a method and what the user thinks it is: "lime = random perturbations right?"
TOPIC_FIRST = re.compile(r"^\W*([a-z][\w -]{1,30}?)\s*(?:=|is just|is basically|is like|is really|means)\s", re.I)

# "what is that?", "what does that mean": after a quoted term, a question about the term
WHAT_IS_THAT = re.compile(r"\bwhat(?: is|'s| are| does| do)(?: \w+)? (?:that|this|it|they|those)\b"
                          r"(?! (?:review|row|text))|\bwhat (?:that|this|it) means\b|\bmentions?\W*$", re.I)

# a number that could name a row; "for a 20 word sentence", "50 samples" are sizes, not rows
SOME_NUMBER = re.compile(r"\b\d+\b(?![- ]?(?:words?|tokens?|samples?|times|steps|percent|%|features?)\b)", re.I)

# a question that compares the rows shown ("which of them is the model more sure about", "which of the two")
WHICH_OF_THEM = re.compile(r"\bwhich (?:one )?of (?:them|those|these|the two|both)\b"
                           r"|\b(?:on|for|of|about) (?:them )?both\b"
                           r"|\beach of them\b"
                           r"|\bwhich (?:one|row|review) is (?:it|the model) (?:more|less|most|least)\b", re.I)


def _which_row_shown(ask: _Ask, state: ConversationState) -> tuple[str, list[Choice]]:
    """'predict it' after 'show reviews 101 and 102': ask which of the rows shown, one choice each
    ('the first one' answers it); otherwise the ask's own message."""
    shown = (state.last_where or {}).get("ids") or []
    if ask.asks_for != "instance" or ask.pending is None or len(shown) < 2:
        return str(ask), []
    choices = [Choice(label=f"{ask.pending.tool} on review {row}",
                      calls=[Call(tool=ask.pending.tool, args={**ask.pending.args, "id": row})]) for row in shown[:6]]
    return f"Which of reviews {', '.join(map(str, shown[:6]))} do you mean?", choices


# where a what-if starts after another ask in the same message: ", and what if ...", "; and if ..."
WHAT_IF_PART = re.compile(r"[,;.]\s*(?:(?:and|but|also|then|plus)\s+)?(?:what|how about|and) if\b"
                          r"|[,;.]\s*(?:and\s+)?(?:if|suppose)\b|\s+and what if\b", re.I)
# "would the prediction flip if ...", "does the verdict change if ...": whether the user's own edit flips it
WOULD_IT_FLIP = re.compile(r"\b(?:would|does|will|do|did|could)\b"
                           r"(?:(?!\b(?:smallest|minimal|which edit|what edit)\b).){0,40}"
                           r"\b(?:flip|flips|change|changes|switch)\b", re.I)
JUST_SHOW_SOME = re.compile(r"\W*(?:(?:ok|now|and|then|pls|please|can you|could you)\W+)*(?:show|give|list|display)"
                            r"(?: me| us)?(?: (?:a few|a couple|some|a handful|several|\d+|two|three|four|five|six"
                            r"|seven|eight|nine|ten))(?: of them| more)?"
                            r"(?:\W+(?:please|pls|thanks))?\W*", re.I)
SHOWN_ROWS = re.compile(r"\b(?:on|for|of|about|from|in|with)\s+(?:those|these|them)\b(?!\s+(?:domains?|labels?))",
                        re.I)
MOVING_ON = re.compile(r"^\W*(?:nvm|never ?mind|forget (?:it|that)|anyway"
                       r"|sorry,? (?:in )?english(?: please| pls)?)\b\W*"
                       r"(?=\w)", re.I)
FORGETS = re.compile(r"\b(?:forget|drop|ignore|no more|never mind|without)\s+(?:the\s+|about\s+(?:the\s+)?)?"
                     r"(?:per[- ])?(\w+)", re.I)
OTHER_ROW = re.compile(r"\bthe other (?:one|review|row|example)\b", re.I)


def _the_other_row(raw: str, state: ConversationState) -> str:
    """Of two rows in the conversation's selection, 'the other one' is the one the last turn was not
    about: after "show reviews 70 and 71" and a turn on 70, it is review 71."""
    shown = (state.last_where or {}).get("ids") or []
    if len(shown) != 2 or state.last_id not in shown or not OTHER_ROW.search(raw):
        return raw
    other = next(row for row in shown if row != state.last_id)
    return OTHER_ROW.sub(f"review {other}", raw)


def _k_to_its_clause(calls: list[Call], clauses: list[str]) -> None:
    """'explain review 123 and show 2 similar ones': the count belongs to the clause that says it (similar),
    not to every tool of the message."""
    counted = [(clause, k) for clause in clauses if (k := find_k(clause)) is not None]
    if len(counted) != 1:
        return
    owner = clause_intent(counted[0][0])
    if owner is None or owner not in {c.tool for c in calls}:
        return
    for call in calls:
        if call.tool != owner and call.args.get("k") == counted[0][1]:
            call.args.pop("k")


def _some_of_them(calls: list[Call], clauses: list[str]) -> list[Call]:
    """'how many mistakes does it make, and show me three of them': the counted rows, as examples (the
    mistakes' samples, or the rows of the counted selection); a second call the 'show' clause asked for."""
    if len(calls) != 1 or len(clauses) < 2:
        return []
    m = next((m for c in clauses[1:] if (m := SOME_OF_THEM.search(counts_in_words(c)))), None)
    call, cat = calls[0], catalog()
    if m is None:
        return []
    k = {"a few": 3, "some": 3, "a couple": 2}.get(m.group(1).lower()) or int(m.group(1))
    field = cat.tools[call.tool].Params.model_fields.get("mode")
    modes = typing.get_args(field.annotation) if field is not None else ()
    if call.args.get("mode") not in (None, "sample") and "sample" in modes:  # a count or a matrix that can sample
        return [Call(tool=call.tool, args={**call.args, "mode": "sample", "k": k})]
    if call.tool == cat.role("row_count"):
        where = call.args.get("where")
        return [Call(tool=cat.role("rows"), args={**({"where": where} if where else {}), "k": k})]
    return []


# "and 141 as well, same label", "141 too": a bare number after a row is the next row
BARE_ROW_TOO = re.compile(r"^(\W*(?:(?:and|also|plus|now|then|ok)\W+)?(?:(?:do |same for |same with |what about )?))"
                          r"#?(\d+)(?=\s*(?:,\s*)?(?:too|as well|also|same (?:label|one|thing|settings)\b))", re.I)
# "f1 on just the product slice, no breakdown": the last `by` is dropped
NO_BREAKDOWN = re.compile(r"\b(?:no|without(?: the| a)?|drop the|not) (?:breakdown|split|slicing|per[- ]\w+)\b", re.I)
_ORDINALS = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "sixth": 5, "last": -1}
_OF_THE_SHOWN = r"(?:one\s+)?of\s+(?:them|those|these|the\s+(?:\w+\s+)?(?:rows|reviews|ones))"
FIRST_N_SHOWN = re.compile(rf"\b(first|last)\s+(\d+)\s+{_OF_THE_SHOWN}\b", re.I)
NTH_SHOWN = re.compile(rf"\b(first|second|third|fourth|fifth|sixth|last)\s+{_OF_THE_SHOWN}\b", re.I)


def _ordinal_of_shown(bare: str, shown: list[int]) -> list[int]:
    """'the first two of them', 'the last of the four rows': rows picked by position among those just shown."""
    if len(shown) < 2:
        return []
    text = counts_in_words(bare)
    m = FIRST_N_SHOWN.search(text)
    if m:
        n = int(m.group(2))
        return shown[:n] if m.group(1).lower() == "first" else shown[-n:]
    m = NTH_SHOWN.search(text)
    at = _ORDINALS[m.group(1).lower()] if m else None
    return [shown[at]] if at is not None and -len(shown) <= at < len(shown) else []


# "and show me three of them", "give me a few of those"
SOME_OF_THEM = re.compile(r"\b(?:show|give|list)(?: me| us)? (\d+|a few|some|a couple) (?:of (?:them|those|these))\b",
                          re.I)


def _target_to_its_clause(calls: list[Call], clauses: list[str], labels: list[str]) -> None:
    """'what makes review 54 negative, and what would flip it to positive?': a call's target label is
    the one its own clause names, not a label another clause of the message names."""
    for call in calls:
        target = call.args.get("target")
        own = [c for c in clauses if clause_intent(c) == call.tool]
        if not isinstance(target, str) or len(own) != 1:
            continue
        named = [label for label in labels if re.search(rf"\b{re.escape(label)}\b", own[0], re.I)]
        if target not in named:
            if len(named) == 1:
                call.args["target"] = named[0]
            else:
                call.args.pop("target")


def _lone_number_id(bare: str, k: int | None) -> list[dict[str, Any]]:
    """'how sure is it about 190', 'nearest neighbours of 140, 6 of them': an instance tool that found
    no instance, and one number left over once counts, layers, neurons and amounts are set aside, is
    the row id (otherwise the planner would ask which row, with the row named in the question)."""
    rest = re.sub(r"\b(?:layers?|neurons?|units?|top|first|last|position|strength)\s+\d+(?:\s*(?:-|to|and|,)\s*\d+)*",
                  " ", bare, flags=re.I)
    numbers = [int(m.group(1)) for m in re.finditer(
        r"(?<![\w.%])(\d{1,6})(?![\w.%]|\s*(?:%|percent|words?|tokens?|times|layers?|neurons?|of (?:them|those)))",
        rest, re.I)]
    numbers = [n for n in numbers if n != k]
    if len(numbers) == 2 and re.search(rf"\b{numbers[0]}\s*(?:,|and|&)\s*{numbers[1]}\b", rest):
        return [{"id": numbers[0]}, {"id": numbers[1]}]  # "predicted class and probs for 110 and 111"
    return [{"id": numbers[0]}] if len(numbers) == 1 else []


def _split_contrast(call: Call, bare: str) -> list[Call]:
    """'accuracy on the short reviews vs the long ones': a selection of rows that are both short and long
    is two selections compared, one call each, in the order they were named."""
    where = call.args.get("where") or {}
    short, long = where.get("max_words"), where.get("min_words")
    if not (isinstance(short, int) and isinstance(long, int) and short < long):
        return [call]
    rest = {k: v for k, v in where.items() if k not in ("max_words", "min_words")}
    parts = [Call(tool=call.tool, args={**call.args, "where": {**rest, key: value}})
             for key, value in (("max_words", short), ("min_words", long))]
    first_long = (m := LONG.search(bare)) and (n := SHORT.search(bare)) and m.start() < n.start()
    return parts[::-1] if first_long else parts


def planner_for(dataset: Any, labels: list[str] | None, shape: Any = None) -> RulePlanner:
    """The planner for a loaded dataset: its labels, its median length as "short", its rows for
    what-if edits, its categorical columns and ids, and the model's layers and neurons when
    `shape` (tools.model_shape.ModelShape) is known. Shared by the Assistant and `whybox plan`
    (which loads no model)."""
    def text_of(row_id: int) -> str | None:
        try:
            return dataset.get(row_id).text
        except Exception:  # noqa: BLE001 - an unknown id only means there is no text to edit
            return None

    facts = DataFacts.of_dataset(dataset, getattr(shape, "n_layers", None), getattr(shape, "n_neurons", None))
    return RulePlanner(labels or [], short_words=dataset.median_words(), text_of=text_of, facts=facts)

"""What a plan cannot honour as asked, said before anything runs (tools.md: "a wrong call that
runs silently is worse than a question"): a method whybox does not have ("with deeplift"), a
label the data does not have ("to neutral"), a layer or neuron the model does not have. Also the
premise of "why did it get review 12 wrong?": the prediction goes first, so the answer can say
whether review 12 is wrong at all."""
from __future__ import annotations

import re

from agent.plan import Call, Choice, Plan
from agent.planner.catalog import catalog
from agent.planner.dataset_slots import DataFacts, out_of_range, unknown_value
from agent.planner.slots import find_layers
from tools.attribution.catalog import NAMES, UNSUPPORTED

# words people use as labels; one of them that is not a label of the data is asked about
LABEL_LIKE = (r"neutral|mixed|sarcastic|spam|ham|offensive|toxic|other|unknown|irrelevant|happy|sad|angry|joy|fear"
              r"|true|false|yes|no|good|bad|ambivalent|objective|subjective")
WRONG_PREMISE = re.compile(
    r"\b(?:get|got|gets|getting)\b.*\bwrong\b"
    r"|\bmisclassif\w*"
    r"|\bwrongly (?:classified|predicted|labell?ed)\b"
    r"|\b(?:mistake|error) (?:on|with|for)\b",
    re.I,
)


def unsupported_method(bare: str, plan: Plan) -> Plan | None:
    m = UNSUPPORTED.search(bare)
    if not m or not any(catalog().takes(c.tool, "method") for c in plan.calls):
        return None
    tool = next(c for c in plan.calls if catalog().takes(c.tool, "method"))
    # every method the message lists is a button; the two most faithful on the demo first
    order = [n for n in ("integrated_gradients", "occlusion") if n in NAMES] + [
        n for n in NAMES if n not in ("integrated_gradients", "occlusion")]
    choices = [Choice(label=f"{tool.tool} with {name}",
                      calls=[Call(tool=tool.tool, args={**tool.args, "method": name})]) for name in order]
    message = f"whybox has no {m.group(0)} method. Its methods are {', '.join(NAMES)}. Which one should I use?"
    return Plan(question=plan.question, choices=choices, message=message, pending=plan.calls, asks_for="method")


def unknown_label(bare: str, plan: Plan, labels: list[str]) -> Plan | None:
    if not labels:
        return None
    takes = [c for c in plan.calls if catalog().takes(c.tool, "label") or catalog().takes(c.tool, "target")]
    m = (re.search(rf"\b(?:to|into|as|towards?|be)\s+(?:the\s+)?(?:label\s+|class\s+)?['\"]?({LABEL_LIKE})\b",
                   bare, re.I)
         or re.search(rf"\b(?:make|makes|making|turn|turns|become|becomes|flip|flips)\b[^.?!,;]{{0,40}}?"
                      rf"\b({LABEL_LIKE})\b", bare, re.I))  # "what would make review 20 neutral?"
    if not takes or not m or m.group(1).lower() in {x.lower() for x in labels}:
        return None
    call = takes[0]
    key = "label" if catalog().takes(call.tool, "label") else "target"
    word = m.group(1).lower()  # "steer towards neutral" read 'neutral' as a concept too: a choice drops it
    kept = {name: v for name, v in call.args.items() if not (isinstance(v, str) and v.lower() == word)}
    choices = [Choice(label=f"{call.tool} to {label}", calls=[Call(tool=call.tool, args={**kept, key: label})])
               for label in labels]
    message = f"The labels are {', '.join(labels)}; there is no label {m.group(1)!r}. Which one do you mean?"
    return Plan(question=plan.question, choices=choices, message=message, pending=plan.calls, asks_for="label")


# a selection by a label the data lacks: "how many neutral reviews", "show the sarcastic ones"
_SELECTION_LABEL = r"neutral|mixed|sarcastic|spam|ham|offensive|toxic|ambivalent|objective|subjective|happy|sad|angry"
UNKNOWN_SELECTION = re.compile(rf"\b({_SELECTION_LABEL})\s+(?:reviews?|rows?|ones|examples?|texts?|samples?|items?)\b"
                               rf"|\b(?:labell?ed|tagged|marked|annotated)\s+(?:as\s+)?({_SELECTION_LABEL})\b", re.I)


def unknown_selection_label(bare: str, plan: Plan, labels: list[str]) -> Plan | None:
    """'how many neutral reviews are there?' counted every row (the word matched no filter): said, with
    the labels the data has as choices."""
    m = UNKNOWN_SELECTION.search(bare)
    if not labels or not m or (m.group(1) or m.group(2)).lower() in {x.lower() for x in labels}:
        return None
    selecting = [c for c in plan.calls
                 if catalog().takes(c.tool, "where") and "label" not in (c.args.get("where") or {})]
    if not selecting:
        return None
    word = m.group(1) or m.group(2)
    call = selecting[0]
    choices = [Choice(label=f"{call.tool} on the {label} rows",
                      calls=[Call(tool=call.tool, args={**call.args, "where": {**(call.args.get("where") or {}),
                                                                               "label": label}})])
               for label in labels]
    message = f"The labels are {', '.join(labels)}; there are no {word!r} rows. Which ones do you mean?"
    return Plan(question=plan.question, choices=choices, message=message, pending=plan.calls, asks_for="label")


def middle_layer(bare: str, plan: Plan, facts: DataFacts | None) -> Plan | None:
    """'the middle layer' of a 30-layer model is 14 or 15: ask, offering both."""
    takes = [c for c in plan.calls if catalog().takes(c.tool, "layer") or catalog().takes(c.tool, "layers")]
    if not takes or not re.search(r"\bmiddle layer\b", bare, re.I) or not (facts and facts.n_layers):
        return None
    n, call = facts.n_layers, takes[0]
    options = sorted({(n - 1) // 2, n // 2})
    key = "layer" if catalog().takes(call.tool, "layer") else "layers"  # probe takes a list
    choices = [Choice(label=f"{call.tool} at layer {layer}",
                      calls=[Call(tool=call.tool, args={**call.args, key: layer if key == "layer" else [layer]})])
               for layer in options]
    return Plan(question=plan.question, choices=choices, pending=plan.calls, asks_for="layer",
                message=f"The model has {n} layers (0 to {n - 1}); which do you mean by the middle one: "
                        f"{' or '.join(map(str, options))}?")


def layer_no_call_takes(bare: str, plan: Plan, facts: DataFacts | None) -> Plan | None:
    """'the logit lens of review 12 at layer 45', 'predict review 3 at layer 400': no call takes a
    layer, so the plan would drop it without a word; a layer the model lacks is asked about."""
    layers = find_layers(bare)
    if not layers or not (facts and facts.n_layers) or any(
            catalog().takes(c.tool, "layer") or catalog().takes(c.tool, "layers") for c in plan.calls):
        return None
    problem = out_of_range({"layers": layers}, facts)
    return Plan(question=plan.question, message=problem, pending=plan.calls, asks_for="layer") if problem else None


def with_premise(bare: str, plan: Plan) -> Plan:
    """'why did it get review 12 wrong?': predict the row first, so the answer can check the premise."""
    cat = catalog()
    if not WRONG_PREMISE.search(bare):
        return plan
    default = cat.role("default")
    if any(c.tool == default for c in plan.calls):
        return plan
    calls: list[Call] = []
    for call in plan.calls:
        instance = {k: v for k, v in call.args.items() if k in ("id", "text")}
        if cat.takes(call.tool, "method") and instance and call.tool in cat.instance:
            calls.append(Call(tool=default, args=instance))
        calls.append(call)
    return plan.model_copy(update={"calls": calls})


def checked(bare: str, plan: Plan, labels: list[str], facts: DataFacts | None) -> Plan:
    """The plan, or a question about the part of it that cannot be honoured."""
    if not plan.calls:
        return plan
    for call in plan.calls:
        problem = out_of_range(call.args, facts)
        if problem:
            slot = "neuron" if problem.startswith("Each layer") else "layer"
            return Plan(question=plan.question, message=problem, pending=plan.calls, asks_for=slot)
    asked = middle_layer(bare, plan, facts) or layer_no_call_takes(bare, plan, facts)
    if asked:
        return asked
    label_asked = unknown_selection_label(bare, plan, labels)
    if label_asked:
        return label_asked
    unknown = unknown_value(bare, facts, labels)
    if unknown and any(catalog().takes(c.tool, "where") and not (c.args.get("where") or {}).get("match")
                       for c in plan.calls):
        column, word = unknown
        values = ", ".join(facts.categories[column]) if facts else ""
        return Plan(question=plan.question, message=f"The data has no {word!r} rows: its {column} values are "
                                                    f"{values}. Which ones do you mean?")
    return (unsupported_method(bare, plan) or unknown_label(bare, plan, labels) or class_index(bare, plan, labels)
            or with_premise(bare, plan))


CLASS_INDEX = re.compile(r"\b(?:target|class(?:\s+index)?|label\s+index)(?:\s*=+|\s*:|\s+is)?\s*(\d{1,2})\b"
                         r"(?!\s*(?:words?|tokens?|%|layers?))", re.I)


def class_index(bare: str, plan: Plan, labels: list[str]) -> Plan | None:
    """Captum's 'target=1': which label is class 1 depends on an order the user may not share; asked,
    with each label as a choice (tools.md: never substitute silently)."""
    m = CLASS_INDEX.search(bare)
    takes = [c for c in plan.calls if catalog().takes(c.tool, "target") or catalog().takes(c.tool, "label")]
    if not m or not takes or not labels:
        return None
    call = takes[0]
    key = "target" if catalog().takes(call.tool, "target") else "label"
    choices = [Choice(label=f"{call.tool} towards {label}",
                      calls=[Call(tool=call.tool, args={**call.args, key: label})]) for label in labels]
    message = (f"Which label is class {m.group(1)}? I do not assume an order: the labels are "
               f"{', '.join(labels)}. Name the label you mean.")
    return Plan(question=plan.question, choices=choices, message=message, pending=plan.calls, asks_for="label")

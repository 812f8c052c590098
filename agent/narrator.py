"""Template narration: one function per result type. Each leads with the answer, gives the key
numbers (only numbers that are in the result), and states the caveats the result carries."""
from __future__ import annotations

from typing import Any, Callable

from agent.records import Step


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _quote(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return f"\"{text if len(text) <= limit else text[:limit - 1] + '…'}\""


def _count(o: dict[str, Any], args: dict[str, Any]) -> str:
    if o["selection"] == "all rows":
        return f"There are {o['count']} rows in the dataset."
    return f"{o['count']} of the {o['total']} rows match ({o['selection']})."


def _label_distribution(o: dict[str, Any], args: dict[str, Any]) -> str:
    parts = [f"{d['label']}: {d['count']} ({_pct(d['share'])})" for d in o["labels"]]
    scope = "" if o["selection"] == "all rows" else f" among {o['selection']}"
    return f"Gold labels{scope} ({o['total']} rows): " + "; ".join(parts) + "."


def _keywords(o: dict[str, Any], args: dict[str, Any]) -> str:
    if not o["keywords"]:
        return f"No content words found in {o['selection']}."
    words = ", ".join(f"{k['word']} ({k['count']})" for k in o["keywords"])
    text = f"The most frequent content words in {o['selection']} ({o['rows']} rows) are: {words}."
    for label, items in o.get("by_label", {}).items():
        if items:
            text += f"\nIn {label} rows: " + ", ".join(f"{k['word']} ({k['count']})" for k in items[:5]) + "."
    return text


def _row_line(r: dict[str, Any]) -> str:
    line = f"- #{r['id']} {_quote(r['text'])}"
    if r.get("label") is not None:
        line += f" (gold: {r['label']}"
        if "prediction" in r:
            line += f", predicted: {r['prediction']} at {_pct(r['confidence'])}"
        line += ")"
    elif "prediction" in r:
        line += f" (predicted: {r['prediction']} at {_pct(r['confidence'])})"
    return line


def _show(o: dict[str, Any], args: dict[str, Any]) -> str:
    if not o["rows"]:
        return f"No rows match ({o['selection']})."
    head = f"Here is {o['selection']}:" if o["total"] == 1 and "id" in args else (
        f"{o['total']} rows match ({o['selection']}); showing {len(o['rows'])}:")
    return head + "\n" + "\n".join(_row_line(r) for r in o["rows"])


def _score(o: dict[str, Any], args: dict[str, Any]) -> str:
    name = {"accuracy": "accuracy", "f1": "F1", "precision": "precision", "recall": "recall", "roc_auc": "ROC AUC"}[o["metric"]]
    avg = f" ({o['average']}-averaged)" if o.get("average") else ""
    scope = "all rows" if o["selection"] == "all rows" else o["selection"]
    text = f"The model's {name}{avg} on {scope} is {o['value']:.3f}"
    if o["metric"] == "accuracy":
        text += f": {o['correct']} of {o['rows']} rows correct"
        text += f". Always predicting the majority label would give {o['majority_baseline']:.3f}."
    else:
        text += f" over {o['rows']} rows."
    if o.get("per_label"):
        text += " Per label: " + ", ".join(f"{k} {v:.3f}" for k, v in o["per_label"].items()) + "."
    return text


def _mistakes(o: dict[str, Any], args: dict[str, Any]) -> str:
    scope = "" if o["selection"] == "all rows" else f" among {o['selection']}"
    text = f"The model misclassifies {o['mistakes']} of {o['rows']} rows{scope} (error rate {_pct(o['error_rate'])})."
    by = ", ".join(f"{n} with gold label {label}" for label, n in o["by_gold_label"].items() if n)
    if by:
        text += f" Of these, {by}."
    if o.get("examples"):
        text += f"\nThe {len(o['examples'])} most confident mistakes:\n" + "\n".join(_row_line(r) for r in o["examples"])
    return text


def _predict(o: dict[str, Any], args: dict[str, Any]) -> str:
    subject = f"review #{o['id']}" if "id" in o else _quote(o["text"])
    if o["kind"] == "generation":
        tokens = ", ".join(f"{t['token']!r} {t['probability']:.2f}" for t in o["tokens"][:8])
        return f"For {subject} the model continues: {_quote(o['continuation'], 300)}\nFirst tokens with their probabilities: {tokens}."
    others = ", ".join(f"{label} {p:.3f}" for label, p in o["probabilities"].items())
    text = f"The model predicts **{o['label']}** for {subject} with probability {o['probability']:.3f} ({others})."
    if "id" in o and o.get("gold_label") is not None:
        verdict = "correct" if o.get("correct") else "wrong"
        text += f" The gold label is {o['gold_label']}, so the prediction is {verdict}."
    return text


def _edit_label(o: dict[str, Any], args: dict[str, Any]) -> str:
    if o["old_label"] == o["new_label"]:
        return f"Row #{o['id']} already has the label {o['new_label']}; nothing changed."
    return (f"Changed the gold label of row #{o['id']} from {o['old_label']} to {o['new_label']} for this conversation "
            f"({o['edits']} edit(s) so far; the data file is unchanged).")


def _describe_model(o: dict[str, Any], args: dict[str, Any]) -> str:
    text = (f"The loaded model is {o['name']} ({o['architecture']}, {o['parameters'] / 1e6:.1f}M parameters, "
            f"{o['layers']} layers, hidden size {o['hidden_size']}).")
    if o["task"] == "label_words":
        text += (f" It is a causal language model used as a classifier: a prompt asks for the label and the "
                 f"probabilities of the label words ({', '.join(o['label_words'])}) are read from its next-token logits"
                 f"{', calibrated on content-free inputs' if o.get('calibrated') else ''}.")
    elif o["task"] == "sequence_classification":
        text += f" It is a sequence classifier with labels {', '.join(o['labels'])}."
    else:
        text += " It is used as a text generator."
    return text


def _describe_data(o: dict[str, Any], args: dict[str, Any]) -> str:
    text = f"The dataset is {o['name']}: {o['rows']} rows with columns {', '.join(o['columns'])}."
    if o["labels"]:
        text += " Gold labels: " + ", ".join(f"{k} {v}" for k, v in o["labels"].items()) + "."
    w = o["words"]
    text += f" Texts are {w['min']}-{w['max']} words long (median {w['median']})."
    if o.get("domains"):
        text += " Domains: " + ", ".join(f"{k} {v}" for k, v in o["domains"].items()) + "."
    return text


def _capabilities(o: dict[str, Any], args: dict[str, Any]) -> str:
    ready = [t for t in o["tools"] if t["available"]]
    later = [t["tool"] for t in o["tools"] if not t["available"]]
    lines = ["I can answer questions about the data and the model's predictions:"]
    for t in ready:
        example = f" (e.g. \"{t['examples'][0]}\")" if t["examples"] else ""
        lines.append(f"- {t['tool']}: {t['description']}{example}")
    if later:
        lines.append("Planned but not available yet in this version: " + ", ".join(later) + ".")
    return "\n".join(lines)


def _signed(x: float) -> str:
    return f"{x:+.3f}"


def _subject(o: dict[str, Any]) -> str:
    return f"review #{o['id']}" if "id" in o else _quote(o["text"])


def _attribute(o: dict[str, Any], args: dict[str, Any]) -> str:
    subject = _subject(o)
    target = o["target"]
    method = o["method"].replace("_", " ")
    if target["kind"] == "label":
        goal = f"**{target['label']}**" + (f" rather than {target['contrast']}" if target.get("contrast") else "")
        p = target["probabilities"][target["label"]]
        head = f"The model predicts {target['predicted']} for {subject}; the probability of {target['label']} is {p:.3f}."
    else:
        goal = "its answer"
        head = f"For {subject} the model answers {_quote(target['answer'], 200)}."
    pushing = [t for t in o["top"] if t["score"] > 0]
    against = [t for t in o["top"] if t["score"] < 0]
    text = head + f" By {method}, the words that pushed it towards {goal} most: "
    text += ", ".join(f"'{t['word']}' ({_signed(t['score'])})" for t in pushing) if pushing else "none pushed towards it"
    if against:
        text += "; words that pushed away: " + ", ".join(f"'{t['word']}' ({_signed(t['score'])})" for t in against)
    text += "."
    if o.get("diagnostic_only"):
        text += " These are attention weights: where the model looked, not why it decided (a diagnostic only)."
    f = o.get("faithfulness")
    if f:
        text += (f"\nFaithfulness: deleting the top-ranked words lowers the {f['probability_measured']} by "
                 f"{f['comprehensiveness']:.3f} on average (comprehensiveness; random rankings {f['random_comprehensiveness']:.3f}), "
                 f"and keeping only them loses {f['sufficiency']:.3f} (sufficiency, lower is better; random "
                 f"{f['random_sufficiency']:.3f}). Verdict: the explanation {f['verdict']}.")
    matrix = o.get("matrix")
    if matrix:
        text += f"\nPer answer token: a {len(matrix['outputs'])} x {len(o['words'])} matrix (answer tokens x input words) is in the heatmap."
    return text


def _explain_concept(o: dict[str, Any], args: dict[str, Any]) -> str:
    if not o.get("found"):
        closest = ", ".join(c["title"] for c in o.get("closest", []))
        return (f"My knowledge base has no card about {_quote(o['topic'])}, so I will not guess. "
                f"The closest cards are: {closest}. Ask about one of them, or rephrase.")
    parts = [f"**{o['title']}**", *o["answer"]]
    if o.get("caveat"):
        parts.append(f"Main caveat: {o['caveat']}")
    if o.get("sources"):
        parts.append("Sources:\n" + "\n".join(f"{i}. {ref}" for i, ref in enumerate(o["sources"], 1)))
    if o.get("related"):
        parts.append("Related: " + ", ".join(r["title"] for r in o["related"]) + ".")
    return "\n\n".join(parts)


def _logit_lens(o: dict[str, Any], args: dict[str, Any]) -> str:
    layers = o["layers"]
    first = o["first_layer_top1"]
    head = (f"On {_subject(o)} ({o['prompt']}, position {o['position']} {o['position_token']!r}) the model's next token is "
            f"{o['answer']!r} (p {layers[-1]['answer_p']:.3f}).")
    when = (f" It first becomes the top token at layer {first} (0-based, of {len(layers) - 1} blocks)."
            if first is not None else " No layer ranks it first.")
    picks = sorted({0, len(layers) // 4, len(layers) // 2, 3 * len(layers) // 4, len(layers) - 1})
    steps = "; ".join(f"layer {layers[i]['layer']}: {layers[i]['top'][0]['token']!r} (answer p {layers[i]['answer_p']:.3f}, "
                      f"KL {layers[i]['kl_to_final']:.2f})" for i in picks)
    return head + when + "\nLayer by layer: " + steps + "."


def _top_neurons(o: dict[str, Any], args: dict[str, Any]) -> str:
    target = o["target"].get("label") or "its answer"
    where = f"layer {o['layer']}" if o.get("layer") is not None else f"all {o['layers']} layers"
    active = ", ".join(f"L{n['layer']}/N{n['neuron']} ({n['activation']:.2f})" for n in o["most_active"][:5])
    responsible = ", ".join(f"L{n['layer']}/N{n['neuron']} ({_signed(n['contribution'])})" for n in o["most_responsible"][:5])
    text = (f"For {_subject(o)} ({where}, {o['neurons_per_layer']} neurons each), the most active neurons at the prediction "
            f"are {active}. The neurons contributing most to {target} (activation x gradient, summed over positions) are "
            f"{responsible}; positive pushes towards {target}.")
    known = {(n["layer"], n["neuron"]): n["description"] for n in o["most_active"][:5] + o["most_responsible"][:5] if n.get("description")}
    for (layer, neuron), description in sorted(known.items()):
        text += f"\nL{layer}/N{neuron}: {description}"
    return text


def _probe(o: dict[str, Any], args: dict[str, Any]) -> str:
    best = next(r for r in o["layers"] if r["layer"] == o["best_layer"])
    emb = o["embeddings"]
    lines = [f"Probing for {o['labels_mean']} ({len(o['classes'])} classes, {o['split'][0]}/{o['split'][1]}/{o['split'][2]} "
             f"train/validation/test rows): the best layer is {best['layer']} ({best['name']}) with test accuracy "
             f"{best['accuracy']:.3f} (95% CI {best['ci95'][0]:.3f}-{best['ci95'][1]:.3f}) against a majority baseline of "
             f"{o['majority_baseline']:.3f}; on shuffled labels the same probe scores {best['control_accuracy']:.3f} "
             f"(selectivity {best['selectivity']:.3f}). The raw embeddings reach {emb['accuracy']:.3f}."]
    if len(o["layers"]) > 1:
        lines.append("Per layer (accuracy / control / MDL compression): " + "; ".join(
            f"{r['layer']}: {r['accuracy']:.3f} / {r['control_accuracy']:.3f} / {r['compression']}" for r in o["layers"]) + ".")
    if best["ci95"][0] <= o["majority_baseline"]:
        lines.append("The interval includes the majority baseline, so this is not clear evidence that the layer encodes it.")
    return "\n".join(lines)


def _counterfactual(o: dict[str, Any], args: dict[str, Any]) -> str:
    subject = _subject(o)
    goal = f" to {o['target']}" if o.get("target") else ""
    if not o["counterfactuals"]:
        return (f"I found no edit of up to 3 words that changes the prediction{goal} for {subject} (it predicts {o['prediction']} at "
                f"{o['probability']}); {o['candidates_scored']} candidate edits were scored on the model.")
    lines = []
    for cf in o["counterfactuals"]:
        fluency = f", perplexity x{cf['perplexity_ratio']}" if cf.get("perplexity_ratio") is not None else ""
        lines.append(f"- {'; '.join(cf['edits'])} → {cf['prediction']} ({cf['probability']}): {_quote(cf['text'])} "
                     f"[{cf['words_changed']} word{'s' if cf['words_changed'] != 1 else ''} changed, minimality {cf['minimality']}{fluency}]")
    best = o["counterfactuals"][0]
    text = (f"The model predicts {o['prediction']} ({o['probability']}) for {subject}. The smallest verified change{goal}: "
            f"{'; '.join(best['edits'])}, which makes it {best['prediction']} ({best['probability']}). "
            f"{o['found']} flips found among {o['candidates_scored']} edits scored on the model:\n" + "\n".join(lines))
    if o.get("diversity") is not None:
        text += f"\nDiversity of these {len(o['counterfactuals'])}: {o['diversity']} (mean pairwise word edit distance, normalised)."
    return text


def _similar(o: dict[str, Any], args: dict[str, Any]) -> str:
    def block(items: list[dict[str, Any]]) -> str:
        return "\n".join(f"{_row_line(r)} similarity {r['similarity']}" for r in items)

    layer = "the embeddings" if o["layer"] == -1 else f"block {o['layer']}"
    text = (f"Rows most similar to {_subject(o)} in the model's own representation (mean hidden state of {layer}):\n"
            f"{block(o['by_model'])}\nBy sentence embedding (MiniLM):\n{block(o['by_sentence_embedding'])}")
    text += f"\n{len(o['overlap'])} row(s) appear in both lists."
    for name, label in (("by_model", "model"), ("by_sentence_embedding", "sentence-embedding")):
        if f"{name}_same_label" in o:
            text += f" {_pct(o[f'{name}_same_label'])} of the {label} neighbours share its gold label."
    return text


def _adversarial(o: dict[str, Any], args: dict[str, Any]) -> str:
    head = f"The model predicts {o['prediction']} ({o['probability']}) for {_subject(o)}."
    if not o["perturbations"]:
        return (f"{head} No meaning-preserving perturbation (synonym, typo, neutral phrase; up to 2) changed it: "
                f"{o['flips']} of {o['candidates_scored']} candidates flipped it, {o['flips_meaning_preserved']} of them with "
                f"MiniLM similarity of at least {o['threshold']}.")
    lines = [f"- {'; '.join(p['edits'])} → {p['prediction']} ({p['probability']}), meaning similarity {p['meaning_similarity']}: "
             f"{_quote(p['text'])}" for p in o["perturbations"]]
    return (f"{head} It can be fooled: {o['flips_meaning_preserved']} meaning-preserving perturbations (similarity at least "
            f"{o['threshold']}) flip it, out of {o['candidates_scored']} tried.\n" + "\n".join(lines))


def _augment(o: dict[str, Any], args: dict[str, Any]) -> str:
    if not o["variants"]:
        return f"I found no variant of {_subject(o)} that keeps both its label ({o['prediction']}) and its meaning."
    lines = [f"- {_quote(v['text'])} ({v['source']}; {o['prediction']} at {v['probability']}, meaning similarity {v['meaning_similarity']})"
             for v in o["variants"]]
    text = (f"{len(o['variants'])} variants of {_subject(o)} that the model still labels {o['prediction']} "
            f"({o['label_preserving']} of {o['candidates']} candidates kept the label):\n" + "\n".join(lines))
    if o.get("diversity") is not None:
        text += f"\nDiversity: {o['diversity']} (mean pairwise word edit distance, normalised)."
    return text


def _rationalize(o: dict[str, Any], args: dict[str, Any]) -> str:
    c = o["checks"]
    text = (f"Asked why it predicts {o['prediction']} ({o['probability']}) for {_subject(o)}, the model says: {_quote(o['explanation'], 300)}\n"
            f"Words of the input it cites: {', '.join(repr(w) for w in o['cited_words']) or 'none'}. "
            f"The {c['attribution_method']} attribution ranks first: {', '.join(repr(w) for w in c['attribution_top_words'])}.")
    if "drop" in c:
        text += (f" Agreement {c['agreement']}; removing the cited words lowers {o['prediction']} by {c['drop']} "
                 f"(random words of the same number: {c['random_drop']}).")
    return text + f"\nVerdict: {o['verdict']}."


def _influence(o: dict[str, Any], args: dict[str, Any]) -> str:
    def block(items: list[dict[str, Any]], key: str) -> str:
        return "\n".join(f"{_row_line(r)} {key} {r[key]}" for r in items)

    return (f"Rows whose training step would most support the prediction {o['prediction']} for {_subject(o)} "
            f"({o['method']}, {o['training_rows']} rows):\n{block(o['proponents'], 'influence')}\n"
            f"Rows that would most push against it:\n{block(o['opponents'], 'influence')}\n"
            f"For comparison, nearest rows by the model's last hidden state:\n{block(o['by_embedding'], 'similarity')}")


def _explain_neuron(o: dict[str, Any], args: dict[str, Any]) -> str:
    s = o["scores"]
    text = (f"Neuron {o['neuron']} in layer {o['layer']}: {o['description']['positive']} {o['description']['negative']}\n"
            f"Written by the {o['explainer']}.\n"
            f"Held-out test ({o['test_windows']['top']} top and {o['test_windows']['random']} random windows from documents never "
            f"used to write it): simulation correlation {s['simulation']} (95% CI {s['simulation_ci95'][0]} to {s['simulation_ci95'][1]}), "
            f"detection balanced accuracy {s['detection']} (95% CI {s['detection_ci95'][0]} to {s['detection_ci95'][1]}).")
    lines = [f"- {b['baseline']}: simulation {b['simulation']}, detection {b['detection']}" for b in o["baselines"]]
    text += "\nBaselines on the same windows:\n" + "\n".join(lines)
    beaten = [name for name, won in o["beats"].items() if won]
    if len(beaten) == len(o["beats"]):
        text += "\nVerdict: the description beats every baseline."
    elif beaten:
        text += f"\nVerdict: the description beats only {', '.join(beaten)}; read it as a partial account."
    else:
        text += "\nVerdict: the description does not beat the baselines; this neuron is not explained."
    if o["exemplars"]:
        top = o["exemplars"][0]
        peak = max(range(len(top["activations"])), key=lambda i: top["activations"][i])
        text += f"\nStrongest exemplar: {_quote(''.join(top['tokens']))} (peak {top['activations'][peak]} on {top['tokens'][peak].strip()!r})."
    return text


def _report(o: dict[str, Any], args: dict[str, Any]) -> str:
    pages = f", {o['pages']} page{'s' if o['pages'] != 1 else ''}" if o.get("pages") else ""
    text = f"I wrote the report \"{o['title']}\" ({o['sections']} sections, {o['figures']} figures{pages}).\nHTML: {o['html']}"
    text += f"\nPDF: {o['pdf']}" if o.get("pdf") else "\n(No PDF: WeasyPrint is not installed.)"
    summary = o.get("summary")
    if summary:
        confusions = "; ".join(f"{c['pair']}: {c['count']}" for c in summary["confusions"])
        text += (f"\nIt explains {summary['explained']} of the {summary['mistakes']} mistakes ({confusions}).")
        if summary["overrepresented_words"]:
            text += " Words more common in mistakes than in correct rows: " + ", ".join(
                f"{w['word']} ({w['ratio']}x)" for w in summary["overrepresented_words"][:5]) + "."
    return text


NARRATORS: dict[str, Callable[[dict[str, Any], dict[str, Any]], str]] = {
    "count": _count, "label_distribution": _label_distribution, "keywords": _keywords, "show": _show,
    "score": _score, "mistakes": _mistakes, "predict": _predict, "edit_label": _edit_label,
    "describe_model": _describe_model, "attribute": _attribute, "describe_data": _describe_data, "capabilities": _capabilities,
    "explain_concept": _explain_concept, "logit_lens": _logit_lens, "top_neurons": _top_neurons, "probe": _probe,
    "report": _report, "explain_neuron": _explain_neuron, "counterfactual": _counterfactual,
    "similar": _similar, "adversarial": _adversarial, "augment": _augment, "rationalize": _rationalize,
    "influence": _influence,
}


def narrate_output(tool: str, output: dict[str, Any], args: dict[str, Any]) -> str:
    """The tool's own narration of its typed output (tools/builtin/<tool>.py)."""
    from tools.registry import get_tool

    tool_cls = get_tool(tool)
    if tool_cls.Output is None and tool in NARRATORS:  # not migrated yet
        return NARRATORS[tool](output, args)
    return tool_cls().narrate(tool_cls.typed_output(output), args)


def narrate_step(step: Step, with_caveats: bool = True) -> str:
    if step.status == "error":
        return f"I could not run {step.tool}: {step.error}"
    text = narrate_output(step.tool, step.output or {}, step.args)
    for caveat in step.caveats if with_caveats else ():
        text += f"\nCaveat: {caveat}"
    return text


def narrate(steps: list[Step], message: str | None) -> str:
    if message:
        return message
    return "\n\n".join(narrate_step(step) for step in steps)

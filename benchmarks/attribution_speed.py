"""Attribution speed: whybox vs Captum 0.9 vs Inseq 0.7, one process, same model, prompt, method
and settings, 1 CPU thread. Prints CPU seconds, peak extra memory (RSS sampled every 5 ms), the
speed ratio against the faster library, and agreement (Pearson r over the user's tokens).

(a) one label/next-token target on a review inside the classification prompt (~50 tokens);
(b) a 10-token generated answer to a short prompt: per-token maps (gradient x input) and
    leave-one-out.

Captum is configured the way its docs recommend for a fair comparison: the same forward target
(log-probability), the same baseline (user tokens -> pad token, template kept), Gauss-Legendre IG
with the same steps and internal batch, `FeatureAblation` with batched perturbations, and for the
per-token map one pass per answer token (what `LLMGradientAttribution` does). Inseq runs its own
`attribute` on the same prompt and answer; its baseline and target differ, so its agreement is
printed for information.

    python benchmarks/attribution_speed.py [--quick] [--no-inseq]
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import torch  # noqa: E402

from tests import attribution_reference as ref  # noqa: E402
from tools.attribution import methods as M  # noqa: E402
from tools.attribution.engine import Request, build_input  # noqa: E402
from tools.attribution.scorers import make_scorer  # noqa: E402

REVIEW = "The soup was cold and the bread was stale, but the waiter was friendly and the dessert saved the evening."
PROMPT = "My favourite food is"


class Peak:
    """Peak RSS above the starting RSS while the block runs."""

    def __enter__(self):
        self.proc = psutil.Process(os.getpid())
        self.start = self.peak = self.proc.memory_info().rss
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        self.cpu = time.process_time()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.005)

    def __exit__(self, *exc):
        self.cpu = time.process_time() - self.cpu
        self.running = False
        self.thread.join()
        self.mb = (self.peak - self.start) / 2**20


def measure(fn):
    with torch.enable_grad(), Peak() as p:
        out = fn()
    return out, p.cpu, p.mb


def report(name, rows):
    """rows: {impl: (scores or None, cpu, mb, note)}; ours first."""
    ours = rows["whybox"]
    libs = {k: v for k, v in rows.items() if k != "whybox" and v[1] is not None}
    fastest = min((v[1] for v in libs.values()), default=None)
    print(f"\n{name}")
    for impl, (scores, cpu, mb, note) in rows.items():
        if cpu is None:
            print(f"  {impl:8s} failed: {note}")
            continue
        agree = "" if impl == "whybox" or scores is None else f"  r vs whybox {ref.pearson(ours[0], scores):+.4f}"
        print(f"  {impl:8s} {cpu:7.2f} s CPU  {mb:7.1f} MB peak{agree}{'  ' + note if note else ''}")
    if fastest:
        print(f"  speed-up vs the faster library: {fastest / ours[1]:.2f}x")


def captum_ig(handle, task, inp, steps):
    from captum.attr import IntegratedGradients

    forward = ref.label_forward(handle, task, inp) if inp.target.kind == "label" else ref.answer_forward(handle, inp)
    attr = IntegratedGradients(forward).attribute(ref.full_embeds(handle, inp), baselines=ref.ig_baseline(handle, inp),
                                                  n_steps=steps, method="gausslegendre", internal_batch_size=16)
    return ref.variable_part(attr, inp)


def ig_passes_only(scorer, steps: int, chunk: int = 16) -> None:
    """The forward+backward passes IG needs (same batches, same chunking) and nothing else: the
    floor IG's own bookkeeping is measured against."""
    x = scorer.variable_embeds()
    base = M.ig_baseline(scorer)
    weights = M.output_weights(scorer.target.n_outputs, False)
    with torch.no_grad():
        scorer.score_embeds(torch.stack([x, base]))
    alphas = torch.linspace(0, 1, steps)
    for start in range(0, steps, chunk):
        a = alphas[start:start + chunk]
        path = base[None] + a[:, None, None] * (x - base)[None]
        M._gradients(scorer, path, weights.repeat(len(a), 1))


def captum_gxi(handle, inp):
    from captum.attr import InputXGradient

    forward = ref.answer_forward(handle, inp)
    return ref.variable_part(InputXGradient(forward).attribute(ref.full_embeds(handle, inp).requires_grad_(True)), inp)


def captum_loo(handle, task, inp):
    """Leave-one-token-out over the user's tokens, batched perturbations; output [T, tokens]."""
    from captum.attr import FeatureAblation

    if inp.target.kind == "label":
        forward = ref.label_forward(handle, task, inp)
    else:
        answer = torch.tensor(inp.target.answer_ids)
        n = len(answer)

        def forward(embeds):
            logits = handle.model(inputs_embeds=embeds).logits
            return torch.log_softmax(logits[:, -n - 1:-1].float(), -1)[:, torch.arange(n), answer]
    ids_forward = ref.content_splice_forward(forward, handle, inp)
    content = torch.tensor([[inp.ids[p] for p in inp.content_positions]])
    return FeatureAblation(ids_forward).attribute(content, baselines=inp.baseline_id, perturbations_per_eval=16)


def captum_per_token_gxi(handle, inp):
    """One forward+backward per answer token on the growing sequence (LLMGradientAttribution)."""
    from captum.attr import InputXGradient

    rows = []
    n_prompt = inp.n_prompt
    for i, token in enumerate(inp.target.answer_ids):
        ids = torch.tensor([inp.ids[:n_prompt + i]])

        def forward(embeds, token=token):
            logits = handle.model(inputs_embeds=embeds).logits[:, -1].float()
            return torch.log_softmax(logits, -1)[:, token]
        with torch.no_grad():
            x = handle.model.get_input_embeddings()(ids)
        attr = InputXGradient(forward).attribute(x.requires_grad_(True))
        rows.append(attr[0].sum(-1)[inp.prefix_len:n_prompt].detach().numpy())
    return np.stack(rows)


def inseq_run(handle, prompt_text, answer_text, method, steps=None):
    import inseq

    model = inseq.load_model(handle.model, method, tokenizer=handle.tokenizer)
    kwargs = {"n_steps": steps, "internal_batch_size": 16} if steps else {}
    out = model.attribute(prompt_text, prompt_text + answer_text, show_progress=False, skip_special_tokens=False,
                          **kwargs)
    return out.sequence_attributions[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="IG with 8 steps")
    parser.add_argument("--no-inseq", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    ns = parser.parse_args()
    torch.set_num_threads(ns.threads)
    from tools.context import Workspace
    from tools.models.tasks import GenerationTask
    from tools.settings import Settings

    ws = Workspace(Settings.from_env(), quiet=True)
    handle, task = ws.model, ws.task
    steps = 8 if ns.quick else 32
    print(f"model {handle.name}, {torch.get_num_threads()} thread(s), IG {steps} steps")

    # (a) next-token target: the predicted label's word, as a one-token answer to the classification prompt
    from tools.attribution.inputs import AttributionInput, Target, split_words

    label_inp, _ = build_input(handle, task, REVIEW, Request())
    label_id = task.label_token_ids[list(task.labels).index(label_inp.target.label)][0]
    next_tok = handle.tokenizer.decode([label_id])
    encoded = task.encode(REVIEW)
    target = Target("tokens", answer_ids=(label_id,), answer_tokens=(next_tok,))
    inp_a = AttributionInput(REVIEW, list(encoded.input_ids) + [label_id], list(encoded.content_mask) + [False],
                             split_words(REVIEW, encoded), target, encoded.content_mask.index(True),
                             handle.pad_token_id, len(encoded.input_ids))
    print(f"(a) input {len(inp_a.ids)} tokens ({len(inp_a.content_positions)} of them the user's), "
          f"target {next_tok!r}")
    prompt_text = handle.tokenizer.decode(encoded.input_ids)

    def ours(fn):
        scorer = make_scorer(handle, task, inp_a)
        return measure(lambda: fn(scorer))

    rows = {}
    s, cpu, mb = ours(lambda sc: M.integrated_gradients(sc, steps, adaptive=False).values[0])
    rows["whybox"] = (s[[p - inp_a.prefix_len for p in inp_a.content_positions]], cpu, mb, "")
    s, cpu, mb = measure(lambda: captum_ig(handle, task, inp_a, steps))
    rows["captum"] = (s[[p - inp_a.prefix_len for p in inp_a.content_positions]], cpu, mb, "")
    if not ns.no_inseq:
        rows["inseq"] = _try_inseq(lambda: inseq_run(handle, prompt_text, next_tok, "integrated_gradients", steps),
                                   inp_a)
    report(f"(a) integrated gradients, {steps} steps", rows)
    ig_cpu = rows["whybox"][1]
    _, passes_cpu, _ = ours(lambda sc: ig_passes_only(sc, steps))
    print(f"  IG cost vs its {steps} forward+backward passes alone ({passes_cpu:.2f} s CPU): "
          f"{ig_cpu / passes_cpu:.2f}x (target <= 1.2x)")

    rows = {}
    s, cpu, mb = ours(lambda sc: M.occlusion(sc, [[p - inp_a.prefix_len] for p in inp_a.content_positions],
                                              baseline="token", with_offset=False).values[0])
    rows["whybox"] = (s, cpu, mb, "")
    s, cpu, mb = measure(lambda: captum_loo(handle, task, inp_a))
    rows["captum"] = (np.asarray(s).reshape(-1), cpu, mb, "")
    if not ns.no_inseq:
        rows["inseq"] = _try_inseq(lambda: inseq_run(handle, prompt_text, next_tok, "occlusion"), inp_a)
    report("(a) leave-one-token-out", rows)

    # (b) a 10-token generated answer
    gen = GenerationTask(handle, 10)
    inp_b, info = build_input(handle, gen, PROMPT, Request(max_new_tokens=10))
    print(f"\n(b) prompt {inp_b.n_prompt} tokens, answer {info['answer']!r} ({len(inp_b.target.answer_ids)} tokens)")
    prompt_b = handle.tokenizer.decode(inp_b.ids[:inp_b.n_prompt])
    content_b = [p - inp_b.prefix_len for p in inp_b.content_positions]

    rows = {}
    scorer = make_scorer(handle, gen, inp_b)
    s, cpu, mb = measure(lambda: M.gradient_x_input(scorer, per_output=True).values)
    rows["whybox"] = (s[1:, content_b], cpu, mb, "")
    s, cpu, mb = measure(lambda: captum_per_token_gxi(handle, inp_b))
    rows["captum"] = (s[:, [c for c in content_b]], cpu, mb, "")
    if not ns.no_inseq:
        rows["inseq"] = _try_inseq(lambda: inseq_run(handle, prompt_b, info["answer"], "input_x_gradient"), inp_b,
                                   matrix=True)
    report("(b) per-token gradient x input, 10-token answer", rows)

    rows = {}
    scorer = make_scorer(handle, gen, inp_b)
    features = [[p] for p in content_b]
    s, cpu, mb = measure(lambda: M.occlusion(scorer, features, per_output=True, baseline="token",
                                             with_offset=False).values)
    rows["whybox"] = (s[1:], cpu, mb, "")
    s, cpu, mb = measure(lambda: captum_loo(handle, gen, inp_b))
    rows["captum"] = (np.asarray(s), cpu, mb, "")
    if not ns.no_inseq:
        rows["inseq"] = _try_inseq(lambda: inseq_run(handle, prompt_b, info["answer"], "occlusion"), inp_b,
                                   matrix=True)
    report("(b) per-token leave-one-token-out, 10-token answer", rows)
    return 0


def _try_inseq(fn, inp, matrix=False):
    """Inseq's result over the user's tokens, or the reason it failed."""
    try:
        out, cpu, mb = measure(fn)
    except Exception as exc:  # noqa: BLE001 - a benchmark reports a library's failure and goes on
        return (None, None, None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
    scores = out.source_attributions if out.source_attributions is not None else out.target_attributions
    scores = scores.detach().float()
    while scores.dim() > 2:
        scores = scores.sum(-1)
    n_prompt = inp.n_prompt
    # Inseq's source axis covers the prompt tokens; keep the user's
    values = scores.numpy()[:n_prompt] if scores.shape[0] >= n_prompt else scores.numpy()
    try:
        content = values[inp.content_positions]
    except IndexError:
        return (None, cpu, mb, "token alignment differs; agreement not computed")
    content = np.nan_to_num(content)
    return (content.T if matrix else content[:, 0], cpu, mb, "")


if __name__ == "__main__":
    raise SystemExit(main())

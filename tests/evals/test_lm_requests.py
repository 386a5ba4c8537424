"""The lm-eval model `glassworks` on a real tiny checkpoint: each request type, scored by hand
where the answer can be computed independently, and agreement with lm-eval's `hf` model on the
Hugging Face export of the same checkpoint."""

import math

import pytest
import torch

import glassworks.evals  # noqa: F401 - registers the lm-eval model
from lm_eval.api.instance import Instance
from lm_eval.api.registry import get_model

PAIRS = [
    ("Python is an easy to learn, powerful programming language.", " It has efficient data structures"),
    ("Ein Mathematikprofessor trägt sein Fahrrad ", "über den Universitätsplatz."),
    ("def shorten(text, width, **kwargs):\n", "    w = TextWrapper(width=width, **kwargs)"),
    ("", "Standalone continuation without any context"),
    ("A context that is much longer than the model's context window, " * 8, "so it is cut on the left."),
]
TEXTS = ["The quick brown fox jumps over the lazy dog. " * 12, "kurz", "Zeile eins\nZeile zwei\n" * 8]
GEN = [("Python is", {"until": ["\n"], "max_gen_toks": 12}), ("Der ", {"until": ["e", "."], "max_gen_toks": 8}),
       ("import ", {"until": [], "max_gen_toks": 5})]


def requests(kind, args):
    return [Instance(kind, {}, a, i) for i, a in enumerate(args)]


@pytest.fixture(scope="module")
def lm(checkpoint):
    return get_model("glassworks").create_from_arg_string(f"checkpoint={checkpoint},batch_size=3")


@pytest.fixture(scope="module")
def hf(hf_dir):
    return get_model("hf").create_from_arg_string(f"pretrained={hf_dir},dtype=float32,device=cpu,batch_size=3")


def reference_logprob(lm, context: str, continuation: str) -> float:
    """log p(continuation | <s> context) from one forward pass, no batching or trimming; the
    context's trailing whitespace belongs to the continuation, as lm-eval encodes pairs."""
    stripped = context.rstrip()
    context, continuation = stripped, context[len(stripped):] + continuation
    ids = lm.tok.encode(context + continuation, bos=True)
    n_ctx = len(lm.tok.encode(context, bos=True))
    with torch.no_grad():
        logits = lm.model(torch.tensor([ids]))[0].float().log_softmax(-1)
    return float(sum(logits[i - 1, ids[i]] for i in range(n_ctx, len(ids))))


def test_loglikelihood_matches_a_plain_forward_pass(lm):
    got = lm.loglikelihood(requests("loglikelihood", PAIRS[:3]), disable_tqdm=True)
    assert all(len(lm.tok.encode(c + x)) < lm.max_length for c, x in PAIRS[:3])  # no trimming here
    for (context, continuation), (logprob, greedy) in zip(PAIRS, got):
        assert logprob == pytest.approx(reference_logprob(lm, context, continuation), rel=1e-4)
        assert logprob < 0 and greedy is False  # an untrained model does not guess whole phrases


def test_loglikelihood_trims_long_contexts_and_handles_empty_ones(lm):
    (long_lp, _), (empty_lp, _) = lm.loglikelihood(requests("loglikelihood", [PAIRS[4], PAIRS[3]]), disable_tqdm=True)
    assert len(lm.tok.encode(PAIRS[4][0], bos=True)) > lm.max_length  # the trimming path is taken
    assert math.isfinite(long_lp) and long_lp < 0
    ids = lm.tok.encode(PAIRS[3][1])
    with torch.no_grad():
        logits = lm.model(torch.tensor([[lm.tok.bos_id] + ids]))[0].log_softmax(-1)
    assert empty_lp == pytest.approx(float(sum(logits[i, t] for i, t in enumerate(ids))), abs=1e-3)


def test_batching_does_not_change_scores(checkpoint, lm):
    one = get_model("glassworks").create_from_arg_string(f"checkpoint={checkpoint},batch_size=1")
    batched = lm.loglikelihood(requests("loglikelihood", PAIRS), disable_tqdm=True)
    single = one.loglikelihood(requests("loglikelihood", PAIRS), disable_tqdm=True)
    assert [a for a, _ in batched] == pytest.approx([b for b, _ in single], rel=1e-4)


def test_rolling_loglikelihood_sums_disjoint_windows(lm):
    scores = lm.loglikelihood_rolling(requests("loglikelihood_rolling", [(t,) for t in TEXTS]), disable_tqdm=True)
    text = TEXTS[0]
    ids = lm.tok.encode(text)
    assert len(ids) > 2 * lm.max_length  # several windows
    # by hand: windows predict disjoint runs of max_length tokens; each sees up to max_length
    # tokens before its last prediction (<s> first), so the last, shorter run sees more context
    padded = [lm.tok.bos_id] + ids
    total, start = 0.0, 0
    while start < len(ids):
        end = min(start + lm.max_length, len(ids))
        inp = padded[max(0, end - lm.max_length):end]  # position j predicts padded[j + 1]
        with torch.no_grad():
            logits = lm.model(torch.tensor([inp]))[0].log_softmax(-1)
        n = end - start
        total += float(sum(logits[len(inp) - n + k, ids[start + k]] for k in range(n)))
        start = end
    assert scores[0] == pytest.approx(total, rel=1e-5)
    assert all(s < 0 for s in scores)


def test_generate_until_stops_at_until_strings_and_length(lm):
    out = lm.generate_until(requests("generate_until", GEN), disable_tqdm=True)
    assert len(out) == 3
    assert "\n" not in out[0]
    assert "e" not in out[1] and "." not in out[1]
    # greedy decoding is deterministic and equals a step-by-step argmax without the cache
    ids = lm.tok.encode(GEN[2][0], bos=True)
    for _ in range(5):
        with torch.no_grad():
            ids.append(int(lm.model(torch.tensor([ids]))[0, -1].argmax()))
    assert out[2] == lm.tok_decode(ids[len(lm.tok.encode(GEN[2][0], bos=True)):])


def test_agrees_with_lm_eval_hf_model_on_the_export(lm, hf, hf_dir):
    ours = lm.loglikelihood(requests("loglikelihood", PAIRS), disable_tqdm=True)
    theirs = hf.loglikelihood(requests("loglikelihood", PAIRS), disable_tqdm=True)
    for (a, ga), (b, gb) in zip(ours, theirs):
        assert a == pytest.approx(b, rel=1e-4) and ga == gb
    # the same greedy tokens, so the same texts, except that an untrained model emits byte
    # pieces that are not valid UTF-8 on their own: SentencePiece decodes the ASCII bytes
    # among them, the HF ByteFallback decoder replaces the whole run by U+FFFD, byte by byte
    mine = lm.generate_until(requests("generate_until", GEN), disable_tqdm=True)
    theirs = hf.generate_until(requests("generate_until", GEN), disable_tqdm=True)
    for m, t in zip(mine, theirs):
        assert len(m) == len(t) and all(a == b or "\ufffd" in (a, b) for a, b in zip(m, t)), (m, t)
    prompt = torch.tensor([lm.tok.encode(GEN[2][0], bos=True)])
    with torch.no_grad():
        hf_ids = hf.model.generate(prompt, max_new_tokens=5, do_sample=False, eos_token_id=None, pad_token_id=0)
    from glassworks.model import SamplingConfig, generate
    assert generate(lm.model, [prompt[0].tolist()], SamplingConfig(max_new_tokens=5))[0].tokens == \
        hf_ids[0, prompt.shape[1]:].tolist()
    # hf's tokenizer adds <s> to the text it rolls over; with add_bos_token=False it scores what we do
    hf_plain = get_model("hf").create_from_arg_string(
        f"pretrained={hf_dir},dtype=float32,device=cpu,batch_size=3,add_bos_token=False")
    rolling = requests("loglikelihood_rolling", [(t,) for t in TEXTS])
    assert lm.loglikelihood_rolling(rolling, disable_tqdm=True) == pytest.approx(
        hf_plain.loglikelihood_rolling(rolling, disable_tqdm=True), rel=1e-4)


def test_simple_evaluate_gives_hf_s_metrics_on_tiny_local_tasks(tmp_path, checkpoint, hf_dir, helpers):
    """Both models through lm-eval end to end on the shipped tasks (a few documents each)."""
    import lm_eval

    from glassworks.evals.run import EvalConfig, offline, prepare

    with offline():
        prepared = prepare(tmp_path, EvalConfig(suite=helpers.small_suite()), helpers.data, None)

        def run(model, args, task):
            out = lm_eval.simple_evaluate(model=model, model_args=args, tasks=[task], limit=3, bootstrap_iters=0,
                                          task_manager=prepared.task_manager)
            return {k: v for k, v in out["results"][task].items() if isinstance(v, float)}

        hf_args = {"pretrained": str(hf_dir), "device": "cpu", "dtype": "float32"}
        cloze, ppl = f"heldout_cloze_{helpers.short_source}", f"heldout_ppl_{helpers.short_source}"
        ours = run("glassworks", {"checkpoint": str(checkpoint)}, cloze)
        assert ours == pytest.approx(run("hf", hf_args, cloze), rel=1e-6)
        ours = run("glassworks", {"checkpoint": str(checkpoint)}, ppl)
        assert ours == pytest.approx(run("hf", {**hf_args, "add_bos_token": False}, ppl), rel=1e-5)
        assert ours["bits_per_byte,none"] > 0

"""Generation: greedy, sampling, stops, and batches of prompts of different lengths."""

import pytest
import torch

from glassworks.model.generation import SamplingConfig, generate, sample


@torch.no_grad()
def _greedy_by_recompute(model, prompt: list[int], n: int) -> list[int]:
    tokens = list(prompt)
    for _ in range(n):
        tokens.append(int(model(torch.tensor([tokens]))[0, -1].argmax()))
    return tokens[len(prompt):]


PROMPTS = [[5, 17, 9], list(range(40, 80)), [200]]


def test_greedy_equals_argmax_of_full_recompute_past_the_window(small_model):
    out = generate(small_model, PROMPTS, SamplingConfig(max_new_tokens=30))
    assert [c.finish_reason for c in out] == ["length"] * 3
    for prompt, completion in zip(PROMPTS, out):
        assert completion.tokens == _greedy_by_recompute(small_model, prompt, 30)


def test_a_prompt_continues_the_same_alone_or_in_a_batch(small_model):
    config = SamplingConfig(max_new_tokens=12, prefill_chunk=8)
    batched = generate(small_model, PROMPTS, config)
    for i, prompt in enumerate(PROMPTS):
        assert generate(small_model, [prompt], config)[0].tokens == batched[i].tokens


def test_sampling_is_seeded_and_top_p_narrows_to_greedy(small_model):
    hot = SamplingConfig(max_new_tokens=20, temperature=1.5, seed=3)
    first, again = generate(small_model, PROMPTS, hot), generate(small_model, PROMPTS, hot)
    assert [c.tokens for c in first] == [c.tokens for c in again]
    other = generate(small_model, PROMPTS, SamplingConfig(max_new_tokens=20, temperature=1.5, seed=4))
    assert [c.tokens for c in first] != [c.tokens for c in other]
    greedy = generate(small_model, PROMPTS, SamplingConfig(max_new_tokens=20))
    nucleus = generate(small_model, PROMPTS, SamplingConfig(max_new_tokens=20, temperature=1.0, top_p=1e-6))
    assert [c.tokens for c in nucleus] == [c.tokens for c in greedy]


def test_top_p_keeps_the_smallest_set_reaching_p():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    g = torch.Generator().manual_seed(0)
    drawn = {int(sample(logits, 1.0, 0.7, g)) for _ in range(300)}
    assert drawn == {0, 1}  # 0.5 < 0.7 needs the second token; 0.8 >= 0.7 stops there


def test_eos_and_stop_strings_end_rows(small_model):
    greedy = generate(small_model, PROMPTS, SamplingConfig(max_new_tokens=10))
    eos = greedy[0].tokens[3]
    out = generate(small_model, PROMPTS[:1], SamplingConfig(max_new_tokens=10, eos_id=eos))
    assert out[0].finish_reason == "eos" and out[0].tokens == greedy[0].tokens[:greedy[0].tokens.index(eos)]

    def decode(ids):
        return " ".join(f"t{i}" for i in ids)

    target = greedy[1].tokens[4]
    stop = f"t{target}"
    out = generate(small_model, PROMPTS, SamplingConfig(max_new_tokens=10, stop=(stop,)), decode=decode)
    assert out[1].finish_reason == "stop"
    assert out[1].tokens == greedy[1].tokens[:greedy[1].tokens.index(target) + 1]
    assert stop not in out[1].text and decode(out[1].tokens).startswith(out[1].text)
    assert out[2].text == decode(out[2].tokens) or out[2].finish_reason == "stop"


def test_bad_requests_are_refused(small_model):
    with pytest.raises(ValueError, match="at least one token"):
        generate(small_model, [[1], []])
    with pytest.raises(ValueError, match="decode function"):
        generate(small_model, [[1]], SamplingConfig(stop=("x",)))
    assert generate(small_model, []) == []

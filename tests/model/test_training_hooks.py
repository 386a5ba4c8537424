"""What the trainer builds on: reproducible init, decay groups, activation checkpointing, bf16."""

import torch

from glassworks.model.transformer import build


def test_init_is_reproducible_and_scaled_for_depth(small_config):
    a, b = build(small_config, seed=11), build(small_config, seed=11)
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name
    assert not torch.equal(a.output.weight, build(small_config, seed=12).output.weight)
    wq, wo = a.layers[0].attention.wq.weight, a.layers[0].attention.wo.weight
    assert abs(wq.std().item() - 0.02) < 0.002
    assert abs(wo.std().item() - 0.02 / (2 * small_config.n_layers) ** 0.5) < 0.002
    assert torch.equal(a.norm.weight, torch.ones_like(a.norm.weight))


def test_param_groups_decay_matrices_only(small_model):
    decay, no_decay = small_model.param_groups(0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.ndim == 2 for p in decay["params"])
    assert any(p is small_model.output.weight for p in decay["params"])
    assert any(p is small_model.tok_embeddings.weight for p in no_decay["params"])
    assert sum(p.numel() for g in (decay, no_decay) for p in g["params"]) == small_model.num_parameters()
    torch.optim.AdamW([decay, no_decay], lr=1e-3)  # the groups are what AdamW takes


def test_activation_checkpointing_gives_the_same_gradients(small_model, tokens):
    small_model.train()
    grads = []
    for flag in (False, True):
        small_model.zero_grad()
        small_model.activation_checkpointing = flag
        logits = small_model(tokens[:, :-1])
        torch.nn.functional.cross_entropy(logits.flatten(0, 1), tokens[:, 1:].flatten()).backward()
        grads.append([p.grad.clone() for p in small_model.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


def test_a_few_steps_lower_the_loss(small_model, tokens):
    small_model.train()
    optimizer = torch.optim.AdamW(small_model.param_groups(0.1), lr=3e-3)
    losses = []
    for _ in range(8):
        logits = small_model(tokens[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), tokens[:, 1:].flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.5


def test_bf16_forward_keeps_the_norm_in_fp32(small_model, tokens):
    with torch.no_grad():
        reference = small_model(tokens).float()
        small_model.to(torch.bfloat16)
        low = small_model(tokens)
    assert low.dtype == torch.bfloat16
    assert (low.float() - reference).abs().max() < 0.1

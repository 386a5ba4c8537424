"""Hugging Face export/import: transformers' MistralForCausalLM computes our logits exactly."""

import json
import subprocess
import sys

import pytest
import torch

from glassworks.cli import main
from glassworks.errors import GlassworksError
from glassworks.model.checkpoint import load, save_checkpoint
from glassworks.model.hf import export_hf, import_hf
from glassworks.provenance.verify import verify_run

transformers = pytest.importorskip("transformers")


def _hf_logits(folder, tokens):
    model = transformers.AutoModelForCausalLM.from_pretrained(folder)
    assert type(model).__name__ == "MistralForCausalLM"
    with torch.no_grad():
        return model(tokens).logits, model


def test_exported_model_gives_our_logits_beyond_the_window(small_model, tokens, tmp_path, tokenizer_dir):
    assert tokens.shape[1] > 6 * small_model.config.window
    ckpt = save_checkpoint(small_model, tmp_path / "ckpt", tokenizer_dir=tokenizer_dir)
    export_hf(ckpt, tmp_path / "hf")
    theirs, hf_model = _hf_logits(tmp_path / "hf", tokens)
    with torch.no_grad():
        ours = small_model(tokens)
    torch.testing.assert_close(theirs, ours, atol=1e-4, rtol=0)
    assert hf_model.config.sliding_window == 16 and hf_model.config.num_key_value_heads == 2
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert (config["bos_token_id"], config["eos_token_id"], config["pad_token_id"]) == (1, 2, None)
    assert (tmp_path / "hf" / "tokenizer.model").read_bytes() == (tokenizer_dir / "tokenizer.model").read_bytes()


def test_greedy_generation_agrees_with_transformers_generate(small_model, tmp_path):
    from glassworks.model.generation import SamplingConfig, generate

    export_hf(save_checkpoint(small_model, tmp_path / "ckpt"), tmp_path / "hf")
    hf_model = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "hf")
    prompt = list(range(30, 42))
    ours = generate(small_model, [prompt], SamplingConfig(max_new_tokens=24))[0].tokens
    theirs = hf_model.generate(torch.tensor([prompt]), max_new_tokens=24, do_sample=False, eos_token_id=None,
                               pad_token_id=0)
    assert ours == theirs[0, len(prompt):].tolist()


def test_sharded_export_loads_the_same(small_model, tokens, tmp_path):
    ckpt = save_checkpoint(small_model, tmp_path / "ckpt")
    export_hf(ckpt, tmp_path / "hf", max_shard_bytes=100_000)
    files = sorted(p.name for p in (tmp_path / "hf").glob("*.safetensors"))
    assert len(files) > 2 and files[0] == f"model-00001-of-{len(files):05d}.safetensors"
    theirs, _ = _hf_logits(tmp_path / "hf", tokens)
    with torch.no_grad():
        torch.testing.assert_close(theirs, small_model(tokens), atol=1e-4, rtol=0)


def test_export_refuses_to_replace_a_foreign_folder_but_re_exports(small_model, tmp_path):
    ckpt = save_checkpoint(small_model, tmp_path / "ckpt")
    export_hf(ckpt, tmp_path / "hf")
    export_hf(ckpt, tmp_path / "hf")  # over its own earlier export: fine
    with pytest.raises(GlassworksError, match="exists and is not a Hugging Face export"):
        export_hf(ckpt, tmp_path / "ckpt")
    assert load(ckpt) is not None


def test_bf16_export_loads_in_bf16(small_model, tokens, tmp_path):
    ckpt = save_checkpoint(small_model.to(torch.bfloat16), tmp_path / "ckpt")
    export_hf(ckpt, tmp_path / "hf")
    assert json.loads((tmp_path / "hf" / "config.json").read_text())["dtype"] == "bfloat16"
    theirs = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "hf", dtype="auto")
    assert theirs.dtype == torch.bfloat16
    with torch.no_grad():
        torch.testing.assert_close(theirs(tokens).logits, small_model(tokens), atol=2e-2, rtol=2e-2)


def test_export_does_not_need_transformers(small_model, tmp_path):
    ckpt = save_checkpoint(small_model, tmp_path / "ckpt")
    code = ("import sys; from glassworks.model.hf import export_hf; export_hf(sys.argv[1], sys.argv[2]);"
            "print('transformers' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(ckpt), str(tmp_path / "hf")], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_import_of_a_transformers_model_gives_its_logits(tokens, tmp_path):
    config = transformers.MistralConfig(vocab_size=256, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                        num_attention_heads=8, num_key_value_heads=2, head_dim=8,
                                        sliding_window=12, rope_parameters={"rope_type": "default",
                                                                            "rope_theta": 5000.0})
    torch.manual_seed(0)
    hf_model = transformers.MistralForCausalLM(config).eval()
    hf_model.save_pretrained(tmp_path / "theirs")
    import_hf(tmp_path / "theirs", tmp_path / "ckpt")
    ours = load(tmp_path / "ckpt")
    assert ours.config.window == 12 and ours.config.rope_theta == 5000.0 and ours.config.n_kv_heads == 2
    with torch.no_grad():
        torch.testing.assert_close(ours(tokens), hf_model(tokens).logits, atol=1e-4, rtol=0)


def test_import_unties_a_tied_llama(tokens, tmp_path):
    config = transformers.LlamaConfig(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                      num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True)
    torch.manual_seed(0)
    hf_model = transformers.LlamaForCausalLM(config).eval()
    hf_model.save_pretrained(tmp_path / "theirs")
    import_hf(tmp_path / "theirs", tmp_path / "ckpt")
    ours = load(tmp_path / "ckpt")
    assert ours.config.window is None
    assert torch.equal(ours.output.weight, ours.tok_embeddings.weight)
    assert ours.output.weight.data_ptr() != ours.tok_embeddings.weight.data_ptr()
    with torch.no_grad():
        torch.testing.assert_close(ours(tokens), hf_model(tokens).logits, atol=1e-4, rtol=0)


def test_export_then_import_is_the_identity(small_model, tmp_path):
    export_hf(save_checkpoint(small_model, tmp_path / "ckpt"), tmp_path / "hf")
    import_hf(tmp_path / "hf", tmp_path / "back")
    back = load(tmp_path / "back")
    assert back.config == small_model.config
    for (name, a), (_, b) in zip(small_model.state_dict().items(), back.state_dict().items()):
        assert torch.equal(a, b), name


def test_unsupported_models_are_refused_by_name(tmp_path):
    folder = tmp_path / "hf"
    folder.mkdir()
    base = {"model_type": "mistral", "vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1,
            "num_attention_heads": 2, "intermediate_size": 16}
    for extra, message in (({"model_type": "gpt2"}, "model_type 'gpt2'"),
                           ({"rope_parameters": {"rope_type": "yarn", "factor": 4}}, "rope type 'yarn'"),
                           ({"attention_bias": True}, "attention_bias=True"),
                           ({"hidden_size": None}, "key 'hidden_size' is missing")):
        data = {**base, **extra}
        data = {k: v for k, v in data.items() if v is not None}
        (folder / "config.json").write_text(json.dumps(data))
        with pytest.raises(GlassworksError, match=message):
            import_hf(folder, tmp_path / "ckpt")


def test_cli_export_records_a_stage_linked_to_the_checkpoint(small_model, tokens, tmp_path, tokenizer_dir, capsys):
    run = tmp_path / "run"
    ckpt = save_checkpoint(small_model, run / "checkpoints" / "final", tokenizer_dir=tokenizer_dir, run_dir=run)
    assert main(["export", "hf", str(ckpt), str(run / "hf"), "--run-dir", str(run)]) == 0
    assert "MistralForCausalLM" in capsys.readouterr().out
    manifests = {json.loads(p.read_text())["stage"]["name"]: json.loads(p.read_text())
                 for p in (run / "manifests").glob("*.json")}
    assert manifests["export_hf"]["upstream"] == [manifests["checkpoint"]["id"]]
    assert verify_run(run, roots={"tokenizer": tokenizer_dir}).ok
    theirs, _ = _hf_logits(run / "hf", tokens)
    with torch.no_grad():
        torch.testing.assert_close(theirs, small_model(tokens), atol=1e-4, rtol=0)


def test_cli_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["export", "hf", str(tmp_path / "empty"), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "config.json: config not found" in err[0]
    assert main(["export", "hf", str(tmp_path / "nope"), str(tmp_path / "out")]) == 2

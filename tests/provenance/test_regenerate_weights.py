"""Weights compared bit for bit: a safetensors file whose header alone differs holds the same
model; one changed bit in one tensor is named."""

from pathlib import Path

import torch
from safetensors.torch import save_file

from glassworks.provenance.hashing import sha256_file
from glassworks.provenance.regenerate_train import Released, compare_checkpoint, tensor_difference


def weights() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {"tok_embeddings.weight": torch.randn(8, 4, generator=generator),
            "norm.weight": torch.ones(4), "layers.0.attention.wq.weight": torch.randn(4, 4, generator=generator)}


def checkpoint(root: Path, tensors: dict, metadata: dict) -> Path:
    folder = root / "checkpoints" / "final"
    folder.mkdir(parents=True)
    save_file(tensors, str(folder / "model.safetensors"), metadata=metadata)
    return folder / "model.safetensors"


def test_a_header_that_differs_alone_is_the_same_model(tmp_path):
    shipped = checkpoint(tmp_path / "bundle", weights(), {"format": "pt"})
    again = checkpoint(tmp_path / "run", weights(), {"format": "pt", "written_by": "another safetensors"})
    assert sha256_file(shipped) != sha256_file(again) and tensor_difference(shipped, again) is None
    released = Released("final", 3, "train.phase1", {"checkpoints/final/model.safetensors": sha256_file(shipped)})
    problems, notes, matched = compare_checkpoint(released, tmp_path / "run", tmp_path / "bundle", {})
    assert (problems, matched) == ([], 1)
    assert notes[0][1].startswith("same tensors bit for bit; the file bytes differ in the header (metadata ")


def test_one_flipped_bit_in_one_tensor_is_named(tmp_path):
    changed = weights()
    bits = changed["layers.0.attention.wq.weight"].view(torch.int32)
    bits[2, 1] ^= 1  # the lowest mantissa bit of one weight
    shipped = checkpoint(tmp_path / "bundle", weights(), {"format": "pt"})
    checkpoint(tmp_path / "run", changed, {"format": "pt"})
    released = Released("final", 3, "train.phase1", {"checkpoints/final/model.safetensors": sha256_file(shipped)})
    problems, notes, matched = compare_checkpoint(released, tmp_path / "run", tmp_path / "bundle", {})
    assert matched == 0 and not notes
    file, what = problems[0]
    assert file == "checkpoints/final/model.safetensors"
    assert what.startswith("sha256 differs from the record: tensor layers.0.attention.wq.weight differs (largest difference")
    # not shipped: only the hash can speak
    (tmp_path / "bundle" / file).unlink()
    problems, _, _ = compare_checkpoint(released, tmp_path / "run", tmp_path / "bundle", {})
    assert problems == [(file, "sha256 differs from the record (not shipped, so its tensors cannot be compared)")]

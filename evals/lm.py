"""The lm-eval model ``glassworks``: a glassworks checkpoint behind lm-eval's ``TemplateLM``.

    lm_eval.simple_evaluate(model="glassworks", model_args="checkpoint=DIR,batch_size=8", ...)

It scores exactly as lm-eval's ``hf`` model scores the Hugging Face export of the same
checkpoint (tested on all three request types):

- ``loglikelihood``: lm-eval's ``TemplateLM`` encodes the pair (trailing spaces of the
  context move to the continuation, the whole string is encoded and the continuation is
  what follows the context's tokens). The context starts with ``<s>`` as the exported HF
  tokenizer adds it; an empty context is ``<s>`` alone. Requests run longest first in
  right-padded batches, truncated on the left to ``max_length + 1`` tokens.
- ``loglikelihood_rolling``: the text without ``<s>``, cut into disjoint windows of
  ``max_length`` predicted tokens (``<s>`` conditions the first, the last token of the
  previous window each next one), summed. ``hf`` with a tokenizer that adds ``<s>`` also
  scores ``<s>`` given ``<s>``; ``hf`` with ``add_bos_token=False`` scores what this does.
- ``generate_until``: greedy (or sampled when the task asks for ``do_sample``) decoding
  with the rolling KV cache of ``glassworks.model.generation``, ending at ``</s>``, at any
  ``until`` string (cut before it) or after ``max_gen_toks`` tokens; the context is cut on
  the left to ``max_length - max_gen_toks`` tokens.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F
from lm_eval import utils
from lm_eval.api.model import TemplateLM
from lm_eval.models.utils import Collator
from tqdm import tqdm

from glassworks.errors import GlassworksError

logger = logging.getLogger(__name__)

MODEL_NAME = "glassworks"


class GlassworksLM(TemplateLM):
    """A glassworks checkpoint directory (weights, config, tokenizer) as an lm-eval model."""

    backend = "causal"

    def __init__(self, checkpoint: str | Path, batch_size: int | str = 8, max_batch_size: int | None = None,
                 device: str | None = None, dtype: str | None = None, max_length: int | None = None,
                 max_gen_toks: int = 256, add_bos_token: bool = True, **unused):
        super().__init__()
        if unused:
            raise GlassworksError(f"model 'glassworks': unknown model_args {sorted(unused)} (known: checkpoint, "
                                  "batch_size, device, dtype, max_length, max_gen_toks, add_bos_token)")
        from glassworks.model import load, read_config
        from glassworks.pipeline.tokens.tokenizer import Tokenizer

        self.checkpoint = Path(checkpoint)
        tokenizer_dir = self.checkpoint / "tokenizer"
        if not tokenizer_dir.is_dir():
            raise GlassworksError(f"{self.checkpoint}: the checkpoint holds no tokenizer/ directory")
        self.tok = Tokenizer.load(tokenizer_dir)
        self.config = read_config(self.checkpoint)
        torch_dtype = getattr(torch, dtype) if isinstance(dtype, str) and dtype not in ("auto", "") else None
        self.model = load(self.checkpoint, device=device, dtype=torch_dtype)
        self._device = self.model.output.weight.device
        self._batch_size = int(batch_size) if str(batch_size).isdigit() else 8  # "auto" -> a fixed size on CPU
        self._max_length = int(max_length) if max_length else self.config.max_seq_len
        self._max_gen_toks = int(max_gen_toks)
        self.add_bos_token = _as_bool(add_bos_token)
        self._warned = False
        self._special = {self.tok.unk_id, self.tok.bos_id, self.tok.eos_id}

    # --- what TemplateLM asks for -----------------------------------------------------------

    @property
    def eot_token_id(self) -> int:
        return self.tok.eos_id

    @property
    def prefix_token_id(self) -> int:
        return self.tok.bos_id

    @property
    def max_length(self) -> int:
        return self._max_length

    @property
    def max_gen_toks(self) -> int:
        return self._max_gen_toks

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def tokenizer_name(self) -> str:
        return str(self.checkpoint / "tokenizer")

    def tok_encode(self, string: str, add_special_tokens: bool | None = None, **kwargs) -> list[int]:
        bos = self.add_bos_token if add_special_tokens is None else add_special_tokens
        return self.tok.encode(string, bos=bos)

    def tok_decode(self, tokens, skip_special_tokens: bool = True, **kwargs) -> str:
        """Text of ``tokens``; like the ``hf`` model's, without <unk>, <s> and </s> by default."""
        if skip_special_tokens:
            tokens = [t for t in tokens if t not in self._special]
        return self.tok.decode(tokens)

    # --- scoring ----------------------------------------------------------------------------

    @torch.no_grad()
    def _loglikelihood_tokens(self, requests, disable_tqdm: bool = False, override_bs: int | None = None):
        """(sum of log p(continuation | context), whether greedy decoding gives it) per request."""
        collator = Collator(requests, sort_fn=lambda r: (-len(r[1] + r[2]), tuple(r[1] + r[2])))
        out = []
        bar = tqdm(total=len(requests), disable=disable_tqdm or self.rank != 0, desc="glassworks loglikelihood")
        for chunk in collator.get_batched(n=override_bs or self.batch_size):
            rows, spans = [], []
            for _, context, continuation in chunk:
                if not context or not continuation:
                    raise ValueError("a loglikelihood request needs a non-empty context and continuation")
                whole = (context + continuation)[-(self.max_length + 1):]
                rows.append(whole[:-1])  # the input; the target of position i is whole[i + 1]
                if len(continuation) > len(whole) - 1 and not self._warned:
                    logger.warning("a continuation is longer than the context window (%d tokens); only its last "
                                   "%d tokens are scored", self.max_length, self.max_length)
                    self._warned = True
                spans.append(min(len(continuation), len(whole) - 1))
            width = max(map(len, rows))
            batch = torch.zeros(len(rows), width, dtype=torch.long, device=self.device)
            for i, row in enumerate(rows):
                batch[i, : len(row)] = torch.as_tensor(row, dtype=torch.long)
            logits = self.model(batch)  # (B, S, vocab)
            for i, ((key, context, continuation), row, n) in enumerate(zip(chunk, rows, spans)):
                # (n, vocab): the predictions of the continuation's tokens, normalised in fp32
                picked = F.log_softmax(logits[i, len(row) - n: len(row)].float(), dim=-1)
                target = torch.as_tensor(continuation[-n:], dtype=torch.long, device=self.device)
                greedy = bool((picked.argmax(-1) == target).all())
                answer = (float(picked.gather(-1, target[:, None]).sum()), greedy)
                if key is not None and key[0] is not None:
                    self.cache_hook.add_partial("loglikelihood", key, answer)
                out.append(answer)
                bar.update(1)
        bar.close()
        return collator.get_original(out)

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False) -> list[float]:
        """Log-likelihood of whole texts, window by disjoint window (perplexity tasks)."""
        windows, owners = [], []
        for index, (string,) in enumerate(req.args for req in requests):
            tokens = self.tok_encode(string, add_special_tokens=False)
            for context, continuation in map(utils.make_disjoint_window, utils.get_rolling_token_windows(
                    token_list=tokens, prefix_token=self.prefix_token_id, max_seq_len=self.max_length,
                    context_len=1)):
                windows.append(((None,), context, continuation))
                owners.append(index)
        scores = self._loglikelihood_tokens(windows, disable_tqdm=disable_tqdm) if windows else []
        totals = [0.0] * len(requests)
        for index, (logprob, _) in zip(owners, scores):
            totals[index] += logprob
        for req, total in zip(requests, totals):
            self.cache_hook.add_partial("loglikelihood_rolling", req.args, total)
        return totals

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        """Continuations of each context, cut before the first ``until`` string."""
        from glassworks.model import generate

        collator = Collator([req.args for req in requests], sort_fn=lambda a: (-len(self.tok_encode(a[0])), a[0]),
                            group_by="gen_kwargs", group_fn=lambda a: a[1])
        out = []
        bar = tqdm(total=len(requests), disable=disable_tqdm or self.rank != 0, desc="glassworks generate_until")
        for chunk in collator.get_batched(n=self.batch_size):
            contexts, kwargs = zip(*chunk)
            sampling = self._sampling(dict(kwargs[0]))
            room = max(1, self.max_length - sampling.max_new_tokens)
            prompts = [self.tok_encode(c)[-room:] or [self.prefix_token_id] for c in contexts]
            for context, completion in zip(contexts, generate(self.model, prompts, sampling, decode=self.tok_decode)):
                text = completion.text or ""
                self.cache_hook.add_partial("generate_until", (context, kwargs[0]), text)
                out.append(text)
                bar.update(1)
        bar.close()
        return collator.get_original(out)

    def _sampling(self, kwargs: dict):
        from glassworks.model import SamplingConfig

        until = kwargs.pop("until", None) or []
        until = [until] if isinstance(until, str) else list(until)
        max_new = int(kwargs.pop("max_gen_toks", self.max_gen_toks))
        do_sample = bool(kwargs.pop("do_sample", False))
        temperature = float(kwargs.pop("temperature", 0.0) or 0.0) if do_sample else 0.0
        top_p = float(kwargs.pop("top_p", 1.0) or 1.0) if do_sample else 1.0
        config = SamplingConfig(max_new_tokens=max_new, temperature=temperature, top_p=top_p,
                                seed=int(kwargs.pop("seed", 0) or 0), stop=tuple(s for s in until if s),
                                eos_id=self.eot_token_id)
        return config

    def get_model_info(self) -> dict:
        from glassworks.model import parameter_count

        return {"model_num_parameters": parameter_count(self.config), "model_dtype": str(self.model.output.weight.dtype),
                "model_revision": self.checkpoint.name, "model_sha": ""}


def _as_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)

"""Export a tiny-GPT checkpoint as a standard transformers causal LM: ``python -m toy.export RUN_DIR [--out DIR]``.

`toy.gpt.TinyGPT` is GPT-2's architecture (Radford et al. 2019; transformers' ``GPT2LMHeadModel``): learned absolute
positions, pre-LayerNorm blocks (eps 1e-5), fused q/k/v projection, attention scaled by 1/√head_dim, exact (erf)
GELU MLP, final LayerNorm.  Two choices map it exactly: ``tie_word_embeddings=False`` (the suite's head is its own
matrix) and ``activation_function='gelu'`` (transformers' ``ACT2FN['gelu']`` is ``nn.functional.gelu``, the erf form;
GPT-2's own default ``'gelu_new'`` is the tanh approximation).  Every ``*pdrop`` is 0 (the suite has no dropout) and
``n_positions`` is the model's ``max_len``, the task's sequence length.  GPT-2 writes its projections as ``Conv1D``,
y = x W + b with W of shape (in, out): the transpose of ``nn.Linear``'s (out, in) weight.

The directory written holds what ``AutoModelForCausalLM.from_pretrained(DIR)`` and
``AutoTokenizer.from_pretrained(DIR)`` load, plus ``suite_export.json``, which states what a plain causal LM cannot:
the suite's policy is the softmax over the three response tokens {0, 1, <eos>} only (toy/sampling.py
``response_log_softmax``; "=" and <pad> are never emitted), the task (d, leap, prompt and response lengths, the token
layout ``x_1 .. x_d = r_1 .. r_L``), how an answer is read (toy/parity.py ``read_responses``) and the source run.
The exported generation config suppresses "=" and <pad>, so ``generate`` samples the suite's policy.  The tokenizer is
a word-level ``PreTrainedTokenizerFast`` over the suite's five tokens, split on whitespace: ``"1 0 1 = 1 1 0 <eos>"``
(toy/parity.py ``decode``) encodes to the suite's ids.

`tiny_gpt_from_gpt2` is the inverse mapping (a trained transformers model back into a TinyGPT, for the suite's own
evaluation; toy/trl_arm.py).  The autoregressive linear model (toy/linear_ar.py) is refused: it is not a
transformer.  transformers is an optional dependency: ``pip install -e '.[export]'``.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import asdict
from pathlib import Path

import torch

from core.runio import CHECKPOINT, atomic_write_json
from toy.config import GPTConfig, TaskConfig
from toy.gpt import TinyGPT
from toy.models import build_model, load_checkpoint
from toy.parity import EOS, PAD, RESPONSE_TOKENS, SEP, TOKEN_NAMES, VOCAB_SIZE, ParityLayout

EXPORT_INFO = "suite_export.json"
EXPORT_FORMAT = 1
MISSING_TRANSFORMERS = "exporting needs transformers: pip install -e '.[export]'"

# TinyGPT parameter name -> GPT2LMHeadModel parameter name (anchored regex rewrites, first match wins).
_RENAMES = (
    (r"^token_embedding\.", "transformer.wte."),
    (r"^position_embedding\.", "transformer.wpe."),
    (r"^blocks\.(\d+)\.ln_attn\.", r"transformer.h.\1.ln_1."),
    (r"^blocks\.(\d+)\.attn\.qkv\.", r"transformer.h.\1.attn.c_attn."),
    (r"^blocks\.(\d+)\.attn\.proj\.", r"transformer.h.\1.attn.c_proj."),
    (r"^blocks\.(\d+)\.ln_mlp\.", r"transformer.h.\1.ln_2."),
    (r"^blocks\.(\d+)\.mlp\.0\.", r"transformer.h.\1.mlp.c_fc."),
    (r"^blocks\.(\d+)\.mlp\.2\.", r"transformer.h.\1.mlp.c_proj."),
    (r"^ln_final\.", "transformer.ln_f."),
    (r"^head\.", "lm_head."),
)
_CONV1D_WEIGHT = re.compile(r"\.(c_attn|c_proj|c_fc)\.weight$")  # stored (in, out): nn.Linear's weight transposed


def gpt2_name(name: str) -> str:
    """The GPT2LMHeadModel parameter holding TinyGPT's parameter ``name``."""
    for pattern, replacement in _RENAMES:
        renamed, hits = re.subn(pattern, replacement, name)
        if hits:
            return renamed
    raise KeyError(f"no GPT-2 counterpart for the TinyGPT parameter {name!r}")


def gpt2_layout(gpt2_key: str, tensor: torch.Tensor) -> torch.Tensor:
    """A copy of ``tensor`` in the other model's layout: Conv1D weights are the transposes of nn.Linear's (the
    transpose is its own inverse, so this maps both ways); everything else is the same."""
    return tensor.t().contiguous() if _CONV1D_WEIGHT.search(gpt2_key) else tensor.clone()


def require_transformers():
    """The transformers module, or an ImportError that says how to install it."""
    try:
        import transformers
    except ImportError as exc:
        raise ImportError(f"{MISSING_TRANSFORMERS} ({exc})") from exc
    return transformers


def gpt2_config(model: TinyGPT):
    """The GPT2Config of the module docstring for ``model``."""
    transformers = require_transformers()
    return transformers.GPT2Config(
        vocab_size=VOCAB_SIZE, n_positions=model.max_len, n_embd=model.width, n_layer=model.layers,
        n_head=model.heads, n_inner=model.blocks[0].mlp[0].out_features, activation_function="gelu",
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, summary_first_dropout=0.0,
        layer_norm_epsilon=model.ln_final.eps, scale_attn_weights=True, scale_attn_by_inverse_layer_idx=False,
        reorder_and_upcast_attn=False, tie_word_embeddings=False, bos_token_id=None, eos_token_id=EOS,
        pad_token_id=PAD, architectures=["GPT2LMHeadModel"])


def to_gpt2(model: TinyGPT, layout: ParityLayout):
    """A GPT2LMHeadModel (eval mode) computing the same logits as ``model``, whose generation config samples the
    suite's policy over a response of ``layout``."""
    transformers = require_transformers()
    gpt2 = transformers.GPT2LMHeadModel(gpt2_config(model))
    gpt2.load_state_dict({gpt2_name(name): gpt2_layout(gpt2_name(name), tensor)
                          for name, tensor in model.state_dict().items()}, strict=True)
    gpt2.generation_config = transformers.GenerationConfig(
        eos_token_id=EOS, pad_token_id=PAD, suppress_tokens=[SEP, PAD], max_new_tokens=layout.max_response_len)
    return gpt2.eval()


def tiny_gpt_from_gpt2(gpt2, layout: ParityLayout) -> TinyGPT:
    """The inverse of `to_gpt2`: a TinyGPT with ``gpt2``'s weights (parameters GPT-2 has beyond the mapped ones, such
    as the response mask of toy/trl_arm.py, are not read)."""
    config = gpt2.config
    model_cfg = GPTConfig(layers=config.n_layer, width=config.n_embd, heads=config.n_head,
                          mlp_ratio=(config.n_inner or 4 * config.n_embd) // config.n_embd)
    with torch.random.fork_rng(devices=[]):  # the throw-away init must not move the caller's random stream
        model = build_model(model_cfg, layout)
    gpt2_state = gpt2.state_dict()
    model.load_state_dict({name: gpt2_layout(gpt2_name(name), gpt2_state[gpt2_name(name)].detach())
                           for name in model.state_dict()})
    return model


def suite_tokenizer(seq_len: int):
    """A word-level fast tokenizer over the suite's vocabulary (ids = toy/parity.py's), whitespace-split."""
    transformers = require_transformers()
    from tokenizers import Tokenizer, models, pre_tokenizers

    backend = Tokenizer(models.WordLevel({name: index for index, name in enumerate(TOKEN_NAMES)}))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token=TOKEN_NAMES[EOS], pad_token=TOKEN_NAMES[PAD],
        model_max_length=seq_len, padding_side="left")


def export_info(task: TaskConfig, source: Path, step: int, model_cfg: dict) -> dict:
    """The suite_export.json of the module docstring."""
    layout = ParityLayout(task.d, task.leap)
    return {
        "format": EXPORT_FORMAT,
        "architecture": "GPT2LMHeadModel",
        "transformers_version": require_transformers().__version__,
        "source": {"checkpoint": str(source.resolve()), "step": step, "model": model_cfg},
        "task": {**asdict(task), "prompt_len": layout.prompt_len, "max_response_len": layout.max_response_len,
                 "seq_len": layout.seq_len, "layout": "x_1 .. x_d = r_1 .. r_L (prompt: the d bits and '=')"},
        "vocabulary": {name: index for index, name in enumerate(TOKEN_NAMES)},
        "response_tokens": list(RESPONSE_TOKENS),
        "response_token_mask": [index in RESPONSE_TOKENS for index in range(VOCAB_SIZE)],
        "policy": "softmax over logits[..., response_tokens] / temperature (toy/sampling.py response_log_softmax); "
                  "'=' and <pad> are never emitted",
        "answer": "the token before the first <eos> of the response; no <eos> within max_response_len tokens, an "
                  "empty response or a non-bit token before <eos> is malformed and wrong (toy/parity.py "
                  "read_responses): read token ids, not decoded text, which drops <eos>",
    }


def export(run_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """Write the exported model, tokenizer and suite_export.json of ``run_dir`` (a run directory or its
    checkpoint.pt) into ``out_dir`` (default: ``hf/`` next to the checkpoint); returns ``out_dir``."""
    source = Path(run_dir)
    checkpoint = source / CHECKPOINT if source.is_dir() else source
    if not checkpoint.is_file():
        raise FileNotFoundError(f"toy.export: no checkpoint at {checkpoint} (give a finished run directory or its "
                                f"{CHECKPOINT})")
    require_transformers()
    model, task, blob = load_checkpoint(checkpoint)
    if not isinstance(model, TinyGPT):
        raise ValueError(f"toy.export: {checkpoint} holds model '{blob['model']['name']}', the autoregressive "
                         "linear model (toy/linear_ar.py): a separate weight matrix per response position over fixed "
                         "features of the prompt bits, not a transformer, so no transformers causal-LM architecture "
                         "computes it; only model=gpt checkpoints export")
    out = Path(out_dir) if out_dir is not None else checkpoint.parent / "hf"
    out.mkdir(parents=True, exist_ok=True)
    to_gpt2(model, ParityLayout(task.d, task.leap)).save_pretrained(out)
    suite_tokenizer(model.max_len).save_pretrained(out)
    atomic_write_json(out / EXPORT_INFO, export_info(task, checkpoint, blob["step"], blob["model"]))
    return out


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m toy.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", help="a finished run directory of toy.train / toy.post_train, or its checkpoint.pt")
    parser.add_argument("--out", default=None, help="output directory (default: hf/ next to the checkpoint)")
    args = parser.parse_args(argv)
    try:
        out = export(args.run_dir, args.out)
    except (ImportError, FileNotFoundError, ValueError) as exc:
        raise SystemExit(str(exc)) from exc
    print(f"[{out}] GPT2LMHeadModel + tokenizer + {EXPORT_INFO}: AutoModelForCausalLM.from_pretrained('{out}')")
    return out


if __name__ == "__main__":
    main()

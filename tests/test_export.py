"""toy/export.py: the exported GPT-2 computes the suite's logits, its tokenizer the suite's ids, and the inverse mapping
gives back the same TinyGPT; the linear model and a missing run are refused with a message."""

from __future__ import annotations

import json

import pytest
import torch

from toy.config import GPTConfig, LinearConfig, TaskConfig
from toy.export import EXPORT_INFO, export, main, tiny_gpt_from_gpt2, to_gpt2
from toy.models import build_model, save_checkpoint
from toy.parity import EOS, PAD, RESPONSE_TOKENS, SEP, VOCAB_SIZE, ParityLayout, decode, sample_batch
from toy.sampling import response_log_probs

transformers = pytest.importorskip("transformers", reason="pip install -e '.[export]'")

TASK = TaskConfig(d=6, p_cot=0.3)
LAYOUT = ParityLayout(TASK.d)
SMALL_GPT = GPTConfig(layers=2, width=32, heads=2, mlp_ratio=4)


def small_gpt(trained_looking: bool):
    """A TinyGPT at its random init, or with every parameter perturbed (non-zero biases, LayerNorm gains far from 1,
    large weights), so that a wrong transpose, name or bias in the mapping shows in the logits."""
    torch.manual_seed(3)
    model = build_model(SMALL_GPT, LAYOUT)
    if trained_looking:
        with torch.no_grad():
            for param in model.parameters():
                param.add_(0.3 * torch.randn_like(param))
    return model.eval()


@pytest.fixture(params=[False, True], ids=["init", "trained_looking"])
def exported(request, tmp_path):
    model = small_gpt(request.param)
    save_checkpoint(tmp_path / "run" / "checkpoint.pt", model, SMALL_GPT, TASK, step=7)
    out = export(tmp_path / "run", tmp_path / "hf")
    return model, transformers.AutoModelForCausalLM.from_pretrained(out).eval(), out


def test_reloaded_model_is_a_standard_gpt2_with_the_suites_logits(exported):
    model, gpt2, _ = exported
    assert type(gpt2).__name__ == "GPT2LMHeadModel"
    assert gpt2.dtype == torch.float32 and not gpt2.config.tie_word_embeddings
    assert gpt2.lm_head.weight.data_ptr() != gpt2.transformer.wte.weight.data_ptr()
    generator = torch.Generator().manual_seed(0)
    for length in (1, 5, LAYOUT.seq_len):
        tokens = torch.randint(0, VOCAB_SIZE, (16, length), generator=generator)
        with torch.no_grad():
            ours, theirs = model(tokens), gpt2(input_ids=tokens).logits
        assert ours.abs().max() > 1e-3  # not a vacuous comparison of zeros
        torch.testing.assert_close(theirs, ours, atol=1e-5, rtol=0)


def test_response_restricted_log_probs_agree(exported):
    """The suite's per-token log π(r_t | ·) over {0, 1, <eos>} against the same quantity computed by hand from the
    reloaded model's logits (softmax over the three response columns, picked at the sampled token)."""
    model, gpt2, _ = exported
    batch = sample_batch(LAYOUT, 0.5, 32, torch.Generator().manual_seed(1))
    prompts, responses = batch.tokens[:, :LAYOUT.prompt_len], batch.tokens[:, LAYOUT.prompt_len:]
    with torch.no_grad():
        ours = response_log_probs(model, prompts, responses)
        logits = gpt2(input_ids=batch.tokens[:, :-1]).logits[:, LAYOUT.prompt_len - 1:]
    columns = torch.tensor(RESPONSE_TOKENS)
    by_hand = torch.log_softmax(logits[..., columns], dim=-1)
    index = (responses[..., None] == columns).float().argmax(-1, keepdim=True)
    picked = torch.where(responses == PAD, 0.0, by_hand.gather(-1, index)[..., 0])
    torch.testing.assert_close(picked, ours, atol=1e-5, rtol=0)


def test_inverse_mapping_gives_back_the_same_weights():
    model = small_gpt(trained_looking=True)
    back = tiny_gpt_from_gpt2(to_gpt2(model, LAYOUT), LAYOUT)
    original, returned = model.state_dict(), back.state_dict()
    assert original.keys() == returned.keys()
    for name, tensor in original.items():
        assert torch.equal(returned[name], tensor), name


def test_tokenizer_round_trips_suite_sequences(exported, tmp_path):
    _, _, out = exported
    tokenizer = transformers.AutoTokenizer.from_pretrained(out)
    assert (tokenizer.eos_token_id, tokenizer.pad_token_id) == (EOS, PAD)
    batch = sample_batch(LAYOUT, 0.5, 8, torch.Generator().manual_seed(2))
    for row in batch.tokens:
        text = decode(row)  # e.g. "1 0 1 1 0 0 = 1 1 0 1 1 1 <eos>"
        ids = [int(t) for t in row if int(t) != PAD]
        assert tokenizer(text)["input_ids"] == ids
        assert tokenizer.decode(ids) == text
    tokenizer.save_pretrained(tmp_path / "again")
    again = transformers.AutoTokenizer.from_pretrained(tmp_path / "again")
    assert again("0 1 = 1 <eos> <pad>")["input_ids"] == [0, 1, SEP, 1, EOS, PAD]


def test_export_states_the_response_mask_task_and_source(exported):
    _, gpt2, out = exported
    info = json.loads((out / EXPORT_INFO).read_text())
    assert info["response_tokens"] == [0, 1, EOS]
    assert info["response_token_mask"] == [True, True, False, True, False]
    assert (info["task"]["d"], info["task"]["max_response_len"], info["task"]["seq_len"]) == (
        TASK.d, LAYOUT.max_response_len, LAYOUT.seq_len)
    assert info["source"]["step"] == 7 and info["source"]["checkpoint"].endswith("checkpoint.pt")
    assert gpt2.config.n_positions == LAYOUT.seq_len
    assert set(gpt2.generation_config.suppress_tokens) == {SEP, PAD}


def test_linear_model_is_refused_with_the_reason(tmp_path):
    linear_task = TaskConfig(d=4)
    model = build_model(LinearConfig(), ParityLayout(linear_task.d))
    save_checkpoint(tmp_path / "checkpoint.pt", model, LinearConfig(), linear_task, step=0)
    with pytest.raises(ValueError, match="linear model .* not a transformer"):
        export(tmp_path / "checkpoint.pt", tmp_path / "hf")
    assert not (tmp_path / "hf").exists()


def test_missing_run_dir_is_an_error_naming_it(tmp_path):
    missing = tmp_path / "no_such_run"
    with pytest.raises(FileNotFoundError, match="no checkpoint at .*no_such_run"):
        export(missing)
    with pytest.raises(SystemExit, match="no checkpoint at"):
        main([str(missing)])

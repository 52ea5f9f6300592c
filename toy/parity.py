"""The d-bit parity mixture of "How RL after next-token prediction facilitates learning" (Tsilivis et al. 2025, §2).

A sequence is ``x_1 .. x_d = response``.  With probability ``p_cot`` the response is *long*: the prefix
parities ``c_i = x_1 xor .. xor x_i`` then ``<eos>`` (``c_d`` is the answer).  Otherwise it is *short*: the
answer ``parity(x)`` then ``<eos>``.  Variant ``leap = k`` keeps only every k-th prefix parity (always ending
with ``c_d``), the paper's "leap-2" chain for k = 2; ``leap = 1`` is the full chain.

Token ids: ``0``, ``1``, ``=`` (2), ``<eos>`` (3), ``<pad>`` (4).  A batch is laid out as
``[x_1 .. x_d, =, r_1 .. r_L]`` with L = (chain length + 1), short responses padded.  Answer extraction
(docs/research/parity_cot_rl.md §1): the token right before the first ``<eos>`` of the response; a response
with no ``<eos>`` within L tokens, an empty response, or a non-bit token before ``<eos>`` is *malformed*
and counts as wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

ZERO, ONE, SEP, EOS, PAD = 0, 1, 2, 3, 4
VOCAB_SIZE = 5
TOKEN_NAMES = ("0", "1", "=", "<eos>", "<pad>")
RESPONSE_TOKENS = (ZERO, ONE, EOS)  # what a model may emit after "="


def chain_positions(d: int, leap: int) -> list[int]:
    """1-based indices i of the prefix parities c_i a long response emits: every leap-th, always ending in d."""
    if d < 1 or leap < 1:
        raise ValueError(f"chain_positions needs d >= 1 and leap >= 1, got d={d}, leap={leap}")
    return sorted(set(range(leap, d + 1, leap)) | {d})


@dataclass(frozen=True)
class ParityLayout:
    """Shapes of the task: where the prompt ends, how long a response may be."""

    d: int
    leap: int = 1

    @property
    def chain(self) -> list[int]:
        return chain_positions(self.d, self.leap)

    @property
    def prompt_len(self) -> int:
        """x_1..x_d and the separator."""
        return self.d + 1

    @property
    def max_response_len(self) -> int:
        """The long response plus <eos>: the generation budget L."""
        return len(self.chain) + 1

    @property
    def seq_len(self) -> int:
        return self.prompt_len + self.max_response_len


@dataclass
class ParityBatch:
    """A sampled batch: tokens (B, seq_len), the response-loss mask over next-token targets, labels."""

    tokens: torch.Tensor  # (B, seq_len) int64
    x: torch.Tensor  # (B, d) bits
    answer: torch.Tensor  # (B,) parity(x)
    is_long: torch.Tensor  # (B,) bool

    def inputs_targets_mask(self, layout: ParityLayout) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Teacher-forcing views: inputs tokens[:, :-1], targets tokens[:, 1:], mask = response targets incl. <eos>.

        Target index j predicts token j+1; response tokens start at index prompt_len, so the mask is
        ``j + 1 >= prompt_len`` and the target is not padding.
        """
        inputs, targets = self.tokens[:, :-1], self.tokens[:, 1:]
        position = torch.arange(targets.shape[1], device=targets.device) + 1
        mask = (position >= layout.prompt_len) & (targets != PAD)
        return inputs, targets, mask


    def response_token_count(self, layout: ParityLayout) -> int:
        """Number of trained response tokens (incl. <eos>): L for a long row, 2 for a short one."""
        n_long = int(self.is_long.sum())
        return n_long * layout.max_response_len + (len(self.is_long) - n_long) * 2


def prefix_parities(x: torch.Tensor) -> torch.Tensor:
    """c_i = x_1 xor ... xor x_i for each row of bits x (B, d)."""
    return torch.cumsum(x, dim=1) % 2


def sample_batch(
    layout: ParityLayout, p_cot: float, batch_size: int, generator: torch.Generator
) -> ParityBatch:
    """Draw ``batch_size`` fresh sequences of the mixture D(p_cot), vectorised (no loop over rows)."""
    d, chain = layout.d, layout.chain
    x = torch.randint(0, 2, (batch_size, d), generator=generator)
    is_long = torch.rand(batch_size, generator=generator) < p_cot
    parities = prefix_parities(x)
    answer = parities[:, -1]

    long_response = torch.full((batch_size, layout.max_response_len), EOS, dtype=torch.long)
    long_response[:, :-1] = parities[:, [i - 1 for i in chain]]
    short_response = torch.full_like(long_response, PAD)
    short_response[:, 0] = answer
    short_response[:, 1] = EOS
    response = torch.where(is_long[:, None], long_response, short_response)

    separator = torch.full((batch_size, 1), SEP, dtype=torch.long)
    tokens = torch.cat([x, separator, response], dim=1)
    return ParityBatch(tokens=tokens, x=x, answer=answer, is_long=is_long)


@dataclass
class ResponseStats:
    """Per-row reading of generated responses (B, L): answer, correctness, length, form."""

    length: torch.Tensor  # tokens before the first <eos> (L if there is none)
    has_eos: torch.Tensor
    malformed: torch.Tensor  # no <eos>, empty, or a non-bit token before <eos>
    predicted: torch.Tensor  # token before the first <eos> (-1 if malformed)
    correct: torch.Tensor  # predicted == parity(x) and well-formed
    is_long: torch.Tensor  # well-formed and longer than one token
    chain_correct: torch.Tensor  # the response is exactly the full long response (chain then <eos>)


def read_responses(responses: torch.Tensor, x: torch.Tensor, layout: ParityLayout) -> ResponseStats:
    """Extract answers from generated responses and classify them, all rows at once."""
    batch, budget = responses.shape
    is_eos = responses == EOS
    has_eos = is_eos.any(dim=1)
    index = torch.arange(budget).expand(batch, budget)
    length = torch.where(is_eos, index, torch.full_like(index, budget)).min(dim=1).values
    before_eos = index < length[:, None]
    bits_only = ((responses <= ONE) | ~before_eos).all(dim=1)
    malformed = ~has_eos | (length == 0) | ~bits_only
    last = responses.gather(1, (length - 1).clamp(min=0)[:, None]).squeeze(1)
    predicted = torch.where(malformed, torch.full_like(last, -1), last)
    answer = prefix_parities(x)[:, -1]

    reference = sample_reference_long(x, layout)
    width = min(budget, reference.shape[1])
    chain_correct = (responses[:, :width] == reference[:, :width]).all(dim=1) & (budget >= reference.shape[1])
    return ResponseStats(
        length=length,
        has_eos=has_eos,
        malformed=malformed,
        predicted=predicted,
        correct=(predicted == answer),
        is_long=~malformed & (length > 1),
        chain_correct=chain_correct,
    )


def sample_reference_long(x: torch.Tensor, layout: ParityLayout) -> torch.Tensor:
    """The correct long response (chain then <eos>) for each row of x."""
    parities = prefix_parities(x)[:, [i - 1 for i in layout.chain]]
    return torch.cat([parities, torch.full((x.shape[0], 1), EOS, dtype=torch.long)], dim=1)


def decode(tokens: torch.Tensor) -> str:
    """Human-readable text of one token row, e.g. ``1 0 1 = 1 1 0 <eos>``."""
    return " ".join(TOKEN_NAMES[int(t)] for t in tokens if int(t) != PAD)

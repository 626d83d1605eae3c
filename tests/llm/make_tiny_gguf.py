"""Write a tiny llama-architecture GGUF that llama.cpp's server (and xllamacpp) loads and serves.

What this is, for HyperAgent's tests: a stand-in *model*, nothing else. The server the tests start
is real llama.cpp (its own C++ HTTP server, from the PyPI wheel xllamacpp==2026.10.11549), and the
requests go through its real OpenAI-compatible API and its real JSON-Schema-constrained sampler.
Only the weights are made up: random, so the model knows no language. What the tests exercise is
therefore the plumbing (the agent, the egress proxy, HTTP), the grammar (whatever the weights say,
the sampler can only pick tokens that keep the output inside the schema) and the validation of
the answer, never the quality of a routing. Vendored from the research that chose this server
for the LLM router's tests, and made importable (`write_model`) for the fixture in
`llama_server.py`. Pure Python + numpy + the `gguf` package; ~0.5 MB, the same bytes every run.

By default the output head is *biased* towards tokens that close things ('"', '}', ']') and
towards end-of-turn, so that strings come out short and generation stops as soon as the schema
allows it (a purely random model would wander inside an unbounded string until max_tokens).
`--pure-random` (`pure_random=True`) disables the bias: the answers are then garbage inside the
schema, or cut at max_tokens.

Tokenizer: GPT-2 style byte-level BPE ("gpt2"), pre-tokenizer "default":
  0 <|endoftext|>  1 <|im_start|>  2 <|im_end|>   (control tokens)
  3..258  the 256 byte tokens (GPT-2 bytes_to_unicode alphabet), so any UTF-8 text tokenizes and
          any JSON can be spelled (about one token per character)
  259..   a handful of merged tokens (llama.cpp refuses a gpt2 vocab without a
          tokenizer.ggml.merges array, and gguf-py cannot write an empty one)
Chat template: ChatML (what SmolLM2/Qwen use), so /v1/chat/completions works.

usage: python make_tiny_gguf.py [OUT.gguf] [--layers 2] [--embd 64] [--ctx 4096] [--seed 0]
                                [--pure-random]
Default: 2 layers, n_embd 64, 4 heads of 16, n_ff 128, ctx 4096, F32.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np


def bytes_to_unicode() -> list[str]:
    """GPT-2's reversible byte -> printable unicode char table (index = byte).

    llama.cpp's BPE tokenizer maps each input byte through the same table
    (unicode_byte_to_utf8) and falls back to these single-char tokens when no
    merge applies, so having all 256 of them makes the vocabulary complete.
    """
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, (chr(c) for c in cs), strict=True))
    return [table[b] for b in range(256)]


CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# merges are "left right" pairs of existing tokens; the result must be a token too
MERGES = [('"', ":"), ("{", '"'), ("Ġ", '"'), ('"', ","), ('"', "}")]


def build_vocab() -> tuple[list[str], list[int], list[str]]:
    byte_tokens = bytes_to_unicode()
    tokens = SPECIALS + byte_tokens
    types = [gguf.TokenType.CONTROL] * len(SPECIALS) + [gguf.TokenType.NORMAL] * 256
    merges = []
    for left, right in MERGES:
        assert left in tokens
        assert right in tokens
        merges.append(f"{left} {right}")
        tokens.append(left + right)
        types.append(gguf.TokenType.NORMAL)
    assert len(set(tokens)) == len(tokens)
    return tokens, [int(t) for t in types], merges


@dataclass(frozen=True)
class Shape:
    """The model's size; the defaults make a ~0.5 MB file."""

    layers: int = 2
    embd: int = 64
    heads: int = 4
    kv_heads: int = 4
    ff: int = 128
    ctx: int = 4096
    seed: int = 0
    pure_random: bool = False


def write_model(out: Path, a: Shape = Shape()) -> int:
    """Writes the model to ``out``; returns the size of its vocabulary."""
    assert a.embd % a.heads == 0
    assert a.heads % a.kv_heads == 0
    head_dim = a.embd // a.heads
    rng = np.random.default_rng(a.seed)
    tokens, types, merges = build_vocab()
    n_vocab = len(tokens)
    eos_id = tokens.index("<|im_end|>")

    w = gguf.GGUFWriter(str(out), arch="llama")  # writes general.architecture
    w.add_name("tiny-llama-random")
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    # --- hyper-parameters llama.cpp reads for LLM_ARCH_LLAMA (llama-model.cpp)
    w.add_context_length(a.ctx)  # llama.context_length (required)
    w.add_embedding_length(a.embd)  # llama.embedding_length (required)
    w.add_block_count(a.layers)  # llama.block_count (required)
    w.add_feed_forward_length(a.ff)  # llama.feed_forward_length
    w.add_head_count(a.heads)  # llama.attention.head_count
    w.add_head_count_kv(a.kv_heads)  # llama.attention.head_count_kv
    w.add_layer_norm_rms_eps(1e-5)  # llama.attention.layer_norm_rms_epsilon (required)
    w.add_rope_dimension_count(head_dim)  # llama.rope.dimension_count
    w.add_rope_freq_base(10000.0)  # llama.rope.freq_base
    w.add_vocab_size(n_vocab)  # llama.vocab_size
    # --- tokenizer (llama-vocab.cpp)
    w.add_tokenizer_model("gpt2")  # BPE; needs tokens + merges
    w.add_tokenizer_pre("default")  # GPT-2 regex, no warning
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(tokens.index("<|endoftext|>"))
    w.add_eos_token_id(eos_id)
    w.add_eot_token_id(eos_id)
    w.add_pad_token_id(tokens.index("<|endoftext|>"))
    w.add_add_bos_token(False)
    w.add_add_eos_token(False)
    w.add_chat_template(CHATML)

    # --- tensors. numpy shape is (rows, cols) = reversed ggml ne[]; names and
    # ne[] as created for LLM_ARCH_LLAMA:
    #   token_embd  {n_embd, n_vocab}      output      {n_embd, n_vocab}
    #   output_norm {n_embd}
    #   blk.N.attn_norm {n_embd}           blk.N.ffn_norm {n_embd}
    #   blk.N.attn_q {n_embd, n_head*hd}   blk.N.attn_k/v {n_embd, n_head_kv*hd}
    #   blk.N.attn_output {n_head*hd, n_embd}
    #   blk.N.ffn_gate/up {n_embd, n_ff}   blk.N.ffn_down {n_ff, n_embd}
    f32 = np.float32
    std = 0.02

    def rnd(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * std).astype(f32)

    if a.pure_random:
        embd = rnd(n_vocab, a.embd)
        out = rnd(n_vocab, a.embd)
    else:
        # every token embeds to ~the same direction, so the final RMS-normed
        # hidden state is ~all-ones whatever the context; a row of the output
        # head equal to (b/n_embd)*ones then gives that token a logit of ~b.
        embd = (np.ones((n_vocab, a.embd)) + rnd(n_vocab, a.embd)).astype(f32)
        out = rnd(n_vocab, a.embd)
        byte = bytes_to_unicode()
        bias = {
            "<|im_end|>": 12.0,
            '"': 10.0,
            '"}': 9.0,
            '",': 8.0,
            '":': 8.0,
            "}": 8.0,
            "]": 8.0,
            ":": 7.0,
            "0": 6.0,
            ",": 4.0,
            # JSON grammars (GBNF and llguidance) allow free whitespace
            # between tokens; make the model never want it
            byte[0x20]: -12.0,
            byte[0x09]: -12.0,
            byte[0x0A]: -12.0,
            byte[0x0D]: -12.0,
            byte[0x20] + '"': -12.0,
        }
        for tok, b in bias.items():
            out[tokens.index(tok)] += f32(b / a.embd)
    w.add_tensor("token_embd.weight", embd)
    w.add_tensor("output_norm.weight", np.ones(a.embd, dtype=f32))
    w.add_tensor("output.weight", out)
    q_dim, kv_dim = a.heads * head_dim, a.kv_heads * head_dim
    for i in range(a.layers):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", np.ones(a.embd, dtype=f32))
        w.add_tensor(p + "attn_q.weight", rnd(q_dim, a.embd))
        w.add_tensor(p + "attn_k.weight", rnd(kv_dim, a.embd))
        w.add_tensor(p + "attn_v.weight", rnd(kv_dim, a.embd))
        w.add_tensor(p + "attn_output.weight", rnd(a.embd, q_dim))
        w.add_tensor(p + "ffn_norm.weight", np.ones(a.embd, dtype=f32))
        w.add_tensor(p + "ffn_gate.weight", rnd(a.ff, a.embd))
        w.add_tensor(p + "ffn_up.weight", rnd(a.ff, a.embd))
        w.add_tensor(p + "ffn_down.weight", rnd(a.embd, a.ff))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return n_vocab


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("out", nargs="?", default="tiny-llama-random.gguf")
    for flag, default in Shape.__dataclass_fields__.items():
        if flag != "pure_random":
            ap.add_argument(f"--{flag.replace('_', '-')}", type=int, default=default.default)
    ap.add_argument(
        "--pure-random",
        action="store_true",
        help="no output bias towards closing tokens / end-of-turn",
    )
    a = vars(ap.parse_args())
    out = Path(a.pop("out"))
    shape = Shape(**a)
    n_vocab = write_model(out, shape)
    print(f"wrote {out}: vocab {n_vocab}, {shape.layers} layers, n_embd {shape.embd}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

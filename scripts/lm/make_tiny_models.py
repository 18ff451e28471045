#!/usr/bin/env python3
"""Write tiny, seeded Hugging Face model folders for smft's LLM tests (numpy only).

    python3 scripts/lm/make_tiny_models.py [OUT_DIR]   # default test/fixtures/models

Folders written (real Hugging Face layout):
  tiny-llama/          LlamaForCausalLM, untied lm_head, llama3 rope_scaling, base (no chat template)
  tiny-llama-bf16/     the same weights stored as bfloat16 (round to nearest even)
  tiny-qwen2/          Qwen2ForCausalLM, q/k/v bias, tied embeddings, ChatML chat template
  tiny-qwen2-sharded/  the same weights as tiny-qwen2 in model.safetensors.index.json + 2 shards
  safetensors/dtypes.safetensors  a few known values in F32 / F16 / BF16 for reader tests

The tokenizers are byte-level BPE tokenizers (GPT-2 / Llama-3 / Qwen2 style) trained here on
the paper's norming prompts, smft's default templates and a few common English and Dutch
words: every string can be encoded (byte fallback is built in), the digits 0-9 and letters are
single tokens, and the prompt words mostly become single tokens.

Everything is deterministic: re-running produces identical bytes.
"""
from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PAPER_PROMPTS = Path(os.environ.get('SMFT_PAPER_PROMPTS', ROOT.parent / 'shared' / 'data' / 'paper' / 'prompts'))
TEMPLATES = ROOT / 'src' / 'lm' / 'templates'
VOCAB_SIZE = 768          # model vocab_size (embedding rows); the tokenizer uses fewer ids
N_MERGES = 500

# Split patterns of the real tokenizers (Llama 3 groups up to 3 digits, Qwen2 one digit).
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+")
# The same split with Python's re (letters = [^\W\d_]), used only to train the merges.
PY_PATTERN = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[^\r\n\w]?[^\W\d_]+|\d| ?[^\s\w]+[\r\n]*"
                        r"|\s*[\r\n]+|\s+(?!\S)|\s+", re.IGNORECASE)

EXTRA_WORDS = """
the of and to in is was it for on are as with his they at be this from have or by one had not but what all
were when we there can an your which their said if do will each about how up out them then she many some so
these would other into has more her two like him see time could no make than first been its who now people my
made over did down only way find use may water long little very after words called just where most know
concept word words number answer rating scale rate strength experience experienced feel touch hear see smell taste
body hand arm foot leg head mouth torso throat action sound music light colour color food smell bread apple dog
cat house tree car run walk jump speak sing eat drink think love fear pain cold hot sweet sour bitter
de het een en van in is dat op te zijn voor met niet aan er maar om ook als dan bij of uit nog wat door
naar kan worden hij zij wij je ik we ze was heeft hebben deze die dit wordt veel meer zeer geen ons onze
woord begrip getal antwoord schaal sterkte ervaren horen zien ruiken proeven voelen sensaties lichaam hand
arm voet been hoofd mond romp keel geluid muziek licht kleur eten brood appel hond kat huis boom auto lopen
springen spreken zingen drinken denken liefde angst pijn koud warm zoet zuur bitter één twee drie vier vijf
System User Assistant You are a helpful assistant.
"""


# --------------------------------------------------------------------------------------------
# byte-level BPE
# --------------------------------------------------------------------------------------------

def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable unicode character map."""
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def corpus_text() -> str:
    # The norming prompts are weighted up so that their words become single tokens.
    parts: list[str] = []
    for d, weight in ((PAPER_PROMPTS, 4), (TEMPLATES / 'en', 2), (TEMPLATES / 'nl', 2)):
        if d.is_dir():
            for f in sorted(d.glob('*.txt')):
                parts.extend([f.read_text(encoding='utf-8')] * weight)
    parts.append(EXTRA_WORDS)
    parts.append(' '.join(EXTRA_WORDS.split()).upper())
    return '\n'.join(parts)


def train_merges(text: str, n_merges: int, b2u: dict[int, str]) -> list[tuple[str, str]]:
    words = Counter(PY_PATTERN.findall(text))
    seqs = {w: [b2u[b] for b in w.encode('utf-8')] for w in words}
    digits = set('0123456789')
    merges: list[tuple[str, str]] = []
    for _ in range(n_merges):
        pairs: Counter = Counter()
        for w, c in words.items():
            s = seqs[w]
            for a, b in zip(s, s[1:]):
                if a in digits or b in digits or a[-1] in digits or b[0] in digits:
                    continue
                pairs[(a, b)] += c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merges.append(best)
        for w in words:
            s = seqs[w]
            out: list[str] = []
            i = 0
            while i < len(s):
                if i + 1 < len(s) and s[i] == best[0] and s[i + 1] == best[1]:
                    out.append(s[i] + s[i + 1])
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = out
    return merges


def base_vocab() -> tuple[dict[str, int], list[tuple[str, str]]]:
    b2u = bytes_to_unicode()
    vocab: dict[str, int] = {}
    for b in range(256):
        vocab[b2u[b]] = b
    merges = train_merges(corpus_text(), N_MERGES, b2u)
    for a, b in merges:
        tok = a + b
        if tok not in vocab:
            vocab[tok] = len(vocab)
    return vocab, merges


def added(content: str, idx: int, special: bool = True) -> dict:
    return {'id': idx, 'content': content, 'single_word': False, 'lstrip': False, 'rstrip': False,
            'normalized': False, 'special': special}


def tokenizer_json(vocab: dict[str, int], merges: list[tuple[str, str]], specials: list[str], pattern: str,
                   bos: str | None, nfc: bool) -> tuple[dict, dict[str, int]]:
    ids = {s: len(vocab) + i for i, s in enumerate(specials)}
    byte_level = {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': False, 'use_regex': False}
    post: dict = dict(byte_level)
    if bos is not None:
        post = {'type': 'Sequence', 'processors': [
            dict(byte_level),
            {'type': 'TemplateProcessing',
             'single': [{'SpecialToken': {'id': bos, 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}],
             'pair': [{'SpecialToken': {'id': bos, 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}},
                      {'SpecialToken': {'id': bos, 'type_id': 1}}, {'Sequence': {'id': 'B', 'type_id': 1}}],
             'special_tokens': {bos: {'id': bos, 'ids': [ids[bos]], 'tokens': [bos]}}},
        ]}
    tok = {
        'version': '1.0',
        'truncation': None,
        'padding': None,
        'added_tokens': [added(s, ids[s]) for s in specials],
        'normalizer': {'type': 'NFC'} if nfc else None,
        'pre_tokenizer': {'type': 'Sequence', 'pretokenizers': [
            {'type': 'Split', 'pattern': {'Regex': pattern}, 'behavior': 'Isolated', 'invert': False},
            {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': False},
        ]},
        'post_processor': post,
        'decoder': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None,
                  'end_of_word_suffix': None, 'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False,
                  'vocab': vocab, 'merges': [f'{a} {b}' for a, b in merges]},
    }
    return tok, ids


QWEN_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if loop.first and message['role'] != 'system' %}"
    "{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


# --------------------------------------------------------------------------------------------
# safetensors (written by hand)
# --------------------------------------------------------------------------------------------

def to_bf16_bits(a: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns (uint16), round to nearest even (as torch does)."""
    u = np.ascontiguousarray(a, dtype='<f4').view('<u4').astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return rounded.astype('<u2')


def tensor_bytes(a: np.ndarray, dtype: str) -> bytes:
    if dtype == 'F32':
        return np.ascontiguousarray(a, dtype='<f4').tobytes()
    if dtype == 'F16':
        return np.ascontiguousarray(a, dtype='<f2').tobytes()
    if dtype == 'BF16':
        return to_bf16_bits(a).tobytes()
    raise ValueError(dtype)


def write_safetensors(path: Path, tensors: dict[str, np.ndarray], dtype: str = 'F32',
                      dtypes: dict[str, str] | None = None) -> None:
    header: dict = {'__metadata__': {'format': 'pt'}}
    blobs: list[bytes] = []
    offset = 0
    for name in sorted(tensors):
        dt = (dtypes or {}).get(name, dtype)
        b = tensor_bytes(tensors[name], dt)
        header[name] = {'dtype': dt, 'shape': list(tensors[name].shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(',', ':')).encode('utf-8')
    h += b' ' * ((8 - len(h) % 8) % 8)
    path.write_bytes(len(h).to_bytes(8, 'little') + h + b''.join(blobs))


def write_sharded(folder: Path, tensors: dict[str, np.ndarray], n_shards: int = 2) -> None:
    names = sorted(tensors)
    per = (len(names) + n_shards - 1) // n_shards
    weight_map: dict[str, str] = {}
    total = 0
    for s in range(n_shards):
        part = names[s * per:(s + 1) * per]
        fname = f'model-{s + 1:05d}-of-{n_shards:05d}.safetensors'
        write_safetensors(folder / fname, {n: tensors[n] for n in part})
        for n in part:
            weight_map[n] = fname
            total += tensors[n].size * 4
    index = {'metadata': {'total_size': total}, 'weight_map': weight_map}
    write_json(folder / 'model.safetensors.index.json', index)


def write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + '\n', encoding='utf-8')


# --------------------------------------------------------------------------------------------
# weights
# --------------------------------------------------------------------------------------------

def make_weights(cfg: dict, seed: int, qkv_bias: bool, tied: bool) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    h, inter, v = cfg['hidden_size'], cfg['intermediate_size'], cfg['vocab_size']
    nh, nkv = cfg['num_attention_heads'], cfg['num_key_value_heads']
    hd = cfg.get('head_dim') or h // nh

    def lin(out_f: int, in_f: int, scale: float = 1.0) -> np.ndarray:
        return (rng.standard_normal((out_f, in_f)) * scale / np.sqrt(in_f)).astype(np.float32)

    def norm(n: int) -> np.ndarray:
        return (1.0 + 0.2 * rng.standard_normal(n)).astype(np.float32)

    w: dict[str, np.ndarray] = {'model.embed_tokens.weight': (rng.standard_normal((v, h)) * 0.5).astype(np.float32)}
    for i in range(cfg['num_hidden_layers']):
        p = f'model.layers.{i}.'
        w[p + 'input_layernorm.weight'] = norm(h)
        w[p + 'self_attn.q_proj.weight'] = lin(nh * hd, h, 2.0)
        w[p + 'self_attn.k_proj.weight'] = lin(nkv * hd, h, 2.0)
        w[p + 'self_attn.v_proj.weight'] = lin(nkv * hd, h)
        w[p + 'self_attn.o_proj.weight'] = lin(h, nh * hd)
        if qkv_bias:
            w[p + 'self_attn.q_proj.bias'] = (0.3 * rng.standard_normal(nh * hd)).astype(np.float32)
            w[p + 'self_attn.k_proj.bias'] = (0.3 * rng.standard_normal(nkv * hd)).astype(np.float32)
            w[p + 'self_attn.v_proj.bias'] = (0.3 * rng.standard_normal(nkv * hd)).astype(np.float32)
        w[p + 'post_attention_layernorm.weight'] = norm(h)
        w[p + 'mlp.gate_proj.weight'] = lin(inter, h)
        w[p + 'mlp.up_proj.weight'] = lin(inter, h)
        w[p + 'mlp.down_proj.weight'] = lin(h, inter)
    w['model.norm.weight'] = norm(h)
    if not tied:
        w['lm_head.weight'] = lin(v, h, 2.0)
    return w


def llama_config(specials: dict[str, int]) -> dict:
    return {
        'architectures': ['LlamaForCausalLM'],
        'attention_bias': False,
        'attention_dropout': 0.0,
        'bos_token_id': specials['<|begin_of_text|>'],
        'eos_token_id': specials['<|end_of_text|>'],
        'head_dim': 12,
        'hidden_act': 'silu',
        'hidden_size': 48,
        'initializer_range': 0.02,
        'intermediate_size': 96,
        'max_position_embeddings': 512,
        'mlp_bias': False,
        'model_type': 'llama',
        'num_attention_heads': 4,
        'num_hidden_layers': 2,
        'num_key_value_heads': 2,
        'pretraining_tp': 1,
        'rms_norm_eps': 1e-05,
        'rope_scaling': {'factor': 8.0, 'high_freq_factor': 4.0, 'low_freq_factor': 1.0,
                         'original_max_position_embeddings': 64, 'rope_type': 'llama3'},
        'rope_theta': 500000.0,
        'tie_word_embeddings': False,
        'torch_dtype': 'float32',
        'transformers_version': '4.45.0',
        'use_cache': True,
        'vocab_size': VOCAB_SIZE,
        # smft's marker of synthetic weights: carried into ratings and results.json (model_info).
        'smft_synthetic': 'tiny Llama-3-style test model with random weights (scripts/lm/make_tiny_models.py, seed 1234): not a trained model, its ratings are noise',
    }


def qwen2_config(specials: dict[str, int]) -> dict:
    return {
        'architectures': ['Qwen2ForCausalLM'],
        'attention_dropout': 0.0,
        'bos_token_id': specials['<|endoftext|>'],
        'eos_token_id': specials['<|im_end|>'],
        'hidden_act': 'silu',
        'hidden_size': 32,
        'initializer_range': 0.02,
        'intermediate_size': 64,
        'max_position_embeddings': 512,
        'max_window_layers': 2,
        'model_type': 'qwen2',
        'num_attention_heads': 4,
        'num_hidden_layers': 2,
        'num_key_value_heads': 2,
        'rms_norm_eps': 1e-06,
        'rope_scaling': None,
        'rope_theta': 1000000.0,
        'sliding_window': 512,
        'tie_word_embeddings': True,
        'torch_dtype': 'float32',
        'transformers_version': '4.45.0',
        'use_cache': True,
        'use_sliding_window': False,
        'vocab_size': VOCAB_SIZE,
        'smft_synthetic': 'tiny Qwen2-style test model with random weights (scripts/lm/make_tiny_models.py, seed 5678): not a trained model, its ratings are noise',
    }


def added_tokens_decoder(ids: dict[str, int]) -> dict:
    return {str(i): {k: v for k, v in added(s, i).items() if k != 'id'} for s, i in ids.items()}


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / 'test' / 'fixtures' / 'models'
    out.mkdir(parents=True, exist_ok=True)
    vocab, merges = base_vocab()

    # ---- tiny-llama (Llama 3 style base model) ----
    llama_specials = ['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>',
                      '<|eot_id|>', '<unk>']
    tok, ids = tokenizer_json(dict(vocab), merges, llama_specials, LLAMA3_PATTERN, '<|begin_of_text|>', nfc=False)
    assert len(vocab) + len(llama_specials) <= VOCAB_SIZE
    cfg = llama_config(ids)
    tok_cfg = {
        'added_tokens_decoder': added_tokens_decoder(ids),
        'bos_token': '<|begin_of_text|>',
        'clean_up_tokenization_spaces': True,
        'eos_token': '<|end_of_text|>',
        'model_input_names': ['input_ids', 'attention_mask'],
        'model_max_length': 512,
        'tokenizer_class': 'PreTrainedTokenizerFast',
        'unk_token': '<unk>',
    }
    gen_cfg = {'bos_token_id': cfg['bos_token_id'], 'eos_token_id': cfg['eos_token_id'], 'do_sample': False}
    weights = make_weights(cfg, seed=1234, qkv_bias=False, tied=False)
    for name, dtype in (('tiny-llama', 'F32'), ('tiny-llama-bf16', 'BF16')):
        d = out / name
        d.mkdir(exist_ok=True)
        c = dict(cfg, torch_dtype='float32' if dtype == 'F32' else 'bfloat16')
        write_json(d / 'config.json', c)
        write_json(d / 'tokenizer.json', tok)
        write_json(d / 'tokenizer_config.json', tok_cfg)
        write_json(d / 'generation_config.json', gen_cfg)
        write_safetensors(d / 'model.safetensors', weights, dtype)

    # ---- tiny-qwen2 (Qwen2 instruct style, tied, q/k/v bias, chat template) ----
    qwen_specials = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<unk>']
    tok, ids = tokenizer_json(dict(vocab), merges, qwen_specials, QWEN2_PATTERN, None, nfc=True)
    cfg = qwen2_config(ids)
    tok_cfg = {
        'add_bos_token': False,
        'add_prefix_space': False,
        'added_tokens_decoder': added_tokens_decoder(ids),
        'additional_special_tokens': ['<|im_start|>', '<|im_end|>'],
        'bos_token': None,
        'chat_template': QWEN_CHAT_TEMPLATE,
        'clean_up_tokenization_spaces': False,
        'eos_token': '<|im_end|>',
        'errors': 'replace',
        'model_max_length': 512,
        'pad_token': '<|endoftext|>',
        'split_special_tokens': False,
        'tokenizer_class': 'Qwen2Tokenizer',
        'unk_token': '<unk>',
    }
    gen_cfg = {'bos_token_id': cfg['bos_token_id'], 'eos_token_id': [cfg['eos_token_id'], cfg['bos_token_id']],
               'pad_token_id': cfg['bos_token_id'], 'do_sample': False}
    weights = make_weights(cfg, seed=5678, qkv_bias=True, tied=True)
    for name in ('tiny-qwen2', 'tiny-qwen2-sharded'):
        d = out / name
        d.mkdir(exist_ok=True)
        write_json(d / 'config.json', cfg)
        write_json(d / 'tokenizer.json', tok)
        write_json(d / 'tokenizer_config.json', tok_cfg)
        write_json(d / 'generation_config.json', gen_cfg)
        if name == 'tiny-qwen2':
            write_safetensors(d / 'model.safetensors', weights)
        else:
            write_sharded(d, weights, 2)

    # ---- dtype test file: known values in every supported dtype ----
    d = out / 'safetensors'
    d.mkdir(exist_ok=True)
    vals = np.array([[0.0, 1.0, -2.5], [0.15625, -1e-3, 65504.0]], dtype=np.float32)
    write_safetensors(d / 'dtypes.safetensors', {'f32': vals, 'f16': vals, 'bf16': vals},
                      dtypes={'f32': 'F32', 'f16': 'F16', 'bf16': 'BF16'})
    print(f'wrote tiny models to {out}')


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""Independent NumPy reference of the Llama / Qwen2 decoder forward pass (float64).

    python3 scripts/lm/reference_forward.py [MODELS_DIR]   # default test/fixtures/models

Written from the Hugging Face modelling semantics (transformers' modeling_llama.py /
modeling_qwen2.py), not from smft's TypeScript:
  * RMSNorm: x * 1/sqrt(mean(x^2, -1) + eps) * weight
  * RoPE: rotate-half, inv_freq = 1 / theta^(arange(0, d, 2) / d), llama3 frequency scaling
  * grouped-query attention via repeat_kv (kv head of query head h is h // (n_heads / n_kv))
  * q/k/v bias for qwen2 (and llama with attention_bias=true, which also biases o_proj)
  * SiLU-gated MLP: down(silu(gate(x)) * up(x))
  * tied (embed_tokens) or untied (lm_head) output head
  * causal mask plus padding mask; position ids = cumsum(attention_mask) - 1 with padding set
    to 1 (what transformers' generate() does), so left padding does not shift positions
  * hidden_states as transformers returns them: embeddings, the output of every layer but the
    last, then the final-norm output of the last layer (num_layers + 1 entries)

For every model folder given (or found) it writes <folder>/golden.json with the inputs,
logits and hidden states of a few fixed token sequences.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DTYPES = {'F32': ('<f4', 4), 'F16': ('<f2', 2), 'BF16': ('<u2', 2), 'F64': ('<f8', 8)}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], 'little')
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        dt, _ = DTYPES[info['dtype']]
        a, b = info['data_offsets']
        arr = np.frombuffer(raw[base + a:base + b], dtype=dt)
        if info['dtype'] == 'BF16':
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        out[name] = arr.astype(np.float64).reshape(info['shape'])
    return out


def load_weights(folder: Path) -> dict[str, np.ndarray]:
    index = folder / 'model.safetensors.index.json'
    if index.exists():
        files = sorted(set(json.loads(index.read_text())['weight_map'].values()))
        w: dict[str, np.ndarray] = {}
        for f in files:
            w.update(read_safetensors(folder / f))
        return w
    return read_safetensors(folder / 'model.safetensors')


def inv_freq(cfg: dict, head_dim: int) -> np.ndarray:
    theta = cfg.get('rope_theta', 10000.0)
    inv = 1.0 / theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    rs = cfg.get('rope_scaling')
    if rs is None:
        return inv
    kind = rs.get('rope_type', rs.get('type'))
    if kind == 'default':
        return inv
    assert kind == 'llama3', kind
    factor = rs['factor']
    low, high = rs['low_freq_factor'], rs['high_freq_factor']
    old = rs['original_max_position_embeddings']
    low_wavelen, high_wavelen = old / low, old / high
    wavelen = 2 * math.pi / inv
    scaled = np.where(wavelen > low_wavelen, inv / factor, inv)
    smooth = (old / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
    return np.where(medium, smoothed, scaled)


def rms_norm(x: np.ndarray, w: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rotate_half(x: np.ndarray) -> np.ndarray:
    h = x.shape[-1] // 2
    return np.concatenate([-x[..., h:], x[..., :h]], axis=-1)


def silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def linear(w: dict, name: str, x: np.ndarray) -> np.ndarray:
    y = x @ w[name + '.weight'].T
    if name + '.bias' in w:
        y = y + w[name + '.bias']
    return y


def forward(cfg: dict, w: dict, ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    bsz, t = ids.shape
    h = cfg['hidden_size']
    nh, nkv = cfg['num_attention_heads'], cfg.get('num_key_value_heads', cfg['num_attention_heads'])
    hd = cfg.get('head_dim') or h // nh
    eps = cfg['rms_norm_eps']
    pos = np.cumsum(mask, axis=-1) - 1
    pos = np.where(mask == 0, 1, pos)
    freqs = pos[..., None].astype(np.float64) * inv_freq(cfg, hd)[None, None, :]
    emb = np.concatenate([freqs, freqs], axis=-1)
    cos, sin = np.cos(emb)[:, None], np.sin(emb)[:, None]          # [B,1,T,hd]
    causal = np.tril(np.ones((t, t), dtype=bool))
    allowed = causal[None, None] & (mask[:, None, None, :] == 1)    # [B,1,T,T]
    bias = np.where(allowed, 0.0, -1e30)

    x = w['model.embed_tokens.weight'][ids]
    hidden = [x]
    for i in range(cfg['num_hidden_layers']):
        p = f'model.layers.{i}.'
        r = x
        y = rms_norm(x, w[p + 'input_layernorm.weight'], eps)
        q = linear(w, p + 'self_attn.q_proj', y).reshape(bsz, t, nh, hd).transpose(0, 2, 1, 3)
        k = linear(w, p + 'self_attn.k_proj', y).reshape(bsz, t, nkv, hd).transpose(0, 2, 1, 3)
        v = linear(w, p + 'self_attn.v_proj', y).reshape(bsz, t, nkv, hd).transpose(0, 2, 1, 3)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = nh // nkv
        k = np.repeat(k, rep, axis=1)   # repeat_kv: head h uses kv head h // rep
        v = np.repeat(v, rep, axis=1)
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd) + bias
        s = s - s.max(axis=-1, keepdims=True)
        pr = np.exp(s)
        pr = pr / pr.sum(axis=-1, keepdims=True)
        a = (pr @ v).transpose(0, 2, 1, 3).reshape(bsz, t, nh * hd)
        x = r + linear(w, p + 'self_attn.o_proj', a)
        r = x
        y = rms_norm(x, w[p + 'post_attention_layernorm.weight'], eps)
        y = linear(w, p + 'mlp.down_proj', silu(linear(w, p + 'mlp.gate_proj', y)) * linear(w, p + 'mlp.up_proj', y))
        x = r + y
        if i < cfg['num_hidden_layers'] - 1:
            hidden.append(x)
    x = rms_norm(x, w['model.norm.weight'], eps)
    hidden.append(x)
    head = w['model.embed_tokens.weight'] if cfg.get('tie_word_embeddings', True) else w['lm_head.weight']
    return x @ head.T, hidden, pos


def flat(a: np.ndarray) -> list[float]:
    return [float(f'{v:.7g}') for v in np.asarray(a, dtype=np.float64).ravel()]


def golden(folder: Path, full_case: bool = True) -> dict:
    cfg = json.loads((folder / 'config.json').read_text())
    w = load_weights(folder)
    rng = np.random.default_rng(99)
    n_tok = 560  # ids the fixture tokenizers define (< vocab_size; any id < vocab_size is valid)
    a = rng.integers(0, n_tok, 7)
    b = rng.integers(0, n_tok, 5)
    pad = 0
    cases = []
    right_ids = np.array([a, np.concatenate([b, [pad, pad]])])
    right_mask = np.array([[1] * 7, [1] * 5 + [0, 0]])
    left_ids = np.array([a, np.concatenate([[pad, pad], b])])
    left_mask = np.array([[1] * 7, [0, 0] + [1] * 5])
    for name, ids, mask, full in (('right_padded', right_ids, right_mask, True),
                                  ('left_padded', left_ids, left_mask, False)):
        if full and not full_case:
            continue
        logits, hidden, pos = forward(cfg, w, ids, mask)
        case: dict = {'name': name, 'input_ids': ids.tolist(), 'attention_mask': mask.tolist(),
                      'position_ids': pos.tolist()}
        if full:
            case['logits'] = {'shape': list(logits.shape), 'data': flat(logits)}
            hs = np.stack(hidden)
            case['hidden_states'] = {'shape': list(hs.shape), 'data': flat(hs)}
        else:
            last = logits[:, -1, :]   # left padding: the last column is every row's last real token
            case['last_logits'] = {'shape': list(last.shape), 'data': flat(last)}
        cases.append(case)
    return {'model': folder.name, 'generator': 'scripts/lm/reference_forward.py', 'cases': cases}


def main() -> None:
    base = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / 'test' / 'fixtures' / 'models'
    for name in ('tiny-llama', 'tiny-llama-bf16', 'tiny-qwen2'):
        folder = base / name
        g = golden(folder, full_case=not name.endswith('-bf16'))  # bf16: last-token logits only
        (folder / 'golden.json').write_text(json.dumps(g, separators=(',', ':')) + '\n')
        print(f'wrote {folder / "golden.json"}')


if __name__ == '__main__':
    main()

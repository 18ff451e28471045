#!/usr/bin/env python3
"""Plain-PyTorch LoRA training step: the reference `npm run bench:train` times smft against.

A decoder of Qwen2.5-0.5B's shape (hidden 896, 14 heads, 2 KV heads, head dim 64,
intermediate 4864, vocab 151936, q/k/v bias, tied embeddings; random frozen float32 weights),
written by hand as transformers writes Qwen2 (RMSNorm, rotate-half RoPE, grouped-query
attention with a causal + padding mask, SiLU-gated MLP), with hand-written LoRA
(y = x W^T + b + s * (dropout(x) A^T) B^T, r and alpha as given, on q/k/v/o/gate/up/down of
every layer, PEFT's init). One step = forward + backward + torch.optim.AdamW on the LoRA
matrices of a batch of B prompts of T tokens, read at the last token: cross-entropy over six
"digit" tokens, the rating objective's shape. The same work smft's engines do per step.

  /usr/bin/python3 scripts/bench/torch_lora_step.py --layers 2 [--batch 8] [--tokens 80]
      [--r 16] [--dropout 0.05] [--reps 2] [--threads 2] [--device cpu|cuda] [--impl handwritten|peft]

--impl peft builds the same shape as transformers' Qwen2ForCausalLM (random init) with peft's
LoRA instead (needs transformers and peft; written for the GPU machines, where they are
installed, and not run on the CPU machines of this project, which have neither).

Prints one JSON line: engine, device, layers, batch, tokens, seconds_per_step,
tokens_per_s, cpu_seconds_per_step (process CPU time: the work, less sensitive to a busy
machine than wall time), peak_rss_bytes, blas. Debian's python3-torch needs libopenblas0-pthread for
a fast BLAS (without it, torch falls back to the reference BLAS, ~50x slower): the line
says which BLAS torch loaded.
"""
import argparse
import json
import math
import os
import resource
import time

import torch
import torch.nn.functional as F

H, NH, NKV, HD, IM, VOCAB, EPS, THETA = 896, 14, 2, 64, 4864, 151936, 1e-6, 1_000_000.0
DIGITS = [15, 16, 17, 18, 19, 20]


class LoraLinear(torch.nn.Module):
    def __init__(self, inf, outf, bias, r, alpha, dropout, gen):
        super().__init__()
        bound = math.sqrt(3.0 / inf)
        self.weight = torch.nn.Parameter((torch.rand(outf, inf, generator=gen) * 2 - 1) * bound, requires_grad=False)
        self.bias = torch.nn.Parameter(torch.zeros(outf), requires_grad=False) if bias else None
        self.lora_A = torch.nn.Parameter((torch.rand(r, inf, generator=gen) * 2 - 1) / math.sqrt(inf))
        self.lora_B = torch.nn.Parameter(torch.zeros(outf, r))
        self.scale = alpha / r
        self.drop = torch.nn.Dropout(dropout)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias) + self.scale * F.linear(F.linear(self.drop(x), self.lora_A), self.lora_B)


def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


class Layer(torch.nn.Module):
    def __init__(self, lora, gen):
        super().__init__()
        self.ln1 = torch.nn.Parameter(torch.ones(H), requires_grad=False)
        self.ln2 = torch.nn.Parameter(torch.ones(H), requires_grad=False)
        self.q = LoraLinear(H, NH * HD, True, *lora, gen)
        self.k = LoraLinear(H, NKV * HD, True, *lora, gen)
        self.v = LoraLinear(H, NKV * HD, True, *lora, gen)
        self.o = LoraLinear(NH * HD, H, False, *lora, gen)
        self.gate = LoraLinear(H, IM, False, *lora, gen)
        self.up = LoraLinear(H, IM, False, *lora, gen)
        self.down = LoraLinear(IM, H, False, *lora, gen)

    def forward(self, x, cos, sin, bias):
        b, t, _ = x.shape
        h = rms(x, self.ln1)
        q = self.q(h).view(b, t, NH, HD).transpose(1, 2)
        k = self.k(h).view(b, t, NKV, HD).transpose(1, 2)
        v = self.v(h).view(b, t, NKV, HD).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        g = NH // NKV
        k = k[:, :, None].expand(b, NKV, g, t, HD).reshape(b, NH, t, HD)
        v = v[:, :, None].expand(b, NKV, g, t, HD).reshape(b, NH, t, HD)
        p = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(HD) + bias, dim=-1)
        x = x + self.o((p @ v).transpose(1, 2).reshape(b, t, NH * HD))
        h = rms(x, self.ln2)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=80)
    ap.add_argument("--r", type=int, default=16)
    ap.add_argument("--dropout", type=float, default=0.05)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--impl", default="handwritten", choices=["handwritten", "peft"])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(1)
    dev = torch.device(a.device)
    lora = (a.r, 2 * a.r, a.dropout)
    if a.impl == "peft":
        from peft import LoraConfig, get_peft_model
        from transformers import Qwen2Config, Qwen2ForCausalLM
        qcfg = Qwen2Config(hidden_size=H, intermediate_size=IM, num_hidden_layers=a.layers, num_attention_heads=NH,
                           num_key_value_heads=NKV, vocab_size=VOCAB, rms_norm_eps=EPS, rope_theta=THETA,
                           tie_word_embeddings=True, max_position_embeddings=32768)
        peft_model = get_peft_model(Qwen2ForCausalLM(qcfg), LoraConfig(
            r=a.r, lora_alpha=2 * a.r, lora_dropout=a.dropout, task_type="CAUSAL_LM",
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])).to(dev)
        decoder = peft_model.base_model.model.model
        embed = decoder.embed_tokens.weight.detach()
        layers = peft_model
        params = [p for p in peft_model.parameters() if p.requires_grad]
    else:
        embed = ((torch.rand(VOCAB, H, generator=gen) * 2 - 1)).to(dev)
        layers = torch.nn.ModuleList([Layer(lora, gen) for _ in range(a.layers)]).to(dev)
        params = [p for p in layers.parameters() if p.requires_grad]
    norm = torch.ones(H, device=dev)
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
    b, t = a.batch, a.tokens
    ids = torch.tensor([[(1000 + r * 131 + j * 7919) % VOCAB for j in range(t)] for r in range(b)], device=dev)
    pos = torch.arange(t, device=dev, dtype=torch.float32)
    inv = 1.0 / THETA ** (torch.arange(0, HD, 2, device=dev, dtype=torch.float32) / HD)
    ang = torch.outer(pos, inv)
    cos = torch.cat([ang.cos(), ang.cos()], -1)[None, None]
    sin = torch.cat([ang.sin(), ang.sin()], -1)[None, None]
    bias = torch.full((t, t), -1e9, device=dev).triu(1)[None, None]
    head = embed[DIGITS]
    target = torch.zeros(b, 6, device=dev)
    target[:, 2], target[:, 3] = 0.6, 0.4

    def step():
        if a.impl == "peft":
            logits = decoder(input_ids=ids).last_hidden_state[:, -1] @ head.T
        else:
            x = embed[ids]
            for layer in layers:
                x = layer(x, cos, sin, bias)
            logits = rms(x[:, -1], norm) @ head.T
        loss = -(target * torch.log_softmax(logits, -1)).sum() / b
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()

    layers.train()
    step()  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(a.reps):
        step()
    s = (time.perf_counter() - t0) / a.reps
    cpu = (time.process_time() - c0) / a.reps
    blas = "unknown"
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line}
        blas = ",".join(sorted(os.path.basename(x) for x in libs)) or "none loaded"
        blas += " (" + ",".join(sorted({os.path.basename(os.path.dirname(x)) for x in libs})) + ")"
    except OSError:
        pass
    print(json.dumps({
        "engine": "pytorch" if a.impl == "handwritten" else "pytorch-peft", "device": a.device, "layers": a.layers, "batch": b, "tokens": b * t,
        "seconds_per_step": s, "tokens_per_s": b * t / s, "cpu_seconds_per_step": cpu,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "threads": torch.get_num_threads(), "torch": torch.__version__, "blas": blas,
    }))


if __name__ == "__main__":
    main()

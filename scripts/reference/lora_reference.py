#!/usr/bin/env python3
"""Independent NumPy check of smft's LoRA files (no torch needed).

Given a base Hugging Face model folder and an smft/PEFT adapter folder it

  * checks the adapter is in PEFT's format: adapter_config.json (peft_type LORA,
    task_type CAUSAL_LM, r, lora_alpha, target_modules, layers_to_transform) and
    adapter_model.safetensors with PEFT's names
    base_model.model.model.layers.<i>.<self_attn|mlp>.<module>.lora_A.weight [r, in]
    and .lora_B.weight [out, r], F32, exactly one pair per targeted layer/module;
  * recomputes the merge W' = W + (alpha / r) * B @ A in float64 and, with --merged,
    compares it with the folder `smft merge` wrote (max |difference| per tensor,
    and every other tensor must be unchanged);
  * with --peft (a machine with torch, transformers and peft), loads the base model
    with the adapter through peft.PeftModel.from_pretrained and compares the
    next-token logits of a prompt with those of the merged folder.

  python3 scripts/reference/lora_reference.py --base MODEL_DIR --adapter ADAPTER_DIR \
      [--merged MERGED_DIR] [--peft] [--prompt TEXT]

Exit status 0 when every check passes, 1 otherwise. Needs numpy only (and
torch/transformers/peft for --peft).
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

TARGETS = {
    "q_proj": "self_attn.q_proj", "k_proj": "self_attn.k_proj", "v_proj": "self_attn.v_proj",
    "o_proj": "self_attn.o_proj", "gate_proj": "mlp.gate_proj", "up_proj": "mlp.up_proj",
    "down_proj": "mlp.down_proj",
}


def read_safetensors(path):
    """All tensors of a safetensors file as float32 numpy arrays (F32, F16, BF16)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            begin, end = info["data_offsets"]
            f.seek(base + begin)
            raw = f.read(end - begin)
            dt = info["dtype"]
            if dt == "F32":
                a = np.frombuffer(raw, dtype="<f4")
            elif dt == "F16":
                a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
            elif dt == "BF16":
                a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
            else:
                raise SystemExit(f"{path}: tensor {name} has unsupported dtype {dt}")
            out[name] = a.reshape(info["shape"]), dt
        return out, header.get("__metadata__", {})


def model_tensors(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        files = sorted(set(json.load(open(index))["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    out = {}
    for f in files:
        t, _ = read_safetensors(os.path.join(folder, f))
        out.update({k: v for k, (v, _) in t.items()})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True)
    ap.add_argument("--adapter", required=True)
    ap.add_argument("--merged")
    ap.add_argument("--peft", action="store_true")
    ap.add_argument("--prompt", default="Complete the task. The concept is: \"thunder\". Answer: ")
    ap.add_argument("--tol", type=float, default=1e-5)
    args = ap.parse_args()
    ok = True

    def fail(msg):
        nonlocal ok
        ok = False
        print("FAIL", msg)

    cfg = json.load(open(os.path.join(args.adapter, "adapter_config.json")))
    for k, v in (("peft_type", "LORA"), ("task_type", "CAUSAL_LM")):
        if cfg.get(k) != v:
            fail(f"adapter_config.json {k} = {cfg.get(k)!r}, expected {v!r}")
    r, alpha = cfg["r"], cfg["lora_alpha"]
    scale = alpha / np.sqrt(r) if cfg.get("use_rslora") else alpha / r
    base_cfg = json.load(open(os.path.join(args.base, "config.json")))
    layers = cfg.get("layers_to_transform")
    layers = list(range(base_cfg["num_hidden_layers"])) if layers is None else ([layers] if isinstance(layers, int) else layers)
    modules = [f"model.layers.{i}.{TARGETS[t]}" for i in layers for t in TARGETS if t in cfg["target_modules"]]

    ad, meta = read_safetensors(os.path.join(args.adapter, "adapter_model.safetensors"))
    base = model_tensors(args.base)
    expected = set()
    merged_ref = {}
    for m in modules:
        an, bn = f"base_model.model.{m}.lora_A.weight", f"base_model.model.{m}.lora_B.weight"
        expected |= {an, bn}
        if an not in ad or bn not in ad:
            fail(f"missing {an if an not in ad else bn}")
            continue
        (a, adt), (b, bdt) = ad[an], ad[bn]
        w = base[f"{m}.weight"].astype(np.float64)
        out_f, in_f = w.shape
        if a.shape != (r, in_f) or b.shape != (out_f, r):
            fail(f"{m}: A {a.shape} / B {b.shape}, expected {(r, in_f)} / {(out_f, r)}")
            continue
        if adt != "F32" or bdt != "F32":
            fail(f"{m}: dtypes {adt}/{bdt}, expected F32")
        merged_ref[f"{m}.weight"] = w + scale * (b.astype(np.float64) @ a.astype(np.float64))
    extra = set(ad) - expected
    if extra:
        fail(f"{len(extra)} unexpected adapter tensors, e.g. {sorted(extra)[0]}")
    print(f"adapter: r={r} alpha={alpha} scale={scale:g} modules={len(modules)} tensors={len(ad)} "
          f"base recorded by smft: {json.loads(meta['smft_base_model'])['name'] if 'smft_base_model' in meta else '-'}")

    if args.merged:
        merged = model_tensors(args.merged)
        worst = 0.0
        for name, w in base.items():
            if name.endswith("rotary_emb.inv_freq"):
                continue
            if name not in merged:
                fail(f"merged model lacks {name}")
                continue
            ref = merged_ref.get(name, w.astype(np.float64))
            if merged[name].shape != ref.shape:
                fail(f"{name}: merged shape {merged[name].shape}, base {ref.shape}")
                continue
            d = float(np.max(np.abs(merged[name].astype(np.float64) - ref))) if ref.size else 0.0
            rel = d / max(float(np.max(np.abs(ref))), 1e-30)
            worst = max(worst, rel)
            if rel > args.tol:
                fail(f"{name}: max |merged - reference| / max|reference| = {rel:.3g}")
        print(f"merge: {len(merged_ref)} merged tensors, worst relative difference {worst:.3g} (tolerance {args.tol:g})")

    if args.peft:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from peft import PeftModel
        except ImportError as e:
            raise SystemExit(f"--peft needs torch, transformers and peft ({e})")
        if not args.merged:
            raise SystemExit("--peft compares against --merged")
        tok = AutoTokenizer.from_pretrained(args.base)
        ids = tok(args.prompt, return_tensors="pt")
        with torch.no_grad():
            m = AutoModelForCausalLM.from_pretrained(args.base, torch_dtype=torch.float32)
            pm = PeftModel.from_pretrained(m, args.adapter).eval()
            lp = pm(**ids).logits[0, -1].double()
            mm = AutoModelForCausalLM.from_pretrained(args.merged, torch_dtype=torch.float32).eval()
            lm = mm(**ids).logits[0, -1].double()
        rel = float((lp - lm).abs().max() / lp.abs().max())
        print(f"peft: PeftModel.from_pretrained loaded the adapter; last-token logits vs merged: relative difference {rel:.3g}")
        if rel > 1e-4:
            fail("peft logits differ from the merged model")

    print("OK" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

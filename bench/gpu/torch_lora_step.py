#!/usr/bin/env python3
"""PyTorch baseline for bench/gpu/check.sh: LoRA training steps of a Llama model of the `1b` preset's shape
(TinyLlama: hidden 2048, 22 layers, 32 heads, 4 KV heads, intermediate 5632, vocab 32000), frozen base weights in
bf16, LoRA r 64 / alpha 16 / dropout 0.05 on all seven projections in fp32 master weights with bf16 autocast, AdamW,
activation checkpointing per decoder block, batch 1 at --seq tokens: the shape qlora-stream's `GpuCheck bench`
trains. Self-contained (no transformers, no downloads): random weights, random tokens.
Prints torch_tokens_per_s=... and torch_peak_gpu_mib=... (torch.cuda.max_memory_allocated)."""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

HIDDEN, LAYERS, HEADS, KV_HEADS, INTER, VOCAB = 2048, 22, 32, 4, 5632, 32000


class LoraLinear(nn.Module):
    def __init__(self, fin, fout, r, alpha, dropout):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(fout, fin, dtype=torch.bfloat16) * 0.02, requires_grad=False)
        self.a = nn.Parameter(torch.randn(r, fin) / math.sqrt(fin))
        self.b = nn.Parameter(torch.zeros(fout, r))
        self.scale = alpha / r
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return F.linear(x, self.weight) + F.linear(F.linear(self.drop(x), self.a), self.b) * self.scale


class RMSNorm(nn.Module):
    def __init__(self, n, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n, dtype=torch.bfloat16), requires_grad=False)
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * self.weight


def rope(x, cos, sin):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


class Block(nn.Module):
    def __init__(self, r, alpha, dropout):
        super().__init__()
        hd = HIDDEN // HEADS
        lin = lambda i, o: LoraLinear(i, o, r, alpha, dropout)
        self.q, self.k, self.v, self.o = lin(HIDDEN, HIDDEN), lin(HIDDEN, KV_HEADS * hd), lin(HIDDEN, KV_HEADS * hd), lin(HIDDEN, HIDDEN)
        self.gate, self.up, self.down = lin(HIDDEN, INTER), lin(HIDDEN, INTER), lin(INTER, HIDDEN)
        self.n1, self.n2 = RMSNorm(HIDDEN), RMSNorm(HIDDEN)

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        hd = HIDDEN // HEADS
        h = self.n1(x)
        q = self.q(h).view(b, t, HEADS, hd).transpose(1, 2)
        k = self.k(h).view(b, t, KV_HEADS, hd).transpose(1, 2)
        v = self.v(h).view(b, t, KV_HEADS, hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        k = k.repeat_interleave(HEADS // KV_HEADS, dim=1)
        v = v.repeat_interleave(HEADS // KV_HEADS, dim=1)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, HIDDEN)
        x = x + self.o(a)
        h = self.n2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Model(nn.Module):
    def __init__(self, r, alpha, dropout):
        super().__init__()
        self.embed = nn.Parameter(torch.randn(VOCAB, HIDDEN, dtype=torch.bfloat16) * 0.02, requires_grad=False)
        self.blocks = nn.ModuleList(Block(r, alpha, dropout) for _ in range(LAYERS))
        self.norm = RMSNorm(HIDDEN)
        self.head = nn.Parameter(torch.randn(VOCAB, HIDDEN, dtype=torch.bfloat16) * 0.02, requires_grad=False)

    def forward(self, ids, checkpointing):
        t = ids.shape[1]
        hd = HIDDEN // HEADS
        inv = 1.0 / (10000 ** (torch.arange(0, hd, 2, device=ids.device).float() / hd))
        f = torch.outer(torch.arange(t, device=ids.device).float(), inv)
        emb = torch.cat((f, f), dim=-1)
        cos, sin = emb.cos().to(torch.bfloat16), emb.sin().to(torch.bfloat16)
        x = self.embed[ids]
        for blk in self.blocks:
            x = checkpoint(blk, x, cos, sin, use_reentrant=False) if checkpointing else blk(x, cos, sin)
        return F.linear(self.norm(x), self.head)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seq", type=int, default=1024)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--r", type=int, default=64)
    p.add_argument("--no-checkpointing", action="store_true")
    args = p.parse_args()
    torch.manual_seed(0)
    dev = torch.device("cuda")
    model = Model(args.r, 16, 0.05).to(dev)
    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=2e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    ids = torch.randint(0, VOCAB, (1, args.seq), device=dev)
    print(f"pytorch {torch.__version__}, {sum(q.numel() for q in params):,} LoRA parameters, seq {args.seq}")

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(ids, not args.no_checkpointing)
        loss = F.cross_entropy(logits[0, :-1].float(), ids[0, 1:])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 0.3)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    step()  # warm-up
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    torch.cuda.synchronize()
    dt = (time.perf_counter() - t0) / args.steps
    print(f"torch step [1 x {args.seq}] {dt:.3f} s")
    print(f"torch_tokens_per_s={args.seq / dt:.2f}")
    print(f"torch_peak_gpu_mib={torch.cuda.max_memory_allocated() / 1048576:.0f}")


if __name__ == "__main__":
    main()

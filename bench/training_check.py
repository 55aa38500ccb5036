#!/usr/bin/env python3
"""A trained model against the exact answer: what issue 14 measures.

For one mixture and SDE: draw the training rows and held-out rows exactly,
train with the given sde-train arguments (defaults otherwise), then
  - PC and ODE samples (defaults): mean true log-density minus that of a fresh
    exact sample (nats, with its standard error), and the worst component
    weight in standard errors;
  - the likelihood of the held-out rows: mean |log p_hat - log p| (nats);
  - the learned score's relative error against the exact one per band of t;
  - the training seconds.
Prints one JSON line per run; --render turns such lines into Markdown rows.

Usage: bench/training_check.py --mixture data/ring8.json --sde vp [--bin build/bin]
       [--rows 20000] [-n 20000] [--holdout 2000] [--skip pc,ode,lik] [-- sde-train args...]
       bench/training_check.py --render results.jsonl...
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"training_check: {' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def stats(tool, samples, mixture, out):
    run([tool("sde-npy"), "stats", samples, "--mixture", mixture, "-o", out])
    with open(out) as f:
        return json.load(f)["mixture"]


def gap(s, exact, n):
    """Mean log-density difference, its SE, and the worst weight deviation in SE."""
    d = s["mean_log_density"] - exact["mean_log_density"]
    se = math.hypot(s["mean_log_density_se"], exact["mean_log_density_se"])
    worst = 0.0
    for w, p in zip(exact["weights"], s["posterior_weights"]):
        worst = max(worst, abs(p - w) / math.sqrt(w * (1 - w) / n) if 0 < w < 1 else 0.0)
    return {"gap": d, "gap_se": se, "worst_weight_se": worst}


def render(paths):
    print("| mixture | SDE | recipe | train s | PC gap (weight SE) | ODE gap (weight SE) | likelihood MAE "
          "| score error at t = 0.01 / 0.05 / 0.09 / 0.38 |")
    print("|---|---|---|---|---|---|---|---|")
    for path in paths:
        for line in open(path):
            r = json.loads(line)
            gap = lambda k: f"{r[k]['gap']:+.3f} ({r[k]['worst_weight_se']:.1f})" if k in r else "-"
            mae = f"{r['likelihood_mae']:.3f}" if "likelihood_mae" in r else "-"
            by_t = r["score_error_by_t"]  # 25 times evenly on [0.01, 1]
            picks = [by_t[0], by_t[1], by_t[2], by_t[9]]
            print(f"| {r['mixture'].removesuffix('.json')} | {r['sde']} | {r['label']} | {r['train_seconds']:.0f} "
                  f"| {gap('pc')} | {gap('ode')} | {mae} "
                  f"| {' / '.join(f'{x:.3f}' for x in picks)} |")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--render":
        return render(sys.argv[2:])
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--mixture", required=True)
    ap.add_argument("--sde", default="vp")
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("-n", type=int, default=20000)
    ap.add_argument("--holdout", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip", default="")
    ap.add_argument("--label", default="")
    ap.add_argument("train_args", nargs="*")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    tool = lambda name: os.path.join(a.bin, name)
    result = {"mixture": os.path.basename(a.mixture), "sde": a.sde, "label": a.label,
              "train_args": a.train_args}
    with tempfile.TemporaryDirectory() as tmp:
        p = lambda name: os.path.join(tmp, name)
        seed = a.seed * 1000
        run([tool("sde-perturb"), "--mixture", a.mixture, "-n", str(a.rows), "--seed", str(seed + 1), "-o", p("train.npy")])
        run([tool("sde-perturb"), "--mixture", a.mixture, "-n", str(a.holdout), "--seed", str(seed + 2), "-o", p("held.npy")])
        run([tool("sde-perturb"), "--mixture", a.mixture, "-n", str(a.n), "--seed", str(seed + 3), "-o", p("exact.npy")])
        exact = stats(tool, p("exact.npy"), a.mixture, p("exact.json"))
        start = time.time()
        run([tool("sde-train"), p("train.npy"), "--sde", a.sde, "--truth", a.mixture, "--quiet",
             "--summary", p("train.json"), "-o", p("model.json")] + a.train_args)
        result["train_seconds"] = round(time.time() - start, 2)
        with open(p("train.json")) as f:
            t = json.load(f)
        result["score_error"] = t.get("score_relative_error")
        result["score_error_by_t"] = t.get("score_relative_error_by_t")
        for sampler in ("pc", "ode"):
            if sampler in skip:
                continue
            run([tool("sde-sample"), "--model", p("model.json"), "--sampler", sampler, "-n", str(a.n),
                 "--seed", str(seed + 4), "-o", p(sampler + ".npy")])
            result[sampler] = gap(stats(tool, p(sampler + ".npy"), a.mixture, p(sampler + ".json")), exact, a.n)
        if "lik" not in skip:
            run([tool("sde-likelihood"), "--model", p("model.json"), p("held.npy"), "--truth", a.mixture,
                 "--summary", p("lik.json"), "-o", p("logp.npy")])
            with open(p("lik.json")) as f:
                result["likelihood_mae"] = json.load(f)["mean_abs_error_vs_exact"]
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

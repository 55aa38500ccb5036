#!/usr/bin/env python3
"""Every sampler at its defaults, with the exact score, against exact draws.

Issue 4 asks that with the oracle, for VE, VP and sub-VP and each sampler at
its defaults, 20k samples of 2-D and higher-dimensional mixtures (unequal
weights, full covariances) be indistinguishable from exact draws. The unit
tests check this at 4000 samples; this script does it at full size and
writes the table to bench/ORACLE.md.

Criteria (written into the table's header):
  - every component weight (mean posterior) within 4 SE of its true weight,
    SE = sqrt(w (1 - w) / N);
  - mean true log-density within 4 SE of that of a fresh exact sample,
    SE of the difference = sqrt(se_a^2 + se_b^2);
  - energy distance to another exact sample, next to the exact-vs-exact value.

Usage: bench/oracle_check.py [--bin build/bin] [-n 20000] [--mixtures a.json,b.json]
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

# What the failing rows come from, measured separately (20 000 samples, seed 7).
NOTES = """## Why rows fail

- **PC in 5-D (-4.3 SE in log p).** The Langevin corrector at the paper's snr = 0.16 is
  unadjusted Langevin: its finite steps widen each p_t by O(step), which shows in 5-D. On
  full5d/VP, `--corrector none` gives -6.5623 (exact -6.5757 +- 0.0114) and `--snr 0.08`
  -6.5859; both pass. The default stays 0.16, the paper's and the peer's.
- **VE in 5-D, mode weights (ODE 4.8 SE, DPM-Solver 50 steps 4.6 SE).** The prior
  N(0, sigma_max^2 I) ignores the mixture's mean (|mean| = 4.2 in full5d, 0.08 sigma_max),
  and the deterministic solvers carry that offset into the mode weights. Started from
  exact x(T) draws (`sde-perturb --mixture data/full5d.json --sde ve --t 1` then
  `sde-sample --sampler ode --latent`) the ODE gives weights 0.4019 / 0.2945 / 0.2036 / 0.1000
  (truth 0.4 / 0.3 / 0.2 / 0.1), against 0.3905 / 0.2976 / 0.2017 / 0.1102 from the prior.
  The `exact prior` rows start from exact draws of p_T (`--prior exact`) and pass.
- **20-step solvers.** DDIM and DPM-Solver++ 2M at 20 steps are 7-19 SE off in log p at
  20 000 samples (0.06-0.3 nats); 50 steps of DPM-Solver++ pass except for the VE prior
  effect above. The sharp components (smallest std 0.18 in aniso2d) need the steps.
  The third-order solvers at 20 steps (DPM-Solver++ 3M, UniPC-3) are off by -13 to +13 SE
  depending on mixture and SDE: on the Karras grid's uneven steps their extrapolation
  overshoots or undershoots. UniPC-3 at 40 steps (41 NFE) passes everywhere but for the
  VE prior effect.
"""

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLERS = {  # name -> sde-sample arguments (defaults otherwise)
    "pc (1000 steps + Langevin)": ["--sampler", "pc"],
    "ode (dopri5, 1e-5)": ["--sampler", "ode"],
    "ddim (20 steps)": ["--sampler", "ddim"],
    "dpm-solver++ 2M (20 steps)": ["--sampler", "dpm-solver"],
    "dpm-solver++ 2M (50 steps)": ["--sampler", "dpm-solver", "--steps", "50"],
    "dpm-solver++ 3M (20 steps)": ["--sampler", "dpm-solver", "--order", "3"],
    "unipc 3 (20 steps)": ["--sampler", "unipc", "--order", "3"],
    "unipc 3 (20 steps, log-SNR grid)": ["--sampler", "unipc", "--order", "3", "--schedule", "logsnr"],
    "unipc 3 (40 steps)": ["--sampler", "unipc", "--order", "3", "--steps", "40"],
    # From exact draws of p_T: the solver's error alone (no prior mismatch).
    "ode (dopri5, 1e-5), exact prior": ["--sampler", "ode", "--prior", "exact"],
    "unipc 3 (40 steps), exact prior": ["--sampler", "unipc", "--order", "3", "--steps", "40", "--prior", "exact"],
    "sde-dpm-solver++ 2M (20 steps)": ["--sampler", "dpm-solver", "--stochastic"],
}


def run(binary, *args):
    out = subprocess.run([os.path.join(A.bin, binary), *map(str, args)], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{binary} {' '.join(map(str, args))}: {out.stderr.strip()}")
    return out.stdout


def stats(path, mixture):
    return json.loads(run("sde-npy", "stats", path, "--mixture", mixture))["mixture"]


def judge(sample, exact, exact2, mixture, weights):
    s, e = stats(sample, mixture), stats(exact, mixture)
    n = A.n
    worst = max(abs(p - w) / math.sqrt(w * (1 - w) / n) for p, w in zip(s["posterior_weights"], weights))
    se = math.hypot(s["mean_log_density_se"], e["mean_log_density_se"])
    dlogp = (s["mean_log_density"] - e["mean_log_density"]) / se
    ed = json.loads(run("sde-npy", "compare", sample, exact2, "--max-points", 5000))["energy_distance"]
    return s["mean_log_density"], worst, dlogp, ed


def main():
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mixture in A.mixtures.split(","):
            path = os.path.join(ROOT, mixture)
            spec = json.load(open(path))
            weights = spec["weights"]
            exact, exact2 = os.path.join(tmp, "exact.npy"), os.path.join(tmp, "exact2.npy")
            run("sde-perturb", "--mixture", path, "-n", A.n, "--seed", 101, "-o", exact)
            run("sde-perturb", "--mixture", path, "-n", A.n, "--seed", 102, "-o", exact2)
            floor = json.loads(run("sde-npy", "compare", exact, exact2, "--max-points", 5000))["energy_distance"]
            logp = stats(exact, path)["mean_log_density"]
            rows.append((mixture, "exact draws", "", "", logp, 0.0, 0.0, floor, ""))
            for sde in ("ve", "vp", "subvp"):
                for name, args in SAMPLERS.items():
                    out, summary = os.path.join(tmp, "x.npy"), os.path.join(tmp, "s.json")
                    t0 = time.time()
                    run("sde-sample", "--mixture", path, "--sde", sde, "-n", A.n, "--seed", 7, *args,
                        "--threads", A.threads, "-o", out, "--summary", summary)
                    seconds = time.time() - t0
                    nfe = json.load(open(summary)).get("nfe_mean", "")
                    lp, worst, dlogp, ed = judge(out, exact, exact2, path, weights)
                    ok = "yes" if worst <= 4 and abs(dlogp) <= 4 else "**no**"
                    rows.append((mixture, sde, name, nfe, lp, worst, dlogp, ed, ok, seconds))
                    print(rows[-1], file=sys.stderr)
    lines = [
        "# Samplers with the exact score against exact draws",
        "",
        f"{A.n} samples per row, seed 7, `--threads {A.threads}`; made by `bench/oracle_check.py -n {A.n}`.",
        "Pass: every component weight within 4 SE of the truth and the mean true log-density",
        "within 4 SE of a fresh exact sample's. ED: energy distance to a second exact sample",
        "(5000 points each); the exact-draws row gives the exact-vs-exact value.",
        "",
        "| mixture | SDE | sampler | NFE | mean log p | worst weight (SE) | log p diff (SE) | ED | pass | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        mixture, sde, name, nfe, lp, worst, dlogp, ed, ok = r[:9]
        sec = f"{r[9]:.1f}" if len(r) > 9 else ""
        nfe = f"{nfe:.0f}" if isinstance(nfe, (int, float)) else nfe
        lines.append(f"| {mixture} | {sde} | {name} | {nfe} | {lp:.4f} | {worst:.1f} | {dlogp:+.1f} | {ed:.5f} | {ok} | {sec} |")
    lines += ["", NOTES]
    open(os.path.join(ROOT, "bench", "ORACLE.md"), "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    P = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    P.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    P.add_argument("-n", type=int, default=20000)
    P.add_argument("--threads", type=int, default=2)
    P.add_argument("--mixtures", default="data/aniso2d.json,data/full5d.json")
    A = P.parse_args()
    main()

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
  - energy distance to another exact sample (5000 points each) within 3 standard
    deviations of the mean of 10 exact-vs-exact pairs.

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

# What the rows show, measured separately (20 000 samples, seed 7).
NOTES = """## Reading the table

- **Defaults.** The first rows of each block run every sampler at its defaults: PC
  corrector snr 0.1, the prior N(m(T) mu, s_T^2 I) centred on the data mean, and the fast
  solvers' step counts of `default_fast_steps` (lib/sample.hpp: DPM-Solver++ and UniPC 60,
  the stochastic 2M 100, DDIM 200).
- **PC at the paper's snr 0.16 (-4.2 to -4.4 SE in 5-D).** The Langevin corrector is
  unadjusted: its stationary law is wider than p_t by about r^2 d / 2 nats in mean
  log-density for a Gaussian (-0.064 at r = 0.16 in 5-D, about 4 of this table's SE of the
  difference, which counts the exact sample's noise too). At 0.1 the
  widening is 2.6 times smaller; `--corrector none` and snr 0.05 sit at the exact value.
- **The prior.** The paper's N(0, sigma_max^2 I) ignores the data mean (|mean| = 4.2 in
  full5d, 0.08 sigma_max under VE); deterministic solvers carried that offset into the mode
  weights (4.8 SE under VE before the prior was centred). The `exact prior` rows start from
  exact draws of p_T and show what the solver alone does.
- **20 steps.** DDIM and DPM-Solver++ 2M at 20 steps are 7-19 SE off in log p (0.05-0.3
  nats); the third-order solvers -13 to +13 SE, their sign depending on mixture and SDE
  (on the Karras grid's uneven steps the extrapolation overshoots or undershoots). The
  sharp components (smallest std 0.18 in aniso2d) need the steps. UniPC-3 needs 30 steps
  (31 NFE) to pass everywhere, DPM-Solver++ 3M 40, the second-order solvers 50-60.
- **DDIM with eta = 1** (the ancestral sampler) is biased towards the modes: replacing x(0)
  by E[x(0) | x(t)] in each step drops Var[x(0) | x(t)], so the samples are too sharp
  (+7 SE in log p in 5-D at 200 steps, +3 at 1000).
"""

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLERS = {  # name -> sde-sample arguments (defaults otherwise)
    "pc (1000 steps + Langevin), default": ["--sampler", "pc"],
    "ode (dopri5, 1e-5), default": ["--sampler", "ode"],
    "ddim (200 steps), default": ["--sampler", "ddim"],
    "dpm-solver++ 2M (60 steps), default": ["--sampler", "dpm-solver"],
    "dpm-solver++ 3M (60 steps), default steps": ["--sampler", "dpm-solver", "--order", "3"],
    "unipc 2 (60 steps), default": ["--sampler", "unipc"],
    "unipc 3 (60 steps), default steps": ["--sampler", "unipc", "--order", "3"],
    "sde-dpm-solver++ 2M (100 steps), default": ["--sampler", "dpm-solver", "--stochastic"],
    "dpm-solver++ 1 (200 steps), default steps": ["--sampler", "dpm-solver", "--order", "1"],
    "unipc 1 (60 steps), default steps": ["--sampler", "unipc", "--order", "1"],
    "sde-dpm-solver++ 1 = ddim eta 1 (200 steps)": ["--sampler", "dpm-solver", "--stochastic", "--order", "1"],
    "pc, the paper's snr 0.16": ["--sampler", "pc", "--snr", "0.16"],
    "ddim (20 steps)": ["--sampler", "ddim", "--steps", "20"],
    "dpm-solver++ 2M (20 steps)": ["--sampler", "dpm-solver", "--steps", "20"],
    "dpm-solver++ 3M (20 steps)": ["--sampler", "dpm-solver", "--order", "3", "--steps", "20"],
    "unipc 3 (20 steps)": ["--sampler", "unipc", "--order", "3", "--steps", "20"],
    "unipc 3 (20 steps, log-SNR grid)": ["--sampler", "unipc", "--order", "3", "--steps", "20", "--schedule", "logsnr"],
    "unipc 3 (30 steps)": ["--sampler", "unipc", "--order", "3", "--steps", "30"],
    "dpm-solver++ 3M (40 steps)": ["--sampler", "dpm-solver", "--order", "3", "--steps", "40"],
    # From exact draws of p_T: the solver's error alone (no prior mismatch).
    "ode (dopri5, 1e-5), exact prior": ["--sampler", "ode", "--prior", "exact"],
    "unipc 3 (30 steps), exact prior": ["--sampler", "unipc", "--order", "3", "--steps", "30", "--prior", "exact"],
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
            nulls = []  # exact vs exact: the energy distance's noise
            for k in range(10):
                a, b = os.path.join(tmp, "a.npy"), os.path.join(tmp, "b.npy")
                run("sde-perturb", "--mixture", path, "-n", 5000, "--seed", 200 + k, "-o", a)
                run("sde-perturb", "--mixture", path, "-n", 5000, "--seed", 300 + k, "-o", b)
                nulls.append(json.loads(run("sde-npy", "compare", a, b))["energy_distance"])
            ed_mean = sum(nulls) / len(nulls)
            ed_sd = math.sqrt(sum((v - ed_mean) ** 2 for v in nulls) / (len(nulls) - 1))
            ed_limit = ed_mean + 3 * ed_sd
            logp = stats(exact, path)["mean_log_density"]
            rows.append((mixture, "exact draws", "", "", logp, 0.0, 0.0,
                         f"{ed_mean:.5f} ± {ed_sd:.5f}", f"ED limit {ed_limit:.5f}"))
            for sde in ("ve", "vp", "subvp"):
                for name, args in SAMPLERS.items():
                    out, summary = os.path.join(tmp, "x.npy"), os.path.join(tmp, "s.json")
                    t0 = time.time()
                    run("sde-sample", "--mixture", path, "--sde", sde, "-n", A.n, "--seed", 7, *args,
                        "--threads", A.threads, "-o", out, "--summary", summary)
                    seconds = time.time() - t0
                    nfe = json.load(open(summary)).get("nfe_mean", "")
                    lp, worst, dlogp, ed = judge(out, exact, exact2, path, weights)
                    ok = "yes" if worst <= 4 and abs(dlogp) <= 4 and ed <= ed_limit else "**no**"
                    rows.append((mixture, sde, name, nfe, lp, worst, dlogp, ed, ok, seconds))
                    print(rows[-1], file=sys.stderr)
    lines = [
        "# Samplers with the exact score against exact draws",
        "",
        f"{A.n} samples per row, seed 7, `--threads {A.threads}`; made by `bench/oracle_check.py -n {A.n}`.",
        "Pass: every component weight within 4 SE of the truth, the mean true log-density",
        "within 4 SE of a fresh exact sample's, and ED, the energy distance to a second exact",
        "sample (5000 points each), within 3 sd of its exact-vs-exact mean (10 pairs; the",
        "exact-draws row gives mean ± sd and the limit).",
        "",
        "| mixture | SDE | sampler | NFE | mean log p | worst weight (SE) | log p diff (SE) | ED | pass | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        mixture, sde, name, nfe, lp, worst, dlogp, ed, ok = r[:9]
        sec = f"{r[9]:.1f}" if len(r) > 9 else ""
        nfe = f"{nfe:.0f}" if isinstance(nfe, (int, float)) else nfe
        ed = ed if isinstance(ed, str) else f"{ed:.5f}"
        lines.append(f"| {mixture} | {sde} | {name} | {nfe} | {lp:.4f} | {worst:.1f} | {dlogp:+.1f} | {ed} | {ok} "
                     f"| {sec} |")
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

"""exact_mixture.py -- a Gaussian-mixture spec (data/*.json) perturbed by an SDE, in numpy.

The independent check of the tools' oracle: x(t) = m x(0) + s z keeps a
mixture a mixture, component k becoming N(m mu_k, m^2 Sigma_k + s^2 I), so
log p_t and its score have closed forms. Used by the CLI tests.
"""
import json

import numpy as np


def read(path):
    """(weights K, means K x d, covariances K x d x d) of a mixture spec."""
    with open(path) as f:
        spec = json.load(f)
    w = np.asarray(spec['weights'], dtype=np.float64)
    mu = np.asarray(spec['means'], dtype=np.float64).reshape(len(w), -1)
    d = mu.shape[1]
    if 'stds' in spec:
        cov = np.asarray(spec['stds'], dtype=np.float64)[:, None, None] ** 2 * np.eye(d)[None]
    else:
        cov = np.asarray(spec['covariances'], dtype=np.float64).reshape(len(w), d, d)
    return w, mu, cov


def log_density_and_score(mixture, x, m, s):
    """log p_t(x) (N) and grad_x log p_t(x) (N x d) at per-row m, s (N)."""
    w, mu, cov = mixture
    x = np.atleast_2d(x)
    n, d = x.shape
    logs, grads = [], []
    for k in range(len(w)):
        c = (m[:, None, None] ** 2) * cov[k][None] + (s[:, None, None] ** 2) * np.eye(d)[None]  # N x d x d
        diff = x - m[:, None] * mu[k][None]
        sol = np.linalg.solve(c, diff[:, :, None])[:, :, 0]
        _, logdet = np.linalg.slogdet(c)
        logs.append(np.log(w[k]) - 0.5 * (d * np.log(2 * np.pi) + logdet + np.sum(diff * sol, axis=1)))
        grads.append(-sol)
    logs = np.stack(logs, axis=1)  # N x K
    top = logs.max(axis=1, keepdims=True)
    post = np.exp(logs - top)
    total = post.sum(axis=1, keepdims=True)
    post /= total
    score = np.einsum('nk,knd->nd', post, np.stack(grads))
    return (top + np.log(total))[:, 0], score

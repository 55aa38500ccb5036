"""sde_model.py -- the model files of sde-train in numpy, as the tools evaluate them.

A reference reader of `sde-train -o model.json` (format "sde-tools-model",
version 1) that needs numpy only, so a trained model can be taken into a
Python workflow:

    import numpy as np, sde_model
    m = sde_model.load('model.json')          # the EMA weights, as the tools sample with
    s = m.score(x, t)                         # grad_x log p_t(x): x N x d, t a number or N
    d = m.denoiser(x, t)                      # E[x(0) | x(t)] = (x + std^2 score) / mean
    e = m.noise(x, t)                         # -std(t) score

It follows lib/model.cpp and lib/net.cpp step for step: the network in
float32 (inputs rounded as the C++ rounds them: the phases (2 pi t) f of the
time features in float32), the chain rule from its output to the score in
float64. The results agree with `sde-score --model` to float32 precision
(the C++ sums in another order and has its own sin, cos and exp);
tests/cli/python_model.sh checks it.

Reading an array the tools wrote to a pipe: np.load wants a seekable file,
so wrap the bytes, np.load(io.BytesIO(sys.stdin.buffer.read())).
"""
import json
import math

import numpy as np

FORMAT, VERSION = 'sde-tools-model', 1


class Sde:
    """The forward SDE: mean_coeff m(t) and std s(t) of x(t) given x(0)."""

    def __init__(self, spec):
        self.kind = spec['type']
        if self.kind == 've':
            self.sigma_min, self.sigma_max = spec['sigma_min'], spec['sigma_max']
        elif self.kind in ('vp', 'subvp'):
            self.beta_min, self.beta_max = spec['beta_min'], spec['beta_max']
        else:
            raise ValueError(f"unknown SDE type {self.kind!r}")

    def _beta_integral(self, t):
        return self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t * t

    def mean_coeff(self, t):
        t = np.asarray(t, dtype=np.float64)
        return np.ones_like(t) if self.kind == 've' else np.exp(-0.5 * self._beta_integral(t))

    def std(self, t):
        t = np.asarray(t, dtype=np.float64)
        if self.kind == 've':
            return self.sigma_min * np.sqrt(np.expm1(2.0 * t * math.log(self.sigma_max / self.sigma_min)))
        if self.kind == 'vp':
            return np.sqrt(-np.expm1(-self._beta_integral(t)))
        return -np.expm1(-self._beta_integral(t))


_ACTIVATIONS = {
    'silu': lambda z: z / (np.float32(1) + np.exp(-z)),
    'relu': lambda z: np.maximum(z, np.float32(0)),
    'tanh': np.tanh,
    'softplus': lambda z: np.where(z > 20, z, np.log1p(np.exp(np.minimum(z, np.float32(20))))),
}


class Model:
    """A model file's network and the map from its output to the score."""

    def __init__(self, spec, use_ema=True):
        if spec.get('format') != FORMAT or spec.get('version') != VERSION:
            raise ValueError(f"not an sde-tools model file (format {FORMAT!r}, version {VERSION})")
        arch = spec['architecture']
        self.dim = int(arch['dim'])
        self.hidden = [int(h) for h in arch['hidden']]
        self.activation = _ACTIVATIONS[arch['activation']]
        self.residual = bool(arch.get('residual', False))
        self.frequencies = np.asarray(spec['time_frequencies'], dtype=np.float32)
        layers = spec['ema']['weights'] if use_ema and spec.get('ema') else spec['weights']
        self.weights = [np.asarray(l['weight'], dtype=np.float32) for l in layers]
        self.biases = [np.asarray(l['bias'], dtype=np.float32) for l in layers]
        self.sde = Sde(spec['sde'])
        self.parameterization = spec.get('parameterization', 'noise')
        self.sigma_data = float(spec.get('sigma_data', 1.0))
        self.input_gain = float(spec.get('input_gain', 1.0))
        self.data_mean = np.asarray(spec.get('data_mean', [0.0] * self.dim), dtype=np.float64)
        widths = [self.dim + 2 * len(self.frequencies)] + self.hidden + [self.dim]
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            if w.shape != (widths[l + 1], widths[l]) or b.shape != (widths[l + 1],):
                raise ValueError(f"layer {l}: weight {w.shape}, bias {b.shape}, expected "
                                 f"({widths[l + 1]}, {widths[l]}) and ({widths[l + 1]},)")

    def network(self, u, time):
        """The raw network F(u, time) in float32: u N x d, time N."""
        u = np.asarray(u, dtype=np.float32)
        phase = (np.float32(2 * math.pi) * np.asarray(time, dtype=np.float32))[:, None] * self.frequencies[None, :]
        h = np.concatenate([u, np.sin(phase), np.cos(phase)], axis=1)
        last = len(self.weights) - 1
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = h @ w.T + b
            if l == last:
                return z
            # Residual blocks: hidden layers after the first whose width is kept.
            skip = self.residual and l > 0 and w.shape[0] == w.shape[1]
            h = self.activation(z) + h if skip else self.activation(z)

    def coefficients(self, t):
        """ScoreCoefficients (in, time, skip, out, centre) at times t (N):
        score = skip (x - centre mu) + out F(in (x - centre mu), time)."""
        m, s = self.sde.mean_coeff(t), self.sde.std(t)
        one = np.ones_like(m)
        if self.parameterization == 'noise':
            return one, np.asarray(t, dtype=np.float64), 0 * one, -1 / s, 0 * one
        if self.parameterization == 'scaled':
            return 1 / np.sqrt(m * m * self.sigma_data ** 2 + s * s), np.asarray(t, dtype=np.float64), 0 * one, -1 / s, 0 * one
        if self.parameterization == 'edm':
            sd = self.sigma_data
            total = np.sqrt(s * s + m * m * sd * sd)
            return self.input_gain / total, np.log(s / m) / 4, -1 / (total * total), m * sd / (s * total), m
        raise ValueError(f"unknown parameterization {self.parameterization!r}")

    def score(self, x, t):
        """grad_x log p_t(x) for x (N x d) at t (a number, or N times)."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        t = np.broadcast_to(np.asarray(t, dtype=np.float64), (x.shape[0],))
        c_in, c_time, c_skip, c_out, centre = self.coefficients(t)
        centred = x - centre[:, None] * self.data_mean[None, :]
        # The input is rounded to float32 after scaling, as NetScore does.
        f = self.network((c_in[:, None] * centred).astype(np.float32), c_time.astype(np.float32))
        return c_skip[:, None] * centred + c_out[:, None] * f.astype(np.float64)

    def denoiser(self, x, t):
        """E[x(0) | x(t) = x] = (x + std^2 score) / mean (Tweedie)."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        t = np.broadcast_to(np.asarray(t, dtype=np.float64), (x.shape[0],))
        m, s = self.sde.mean_coeff(t), self.sde.std(t)
        return (x + (s * s)[:, None] * self.score(x, t)) / m[:, None]

    def noise(self, x, t):
        """The noise prediction -std(t) score."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        t = np.broadcast_to(np.asarray(t, dtype=np.float64), (x.shape[0],))
        return -self.sde.std(t)[:, None] * self.score(x, t)


def load(path, use_ema=True):
    """Reads a model file; use_ema=False takes the last-step weights."""
    with open(path) as f:
        return Model(json.load(f), use_ema)

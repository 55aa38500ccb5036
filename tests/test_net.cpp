// The score network: layout and initialisation, forward against a naive
// per-sample evaluation, reverse mode, forward mode and reverse over forward
// against central finite differences, float against double, determinism
// across threads and batch splits, no allocation per step, misuse.
//
// Derivative checks run the production code instantiated in double, where
// central differences are accurate to ~1e-9 (h = 1e-5: truncation
// h^2 f'''/6 ~ 1e-10 x |f'''|, rounding 1e-16 |f| / h ~ 1e-10); fp32 finite
// differences would drown in rounding noise. The derivative checks allow
// 1e-8 (observed at most 7e-10). The float instantiation is then compared
// with the double one on the same weights.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numbers>
#include <optional>
#include <vector>

#include "dense.hpp"
#include "error.hpp"
#include "net.hpp"
#include "rng.hpp"

using sde::Activation;
using sde::Mlp;
using sde::MlpWorkspace;
using sde::NetConfig;
template <class T>
using Matrix = sde::RowMatrix<T>;
template <class T>
using Vector = sde::ColVector<T>;

namespace {

// Derivative checks: two chunks, the second one short.
constexpr int kBatch = sde::kChunkRows + 6;

Matrix<double> normals(int rows, int cols, std::uint64_t seed, double scale = 1.0) {
  sde::Stream rng(seed, sde::Purpose::noise, 0);
  Matrix<double> m(rows, cols);
  for (auto& v : m.reshaped()) v = scale * rng.normal();
  return m;
}

Vector<double> times(int n, std::uint64_t seed) {
  sde::Stream rng(seed, sde::Purpose::time, 0);
  Vector<double> t(n);
  for (auto& v : t) v = rng.uniform();
  return t;
}

NetConfig small_config(Activation act = Activation::silu) {
  NetConfig cfg;
  cfg.hidden = {8, 8, 8};
  cfg.frequencies = 4;
  cfg.activation = act;
  return cfg;
}

// Small shapes that exercise every code path: each activation, residual
// blocks, the sinusoidal embedding, unequal widths, d = 3.
std::vector<NetConfig> small_configs() {
  std::vector<NetConfig> out;
  for (auto act : {Activation::silu, Activation::relu, Activation::tanh, Activation::softplus})
    out.push_back(small_config(act));
  out.push_back(small_config());
  out.back().residual = true;
  out.push_back(small_config(Activation::tanh));
  out.back().embedding = sde::TimeEmbedding::sinusoidal;
  out.push_back(small_config());
  out.back().dim = 3;
  out.back().hidden = {6, 9};
  return out;
}

std::string describe(const NetConfig& c) {
  return sde::to_string(c.activation) + (c.residual ? " residual" : "") + " " +
         sde::to_string(c.embedding) + " d=" + std::to_string(c.dim);
}

double activation(Activation a, double z) {
  switch (a) {
    case Activation::silu: return z / (1 + std::exp(-z));
    case Activation::relu: return z > 0 ? z : 0;
    case Activation::tanh: return std::tanh(z);
    case Activation::softplus: return z > 20 ? z : std::log1p(std::exp(z));
  }
  return 0;
}

// Plain loops, one sample at a time: shares nothing with the chunked code.
Matrix<double> reference_forward(const Mlp<double>& net, const Matrix<double>& x,
                                 const Vector<double>& t) {
  const auto& cfg = net.config();
  const auto p = net.params();
  const auto f = net.frequencies();
  Matrix<double> out(x.rows(), cfg.dim);
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    std::vector<double> h(x.row(i).begin(), x.row(i).end());
    for (double fk : f) h.push_back(std::sin(2 * std::numbers::pi * t[i] * fk));
    for (double fk : f) h.push_back(std::cos(2 * std::numbers::pi * t[i] * fk));
    for (std::size_t l = 0; l < net.layers().size(); ++l) {
      const auto& L = net.layers()[l];
      const bool hidden = l + 1 < net.layers().size();
      std::vector<double> next(L.out);
      for (int o = 0; o < L.out; ++o) {
        double z = p[L.bias + o];
        for (int k = 0; k < L.in; ++k) z += p[L.weight + std::size_t(o) * L.in + k] * h[k];
        next[o] = hidden ? activation(cfg.activation, z) + (L.residual ? h[o] : 0) : z;
      }
      h = std::move(next);
    }
    for (int j = 0; j < cfg.dim; ++j) out(i, j) = h[j];
  }
  return out;
}

struct Probe {  // inputs and adjoints of one check
  Matrix<double> x, v, a, b;
  Vector<double> t;
  Probe(int batch, int dim)
      : x(normals(batch, dim, 1, 2.0)),
        v(normals(batch, dim, 2)),
        a(normals(batch, dim, 3)),
        b(normals(batch, dim, 4)),
        t(times(batch, 5)) {}
};

// sum a.out over the batch, through forward().
double output_objective(const Mlp<double>& net, const Probe& p, MlpWorkspace<double>& ws) {
  Matrix<double> out(p.x.rows(), p.x.cols());
  net.forward(p.x, p.t, out, ws);
  return (p.a.array() * out.array()).sum();
}

// sum a.out + b.(J v) over the batch, through jvp().
double jvp_objective(const Mlp<double>& net, const Probe& p, MlpWorkspace<double>& ws) {
  Matrix<double> out(p.x.rows(), p.x.cols()), jv(p.x.rows(), p.x.cols());
  net.jvp(p.x, p.t, p.v, out, jv, ws);
  return (p.a.array() * out.array()).sum() + (p.b.array() * jv.array()).sum();
}

// Largest |fd - g| / (1 + |g|) over all parameters.
template <class F>
double worst_param_error(Mlp<double>& net, const std::vector<double>& grad, F&& objective) {
  constexpr double h = 1e-5;
  double worst = 0;
  for (std::size_t i = 0; i < net.num_params(); ++i) {
    double& p = net.params()[i];
    const double saved = p;
    p = saved + h;
    const double up = objective();
    p = saved - h;
    const double down = objective();
    p = saved;
    worst = std::max(worst, std::abs((up - down) / (2 * h) - grad[i]) / (1 + std::abs(grad[i])));
  }
  return worst;
}

// max |got - want| / max |want|
template <class A, class B>
double relative_error(const A& got, const B& want) {
  return (got.template cast<double>() - want).cwiseAbs().maxCoeff() / want.cwiseAbs().maxCoeff();
}

template <class T>
Eigen::Map<const Vector<T>> as_vector(const std::vector<T>& v) {
  return {v.data(), Eigen::Index(v.size())};
}

}  // namespace

TEST_CASE("parameters in PyTorch state_dict order, nn.Linear initialisation") {
  const Mlp<float> net(NetConfig{}, 7);
  // Linear(66,128), Linear(128,128) x 2, Linear(128,2): weight then bias each.
  CHECK(net.num_params() == 66 * 128 + 128 + 2 * (128 * 128 + 128) + 128 * 2 + 2);
  const auto& L = net.layers();
  REQUIRE(L.size() == 4);
  CHECK(L[0].in == 66);
  CHECK(L[0].bias == 66 * 128);
  CHECK(L[1].weight == 66 * 128 + 128);
  CHECK(L[3].out == 2);
  CHECK(L[3].bias + 2 == net.num_params());
  for (const auto& layer : L) {
    const float bound = 1 / std::sqrt(float(layer.in));
    const auto first = net.params().begin() + std::ptrdiff_t(layer.weight);
    const auto last = net.params().begin() + std::ptrdiff_t(layer.bias + layer.out);
    float lo = 0, hi = 0;
    for (auto p = first; p != last; ++p) lo = std::min(lo, *p), hi = std::max(hi, *p);
    CHECK(lo >= -bound);
    CHECK(hi <= bound);
    CHECK(hi - lo > 1.9 * bound);  // the whole range is used
  }
  // Fourier frequencies ~ N(0, 16^2): 32 draws have a sample std near 16.
  double sq = 0;
  for (float f : net.frequencies()) sq += double(f) * f;
  CHECK(std::sqrt(sq / 32) == doctest::Approx(16).epsilon(0.4));

  const Mlp<float> same(NetConfig{}, 7), other(NetConfig{}, 8);
  CHECK(std::equal(net.params().begin(), net.params().end(), same.params().begin()));
  CHECK(std::equal(net.frequencies().begin(), net.frequencies().end(),
                   same.frequencies().begin()));
  CHECK(net.params()[100] != other.params()[100]);
}

TEST_CASE("residual blocks only where widths match, between hidden layers") {
  NetConfig cfg = small_config();
  cfg.hidden = {8, 8, 5, 5};
  cfg.residual = true;
  const Mlp<double> net(cfg, 0);
  std::vector<bool> residual;
  for (const auto& l : net.layers()) residual.push_back(l.residual);
  CHECK(residual == std::vector<bool>{false, true, false, true, false});
}

TEST_CASE("forward matches a naive per-sample evaluation") {
  for (const auto& cfg : small_configs()) {
    CAPTURE(describe(cfg));
    const Mlp<double> net(cfg, 11);
    const Probe p(kBatch, cfg.dim);
    MlpWorkspace<double> ws(net, kBatch);
    Matrix<double> out(kBatch, cfg.dim);
    net.forward(p.x, p.t, out, ws);
    CHECK(relative_error(out, reference_forward(net, p.x, p.t)) < 1e-13);
  }
}

TEST_CASE("inference: evaluate equals forward; at one time it matches the naive evaluation") {
  for (const auto& cfg : small_configs()) {
    CAPTURE(describe(cfg));
    const Mlp<double> net(cfg, 14);
    const Probe p(kBatch, cfg.dim);
    MlpWorkspace<double> ws(net, kBatch);
    Matrix<double> out(kBatch, cfg.dim), evaluated(kBatch, cfg.dim), shared(kBatch, cfg.dim);
    net.forward(p.x, p.t, out, ws);
    net.evaluate(p.x, p.t, evaluated, ws);
    CHECK(evaluated == out);  // the same arithmetic, without the derivatives
    const double t = 0.37;
    net.evaluate(p.x, t, shared, ws);
    CHECK(relative_error(shared, reference_forward(net, p.x, Vector<double>::Constant(kBatch, t))) < 1e-13);
  }
}

TEST_CASE("divergence is the trace of the Jacobian, in tangent groups") {
  std::vector<NetConfig> configs = small_configs();
  configs.push_back(small_config());
  configs.back().dim = sde::kMaxTangents + 2;  // two groups, the second one short
  for (const auto& cfg : configs) {
    CAPTURE(describe(cfg));
    const Mlp<double> net(cfg, 15);
    const Probe p(kBatch, cfg.dim);
    MlpWorkspace<double> ws(net, kBatch);
    Matrix<double> out(kBatch, cfg.dim), jv(kBatch, cfg.dim), basis(kBatch, cfg.dim);
    Vector<double> div(kBatch), trace = Vector<double>::Zero(kBatch);
    net.divergence(p.x, p.t, out, div, ws);
    for (int j = 0; j < cfg.dim; ++j) {  // jvp is checked against finite differences above
      basis.setZero();
      basis.col(j).setOnes();
      net.jvp(p.x, p.t, basis, out, jv, ws);
      trace += jv.col(j);
    }
    CHECK((div - trace).cwiseAbs().maxCoeff() < 1e-12 * (1 + trace.cwiseAbs().maxCoeff()));
    CHECK(relative_error(out, reference_forward(net, p.x, p.t)) < 1e-13);
  }
}

TEST_CASE("sinusoidal embedding frequencies") {
  NetConfig cfg = small_config();
  cfg.embedding = sde::TimeEmbedding::sinusoidal;
  const Mlp<double> net(cfg, 0);
  const auto f = net.frequencies();  // 2 pi f_k = 1000 * 10000^(-k/3)
  CHECK(2 * std::numbers::pi * f[0] == doctest::Approx(1000));
  CHECK(2 * std::numbers::pi * f[3] == doctest::Approx(0.1));
}

TEST_CASE("backward matches central differences for every parameter") {
  for (const auto& cfg : small_configs()) {
    CAPTURE(describe(cfg));
    Mlp<double> net(cfg, 12);
    const Probe p(kBatch, cfg.dim);
    MlpWorkspace<double> ws(net, kBatch);
    std::vector<double> grad(net.num_params());
    output_objective(net, p, ws);
    net.backward(p.a, grad, ws);
    CHECK(worst_param_error(net, grad, [&] { return output_objective(net, p, ws); }) < 1e-8);
  }
}

TEST_CASE("jvp matches central differences in x") {
  for (const auto& cfg : small_configs()) {
    CAPTURE(describe(cfg));
    const Mlp<double> net(cfg, 13);
    const Probe p(kBatch, cfg.dim);
    MlpWorkspace<double> ws(net, kBatch);
    Matrix<double> out(kBatch, cfg.dim), jv(kBatch, cfg.dim), up(kBatch, cfg.dim),
        down(kBatch, cfg.dim);
    net.jvp(p.x, p.t, p.v, out, jv, ws);
    constexpr double h = 1e-5;
    net.forward(p.x + h * p.v, p.t, up, ws);
    net.forward(p.x - h * p.v, p.t, down, ws);
    CHECK(relative_error(jv, (up - down) / (2 * h)) < 1e-8);
    CHECK(relative_error(out, reference_forward(net, p.x, p.t)) < 1e-13);
  }
}

TEST_CASE("reverse over forward matches central differences for every parameter") {
  for (const auto& cfg : small_configs()) {
    CAPTURE(describe(cfg));
    Mlp<double> net(cfg, 14);
    const Probe p(kBatch, cfg.dim);
    MlpWorkspace<double> ws(net, kBatch);
    std::vector<double> grad(net.num_params());
    jvp_objective(net, p, ws);
    net.jvp_backward(p.a, p.b, grad, ws);
    CHECK(worst_param_error(net, grad, [&] { return jvp_objective(net, p, ws); }) < 1e-8);
    // After jvp(), backward() gives the gradient of the output term alone.
    std::vector<double> grad_out(net.num_params()), want(net.num_params());
    jvp_objective(net, p, ws);
    net.backward(p.a, grad_out, ws);
    output_objective(net, p, ws);
    net.backward(p.a, want, ws);
    CHECK(relative_error(as_vector(grad_out), as_vector(want)) < 1e-14);
  }
}

// The production shape in float against the same weights in double. The
// float error comes from rounding the phases 2 pi t f (|phase| up to ~500,
// so ~3e-5 absolute in the time features) and from fp32 sums of up to 128
// terms per layer and 512 samples per gradient entry: observed up to 5e-6 of
// the largest value, so the bound 1e-4 has a wide margin yet catches any
// indexing or layout error, which would be O(1).
TEST_CASE("float agrees with double on the same weights") {
  // fp32 runs through the layer kernels (dense.hpp), double through Eigen:
  // the reference shape with and without skips, and shapes whose widths are
  // not whole panels (apply_rows for the remainder, the unfused activation).
  std::vector<NetConfig> configs(2);
  configs[1].residual = true;
  configs.emplace_back();
  configs.back().dim = 5;
  configs.back().hidden = {48, 40};
  configs.back().activation = Activation::tanh;
  configs.emplace_back();
  configs.back().dim = 1;
  configs.back().hidden = {64, 64, 64};
  configs.back().residual = true;
  for (const NetConfig& cfg : configs) {
    CAPTURE(describe(cfg));
    const Mlp<float> net(cfg, 21);
    const Mlp<double> ref = net.cast<double>();
    const int B = 512, d = cfg.dim;
    const Probe p(B, d);
    MlpWorkspace<float> ws(net, B, 2);
    MlpWorkspace<double> ws_ref(ref, B, 2);
    Matrix<float> out(B, d), jv(B, d);
    Matrix<double> out_ref(B, d), jv_ref(B, d);
    std::vector<float> grad(net.num_params());
    std::vector<double> grad_ref(net.num_params());

    net.forward(p.x.cast<float>(), p.t.cast<float>(), out, ws);
    ref.forward(p.x, p.t, out_ref, ws_ref);
    CHECK(relative_error(out, out_ref) < 1e-4);
    net.backward(p.a.cast<float>(), grad, ws);
    ref.backward(p.a, grad_ref, ws_ref);
    CHECK(relative_error(as_vector(grad), as_vector(grad_ref)) < 1e-4);

    net.jvp(p.x.cast<float>(), p.t.cast<float>(), p.v.cast<float>(), out, jv, ws);
    ref.jvp(p.x, p.t, p.v, out_ref, jv_ref, ws_ref);
    CHECK(relative_error(jv, jv_ref) < 1e-4);
    net.jvp_backward(p.a.cast<float>(), p.b.cast<float>(), grad, ws);
    ref.jvp_backward(p.a, p.b, grad_ref, ws_ref);
    CHECK(relative_error(as_vector(grad), as_vector(grad_ref)) < 1e-4);

    // The inference passes, on a batch that leaves a short chunk.
    const int n = 300;
    const Matrix<double> x = p.x.topRows(n);
    const Vector<double> t = p.t.head(n);
    Matrix<float> inferred(n, d);
    Matrix<double> inferred_ref(n, d);
    Vector<float> div(n);
    Vector<double> div_ref(n);
    net.evaluate(x.cast<float>(), t.cast<float>(), inferred, ws);
    ref.evaluate(x, t, inferred_ref, ws_ref);
    CHECK(relative_error(inferred, inferred_ref) < 1e-4);
    net.evaluate(x.cast<float>(), 0.3f, inferred, ws);
    ref.evaluate(x, 0.3, inferred_ref, ws_ref);
    CHECK(relative_error(inferred, inferred_ref) < 1e-4);
    net.divergence(x.cast<float>(), t.cast<float>(), inferred, div, ws);
    ref.divergence(x, t, inferred_ref, div_ref, ws_ref);
    CHECK(relative_error(div, div_ref) < 1e-4);
  }
}

TEST_CASE("bit-identical for any thread count, batch split and row position") {
  NetConfig residual;
  residual.residual = true;
  for (const NetConfig& cfg : {NetConfig{}, residual}) {
  CAPTURE(cfg.residual);
  const Mlp<float> net(cfg, 31);
  const int B = 2 * sde::kChunkRows + 44;  // two full chunks and a short one
  const Probe p(B, 2);
  const Matrix<float> x = p.x.cast<float>(), v = p.v.cast<float>(), a = p.a.cast<float>(),
                      b = p.b.cast<float>();
  const Vector<float> t = p.t.cast<float>();

  struct Result {
    Matrix<float> out, jv;
    std::vector<float> grad, jvp_grad;
  };
  auto run = [&](int threads) {
    MlpWorkspace<float> ws(net, B, threads);
    Result r{Matrix<float>(B, 2), Matrix<float>(B, 2), std::vector<float>(net.num_params()),
             std::vector<float>(net.num_params())};
    net.forward(x, t, r.out, ws);
    net.backward(a, r.grad, ws);
    Matrix<float> out(B, 2);
    net.jvp(x, t, v, out, r.jv, ws);
    net.jvp_backward(a, b, r.jvp_grad, ws);
    return r;
  };
  const Result one = run(1), two = run(2), three = run(3);
  for (const Result* r : {&two, &three}) {
    CHECK(r->out == one.out);
    CHECK(r->jv == one.jv);
    CHECK(r->grad == one.grad);
    CHECK(r->jvp_grad == one.jvp_grad);
  }
  // The inference passes: one time for all rows, and the divergence.
  // They compute only the columns a chunk's rows fill (rounded up to 16),
  // so the short batches below also check that the width does not matter.
  auto infer = [&](int threads, int capacity, int r0, int n) {
    MlpWorkspace<float> ws(net, capacity, threads);
    Matrix<float> shared(n, 2), evaluated(n, 2), out(n, 2);
    Vector<float> div(n);
    net.evaluate(x.middleRows(r0, n), 0.25f, shared, ws);
    net.evaluate(x.middleRows(r0, n), t.segment(r0, n), evaluated, ws);
    net.divergence(x.middleRows(r0, n), t.segment(r0, n), out, div, ws);
    return std::tuple{shared, evaluated, out, div};
  };
  const auto [shared, evaluated, out, div] = infer(1, B, 0, B);
  CHECK(evaluated == one.out);  // inference rounds as the taped forward pass
  for (const auto& [threads, capacity, r0, n] :
       {std::tuple{2, B, 0, B}, {3, 100, 0, B}, {1, 1, 17, 50}, {2, 1, 123, 1}, {1, B, 200, 33}}) {
    CAPTURE(threads);
    CAPTURE(r0);
    const auto [shared2, evaluated2, out2, div2] = infer(threads, capacity, r0, n);
    CHECK(shared2 == shared.middleRows(r0, n));
    CHECK(evaluated2 == evaluated.middleRows(r0, n));
    CHECK(out2 == out.middleRows(r0, n));
    CHECK(div2 == div.segment(r0, n));
  }

  // A row's output does not depend on its batch: a sub-batch at another
  // offset, a single row, and a batch larger than the workspace (rounds).
  MlpWorkspace<float> small(net, 1);
  Matrix<float> part(50, 2), row(1, 2), all(B, 2);
  net.forward(x.middleRows(17, 50), t.segment(17, 50), part, small);
  CHECK(part == one.out.middleRows(17, 50));
  net.forward(x.middleRows(123, 1), t.segment(123, 1), row, small);
  CHECK(row == one.out.middleRows(123, 1));
  net.forward(x, t, all, small);
  CHECK(all == one.out);
  }
}

// One binary on every x86-64 CPU: every pass of the network, taped and
// inference, gives the same bytes under every instruction set the kernel
// has here (AVX-512, AVX2, generic on an AVX-512 machine), so models,
// samples and likelihoods from a mixed cluster agree.
TEST_CASE("bit-identical under every instruction set") {
  NetConfig residual;
  residual.residual = true;
  for (const NetConfig& cfg : {NetConfig{}, residual}) {
    CAPTURE(cfg.residual);
    const Mlp<float> net(cfg, 33);
    const int B = sde::kChunkRows + 44;
    const Probe p(B, 2);
    const Matrix<float> x = p.x.cast<float>(), v = p.v.cast<float>(), a = p.a.cast<float>(),
                        b = p.b.cast<float>();
    const Vector<float> t = p.t.cast<float>();
    struct Result {
      Matrix<float> out, jv, evaluated, shared;
      Vector<float> div;
      std::vector<float> grad, jvp_grad;
    };
    std::vector<Result> results;
    for (const auto& [isa, name] : sde::dense::kIsaNames) {
      if (!sde::dense::supported(isa) || !sde::dense::rounds_as_vector_kernels(isa)) continue;
      CAPTURE(name);
      sde::dense::select_isa(isa);
      MlpWorkspace<float> ws(net, B, 2);
      Result r{Matrix<float>(B, 2), Matrix<float>(B, 2), Matrix<float>(B, 2), Matrix<float>(B, 2),
               Vector<float>(B), std::vector<float>(net.num_params()), std::vector<float>(net.num_params())};
      net.forward(x, t, r.out, ws);
      net.backward(a, r.grad, ws);
      Matrix<float> out(B, 2);
      net.jvp(x, t, v, out, r.jv, ws);
      net.jvp_backward(a, b, r.jvp_grad, ws);
      net.evaluate(x, t, r.evaluated, ws);
      net.evaluate(x, 0.25f, r.shared, ws);
      net.divergence(x, t, out, r.div, ws);
      results.push_back(std::move(r));
    }
    sde::dense::select_isa(sde::dense::best_isa());
    for (const Result& r : results) {
      CHECK(r.out == results[0].out);
      CHECK(r.grad == results[0].grad);
      CHECK(r.jv == results[0].jv);
      CHECK(r.jvp_grad == results[0].jvp_grad);
      CHECK(r.evaluated == results[0].evaluated);
      CHECK(r.shared == results[0].shared);
      CHECK(r.div == results[0].div);
    }
  }
}

TEST_CASE("pinned weights are reused while pinned; another network's pass repacks") {
  const Mlp<float> a(NetConfig{}, 51), b(NetConfig{}, 52);
  const int B = 300;
  const Probe p(B, 2);
  const Matrix<float> x = p.x.cast<float>();
  const Vector<float> t = p.t.cast<float>();
  MlpWorkspace<float> plain(a, B), pinned(a, B);
  Matrix<float> want_a(B, 2), want_b(B, 2), got(B, 2);
  a.evaluate(x, t, want_a, plain);
  b.evaluate(x, t, want_b, plain);
  REQUIRE(want_a != want_b);
  a.pin_weights(pinned);
  a.evaluate(x, t, got, pinned);
  CHECK(got == want_a);
  b.evaluate(x, t, got, pinned);  // not a's packed weights
  CHECK(got == want_b);
  a.evaluate(x, t, got, pinned);  // b's pass unpinned a: repacked
  CHECK(got == want_a);
  CHECK_THROWS_AS(Mlp<float>(small_config(), 0).pin_weights(pinned), sde::Error);

  // Keyed on the network's identity, not its address: a network assigned
  // over the pinned one, a new one in its place, and a write access to the
  // parameters all repack.
  Mlp<float> c = a;
  c.pin_weights(pinned);
  c = b;
  c.evaluate(x, t, got, pinned);
  CHECK(got == want_b);
  std::optional<Mlp<float>> slot(std::in_place, a);
  slot->pin_weights(pinned);
  slot.emplace(b);
  slot->evaluate(x, t, got, pinned);
  CHECK(got == want_b);
  Mlp<float> d = a;
  d.pin_weights(pinned);
  std::copy(b.params().begin(), b.params().end(), d.params().begin());  // (a's frequencies stay)
  Matrix<float> want_d(B, 2);
  d.evaluate(x, t, want_d, plain);
  REQUIRE(want_d != want_a);
  d.evaluate(x, t, got, pinned);
  CHECK(got == want_d);
}

// AddressSanitizer replaces malloc itself (and calls it before our counter
// exists), so under it the count is left to the plain builds.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SDE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SDE_ASAN 1
#endif

#if defined(__GLIBC__) && !defined(SDE_ASAN)
// Count malloc calls (operator new and Eigen's aligned allocations go
// through it) by interposing glibc's malloc.
extern "C" void* __libc_malloc(std::size_t size);
namespace {
std::atomic<long> malloc_calls{0};
}
extern "C" void* malloc(std::size_t size) {
  malloc_calls.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(size);
}

TEST_CASE("a training step's network passes do not allocate (one thread)") {
  const Mlp<float> net(NetConfig{}, 41);
  const int B = 512;
  const Probe p(B, 2);
  const Matrix<float> x = p.x.cast<float>(), v = p.v.cast<float>(), a = p.a.cast<float>();
  const Vector<float> t = p.t.cast<float>();
  MlpWorkspace<float> ws(net, B);
  Matrix<float> out(B, 2), jv(B, 2);
  std::vector<float> grad(net.num_params());
  const long before = malloc_calls.load();
  net.forward(x, t, out, ws);
  net.backward(a, grad, ws);
  net.jvp(x, t, v, out, jv, ws);
  net.jvp_backward(a, a, grad, ws);
  const long training = malloc_calls.load() - before;
  // Nor do the samplers' and the likelihood's. (Counted before any CHECK:
  // doctest itself allocates.)
  Vector<float> div(B);
  const long before_inference = malloc_calls.load();
  net.evaluate(x, t, out, ws);
  net.evaluate(x, 0.5f, out, ws);
  net.divergence(x, t, out, div, ws);
  const long inference = malloc_calls.load() - before_inference;
  CHECK(training == 0);
  CHECK(inference == 0);
}
#endif

TEST_CASE("misuse is reported") {
  const Mlp<float> net(small_config(), 0);
  MlpWorkspace<float> ws(net, 10);
  Matrix<float> x = Matrix<float>::Zero(10, 2), out(10, 2);
  Vector<float> t = Vector<float>::Zero(10);
  std::vector<float> grad(net.num_params());
  CHECK_THROWS_AS(net.backward(x, grad, ws), sde::Error);  // nothing recorded
  CHECK_THROWS_AS(net.forward(x, t.head(9), out, ws), sde::Error);
  CHECK_THROWS_AS(net.forward(Matrix<float>::Zero(10, 3), t, out, ws), sde::Error);
  net.forward(x, t, out, ws);
  CHECK_THROWS_AS(net.backward(x.topRows(9), grad, ws), sde::Error);
  CHECK_THROWS_AS(net.backward(x, std::span<float>(grad).first(5), ws), sde::Error);
  CHECK_THROWS_AS(net.jvp_backward(x, x, grad, ws), sde::Error);  // no tangents recorded
  // A batch beyond the capacity runs, but cannot be differentiated.
  const int n = ws.capacity() + 1;
  Matrix<float> big = Matrix<float>::Zero(n, 2), big_out(n, 2);
  net.forward(big, Vector<float>::Zero(n), big_out, ws);
  CHECK_THROWS_AS(net.backward(big, grad, ws), sde::Error);
  const Mlp<float> other(NetConfig{}, 0);
  CHECK_THROWS_AS(other.forward(x, t, out, ws), sde::Error);
  NetConfig bad = small_config();
  bad.hidden = {8, 0};
  CHECK_THROWS_AS(Mlp<float>(bad, 0), sde::Error);
  CHECK_THROWS_AS(sde::parse_activation("gelu"), sde::Error);
  CHECK(sde::parse_activation("softplus") == Activation::softplus);
}

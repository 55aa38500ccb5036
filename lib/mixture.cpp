#include "mixture.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>

#include "error.hpp"

namespace sde {

namespace {

using Eigen::Index;

constexpr double kLog2Pi = 1.8378770664093454835606594728112;
constexpr double kInf = std::numeric_limits<double>::infinity();
// Weights written by hand to a few digits (1/3 as 0.3333333) must be accepted.
constexpr double kWeightSumTolerance = 1e-6;
// Relative asymmetry accepted in a covariance (anything written to JSON with
// full digits or symmetrised by us has none at all).
constexpr double kSymmetryTolerance = 1e-10;
// An eigenvalue below this fraction of the largest one is rounding noise: the
// matrix is singular for all numerical purposes.
constexpr double kConditionLimit = 1e-14;

// Scratch doubles: on the stack for the toy sizes this toolkit is about, on
// the heap beyond, so that per-point evaluation does not allocate.
class SmallBuffer {
public:
  explicit SmallBuffer(std::size_t n) {
    if (n > local_.size()) {
      heap_.resize(n);
      data_ = heap_.data();
    }
  }
  SmallBuffer(const SmallBuffer&) = delete;
  SmallBuffer& operator=(const SmallBuffer&) = delete;
  double* data() { return data_; }
  const double* data() const { return data_; }

private:
  std::array<double, 256> local_;
  std::vector<double> heap_;
  double* data_ = local_.data();
};

void check_positive(double value, const std::string& field) {
  if (!std::isfinite(value)) throw Error(fmt::format("{}: must be finite (got {})", field, value));
  if (!(value > 0.0)) throw Error(fmt::format("{}: must be positive (got {})", field, value));
}

bool is_symmetric(const Matrix& c) {
  return (c - c.transpose()).cwiseAbs().maxCoeff() <= kSymmetryTolerance * c.cwiseAbs().maxCoeff();
}

bool is_multiple_of_identity(const Matrix& c) {
  return c.isDiagonal(0.0) && (c.diagonal().array() == c(0, 0)).all();
}

}  // namespace

// Everything one evaluation needs besides the point, in one small buffer:
// the constants of the perturbed components at one (m, s) (per component
// the inverse variances along its eigenvectors, log w_k - log((2 pi)^d
// det C_k) / 2 and tr C_k^-1), recomputed by set(), and scratch space for
// one point (per component its log-term or weight and C_k^-1 (x - m mu_k),
// plus 2d for quadratic_form). A batch reuses one Workspace for all rows.
class GaussianMixture::Workspace {
public:
  explicit Workspace(const GaussianMixture& mixture)
      : mixture_(mixture),
        stride_(mixture.isotropic_ ? 1 : mixture.dim()),
        buffer_(static_cast<std::size_t>(mixture.components()) * (stride_ + 3 + mixture.dim()) +
                2 * static_cast<std::size_t>(mixture.dim())) {
    const std::size_t K = static_cast<std::size_t>(mixture.components());
    inverse_ = buffer_.data();
    log_normaliser_ = inverse_ + K * stride_;
    trace_inverse_ = log_normaliser_ + K;
    terms_ = trace_inverse_ + K;
    whitened_ = terms_ + K;
    work_ = whitened_ + K * static_cast<std::size_t>(mixture.dim());
  }
  Workspace(const GaussianMixture& mixture, double m, double s) : Workspace(mixture) { set(m, s); }

  void set(double m, double s);
  double m() const { return m_; }
  // 1 / (m^2 lambda_kj + s^2) for each eigenvalue j (one value when isotropic).
  const double* inverse_variances(int k) const { return inverse_ + k * stride_; }
  double log_normaliser(int k) const { return log_normaliser_[k]; }
  double trace_inverse(int k) const { return trace_inverse_[k]; }

  double* terms() { return terms_; }                                      // K
  double* whitened(int k) { return whitened_ + k * mixture_.dim(); }  // d per component
  double* work() { return work_; }                                        // 2d

private:
  const GaussianMixture& mixture_;
  int stride_;
  double m_ = 1.0;
  SmallBuffer buffer_;
  double* inverse_;
  double* log_normaliser_;
  double* trace_inverse_;
  double* terms_;
  double* whitened_;
  double* work_;
};

void GaussianMixture::Workspace::set(double m, double s) {
  m_ = m;
  const int d = mixture_.dim();
  for (int k = 0; k < mixture_.components(); ++k) {
    double* inverse = inverse_ + k * stride_;
    double log_det = 0.0, trace = 0.0;
    for (int j = 0; j < stride_; ++j) {
      const double variance = m * m * mixture_.eigvals_[k][j] + s * s;
      if (!(variance > 0.0) || !std::isfinite(variance))
        throw Error(fmt::format("perturbation (m = {}, s = {}) makes component {} singular", m, s, k));
      inverse[j] = 1.0 / variance;
      log_det += std::log(variance);
      trace += inverse[j];
    }
    if (stride_ == 1) {  // isotropic: d equal eigenvalues
      log_det *= d;
      trace *= d;
    }
    log_normaliser_[k] = mixture_.log_weights_[k] - 0.5 * (d * kLog2Pi + log_det);
    trace_inverse_[k] = trace;
  }
}

GaussianMixture::GaussianMixture(std::vector<double> weights, Matrix means,
                                 std::vector<Matrix> covariances)
    : weights_(std::move(weights)), means_(std::move(means)), covariances_(std::move(covariances)) {
  const std::size_t K = weights_.size();
  const Index d = means_.cols();
  if (K == 0) throw Error("weights: must not be empty");
  if (static_cast<std::size_t>(means_.rows()) != K)
    throw Error(fmt::format("means: expected {} entries (one per weight), got {}", K, means_.rows()));
  if (d < 1) throw Error("means: must have at least one coordinate");
  if (covariances_.size() != K)
    throw Error(fmt::format("covariances: expected {} matrices (one per weight), got {}", K,
                            covariances_.size()));

  double sum = 0.0;
  for (std::size_t k = 0; k < K; ++k) {
    check_positive(weights_[k], fmt::format("weights[{}]", k));
    sum += weights_[k];
  }
  if (!(std::abs(sum - 1.0) <= kWeightSumTolerance))
    throw Error(fmt::format("weights: must sum to 1 (sum is {:.10g})", sum));

  isotropic_ = true;
  for (std::size_t k = 0; k < K; ++k) {
    if (!means_.row(static_cast<Index>(k)).allFinite())
      throw Error(fmt::format("means[{}]: not finite", k));
    Matrix& c = covariances_[k];
    const std::string field = fmt::format("covariances[{}]", k);
    if (c.rows() != d || c.cols() != d)
      throw Error(fmt::format("{}: expected {}x{}, got {}x{}", field, d, d, c.rows(), c.cols()));
    if (!c.allFinite()) throw Error(field + ": not finite");
    if (!is_symmetric(c))
      throw Error(field + ": not symmetric");
    c = (0.5 * (c + c.transpose())).eval();
    isotropic_ = isotropic_ && is_multiple_of_identity(c);
  }

  for (std::size_t k = 0; k < K; ++k) {
    const Matrix& c = covariances_[k];
    const std::string field = fmt::format("covariances[{}]", k);
    if (isotropic_) {
      if (!(c(0, 0) > 0.0)) throw Error(fmt::format("{}: not positive definite", field));
      eigvals_.push_back(Vector::Constant(d, c(0, 0)));
      continue;
    }
    const Eigen::SelfAdjointEigenSolver<Matrix> solver(c);
    if (solver.info() != Eigen::Success)
      throw Error(field + ": eigendecomposition failed");
    const Vector& lambda = solver.eigenvalues();  // ascending
    if (!(lambda[0] > kConditionLimit * lambda[d - 1]) || !(lambda[0] > 0.0))
      throw Error(fmt::format("{}: not positive definite (smallest eigenvalue {:.6g})", field,
                              lambda[0]));
    eigvals_.push_back(lambda);
    eigvecs_.emplace_back(solver.eigenvectors());
  }

  // Rescale to an exact sum (dividing by 1.0 leaves exact weights untouched).
  double cumulative = 0.0;
  for (double& w : weights_) {
    w /= sum;
    log_weights_.push_back(std::log(w));
    cumulative += w;
    cumulative_weights_.push_back(cumulative);
  }
}

GaussianMixture GaussianMixture::isotropic(std::vector<double> weights, Matrix means,
                                           const std::vector<double>& stds) {
  if (stds.size() != weights.size())
    throw Error(fmt::format("stds: expected {} entries (one per weight), got {}", weights.size(),
                            stds.size()));
  std::vector<Matrix> covariances;
  for (std::size_t k = 0; k < stds.size(); ++k) {
    check_positive(stds[k], fmt::format("stds[{}]", k));
    covariances.push_back(Matrix::Identity(means.cols(), means.cols()) * (stds[k] * stds[k]));
  }
  return GaussianMixture(std::move(weights), std::move(means), std::move(covariances));
}

RowVector GaussianMixture::mean() const {
  RowVector mu = RowVector::Zero(dim());
  for (int k = 0; k < components(); ++k) mu += weights_[k] * means_.row(k);
  return mu;
}

// Law of total covariance, with the means centred first for accuracy.
Matrix GaussianMixture::covariance() const {
  const RowVector mu = mean();
  Matrix total = Matrix::Zero(dim(), dim());
  for (int k = 0; k < components(); ++k) {
    const RowVector centred = means_.row(k) - mu;
    total += weights_[k] * (covariances_[k] + centred.transpose() * centred);
  }
  return total;
}

void GaussianMixture::sample(std::uint64_t seed, std::uint64_t first, Matrix& out,
                             std::vector<int>* labels, double m, double s,
                             Purpose purpose) const {
  const int d = dim();
  out.resize(out.rows(), d);
  if (labels) labels->resize(static_cast<std::size_t>(out.rows()));
  SmallBuffer scratch(2 * static_cast<std::size_t>(d));
  double* z = scratch.data();
  double* scaled = z + d;
  for (Index i = 0; i < out.rows(); ++i) {
    Stream stream(seed, purpose, first + static_cast<std::uint64_t>(i));
    // The component by inversion of the cumulative weights; the last one also
    // takes a u above a sum that rounding left a hair below 1.
    const double u = stream.uniform();
    const auto bin = std::upper_bound(cumulative_weights_.begin(), cumulative_weights_.end(), u) -
                     cumulative_weights_.begin();
    const int k = std::min(static_cast<int>(bin), components() - 1);
    stream.normals(z, d);
    double* row = out.row(i).data();
    const double* mu = means_.row(k).data();
    if (isotropic_) {
      const double sd = std::sqrt(eigvals_[k][0]);
      for (int j = 0; j < d; ++j) row[j] = mu[j] + sd * z[j];
    } else {  // mu_k + U_k diag(sqrt(lambda_k)) z
      const double* u_k = eigvecs_[k].data();
      for (int b = 0; b < d; ++b) scaled[b] = std::sqrt(eigvals_[k][b]) * z[b];
      for (int a = 0; a < d; ++a) {
        double acc = mu[a];
        for (int b = 0; b < d; ++b) acc += u_k[a * d + b] * scaled[b];
        row[a] = acc;
      }
    }
    if (s != 0.0) {  // the kernel noise, drawn after x0 so x0 is shared by every (m, s)
      stream.normals(z, d);
      for (int j = 0; j < d; ++j) row[j] = m * row[j] + s * z[j];
    } else {
      for (int j = 0; j < d; ++j) row[j] *= m;
    }
    if (labels) (*labels)[static_cast<std::size_t>(i)] = k;
  }
}

double GaussianMixture::quadratic_form(int k, const double* x, const Workspace& ws, double* v,
                                       double* work) const {
  const int d = dim();
  const double* mu = means_.row(k).data();
  const double m = ws.m();
  const double* inverse = ws.inverse_variances(k);
  if (isotropic_) {
    double q = 0.0;
    for (int j = 0; j < d; ++j) {
      const double r = x[j] - m * mu[j];
      q += r * r;
      if (v) v[j] = inverse[0] * r;
    }
    return q * inverse[0];
  }
  // y = U_k^T (x - m mu_k): coordinates along the eigenvectors, where C_k is
  // diagonal; then q = sum_j y_j^2 / var_j and C_k^-1 r = U_k (y / var).
  const double* u_k = eigvecs_[k].data();  // row-major: u_k[a d + b] = U(a, b)
  double* r = work;
  double* y = work + d;
  for (int j = 0; j < d; ++j) {
    r[j] = x[j] - m * mu[j];
    y[j] = 0.0;
  }
  for (int a = 0; a < d; ++a)
    for (int b = 0; b < d; ++b) y[b] += u_k[a * d + b] * r[a];
  double q = 0.0;
  for (int b = 0; b < d; ++b) {
    const double whitened = y[b] * inverse[b];
    q += y[b] * whitened;
    y[b] = whitened;
  }
  if (v) {
    for (int a = 0; a < d; ++a) {
      double acc = 0.0;
      for (int b = 0; b < d; ++b) acc += u_k[a * d + b] * y[b];
      v[a] = acc;
    }
  }
  return q;
}

void GaussianMixture::apply_inverse(int k, const double* in, const Workspace& ws, double* out,
                                    double* work) const {
  const int d = dim();
  const double* inverse = ws.inverse_variances(k);
  if (isotropic_) {
    for (int j = 0; j < d; ++j) out[j] = inverse[0] * in[j];
    return;
  }
  const double* u_k = eigvecs_[k].data();  // U_k diag(inverse) U_k^T in
  for (int b = 0; b < d; ++b) {
    double acc = 0.0;
    for (int a = 0; a < d; ++a) acc += u_k[a * d + b] * in[a];
    work[b] = acc * inverse[b];
  }
  for (int a = 0; a < d; ++a) {
    double acc = 0.0;
    for (int b = 0; b < d; ++b) acc += u_k[a * d + b] * work[b];
    out[a] = acc;
  }
}

double GaussianMixture::evaluate(const double* x, Workspace& ws, double* score,
                                 double* posteriors, double* divergence, const double* direction,
                                 double* hv) const {
  const int d = dim(), K = components();
  double* terms = ws.terms();
  const bool need_v = score != nullptr;

  // log(w_k N_k(x)), then log-sum-exp around the largest: the sum is >= 1,
  // so nothing underflows to 0/0 however far x is from the modes.
  double top = -kInf;
  for (int k = 0; k < K; ++k) {
    terms[k] = ws.log_normaliser(k) -
               0.5 * quadratic_form(k, x, ws, need_v ? ws.whitened(k) : nullptr, ws.work());
    top = std::max(top, terms[k]);
  }
  double total = 0.0;
  for (int k = 0; k < K; ++k) {
    terms[k] = std::exp(terms[k] - top);
    total += terms[k];
  }
  // Posteriors as exp(l_k - top) / total rather than exp(l_k - log p): the
  // latter carries log p's absolute rounding (1e-13 when |log p| ~ 1e3) into
  // every weight, this one sums to 1 within K ulps.
  for (int k = 0; k < K; ++k) terms[k] /= total;
  if (posteriors) std::copy_n(terms, K, posteriors);

  if (score) {  // -sum_k w_k C_k^-1 (x - m mu_k)
    std::fill_n(score, d, 0.0);
    for (int k = 0; k < K; ++k) {
      const double* v = ws.whitened(k);
      for (int j = 0; j < d; ++j) score[j] -= terms[k] * v[j];
    }
  }
  if (divergence) {
    // tr Hess log p = sum_k w_k (|v_k|^2 - tr C_k^-1) - |score|^2. Written as
    // sum_k w_k (|v_k - vbar|^2 - tr C_k^-1) with vbar = sum_k w_k v_k = -score,
    // a weighted variance, it has no cancellation between two huge terms
    // (|v_k|^2 ~ |x|^2 / s^4 far from the modes).
    double sum = 0.0;
    for (int k = 0; k < K; ++k) {
      const double* v = ws.whitened(k);
      double spread = 0.0;
      for (int j = 0; j < d; ++j) spread += (v[j] + score[j]) * (v[j] + score[j]);
      sum += terms[k] * (spread - ws.trace_inverse(k));
    }
    *divergence = sum;
  }
  if (hv) {
    // Hess log p = sum_k w_k [(v_k + score)(v_k + score)^T - C_k^-1], the
    // same weighted-covariance form as the divergence (its trace).
    std::fill_n(hv, d, 0.0);
    double* inverse_dir = ws.work();
    for (int k = 0; k < K; ++k) {
      const double* v = ws.whitened(k);
      double along = 0.0;
      for (int j = 0; j < d; ++j) along += (v[j] + score[j]) * direction[j];
      apply_inverse(k, direction, ws, inverse_dir, inverse_dir + d);
      for (int j = 0; j < d; ++j)
        hv[j] += terms[k] * ((v[j] + score[j]) * along - inverse_dir[j]);
    }
  }
  return top + std::log(total);
}

double GaussianMixture::log_density(const double* x, double m, double s) const {
  Workspace ws(*this, m, s);
  return evaluate(x, ws, nullptr, nullptr, nullptr);
}

double GaussianMixture::score(const double* x, double* out, double m, double s) const {
  Workspace ws(*this, m, s);
  return evaluate(x, ws, out, nullptr, nullptr);
}

double GaussianMixture::posteriors(const double* x, double* out, double m, double s) const {
  Workspace ws(*this, m, s);
  return evaluate(x, ws, nullptr, out, nullptr);
}

double GaussianMixture::score_divergence(const double* x, double* score_out, double m,
                                         double s) const {
  Workspace ws(*this, m, s);
  SmallBuffer own_score(score_out ? 0 : static_cast<std::size_t>(dim()));
  double divergence = 0.0;
  evaluate(x, ws, score_out ? score_out : own_score.data(), nullptr, &divergence);
  return divergence;
}

template <class Body>
void GaussianMixture::for_each_row(const Matrix& x, const Vector& m, const Vector& s,
                                   Body&& body) const {
  if (x.cols() != dim())
    throw Error(fmt::format("points have {} coordinates, the mixture has {}", x.cols(), dim()));
  if (m.size() != x.rows() || s.size() != x.rows())
    throw Error(fmt::format("{} points but {} values of m and {} of s", x.rows(), m.size(),
                            s.size()));
  Workspace ws(*this);
  for (Index i = 0; i < x.rows(); ++i) {
    if (i == 0 || m[i] != m[i - 1] || s[i] != s[i - 1]) ws.set(m[i], s[i]);
    body(i, ws);
  }
}

void GaussianMixture::log_density(const Matrix& x, const Vector& m, const Vector& s,
                                  Vector& out) const {
  out.resize(x.rows());
  for_each_row(x, m, s, [&](Index i, Workspace& ws) {
    out[i] = evaluate(x.row(i).data(), ws, nullptr, nullptr, nullptr);
  });
}

void GaussianMixture::score(const Matrix& x, const Vector& m, const Vector& s, Matrix& out) const {
  out.resize(x.rows(), dim());
  for_each_row(x, m, s, [&](Index i, Workspace& ws) {
    evaluate(x.row(i).data(), ws, out.row(i).data(), nullptr, nullptr);
  });
}

void GaussianMixture::posteriors(const Matrix& x, const Vector& m, const Vector& s,
                                 Matrix& out) const {
  out.resize(x.rows(), components());
  for_each_row(x, m, s, [&](Index i, Workspace& ws) {
    evaluate(x.row(i).data(), ws, nullptr, out.row(i).data(), nullptr);
  });
}

void GaussianMixture::score_divergence(const Matrix& x, const Vector& m, const Vector& s,
                                       Matrix& score_out, Vector& divergence) const {
  score_out.resize(x.rows(), dim());
  divergence.resize(x.rows());
  for_each_row(x, m, s, [&](Index i, Workspace& ws) {
    evaluate(x.row(i).data(), ws, score_out.row(i).data(), nullptr, &divergence[i]);
  });
}

void GaussianMixture::score_jvp(const Matrix& x, const Vector& m, const Vector& s,
                                const Matrix& v, Matrix& score_out, Matrix& hv) const {
  if (v.rows() != x.rows() || v.cols() != x.cols())
    throw Error("score_jvp: directions must have the shape of the points");
  score_out.resize(x.rows(), dim());
  hv.resize(x.rows(), dim());
  for_each_row(x, m, s, [&](Index i, Workspace& ws) {
    evaluate(x.row(i).data(), ws, score_out.row(i).data(), nullptr, nullptr, v.row(i).data(),
             hv.row(i).data());
  });
}

// Per component, with a = known and b = unknown coordinates:
//   mean_b|a = mu_b + S_ba S_aa^-1 (x_a - mu_a),  cov_b|a = S_bb - S_ba S_aa^-1 S_ab,
//   weight  ∝ w_k N(x_a; mu_a, S_aa)   (the marginal likelihood of the observation).
GaussianMixture GaussianMixture::conditional(const std::vector<bool>& known,
                                             const double* x_known) const {
  const int d = dim(), K = components();
  if (static_cast<int>(known.size()) != d)
    throw Error(fmt::format("conditional: mask has {} entries, the mixture has {} coordinates",
                            known.size(), d));
  std::vector<Index> a, b;
  for (int j = 0; j < d; ++j) (known[j] ? a : b).push_back(j);
  if (b.empty()) throw Error("conditional: every coordinate is known, nothing is left to draw");
  if (a.empty()) return *this;

  const auto na = static_cast<Index>(a.size()), nb = static_cast<Index>(b.size());
  Vector x_a(na);
  for (Index i = 0; i < na; ++i) x_a[i] = x_known[a[i]];
  std::vector<double> log_w(K);
  Matrix means(K, nb);
  std::vector<Matrix> covariances;
  for (int k = 0; k < K; ++k) {
    const Matrix& c = covariances_[k];
    const Matrix c_aa = c(a, a), c_ba = c(b, a);
    const Vector r = x_a - means_.row(k)(a).transpose();
    const Eigen::LLT<Matrix> llt(c_aa);
    const Vector alpha = llt.solve(r);
    means.row(k) = means_.row(k)(b) + (c_ba * alpha).transpose();
    const Matrix schur = c(b, b) - c_ba * llt.solve(c_ba.transpose());
    covariances.emplace_back(0.5 * (schur + schur.transpose()));
    const double log_det = 2.0 * llt.matrixLLT().diagonal().array().log().sum();
    log_w[k] = log_weights_[k] - 0.5 * (static_cast<double>(na) * kLog2Pi + log_det + r.dot(alpha));
  }
  const double top = *std::max_element(log_w.begin(), log_w.end());
  double total = 0.0;
  for (double l : log_w) total += std::exp(l - top);
  const double log_total = top + std::log(total);
  std::vector<double> weights(K);
  for (int k = 0; k < K; ++k)
    weights[k] = std::max(std::exp(log_w[k] - log_total), std::numeric_limits<double>::min());
  return GaussianMixture(std::move(weights), std::move(means), std::move(covariances));
}

}  // namespace sde

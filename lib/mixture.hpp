// Gaussian mixtures: the exact oracle of the toolkit.
//
// Under every SDE here a mixture stays a mixture (Eq. 29): p_t has means
// m(t) mu_k and covariances m(t)^2 Sigma_k + s(t)^2 I. Each component keeps
// the eigendecomposition Sigma_k = U_k diag(lambda_k) U_k^T, so the perturbed
// covariance is U_k diag(m^2 lambda_k + s^2) U_k^T for any (m, s) at O(d^2)
// per point and component, with no refactorisation per time.
#pragma once
#include <cstdint>
#include <vector>

#include "rng.hpp"
#include "types.hpp"

namespace sde {

class GaussianMixture {
public:
  // covariances[k] is d x d symmetric positive-definite. Throws sde::Error
  // on inconsistent input (messages name the component).
  GaussianMixture(std::vector<double> weights, Matrix means, std::vector<Matrix> covariances);
  // Isotropic components: Sigma_k = stds[k]^2 I.
  static GaussianMixture isotropic(std::vector<double> weights, Matrix means,
                                   const std::vector<double>& stds);

  int dim() const { return static_cast<int>(means_.cols()); }
  int components() const { return static_cast<int>(weights_.size()); }
  const std::vector<double>& weights() const { return weights_; }
  const Matrix& means() const { return means_; }  // K x d
  Matrix covariance(int k) const;                 // d x d
  bool isotropic_components() const { return isotropic_; }

  // Mean and covariance of the whole mixture (for tests and summaries).
  RowVector mean() const;
  Matrix covariance() const;

  // Exact draws of rows [first, first + out.rows()) of a run with this seed:
  // row i uses only Stream(seed, purpose, first + i). labels (optional) gets
  // the component of each row. (m, s) perturb the draw: m x0 + s z.
  void sample(std::uint64_t seed, std::uint64_t first, Matrix& out,
              std::vector<int>* labels = nullptr, double m = 1.0, double s = 0.0,
              Purpose purpose = Purpose::data) const;

  // The perturbed mixture with means m mu_k and covariances m^2 Sigma_k + s^2 I,
  // evaluated at one point x (length d). (m, s) = (1, 0) is the mixture itself.
  double log_density(const double* x, double m = 1.0, double s = 0.0) const;
  // Gradient of log p at x, written to out (length d). Returns log p.
  double score(const double* x, double* out, double m = 1.0, double s = 0.0) const;
  // Component posteriors p(k | x), written to out (length K). Returns log p.
  double posteriors(const double* x, double* out, double m = 1.0, double s = 0.0) const;
  // Trace of the Hessian of log p at x (the exact divergence of the score,
  // needed by exact likelihoods). Returns it; also writes the score if out != nullptr.
  double score_divergence(const double* x, double* score_out, double m = 1.0,
                          double s = 0.0) const;

  // Batched versions over the rows of x with one (m, s) per row (sizes N).
  void log_density(const Matrix& x, const Vector& m, const Vector& s, Vector& out) const;
  void score(const Matrix& x, const Vector& m, const Vector& s, Matrix& out) const;

  // The distribution of the unknown coordinates given known ones:
  // known[j] says whether coordinate j is observed, x_known has length d
  // (entries of unknown coordinates are ignored). The result is a mixture in
  // the unknown coordinates (in their original order) whose weights are the
  // component posteriors given the observed block. Throws if nothing is unknown.
  GaussianMixture conditional(const std::vector<bool>& known, const double* x_known) const;

private:
  std::vector<double> weights_;
  std::vector<double> log_weights_;
  Matrix means_;                      // K x d
  std::vector<Matrix> eigvecs_;       // U_k, d x d (identity when isotropic)
  std::vector<Vector> eigvals_;       // lambda_k, length d
  bool isotropic_ = false;
};

}  // namespace sde

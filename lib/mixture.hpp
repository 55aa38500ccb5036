// Gaussian mixtures: the exact oracle of the toolkit.
//
// Under every SDE here a mixture stays a mixture (Eq. 29): p_t has means
// m(t) mu_k and covariances m(t)^2 Sigma_k + s(t)^2 I. Each component keeps
// the eigendecomposition Sigma_k = U_k diag(lambda_k) U_k^T, so the perturbed
// covariance is U_k diag(m^2 lambda_k + s^2) U_k^T for any (m, s) at O(d^2)
// per point and component, with no refactorisation per time. When every
// Sigma_k is a multiple of I the rotation is skipped (O(d) per component).
//
// Evaluation is a log-sum-exp over components, so it stays finite for points
// far from every mode and for tiny or huge s; posteriors always sum to 1.
// Every const member is safe to call from several threads at once (scratch
// space is per call, on the stack for the toy sizes).
#pragma once
#include <cstdint>
#include <vector>

#include "rng.hpp"
#include "types.hpp"

namespace sde {

class GaussianMixture {
public:
  // covariances[k] is d x d symmetric positive-definite. Throws sde::Error
  // on inconsistent input; messages name the field as a mixture spec does
  // ("covariances[2]: not positive definite", "weights: must sum to 1 ...").
  // Weights must be positive and sum to 1 within 1e-6; they are then
  // rescaled to sum to 1 (a no-op when they already do exactly).
  GaussianMixture(std::vector<double> weights, Matrix means, std::vector<Matrix> covariances);
  // Isotropic components: Sigma_k = stds[k]^2 I.
  static GaussianMixture isotropic(std::vector<double> weights, Matrix means,
                                   const std::vector<double>& stds);

  int dim() const { return static_cast<int>(means_.cols()); }
  int components() const { return static_cast<int>(weights_.size()); }
  const std::vector<double>& weights() const { return weights_; }
  const Matrix& means() const { return means_; }  // K x d
  const Matrix& covariance(int k) const { return covariances_[k]; }  // d x d, as given
  // True when every Sigma_k is a multiple of I (then the fast path is used).
  bool isotropic_components() const { return isotropic_; }

  // Mean and covariance of the whole mixture (for tests and summaries).
  RowVector mean() const;
  Matrix covariance() const;

  // Exact draws of rows [first, first + out.rows()) of a run with this seed:
  // row i uses only Stream(seed, purpose, first + i), so any block of rows
  // equals the same rows of a bigger run. out's columns are set to dim().
  // labels (optional) gets the component of each row. (m, s) perturb the
  // draw: m x0 + s z, where x0 is drawn first from the same stream, so a
  // row's clean point x0 is the same for every (m, s) with the same seed.
  void sample(std::uint64_t seed, std::uint64_t first, Matrix& out,
              std::vector<int>* labels = nullptr, double m = 1.0, double s = 0.0,
              Purpose purpose = Purpose::data) const;

  // The perturbed mixture with means m mu_k and covariances m^2 Sigma_k + s^2 I,
  // evaluated at one point x (length d). (m, s) = (1, 0) is the mixture itself.
  // (m, s) = (0, 0) is singular and throws.
  double log_density(const double* x, double m = 1.0, double s = 0.0) const;
  // Gradient of log p at x, written to out (length d). Returns log p.
  double score(const double* x, double* out, double m = 1.0, double s = 0.0) const;
  // Component posteriors p(k | x), written to out (length K). Returns log p.
  double posteriors(const double* x, double* out, double m = 1.0, double s = 0.0) const;
  // Trace of the Hessian of log p at x (the exact divergence of the score,
  // needed by exact likelihoods). Returns it; also writes the score if
  // score_out != nullptr.
  double score_divergence(const double* x, double* score_out, double m = 1.0,
                          double s = 0.0) const;

  // Batched versions over the rows of x with one (m, s) per row (sizes N);
  // outputs are resized. Per-component constants are computed once per run
  // of rows sharing the same (m, s), the usual case inside a sampler step.
  void log_density(const Matrix& x, const Vector& m, const Vector& s, Vector& out) const;
  void score(const Matrix& x, const Vector& m, const Vector& s, Matrix& out) const;
  // out is N x K.
  void posteriors(const Matrix& x, const Vector& m, const Vector& s, Matrix& out) const;
  void score_divergence(const Matrix& x, const Vector& m, const Vector& s, Matrix& score_out,
                        Vector& divergence) const;
  // Hessian-vector products of log p: hv.row(i) = Hess log p(x_i) v_i, with
  // the score as well (Hutchinson divergence estimates, tests of JVPs).
  void score_jvp(const Matrix& x, const Vector& m, const Vector& s, const Matrix& v,
                 Matrix& score_out, Matrix& hv) const;

  // The distribution of the unknown coordinates given known ones:
  // known[j] says whether coordinate j is observed, x_known has length d
  // (entries of unknown coordinates are ignored). The result is a mixture in
  // the unknown coordinates (in their original order) with one component per
  // component of this mixture, whose weights are the component posteriors
  // given the observed block (floored at the smallest normal double, so a
  // component that the observation rules out stays a valid component).
  // Nothing known gives the mixture itself. Throws if nothing is unknown.
  GaussianMixture conditional(const std::vector<bool>& known, const double* x_known) const;

private:
  // Constants of the perturbed components at one (m, s) plus scratch space
  // for evaluating one point; defined in mixture.cpp.
  class Workspace;
  // Calls body(i, workspace) for each row i, with the workspace set to
  // (m[i], s[i]) (recomputed only when they change from the previous row).
  template <class Body>
  void for_each_row(const Matrix& x, const Vector& m, const Vector& s, Body&& body) const;
  // The one evaluation routine behind every public evaluator: returns
  // log p(x); writes the score, the component posteriors and the Laplacian
  // of log p when the pointers are non-null (divergence needs score).
  // With direction and hv non-null it also writes Hess log p(x) direction.
  double evaluate(const double* x, Workspace& ws, double* score, double* posteriors,
                  double* divergence, const double* direction = nullptr,
                  double* hv = nullptr) const;
  // out = C_k^-1 in for the perturbed covariance C_k. work: d doubles.
  void apply_inverse(int k, const double* in, const Workspace& ws, double* out,
                     double* work) const;
  // (x - m mu_k)^T C_k^-1 (x - m mu_k) for the perturbed covariance C_k;
  // also writes C_k^-1 (x - m mu_k) to v unless v is null. work: 2d doubles.
  double quadratic_form(int k, const double* x, const Workspace& ws, double* v,
                        double* work) const;

  std::vector<double> weights_;
  std::vector<double> log_weights_;
  std::vector<double> cumulative_weights_;  // for drawing the component
  Matrix means_;                            // K x d
  std::vector<Matrix> covariances_;         // Sigma_k, symmetrised
  std::vector<Matrix> eigvecs_;             // U_k, d x d (empty when isotropic)
  std::vector<Vector> eigvals_;             // lambda_k, length d
  bool isotropic_ = false;
};

}  // namespace sde

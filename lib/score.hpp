// The score source every sampler, likelihood and Langevin method uses: the
// exact mixture oracle or a trained network, behind one interface.
#pragma once
#include <utility>

#include "mixture.hpp"
#include "sde.hpp"
#include "types.hpp"

namespace sde {

class ScoreModel {
public:
  virtual ~ScoreModel() = default;
  virtual int dim() const = 0;
  // out.row(i) = grad_x log p_t(x.row(i)) at t = t(i). out is sized by the caller.
  // Implementations must be safe to call from several threads at once.
  virtual void score(const Matrix& x, const Vector& t, Matrix& out) const = 0;
  // The same with every row at one time t, a sampler's step: a model may
  // share work across the rows. The default fills a per-thread vector of
  // times, so a score() override must not call score_at_time() itself.
  virtual void score_at_time(const Matrix& x, double t, Matrix& out) const;
  // Directional derivatives of the score (Jacobian-vector products):
  // jv.row(i) = J_i v.row(i), J_i = d score / dx at (x_i, t_i); also the score.
  virtual void score_jvp(const Matrix& x, const Vector& t, const Matrix& v, Matrix& score_out,
                         Matrix& jv) const = 0;
  // Exact divergence tr J_i per row, and the score. The default takes d
  // Jacobian-vector products with the unit vectors.
  virtual void score_divergence(const Matrix& x, const Vector& t, Matrix& score_out,
                                Vector& divergence) const;
  // The SDE whose marginals p_t this score describes.
  virtual const Sde& sde() const = 0;
  // E[x(0)], the mean of the data this score describes (zero if unknown).
  // The prior is centred on where the SDE takes it (see Prior).
  virtual RowVector data_mean() const { return RowVector::Zero(dim()); }
};

// The prior p_T that samplers start from and the likelihood ends at:
// N(m(T) mu, prior_std^2 I), mu = the score's data_mean(). x(T) has exactly
// this mean under every SDE; the paper's N(0, prior_std^2 I) assumes
// centred data. Under VE, where m(T) = 1, a mixture whose mean sits a few
// units from the origin (|mu| = 4.2 in data/full5d.json, against
// sigma_max = 50) otherwise starts the deterministic solvers with an offset
// that shows in their mode weights (4.8 standard errors at 20 000 samples).
class Prior {
public:
  explicit Prior(const ScoreModel& model);
  const RowVector& mean() const { return mean_; }
  double std() const { return std_; }
  // x <- mean + std z, row by row.
  void draw(const Matrix& z, Matrix& x) const;
  double log_density(const double* x) const;

private:
  RowVector mean_;
  double std_;
};

// Exact score of a Gaussian mixture perturbed by an SDE.
class MixtureScore final : public ScoreModel {
public:
  MixtureScore(GaussianMixture mixture, Sde sde) : mix_(std::move(mixture)), sde_(sde) {}
  int dim() const override { return mix_.dim(); }
  void score(const Matrix& x, const Vector& t, Matrix& out) const override;
  void score_jvp(const Matrix& x, const Vector& t, const Matrix& v, Matrix& score_out,
                 Matrix& jv) const override;
  // Analytic: the trace of the Hessian of log p_t.
  void score_divergence(const Matrix& x, const Vector& t, Matrix& score_out,
                        Vector& divergence) const override;
  const Sde& sde() const override { return sde_; }
  const GaussianMixture& mixture() const { return mix_; }
  RowVector data_mean() const override { return mix_.mean(); }
  // The kernel coefficients (m(t_i), s(t_i)) per row.
  void kernel(const Vector& t, Vector& m, Vector& s) const;

private:
  GaussianMixture mix_;
  Sde sde_;
};

// What a score source says at (x, t), besides the score itself: the
// denoiser E[x(0) | x(t) = x] = (x + s^2 score) / m (Tweedie's formula), the
// noise prediction -s score, or, known only for the exact mixture, log p_t.
enum class ScoreQuantity { score, denoiser, noise, log_density };
inline constexpr std::pair<ScoreQuantity, const char*> kScoreQuantityNames[] = {
    {ScoreQuantity::score, "score"},
    {ScoreQuantity::denoiser, "denoiser"},
    {ScoreQuantity::noise, "noise"},
    {ScoreQuantity::log_density, "log-density"}};

// The quantity at every row (N x d; N x 1 for log_density, which needs
// `exact`, the source's mixture), on up to `threads` threads: each row
// depends on that row alone, so any thread count gives the same bits.
Matrix evaluate_quantity(const ScoreModel& source, const GaussianMixture* exact, ScoreQuantity what,
                         const Matrix& x, const Vector& t, int threads);

}  // namespace sde

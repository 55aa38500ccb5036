// The score source every sampler, likelihood and Langevin method uses: the
// exact mixture oracle or a trained network, behind one interface.
#pragma once
#include "mixture.hpp"
#include "sde.hpp"
#include "types.hpp"

namespace sde {

class ScoreModel {
public:
  virtual ~ScoreModel() = default;
  virtual int dim() const = 0;
  // out.row(i) = grad_x log p_t(x.row(i)) at t = t(i). out is sized by the caller.
  virtual void score(const Matrix& x, const Vector& t, Matrix& out) const = 0;
  // The SDE whose marginals p_t this score describes.
  virtual const Sde& sde() const = 0;
};

// Exact score of a Gaussian mixture perturbed by an SDE.
class MixtureScore final : public ScoreModel {
public:
  MixtureScore(GaussianMixture mixture, Sde sde) : mix_(std::move(mixture)), sde_(sde) {}
  int dim() const override { return mix_.dim(); }
  void score(const Matrix& x, const Vector& t, Matrix& out) const override;
  const Sde& sde() const override { return sde_; }
  const GaussianMixture& mixture() const { return mix_; }

private:
  GaussianMixture mix_;
  Sde sde_;
};

}  // namespace sde

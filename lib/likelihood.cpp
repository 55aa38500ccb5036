#include "likelihood.hpp"

#include <fmt/format.h>

#include "error.hpp"
#include "parallel.hpp"
#include "rng.hpp"

namespace sde {

Divergence parse_divergence(const std::string& s) {
  if (s == "exact") return Divergence::exact;
  if (s == "hutchinson-gaussian") return Divergence::hutchinson_gaussian;
  if (s == "hutchinson-rademacher") return Divergence::hutchinson_rademacher;
  throw Error("unknown divergence '" + s + "' (exact, hutchinson-gaussian, hutchinson-rademacher)");
}

std::string to_string(Divergence d) {
  switch (d) {
    case Divergence::exact: return "exact";
    case Divergence::hutchinson_gaussian: return "hutchinson-gaussian";
    case Divergence::hutchinson_rademacher: return "hutchinson-rademacher";
  }
  return "?";
}

Divergence default_divergence(int dim, bool analytic) {
  return analytic || dim <= kExactDivergenceMaxDim ? Divergence::exact : Divergence::hutchinson_rademacher;
}

namespace {

constexpr std::size_t kChunkRows = 256;

// The augmented right-hand side on one chunk: columns [x | delta].
class AugmentedFlow {
public:
  AugmentedFlow(const ScoreModel& model, const LikelihoodOptions& o, std::size_t first,
                std::size_t rows)
      : model_(model), o_(o), d_(model.dim()) {
    if (o.divergence == Divergence::exact) return;
    // Probes drawn once per row and held fixed along its path, so the
    // estimate is the divergence integral of one smooth path (FFJORD).
    probes_.resize(o.probes);
    for (int k = 0; k < o.probes; ++k) {
      Matrix& p = probes_[static_cast<std::size_t>(k)];
      p.resize(static_cast<Eigen::Index>(rows), d_);
      for (Eigen::Index i = 0; i < p.rows(); ++i) {
        Stream st(o.seed, Purpose::probe, o.first_row + first + static_cast<std::uint64_t>(i),
                  static_cast<std::uint64_t>(k));
        for (Eigen::Index j = 0; j < d_; ++j)
          p(i, j) = o.divergence == Divergence::hutchinson_gaussian ? st.normal()
                                                                    : (st.next_u32() & 1u ? 1.0 : -1.0);
      }
    }
  }

  // rows[i]: the chunk row that y's row i holds (the solver reorders rows).
  void operator()(ConstMatrixRef y, ConstVectorRef t, std::span<const Eigen::Index> rows, MatrixRef dy) {
    const Eigen::Index n = y.rows();
    x_ = y.leftCols(d_);
    t_ = t;
    if (o_.divergence == Divergence::exact) {
      model_.score_divergence(x_, t_, score_, div_);
    } else {
      div_.setZero(n);
      for (std::size_t k = 0; k < probes_.size(); ++k) {
        v_.resize(n, d_);
        for (Eigen::Index i = 0; i < n; ++i) v_.row(i) = probes_[k].row(rows[static_cast<std::size_t>(i)]);
        model_.score_jvp(x_, t_, v_, score_, jv_);
        div_ += (v_.cwiseProduct(jv_)).rowwise().sum();
      }
      div_ /= static_cast<double>(probes_.size());
    }
    const Sde& sde = model_.sde();
    for (Eigen::Index i = 0; i < n; ++i) {
      const double a = sde.drift_coeff(t(i)), g = sde.diffusion(t(i));
      dy.row(i).head(d_) = a * x_.row(i) - 0.5 * g * g * score_.row(i);
      dy(i, d_) = d_ * a - 0.5 * g * g * div_(i);  // div f~ = d a(t) - g^2 div s / 2
    }
  }

private:
  const ScoreModel& model_;
  const LikelihoodOptions& o_;
  Eigen::Index d_;
  std::vector<Matrix> probes_;
  Matrix x_, score_, v_, jv_;
  Vector t_, div_;
};

}  // namespace

LikelihoodResult log_likelihood(const ScoreModel& model, const Matrix& x,
                                const LikelihoodOptions& o, Progress& progress) {
  const Sde& sde = model.sde();
  const Eigen::Index n = x.rows(), d = model.dim();
  if (x.cols() != d)
    throw Error(fmt::format("points have {} columns but the model's dimension is {}", x.cols(), d));
  if (!(o.eps > 0 && o.eps < sde.T)) throw Error(fmt::format("eps must be in (0, {})", sde.T));
  if (o.divergence != Divergence::exact && o.probes < 1) throw Error("--probes must be at least 1");
  if (o.exact_prior && o.exact_prior->dim() != d) throw Error("the exact prior's dimension differs");
  LikelihoodResult result;
  result.log_density.resize(n);
  result.prior_term.resize(n);
  result.latent.resize(n, d);
  result.nfe.assign(static_cast<std::size_t>(n), 0);
  const Prior standard_prior(model);

  parallel_for(static_cast<std::size_t>(n), kChunkRows, o.threads, [&](std::size_t begin, std::size_t end) {
    const auto rows = static_cast<Eigen::Index>(end - begin);
    Matrix y(rows, d + 1);
    y.leftCols(d) = x.middleRows(static_cast<Eigen::Index>(begin), rows);
    y.col(d).setZero();
    AugmentedFlow flow(model, o, begin, end - begin);
    std::vector<OdeRowStats> stats;
    integrate_dopri5(std::ref(flow), y, o.eps, {sde.T}, o.tolerances, stats);
    for (Eigen::Index i = 0; i < rows; ++i) {
      const Eigen::Index r = static_cast<Eigen::Index>(begin) + i;
      result.latent.row(r) = y.row(i).head(d);
      const double prior = o.exact_prior
                               ? o.exact_prior->log_density(y.row(i).data(), sde.mean_coeff(sde.T),
                                                            sde.std(sde.T))
                               : standard_prior.log_density(y.row(i).data());
      result.prior_term(r) = prior;
      result.log_density(r) = prior + y(i, d);
      result.nfe[static_cast<std::size_t>(r)] = stats[static_cast<std::size_t>(i)].nfe;
    }
    progress.advance(end - begin);
  });
  return result;
}

}  // namespace sde

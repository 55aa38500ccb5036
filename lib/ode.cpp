#include "ode.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "error.hpp"

namespace sde {

namespace {

// Dormand-Prince 5(4) tableau (Hairer, Norsett & Wanner, Table 5.2).
constexpr double c2 = 1.0 / 5, c3 = 3.0 / 10, c4 = 4.0 / 5, c5 = 8.0 / 9;
constexpr double a21 = 1.0 / 5;
constexpr double a31 = 3.0 / 40, a32 = 9.0 / 40;
constexpr double a41 = 44.0 / 45, a42 = -56.0 / 15, a43 = 32.0 / 9;
constexpr double a51 = 19372.0 / 6561, a52 = -25360.0 / 2187, a53 = 64448.0 / 6561,
                 a54 = -212.0 / 729;
constexpr double a61 = 9017.0 / 3168, a62 = -355.0 / 33, a63 = 46732.0 / 5247, a64 = 49.0 / 176,
                 a65 = -5103.0 / 18656;
// 5th-order weights; they are also the 7th stage's coefficients (first same as last).
constexpr double b1 = 35.0 / 384, b3 = 500.0 / 1113, b4 = 125.0 / 192, b5 = -2187.0 / 6784,
                 b6 = 11.0 / 84;
// Error weights: 5th minus embedded 4th order.
constexpr double e1 = 71.0 / 57600, e3 = -71.0 / 16695, e4 = 71.0 / 1920,
                 e5 = -17253.0 / 339200, e6 = 22.0 / 525, e7 = -1.0 / 40;

// Step-size control as in scipy's RK45: safety 0.9, factor in [0.2, 10].
constexpr double kSafety = 0.9, kMinFactor = 0.2, kMaxFactor = 10.0;

template <class V, class A, class B>
double scaled_rms(const V& v, const A& a, const B& b, const OdeOptions& o) {
  const auto scale = o.atol + o.rtol * a.cwiseAbs().cwiseMax(b.cwiseAbs()).array();
  return std::sqrt((v.array() / scale).square().mean());
}

// The integration state. Active rows are kept compacted in the top `active`
// slots of every buffer, so each stage is one batched call on a contiguous
// block; a finished row's slot is refilled by the last active row.
class Dopri5 {
public:
  Dopri5(const OdeRhs& rhs, Matrix& y, double t0, const std::vector<double>& stops,
         const OdeOptions& options, std::vector<OdeRowStats>& stats, std::vector<Matrix>* frames)
      : rhs_(rhs), out_(y), stops_(stops), opt_(options), stats_(stats), frames_(frames),
        dir_(stops.back() >= t0 ? 1.0 : -1.0), active_(y.rows()), y_(y), t_(Vector::Constant(y.rows(), t0)),
        h_(y.rows()), t_stage_(y.rows()), stage_(y.rows(), y.cols()), y_new_(y.rows(), y.cols()),
        slot_row_(static_cast<std::size_t>(y.rows())), next_stop_(slot_row_.size(), 0),
        lands_(slot_row_.size(), 0) {
    for (auto& k : k_) k.resize(y.rows(), y.cols());
    for (std::size_t i = 0; i < slot_row_.size(); ++i) slot_row_[i] = static_cast<Eigen::Index>(i);
  }

  void run() {
    initial_steps();
    while (active_ > 0) step();
  }

private:
  auto rows(Matrix& m) { return m.topRows(active_); }
  void eval(Matrix& in, Matrix& out) {
    rhs_(rows(in), t_stage_.head(active_),
         std::span<const Eigen::Index>(slot_row_.data(), static_cast<std::size_t>(active_)), rows(out));
  }

  // Hairer's starting-step heuristic (scipy's select_initial_step), per row.
  void initial_steps() {
    const double span = std::abs(stops_.back() - t_(0));
    t_stage_ = t_;
    eval(y_, k_[0]);
    std::vector<double> d1(static_cast<std::size_t>(active_));
    for (Eigen::Index i = 0; i < active_; ++i) {
      const double d0 = scaled_rms(y_.row(i), y_.row(i), y_.row(i), opt_);
      d1[static_cast<std::size_t>(i)] = scaled_rms(k_[0].row(i), y_.row(i), y_.row(i), opt_);
      const double h0 = (d0 < 1e-5 || d1[static_cast<std::size_t>(i)] < 1e-5)
                            ? 1e-6
                            : 0.01 * d0 / d1[static_cast<std::size_t>(i)];
      h_(i) = std::min(h0, span);
      stage_.row(i) = y_.row(i) + dir_ * h_(i) * k_[0].row(i);
      t_stage_(i) = t_(i) + dir_ * h_(i);
    }
    eval(stage_, k_[1]);
    for (Eigen::Index i = 0; i < active_; ++i) {
      const double d2 =
          scaled_rms(k_[1].row(i) - k_[0].row(i), y_.row(i), y_.row(i), opt_) / h_(i);
      const double dmax = std::max(d1[static_cast<std::size_t>(i)], d2);
      const double h1 = dmax <= 1e-15 ? std::max(1e-6, h_(i) * 1e-3) : std::pow(0.01 / dmax, 0.2);
      h_(i) = std::min({100 * h_(i), h1, span});
      stats_[static_cast<std::size_t>(i)].nfe = 2;
    }
  }

  // Stage input y + dir h sum_j a_j k_j at t + dir c h, then evaluate into k_[out].
  void stage(int out, double c, std::initializer_list<std::pair<int, double>> terms) {
    for (Eigen::Index i = 0; i < active_; ++i) {
      stage_.row(i) = y_.row(i);
      for (auto [j, a] : terms) stage_.row(i) += (dir_ * h_(i) * a) * k_[static_cast<std::size_t>(j)].row(i);
      t_stage_(i) = t_(i) + dir_ * c * h_(i);
    }
    eval(stage_, k_[static_cast<std::size_t>(out)]);
  }

  void step() {
    // Clip each row's step so it lands exactly on its next stop.
    for (Eigen::Index i = 0; i < active_; ++i) {
      const double gap = std::abs(stops_[next_stop_[row_of(i)]] - t_(i));
      lands_[static_cast<std::size_t>(i)] = h_(i) >= gap;
      h_(i) = std::min(h_(i), gap);
    }
    stage(1, c2, {{0, a21}});
    stage(2, c3, {{0, a31}, {1, a32}});
    stage(3, c4, {{0, a41}, {1, a42}, {2, a43}});
    stage(4, c5, {{0, a51}, {1, a52}, {2, a53}, {3, a54}});
    stage(5, 1.0, {{0, a61}, {1, a62}, {2, a63}, {3, a64}, {4, a65}});
    stage(6, 1.0, {{0, b1}, {2, b3}, {3, b4}, {4, b5}, {5, b6}});
    y_new_.topRows(active_) = stage_.topRows(active_);  // the 7th stage input is y_{n+1}
    for (Eigen::Index i = 0; i < active_;) {
      if (decide(i)) ++i;  // otherwise slot i now holds another row to decide
    }
  }

  std::size_t row_of(Eigen::Index slot) const {
    return static_cast<std::size_t>(slot_row_[static_cast<std::size_t>(slot)]);
  }

  // Accepts or rejects slot i's step. Returns false when the row finished
  // and slot i was refilled with the last active row (still undecided).
  bool decide(Eigen::Index i) {
    const std::size_t r = row_of(i);
    OdeRowStats& st = stats_[r];
    st.nfe += 6;
    const RowVector err = (dir_ * h_(i)) * (e1 * k_[0].row(i) + e3 * k_[2].row(i) +
                                            e4 * k_[3].row(i) + e5 * k_[4].row(i) +
                                            e6 * k_[5].row(i) + e7 * k_[6].row(i));
    const double norm = scaled_rms(err, y_.row(i), y_new_.row(i), opt_);
    if (st.accepted + st.rejected >= opt_.max_steps)
      throw Error(fmt::format("ODE solver exceeded {} steps at t = {:.6g}", opt_.max_steps, t_(i)));
    if (!(norm <= 1.0)) {  // too large, or NaN from a step that overflowed
      ++st.rejected;
      const double factor = std::isfinite(norm)
                                ? std::max(kMinFactor, kSafety * std::pow(norm, -0.2))
                                : kMinFactor;
      h_(i) *= factor;
      if (h_(i) < 1e-14 * std::max(1.0, std::abs(t_(i))))
        throw Error(fmt::format("ODE {} at t = {:.6g}",
                                std::isfinite(norm) ? "step size underflow" : "solution became non-finite",
                                t_(i)));
      return true;
    }
    ++st.accepted;
    const double factor =
        norm == 0 ? kMaxFactor : std::clamp(kSafety * std::pow(norm, -0.2), kMinFactor, kMaxFactor);
    std::size_t& s = next_stop_[r];
    t_(i) = lands_[static_cast<std::size_t>(i)] ? stops_[s] : t_(i) + dir_ * h_(i);
    y_.row(i) = y_new_.row(i);
    k_[0].row(i) = k_[6].row(i);  // first same as last
    h_(i) *= factor;
    if (!lands_[static_cast<std::size_t>(i)]) return true;
    if (frames_) (*frames_)[s].row(static_cast<Eigen::Index>(r)) = y_.row(i);
    if (++s < stops_.size()) return true;
    out_.row(static_cast<Eigen::Index>(r)) = y_.row(i);
    retire(i);
    return false;
  }

  // Moves the last active slot into slot i (which has finished).
  void retire(Eigen::Index i) {
    const Eigen::Index last = --active_;
    if (i == last) return;
    for (Matrix* m : {&y_, &y_new_}) m->row(i) = m->row(last);
    for (Matrix& k : k_) k.row(i) = k.row(last);
    t_(i) = t_(last);
    h_(i) = h_(last);
    const auto si = static_cast<std::size_t>(i), sl = static_cast<std::size_t>(last);
    slot_row_[si] = slot_row_[sl];
    lands_[si] = lands_[sl];
  }

  const OdeRhs& rhs_;
  Matrix& out_;
  const std::vector<double>& stops_;
  const OdeOptions& opt_;
  std::vector<OdeRowStats>& stats_;
  std::vector<Matrix>* frames_;
  double dir_;
  Eigen::Index active_;
  Matrix y_;
  Vector t_, h_, t_stage_;
  Matrix k_[7];
  Matrix stage_, y_new_;
  std::vector<Eigen::Index> slot_row_;
  std::vector<std::size_t> next_stop_;  // indexed by original row
  std::vector<char> lands_;             // this step ends on the slot's next stop
};

}  // namespace

void integrate_dopri5(const OdeRhs& rhs, Matrix& y, double t0, const std::vector<double>& stops,
                      const OdeOptions& options, std::vector<OdeRowStats>& stats,
                      std::vector<Matrix>* frames) {
  stats.assign(static_cast<std::size_t>(y.rows()), OdeRowStats{});
  if (frames) frames->assign(stops.size(), Matrix(y.rows(), y.cols()));
  if (y.rows() == 0 || stops.empty()) return;
  for (std::size_t s = 0; s < stops.size(); ++s) {
    const double from = s == 0 ? t0 : stops[s - 1];
    if ((stops[s] - from) * (stops.back() - t0) < 0)
      throw Error("ODE stop times must be monotone in the direction of integration");
  }
  Dopri5(rhs, y, t0, stops, options, stats, frames).run();
}

}  // namespace sde

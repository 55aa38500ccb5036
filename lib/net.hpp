// The time-dependent MLP score network of the toy experiments, with
// hand-written reverse mode (backward), forward mode (Jacobian-vector
// products) and reverse-over-forward (the gradient of a JVP objective).
//
// Architecture, layer for layer the PyTorch peer's ScoreMLP:
//
//   input  [x, sin(2 pi t f), cos(2 pi t f)]     d + 2 nf features
//   hidden h_l = act(W_l h_{l-1} + b_l)          (+ h_{l-1} with residual blocks)
//   output W_L h_{L-1} + b_L                     d features: eps-hat
//
// The network predicts the noise; the score is -net(x, t) / s(t), divided by
// the caller, so the network stays a plain function of (x, t).
//
// Parameters live in one flat vector in PyTorch state_dict order (weight
// [out x in] row-major, then bias, layer by layer), so optimisers, EMA,
// serialisation and norms are flat loops and a peer's weights load 1:1. The
// time-embedding frequencies f are fixed at initialisation and not trained.
//
// Numerics and threads. A batch is cut into chunks of kChunkRows rows; each
// chunk is computed by one thread. Passes that keep a tape for backward are
// always kChunkRows wide (a short last chunk is padded with x = 0, t = 0);
// inference passes compute only the columns the rows fill, rounded up to 16.
// In fp32 every layer runs through the kernel of dense.hpp, which computes
// each column with the same instructions whatever the column count, so
// every row's output is the same whatever the batch size, the row's position
// in it and the thread count. (double, for the tests, runs through Eigen,
// always at full width: Eigen's product kernels depend on the shape.)
// Gradients are computed per chunk and summed in chunk order, so they are
// bit-identical for any thread count (they depend on kChunkRows, a constant).
// Eigen's own threading is not used (it needs -fopenmp, which we do not set).
//
// Everything is a template on the scalar: float is the production type;
// double runs the same code for the finite-difference tests.
#pragma once
#include <Eigen/Dense>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace sde {

enum class Activation { silu, relu, tanh, softplus };
enum class TimeEmbedding {
  fourier,    // Gaussian random Fourier features: f ~ N(0, fourier_scale^2)
  sinusoidal  // transformer style: 2 pi f_k = positions * 10000^(-k / (nf - 1))
};

std::string to_string(Activation a);
std::string to_string(TimeEmbedding e);
Activation parse_activation(const std::string& name);      // throws sde::Error
TimeEmbedding parse_time_embedding(const std::string& name);  // throws sde::Error

struct NetConfig {
  int dim = 2;                        // d: data dimension, input and output
  std::vector<int> hidden{128, 128, 128};
  Activation activation = Activation::silu;
  TimeEmbedding embedding = TimeEmbedding::fourier;
  int frequencies = 32;               // nf; the embedding has 2 nf features
  double fourier_scale = 16.0;        // std of the Fourier frequencies
  double sinusoidal_positions = 1000; // t in [0, 1] is position 1000 t
  bool residual = false;              // h + act(W h + b) where in == out width

  int embedding_features() const { return 2 * frequencies; }
  int input_features() const { return dim + embedding_features(); }
  void validate() const;  // throws sde::Error naming the bad field
};

// Rows per chunk: the unit of threading and of gradient summation. 128 is
// the measured best at the reference shape: 64 costs ~5% more (weights
// repacked per GEMM for fewer columns), 256 slows reverse over forward by
// ~20% (a chunk's activations and tangents no longer fit the 1 MB L2).
inline constexpr int kChunkRows = 128;
// Tangents carried through one forward-mode pass by divergence(): more
// dimensions are taken in groups of this many (each group repeats the primal).
inline constexpr int kMaxTangents = 4;

template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ColVector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

template <class T>
class MlpWorkspace;
// One layer's weights in the fp32 kernel's panel order (dense.hpp).
template <class T>
using PackedWeights = std::vector<T, Eigen::aligned_allocator<T>>;
namespace detail {
template <class T>
struct NetChunk;  // one chunk's buffers, defined in net.cpp
}

template <class T>
class Mlp {
public:
  using Matrix = RowMatrix<T>;  // batch x features, rows are samples
  using Vector = ColVector<T>;

  // One linear layer's place in the flat parameter vector.
  struct Layer {
    int in, out;
    std::size_t weight, bias;  // offsets of W [out x in] row-major and b [out]
    bool residual;             // hidden layer with a skip connection
    bool operator==(const Layer&) const = default;
  };

  // Zero parameters and frequencies (to be filled by a loader).
  explicit Mlp(NetConfig config);
  // PyTorch-like initialisation drawn from Stream(seed, Purpose::weights, i):
  // i = 0 the Fourier frequencies (N(0, scale^2)), i = 1 + l layer l, whose
  // weights then biases are U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  Mlp(NetConfig config, std::uint64_t seed);

  const NetConfig& config() const { return config_; }
  const std::vector<Layer>& layers() const { return layers_; }
  std::size_t num_params() const { return params_.size(); }
  // Write access renews identity(): a workspace pinned to this network's
  // weights then repacks rather than using the old ones.
  std::span<T> params() {
    identity_ = Identity();
    return params_;
  }
  std::span<const T> params() const { return params_; }
  // Distinct for every network object and renewed by every write access to
  // the parameters (a copy gets its own): what pin_weights() keys on, since
  // an address can be reused by another network.
  std::uint64_t identity() const { return identity_.value; }
  // The fixed time-embedding frequencies f (nf values).
  std::span<T> frequencies() { return frequencies_; }
  std::span<const T> frequencies() const { return frequencies_; }

  // The same network in another scalar type (tests compare float to double).
  template <class U>
  Mlp<U> cast() const;

  // out = net(x, t): x [B x d], t [B], out [B x d]. Any B; if B fits the
  // workspace, the activations are kept for backward().
  void forward(Eigen::Ref<const Matrix> x, Eigen::Ref<const Vector> t, Eigen::Ref<Matrix> out,
               MlpWorkspace<T>& ws) const;
  // Inference: out = net(x, t) like forward(), without keeping anything for
  // backward() (so also without the activations' derivatives).
  void evaluate(Eigen::Ref<const Matrix> x, Eigen::Ref<const Vector> t, Eigen::Ref<Matrix> out,
                MlpWorkspace<T>& ws) const;
  // The same with every row at one time t (the samplers' case): the time
  // features' share of the first layer, W_t e(t) + b, is computed once per
  // call rather than once per row. Rounds differently from the per-row form.
  void evaluate(Eigen::Ref<const Matrix> x, T t, Eigen::Ref<Matrix> out, MlpWorkspace<T>& ws) const;
  // out = net(x, t) and div_i = tr(d net/dx) at (x_i, t_i): forward mode with
  // the d unit tangents, kMaxTangents per pass (for exact likelihoods).
  void divergence(Eigen::Ref<const Matrix> x, Eigen::Ref<const Vector> t, Eigen::Ref<Matrix> out,
                  Eigen::Ref<Vector> div, MlpWorkspace<T>& ws) const;

  // For inference on weights that stay fixed (a loaded model): packs them
  // into ws once, and later passes of this network through ws reuse them
  // rather than repacking per call. Keyed on identity(): a write access to
  // the parameters, a copy or another network's pass through ws repacks
  // (the last also unpins). Only writing through a span taken before the
  // pin goes unnoticed; don't.
  void pin_weights(MlpWorkspace<T>& ws) const;

  // grad = d/dparams sum_ij dout_ij out_ij for the last forward() (or jvp())
  // in ws; dout [B x d]. grad has num_params() entries and is overwritten.
  void backward(Eigen::Ref<const Matrix> dout, std::span<T> grad, MlpWorkspace<T>& ws) const;

  // Forward mode in x: out = net(x, t) and jv_i = J_i v_i, where J_i is the
  // Jacobian of net(., t_i) at x_i (t is held fixed). v, jv [B x d].
  void jvp(Eigen::Ref<const Matrix> x, Eigen::Ref<const Vector> t, Eigen::Ref<const Matrix> v,
           Eigen::Ref<Matrix> out, Eigen::Ref<Matrix> jv, MlpWorkspace<T>& ws) const;
  // Reverse over forward, for the last jvp() in ws: grad = d/dparams of
  //   sum_i a_i . out_i + b_i . (J_i v_i),   a, b [B x d]
  // (sliced score matching writes v^T J v and (v^T s)^2 this way).
  void jvp_backward(Eigen::Ref<const Matrix> a, Eigen::Ref<const Matrix> b, std::span<T> grad,
                    MlpWorkspace<T>& ws) const;

private:
  template <class F>
  void run_chunks(MlpWorkspace<T>& ws, int batch, F&& chunk_fn) const;
  void check_inputs(const MlpWorkspace<T>& ws, Eigen::Index rows, Eigen::Index cols,
                    Eigen::Index times) const;
  void check_backward(const MlpWorkspace<T>& ws, Eigen::Index rows, Eigen::Index cols,
                      std::size_t grad_size, bool tangent) const;
  void reduce_gradient(MlpWorkspace<T>& ws, int batch, std::span<T> grad) const;
  // Packs the fp32 weights into ws for the kernel (dense.hpp), at the start
  // of every pass (the parameters may have changed since the last), unless
  // ws is pinned to this network.
  void pack_weights(MlpWorkspace<T>& ws) const;
  // W^T of the layers whose backward products run through the kernel, at
  // the start of every backward pass.
  void pack_transposed_weights(MlpWorkspace<T>& ws) const;
  // forward() and evaluate(): the layers over every chunk, keeping act'(z) or not.
  void evaluate_rows(Eigen::Ref<const Matrix> x, Eigen::Ref<const Vector> t, Eigen::Ref<Matrix> out,
                     MlpWorkspace<T>& ws, bool derivatives) const;

  struct Identity {
    std::uint64_t value = next();
    Identity() = default;
    Identity(const Identity&) : value(next()) {}
    Identity& operator=(const Identity&) {
      value = next();
      return *this;
    }
    static std::uint64_t next();
  };

  NetConfig config_;
  Identity identity_;
  std::vector<Layer> layers_;
  std::vector<T, Eigen::aligned_allocator<T>> params_;  // aligned: see FloatBuffer
  std::vector<T, Eigen::aligned_allocator<T>> frequencies_;
};

// Per-chunk buffers of the network's forward and backward passes: sized once
// for a maximum batch (no allocation per step), reused across calls. The
// workspace belongs to one network shape, not to one parameter vector, so a
// model and its EMA copy can share it.
template <class T>
class MlpWorkspace {
public:
  // capacity: the largest batch whose forward can be followed by backward;
  // forward() of larger batches runs through the buffers in rounds of
  // capacity rows, so a round only keeps `threads` busy if capacity is at
  // least threads x kChunkRows (a few times that is better balanced).
  MlpWorkspace(const Mlp<T>& net, int capacity, int threads = 1);
  ~MlpWorkspace();
  MlpWorkspace(MlpWorkspace&&) noexcept;
  MlpWorkspace& operator=(MlpWorkspace&&) noexcept;

  int capacity() const;
  int threads() const { return threads_; }
  void set_threads(int threads) { threads_ = std::max(threads, 1); }

private:
  friend class Mlp<T>;
  enum class Tape { none, value, tangent };  // what the last pass recorded

  std::vector<typename Mlp<T>::Layer> layers_;  // the shape this was sized for
  std::vector<detail::NetChunk<T>> chunks_;
  std::vector<PackedWeights<T>> packed_;  // per layer, the panel rows (fp32 only)
  std::vector<PackedWeights<T>> packed_transposed_;  // per layer, W^T for backward (fp32 only)
  std::uint64_t pinned_ = 0;              // identity() of the network packed_ holds for good
  Eigen::Matrix<T, Eigen::Dynamic, 1> time_bias_;      // W_t e(t) + b of evaluate() at one t
  Eigen::Matrix<T, Eigen::Dynamic, 1> time_features_;  // e(t) there
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> chunk_grads_;  // params x chunks
  Tape tape_ = Tape::none;
  int recorded_batch_ = 0;
  int threads_ = 1;
  int tangents_ = 1;  // tangent blocks per chunk: min(d, kMaxTangents)
};

template <class T>
template <class U>
Mlp<U> Mlp<T>::cast() const {
  Mlp<U> other(config_);
  std::transform(params_.begin(), params_.end(), other.params().begin(),
                 [](T p) { return static_cast<U>(p); });
  std::transform(frequencies_.begin(), frequencies_.end(), other.frequencies().begin(),
                 [](T f) { return static_cast<U>(f); });
  return other;
}

extern template class Mlp<float>;
extern template class Mlp<double>;
extern template class MlpWorkspace<float>;
extern template class MlpWorkspace<double>;

using Net = Mlp<float>;
using NetWorkspace = MlpWorkspace<float>;

}  // namespace sde

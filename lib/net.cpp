// Layout: inside a chunk, activations are stored transposed, features x
// columns (column-major), one column per sample, so every layer is one GEMM
// W [out x in] * H [in x columns] with the chunk as the wide dimension, and the
// bias and activation run down contiguous columns.
//
// A pass with tangents widens the columns: [primal | tangent 1 | ...]. A
// linear layer maps every block with the same weights (the bias only goes to
// the primal block), one kernel call per block, and reverse over forward
// handles the pair [adjoint | tangent adjoint] with one wider GEMM. For a hidden layer h = act(z), dh = act'(z) dz the adjoints are
//   z_bar  = h_bar * act'(z) + dh_bar * act''(z) * dz
//   dz_bar = dh_bar * act'(z)
// and the weight gradient is [z_bar | dz_bar] [h_prev | dh_prev]^T.
#include "net.hpp"

#include <fmt/format.h>

#include <atomic>
#include <cmath>
#include <numbers>
#include <type_traits>

#include "dense.hpp"
#include "error.hpp"
#include "parallel.hpp"
#include "rng.hpp"

namespace sde {

namespace {

constexpr int C = kChunkRows;
// Whole chunk buffers must be a multiple of the widest SIMD packet (16
// floats with AVX-512), so that no element falls into a scalar tail loop.
static_assert(C % 16 == 0);

template <class T>
using Block = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;  // features x columns
template <class T>
using BlockMap = Eigen::Map<Block<T>>;
template <class T>
using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

}  // namespace

namespace detail {

template <class T>
struct NetChunk {
  Block<T> input;               // [x; sin; cos], input features x C
  Block<T> phase, wave;         // 2 pi t f and its sine or cosine, nf x C
  Block<T> tangent;             // v, d x (kMaxTangents or d) C
  std::vector<Block<T>> pre;    // per layer, out x (1 + tangents) C: [z | dz ...]; a hidden
                                // layer's z is replaced by act'(z) when derivatives are
                                // kept; the output layer's is [out | jv ...]
  std::vector<Block<T>> post;   // per hidden layer, out x (1 + tangents) C: [h | dh ...]
  std::vector<Block<T>> curv;   // per hidden layer, out x C: act''(z), after jvp()
  Block<T> adjoint[2];          // adjoints of layer outputs (ping-pong), widest x 2C
  Block<T> pre_adjoint;         // adjoint of the pre-activation, widest x 2C
  Block<T> scratch;             // widest x C
  // fp32 weight gradients through the kernel: the pre-activation adjoint
  // transposed (2C x widest) and the layer's input activations packed.
  Block<T> adjoint_transposed, packed_activations;
};

}  // namespace detail

namespace {

template <class T>
using Chunk = detail::NetChunk<T>;

// h = act(z) (+ skip), curvature = act''(z) when wanted, then act'(z) over z
// when derivatives are wanted: what backward and reverse-over-forward need,
// from one evaluation of the sigmoid / tanh. All arrays have z.size() entries; s is scratch. The arrays
// start chunk buffers (aligned) and are a multiple of 16 long (out x width),
// so every element takes the same SIMD path whatever its column: a row's
// result does not depend on its position in the batch.
template <class T>
void activate(Activation kind, ArrayMap<T> z, ArrayMap<T> h, const T* skip, bool derivatives,
              T* curvature, ArrayMap<T> s) {
  const Eigen::Index n = z.size();
  const T one(1), two(2);
  switch (kind) {
    case Activation::silu:  // z sigmoid(z)
      if constexpr (std::is_same_v<T, float>)
        dense::sigmoid(z.data(), s.data(), std::size_t(n));  // as the kernel's fused SiLU
      else
        s = (one + (-z).exp()).inverse();
      if (curvature) ArrayMap<T>(curvature, n) = s * (one - s) * (two + z * (one - two * s));
      h = z * s;
      if (derivatives) z = s * (one + z * (one - s));
      break;
    case Activation::relu:
      if (curvature) ArrayMap<T>(curvature, n).setZero();
      h = z.max(T(0));
      if (derivatives) z = (z > T(0)).template cast<T>();
      break;
    case Activation::tanh:
      s = z.tanh();
      if (curvature) ArrayMap<T>(curvature, n) = -two * s * (one - s.square());
      h = s;
      if (derivatives) z = one - s.square();
      break;
    case Activation::softplus:  // log(1 + e^z), linear above 20 like torch
      s = (one + (-z).exp()).inverse();
      if (curvature) ArrayMap<T>(curvature, n) = s * (one - s);
      h = (z > T(20)).select(z, z.exp().log1p());
      if (derivatives) z = s;
      break;
  }
  if (skip) h += ConstArrayMap<T>(skip, n);
}

template <class T>
Eigen::Map<const RowMatrix<T>> weights(const Mlp<T>& net, const typename Mlp<T>::Layer& l) {
  return {net.params().data() + l.weight, l.out, l.in};
}

template <class T>
Eigen::Map<const ColVector<T>> bias(const Mlp<T>& net, const typename Mlp<T>::Layer& l) {
  return {net.params().data() + l.bias, l.out};
}

// dst (k x C) = rows [r0, r0 + n) of src (B x k), transposed; padding columns 0.
template <class T, class Dst>
void load_columns(const Eigen::Ref<const RowMatrix<T>>& src, int r0, int n, Dst&& dst) {
  dst.leftCols(n) = src.middleRows(r0, n).transpose();
  dst.rightCols(C - n).setZero();
}

template <class T, class Src>
void store_rows(const Src& src, int r0, int n, Eigen::Ref<RowMatrix<T>>& dst) {
  dst.middleRows(r0, n) = src.leftCols(n).transpose();
}

// Inference passes compute only the columns a chunk's rows fill, rounded up
// to this: a multiple of the widest SIMD packet, so that activations and the
// time features take Eigen's packet path for every element, as on whole
// buffers. Passes that keep a tape for backward compute all C columns (their
// padding columns then hold the zero inputs' values).
constexpr int kWidthMultiple = 16;
static_assert(C % kWidthMultiple == 0);

// double (the tests' reference) keeps full chunks: its layers run through
// Eigen, whose product kernels switch with the shape.
template <class T>
int inference_width(int rows) {
  if constexpr (!std::is_same_v<T, float>) return C;
  return (rows + kWidthMultiple - 1) / kWidthMultiple * kWidthMultiple;
}

// Input columns [x; sin(2 pi t f); cos(2 pi t f)] for the first `width`
// columns; padding columns x = 0, t = 0.
template <class T>
void load_input(const Mlp<T>& net, const Eigen::Ref<const RowMatrix<T>>& x,
                const Eigen::Ref<const ColVector<T>>& t, int r0, int n, int width, Chunk<T>& ch) {
  const int d = net.config().dim, nf = net.config().frequencies;
  load_columns<T>(x, r0, n, ch.input.topRows(d));
  const Eigen::Map<const ColVector<T>> f(net.frequencies().data(), nf);
  const T two_pi = static_cast<T>(2 * std::numbers::pi);
  for (int c = 0; c < width; ++c)  // rounded like the peer: (2 pi t) first, then times f
    ch.phase.col(c) = (two_pi * (c < n ? t[r0 + c] : T(0))) * f;
  // sin and cos on aligned buffers of whole packets: were they evaluated in
  // place, a column's alignment would decide which elements take Eigen's
  // scalar rather than its SIMD code, and the two round differently.
  const std::size_t size = std::size_t(nf) * width;
  ArrayMap<T>(ch.wave.data(), size) = ArrayMap<T>(ch.phase.data(), size).sin();
  ch.input.middleRows(d, nf).leftCols(width) = ch.wave.leftCols(width);
  ArrayMap<T>(ch.wave.data(), size) = ArrayMap<T>(ch.phase.data(), size).cos();
  ch.input.middleRows(d + nf, nf).leftCols(width) = ch.wave.leftCols(width);
}

// What a pass over a chunk computes besides the output.
template <class T>
struct Pass {
  int width = C;                 // columns computed (of each block)
  int tangents = 0;              // tangent blocks after the primal one
  bool derivatives = true;       // keep act'(z) (backward; implied by tangents)
  bool curvature = false;        // keep act''(z) (reverse over forward)
  const T* time_bias = nullptr;  // the first layer's W_t e(t) + b, shared by all columns
  // Per layer, the panel rows' weights packed for the fp32 kernel (dense.hpp);
  // not used in double, which runs through Eigen.
  const std::vector<PackedWeights<T>>* packed = nullptr;
};

// z = W' h + b for `cols` columns of one block: fp32 through the kernels of
// dense.hpp, double through Eigen. W' is W, or its first `in` columns (the
// x inputs) when in < layer.in. bias null: no bias.
template <class T>
void linear_block(const Mlp<T>& net, std::size_t l, const Pass<T>& pass, int in, const T* bias,
                  const T* h, int ldh, int cols, T* z) {
  const auto& layer = net.layers()[l];
  const T* W = net.params().data() + layer.weight;
  if constexpr (std::is_same_v<T, float>) {
    const int panels = dense::panel_rows(layer.out);
    if (panels > 0)
      dense::apply((*pass.packed)[l].data(), layer.out, layer.in, in, bias, h, ldh, cols, z,
                   layer.out, dense::Epilogue::linear);
    if (panels < layer.out)
      dense::apply_rows(W, panels, layer.out, layer.in, in, bias, h, ldh, cols, z, layer.out);
  } else {
    BlockMap<T> Z(z, layer.out, cols);
    // The GEMM accumulates onto the bias (the tangents onto 0): Eigen would
    // otherwise clear the destination first, and the bias needs a pass of
    // its own. The sum is rounded as (W h) + b either way.
    if (bias)
      for (int c = 0; c < cols; ++c) Z.col(c) = Eigen::Map<const ColVector<T>>(bias, layer.out);
    else
      Z.setZero();
    const Eigen::Map<const Block<T>, 0, Eigen::OuterStride<>> H(h, in, cols, Eigen::OuterStride<>(ldh));
    Z.noalias() += Eigen::Map<const RowMatrix<T>>(W, layer.out, layer.in).leftCols(in) * H;
  }
}

// The layers over one chunk whose input (and tangent) columns are loaded;
// only the x rows of the input when the pass has a time bias. Block j (0 the
// primal, then the tangents) of every buffer starts at column j C.
template <class T>
void forward_chunk(const Mlp<T>& net, Chunk<T>& ch, const Pass<T>& pass) {
  const auto& layers = net.layers();
  const int d = net.config().dim, w = pass.width;
  const bool keep = pass.derivatives || pass.tangents > 0;  // act'(z) replaces z
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const auto& layer = layers[l];
    const bool hidden = l + 1 < layers.size();
    Block<T>& pre = ch.pre[l];
    const bool folded_time = l == 0 && pass.time_bias;
    const T* b = folded_time ? pass.time_bias : net.params().data() + layer.bias;
    const Block<T>& h = l == 0 ? ch.input : ch.post[l - 1];
    const int in = folded_time ? d : layer.in;
    // fp32 SiLU on the kernel's accumulators, straight into post; a taped
    // pass also keeps act'(z) in pre (with tangents or curvature it takes
    // the separate activation pass below).
    if constexpr (std::is_same_v<T, float>) {
      if (hidden && pass.tangents == 0 && !pass.curvature &&
          net.config().activation == Activation::silu && dense::panel_rows(layer.out) == layer.out) {
        dense::apply((*pass.packed)[l].data(), layer.out, layer.in, in, b, h.data(), int(h.rows()),
                     w, ch.post[l].data(), layer.out, keep ? dense::Epilogue::silu_slope : dense::Epilogue::silu,
                     layer.residual ? ch.post[l - 1].data() : nullptr, keep ? pre.data() : nullptr);
        continue;
      }
    }
    linear_block(net, l, pass, in, b, h.data(), int(h.rows()), w, pre.data());
    // Tangents: only x carries one, not the time features.
    const int tangent_in = l == 0 ? d : layer.in;
    for (int j = 1; j <= pass.tangents; ++j) {
      const T* dh = l == 0 ? ch.tangent.data() + std::size_t(d) * (j - 1) * C
                           : h.data() + std::size_t(layer.in) * j * C;
      linear_block(net, l, pass, tangent_in, static_cast<const T*>(nullptr), dh, tangent_in, w,
                   pre.data() + std::size_t(layer.out) * j * C);
    }
    if (!hidden) break;  // the output layer is linear

    Block<T>& post = ch.post[l];
    const std::size_t n = std::size_t(layer.out) * w;
    activate<T>(net.config().activation, ArrayMap<T>(pre.data(), n), ArrayMap<T>(post.data(), n),
                layer.residual ? ch.post[l - 1].data() : nullptr, keep,
                pass.curvature ? ch.curv[l].data() : nullptr, ArrayMap<T>(ch.scratch.data(), n));
    for (int j = 1; j <= pass.tangents; ++j) {
      post.middleCols(j * C, w) = pre.leftCols(w).cwiseProduct(pre.middleCols(j * C, w));
      if (layer.residual) post.middleCols(j * C, w) += ch.post[l - 1].middleCols(j * C, w);
    }
  }
}

// Whether fp32 backward runs layer l's products through the kernel: its input
// width must be whole panels (it is the kernel's row count in both).
template <class T>
bool backward_kernel(const typename Mlp<T>::Layer& layer) {
  return std::is_same_v<T, float> && dense::panel_rows(layer.in) == layer.in;
}

// gW = [z_bar | dz_bar] [h | dh]^T over `cols` columns, for a layer whose
// input activations h are a hidden layer's (ch.post).
template <class T>
void hidden_weight_gradient(const typename Mlp<T>::Layer& layer, const Block<T>& h, Chunk<T>& ch,
                            const BlockMap<T>& pre_adj, int cols, Eigen::Map<RowMatrix<T>>& gW) {
  if constexpr (std::is_same_v<T, float>) {
    if (backward_kernel<T>(layer)) {
      // gW^T (in x out) = [h | dh] (in x cols) [z_bar | dz_bar]^T (cols x out),
      // and gW^T column-major is gW row-major, its place in grad.
      dense::pack_transposed(h.data(), layer.in, cols, layer.in, ch.packed_activations.data());
      BlockMap<T>(ch.adjoint_transposed.data(), cols, layer.out) = pre_adj.transpose();
      dense::apply(ch.packed_activations.data(), layer.in, cols, cols, nullptr, ch.adjoint_transposed.data(),
                   cols, layer.out, gW.data(), layer.in, dense::Epilogue::linear);
      return;
    }
  }
  gW.noalias() = pre_adj * h.leftCols(cols).transpose();
}

// in_adj = W^T pre_adj: through the kernel with W^T packed, else Eigen.
template <class T>
void input_adjoint(const Mlp<T>& net, const typename Mlp<T>::Layer& layer, const PackedWeights<T>& transposed,
                   const BlockMap<T>& pre_adj, BlockMap<T>& in_adj) {
  if constexpr (std::is_same_v<T, float>) {
    if (backward_kernel<T>(layer)) {
      dense::apply(transposed.data(), layer.in, layer.out, layer.out, nullptr, pre_adj.data(), layer.out,
                   int(pre_adj.cols()), in_adj.data(), layer.in, dense::Epilogue::linear);
      return;
    }
  }
  in_adj.noalias() = weights(net, layer).transpose() * pre_adj;
}

// Parameter gradient of one chunk from the adjoint of the network output,
// loaded in ch.adjoint[0] (d x C, or d x 2C [a | b] with tangents).
// transposed: per layer, W^T packed for the kernel where backward_kernel().
template <class T>
void backward_chunk(const Mlp<T>& net, Chunk<T>& ch, bool tangent, T* grad,
                    const std::vector<PackedWeights<T>>& transposed) {
  const auto& layers = net.layers();
  const int d = net.config().dim, cols = tangent ? 2 * C : C;
  int cur = 0;  // which adjoint buffer holds the adjoint of layer l's output
  for (int l = int(layers.size()) - 1; l >= 0; --l) {
    const auto& layer = layers[l];
    const bool hidden = l + 1 < int(layers.size());
    const BlockMap<T> out_adj(ch.adjoint[cur].data(), layer.out, cols);
    // Adjoint of the pre-activation; the output layer is linear, so it is out_adj.
    BlockMap<T> pre_adj(hidden ? ch.pre_adjoint.data() : ch.adjoint[cur].data(), layer.out, cols);
    if (hidden) {
      const auto act1 = ch.pre[l].leftCols(C);  // act'(z)
      pre_adj.leftCols(C) = out_adj.leftCols(C).cwiseProduct(act1);
      if (tangent) {
        pre_adj.leftCols(C) +=
            out_adj.rightCols(C).cwiseProduct(ch.curv[l]).cwiseProduct(ch.pre[l].middleCols(C, C));
        pre_adj.rightCols(C) = out_adj.rightCols(C).cwiseProduct(act1);
      }
    }
    Eigen::Map<RowMatrix<T>> gW(grad + layer.weight, layer.out, layer.in);
    if (l == 0) {
      gW.noalias() = pre_adj.leftCols(C) * ch.input.transpose();
      if (tangent) gW.leftCols(d).noalias() += pre_adj.rightCols(C) * ch.tangent.leftCols(C).transpose();
    } else {
      hidden_weight_gradient(layer, ch.post[std::size_t(l) - 1], ch, pre_adj, cols, gW);
    }
    Eigen::Map<ColVector<T>>(grad + layer.bias, layer.out) = pre_adj.leftCols(C).rowwise().sum();
    if (l == 0) break;

    BlockMap<T> in_adj(ch.adjoint[1 - cur].data(), layer.in, cols);
    input_adjoint(net, layer, transposed[std::size_t(l)], pre_adj, in_adj);
    if (layer.residual) in_adj += out_adj;
    cur = 1 - cur;
  }
}

}  // namespace

// ---------------------------------------------------------------- names, config

std::string to_string(Activation a) {
  switch (a) {
    case Activation::silu: return "silu";
    case Activation::relu: return "relu";
    case Activation::tanh: return "tanh";
    case Activation::softplus: return "softplus";
  }
  return "?";
}

std::string to_string(TimeEmbedding e) {
  return e == TimeEmbedding::fourier ? "fourier" : "sinusoidal";
}

Activation parse_activation(const std::string& name) {
  for (auto a : {Activation::silu, Activation::relu, Activation::tanh, Activation::softplus})
    if (name == to_string(a)) return a;
  throw Error(fmt::format("unknown activation '{}' (silu, relu, tanh, softplus)", name));
}

TimeEmbedding parse_time_embedding(const std::string& name) {
  for (auto e : {TimeEmbedding::fourier, TimeEmbedding::sinusoidal})
    if (name == to_string(e)) return e;
  throw Error(fmt::format("unknown time embedding '{}' (fourier, sinusoidal)", name));
}

void NetConfig::validate() const {
  if (dim < 1) throw Error(fmt::format("network: dim must be positive, got {}", dim));
  for (int w : hidden)
    if (w < 1) throw Error(fmt::format("network: hidden widths must be positive, got {}", w));
  if (frequencies < 1)
    throw Error(fmt::format("network: frequencies must be positive, got {}", frequencies));
  if (!(fourier_scale > 0) || !std::isfinite(fourier_scale))
    throw Error(fmt::format("network: fourier_scale must be positive, got {}", fourier_scale));
  if (!(sinusoidal_positions > 0) || !std::isfinite(sinusoidal_positions))
    throw Error(fmt::format("network: sinusoidal_positions must be positive, got {}",
                            sinusoidal_positions));
}

// ---------------------------------------------------------------- Mlp

template <class T>
Mlp<T>::Mlp(NetConfig config) : config_(std::move(config)) {
  config_.validate();
  std::size_t offset = 0;
  int in = config_.input_features();
  const std::size_t hidden = config_.hidden.size();
  for (std::size_t l = 0; l <= hidden; ++l) {
    const int out = l < hidden ? config_.hidden[l] : config_.dim;
    // Skips join hidden layers only: not the input features, not the output.
    const bool residual = config_.residual && l > 0 && l < hidden && in == out;
    const std::size_t weight = offset, bias = offset + std::size_t(in) * out;
    layers_.push_back({in, out, weight, bias, residual});
    offset = bias + out;
    in = out;
  }
  params_.assign(offset, T(0));
  frequencies_.assign(config_.frequencies, T(0));
  if (config_.embedding == TimeEmbedding::sinusoidal) {
    // 2 pi f_k = positions * 10000^(-k / (nf - 1)), k = 0 .. nf-1.
    const int nf = config_.frequencies;
    for (int k = 0; k < nf; ++k) {
      const double rate = nf > 1 ? std::exp(-std::log(10000.0) * k / (nf - 1)) : 1.0;
      frequencies_[k] = static_cast<T>(config_.sinusoidal_positions * rate / (2 * std::numbers::pi));
    }
  }
}

template <class T>
Mlp<T>::Mlp(NetConfig config, std::uint64_t seed) : Mlp(std::move(config)) {
  if (config_.embedding == TimeEmbedding::fourier) {
    Stream rng(seed, Purpose::weights, 0);
    for (T& f : frequencies_) f = static_cast<T>(config_.fourier_scale * rng.normal());
  }
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    Stream rng(seed, Purpose::weights, 1 + l);
    const double bound = 1.0 / std::sqrt(double(layer.in));
    // Weights and bias are adjacent: out x in values, then out.
    const auto first = params_.begin() + std::ptrdiff_t(layer.weight);
    const auto last = params_.begin() + std::ptrdiff_t(layer.bias + layer.out);
    for (auto p = first; p != last; ++p) *p = static_cast<T>(bound * (2 * rng.uniform() - 1));
  }
}

template <class T>
void Mlp<T>::check_inputs(const MlpWorkspace<T>& ws, Eigen::Index rows, Eigen::Index cols,
                          Eigen::Index times) const {
  if (ws.layers_ != layers_) throw Error("network: workspace sized for another network shape");
  if (cols != config_.dim)
    throw Error(fmt::format("network: expected {} columns, got {}", config_.dim, cols));
  if (times != rows)
    throw Error(fmt::format("network: {} points but {} times", rows, times));
}

template <class T>
void Mlp<T>::check_backward(const MlpWorkspace<T>& ws, Eigen::Index rows, Eigen::Index cols,
                            std::size_t grad_size, bool tangent) const {
  if (ws.layers_ != layers_) throw Error("network: workspace sized for another network shape");
  using Tape = typename MlpWorkspace<T>::Tape;
  if (ws.tape_ == Tape::none || (tangent && ws.tape_ != Tape::tangent))
    throw Error(fmt::format("network: {} needs a preceding {} whose batch fits the workspace",
                            tangent ? "jvp_backward" : "backward", tangent ? "jvp" : "forward"));
  if (rows != ws.recorded_batch_ || cols != config_.dim)
    throw Error(fmt::format("network: adjoint is {} x {}, the recorded output {} x {}", rows,
                            cols, ws.recorded_batch_, config_.dim));
  if (grad_size != params_.size())
    throw Error(fmt::format("network: gradient has {} entries, the network {} parameters",
                            grad_size, params_.size()));
}

// Calls chunk_fn(buffers, first_row, rows, buffer_index) for every chunk of
// the batch. Chunks run in rounds of the workspace's size; within a round,
// on the workspace's threads.
template <class T>
template <class F>
void Mlp<T>::run_chunks(MlpWorkspace<T>& ws, int batch, F&& chunk_fn) const {
  const int buffers = int(ws.chunks_.size());
  const int chunks = (batch + C - 1) / C;
  for (int first = 0; first < chunks; first += buffers) {
    const int count = std::min(buffers, chunks - first);
    auto run = [&](int k) {
      const int r0 = (first + k) * C;
      chunk_fn(ws.chunks_[k], r0, std::min(C, batch - r0), k);
    };
    if (ws.threads_ == 1 || count == 1) {
      for (int k = 0; k < count; ++k) run(k);  // no thread start, no allocation
    } else {
      parallel_for(std::size_t(count), 1, ws.threads_, [&](std::size_t b, std::size_t e) {
        for (std::size_t k = b; k < e; ++k) run(int(k));
      });
    }
  }
}

// Chunk gradients summed in chunk order, whatever thread computed which.
template <class T>
void Mlp<T>::reduce_gradient(MlpWorkspace<T>& ws, int batch, std::span<T> grad) const {
  const int chunks = (batch + C - 1) / C;
  Eigen::Map<ColVector<T>> g(grad.data(), Eigen::Index(grad.size()));
  if (chunks == 0) {
    g.setZero();
    return;
  }
  // In blocks of parameters on the workspace's threads; each entry is summed
  // over the chunks in chunk order whichever thread adds it.
  constexpr std::size_t kBlock = 8192;  // a multiple of every SIMD width
  auto sum = [&](std::size_t begin, std::size_t end) {
    const auto at = Eigen::Index(begin), n = Eigen::Index(end - begin);
    g.segment(at, n) = ws.chunk_grads_.col(0).segment(at, n);
    for (int c = 1; c < chunks; ++c) g.segment(at, n) += ws.chunk_grads_.col(c).segment(at, n);
  };
  if (ws.threads_ == 1)
    sum(0, grad.size());
  else
    parallel_for(grad.size(), kBlock, ws.threads_, sum);
}

template <class T>
std::uint64_t Mlp<T>::Identity::next() {
  static std::atomic<std::uint64_t> counter{0};
  return ++counter;  // from 1: 0 is "not pinned"
}

template <class T>
void Mlp<T>::pack_weights(MlpWorkspace<T>& ws) const {
  if constexpr (std::is_same_v<T, float>) {
    if (ws.pinned_ == identity()) return;
    ws.pinned_ = 0;  // the packed weights are about to be this network's
    for (std::size_t l = 0; l < layers_.size(); ++l)
      dense::pack(params_.data() + layers_[l].weight, layers_[l].out, layers_[l].in,
                  ws.packed_[l].data());
  }
}

template <class T>
void Mlp<T>::pack_transposed_weights(MlpWorkspace<T>& ws) const {
  for (std::size_t l = 0; l < layers_.size(); ++l)
    if constexpr (std::is_same_v<T, float>)
      if (backward_kernel<T>(layers_[l]))
        dense::pack_transposed(params_.data() + layers_[l].weight, layers_[l].in, layers_[l].out,
                               layers_[l].in, ws.packed_transposed_[l].data());
}

template <class T>
void Mlp<T>::pin_weights(MlpWorkspace<T>& ws) const {
  if (ws.layers_ != layers_) throw Error("network: workspace sized for another network shape");
  ws.pinned_ = 0;
  pack_weights(ws);
  ws.pinned_ = identity();
}

template <class T>
void Mlp<T>::forward(Eigen::Ref<const Matrix> x, Eigen::Ref<const Vector> t,
                     Eigen::Ref<Matrix> out, MlpWorkspace<T>& ws) const {
  evaluate_rows(x, t, out, ws, /*derivatives=*/true);
  if (x.rows() <= ws.capacity()) ws.tape_ = MlpWorkspace<T>::Tape::value;
  ws.recorded_batch_ = int(x.rows());
}

template <class T>
void Mlp<T>::evaluate(Eigen::Ref<const Matrix> x, Eigen::Ref<const Vector> t,
                      Eigen::Ref<Matrix> out, MlpWorkspace<T>& ws) const {
  evaluate_rows(x, t, out, ws, /*derivatives=*/false);
}

template <class T>
void Mlp<T>::evaluate_rows(Eigen::Ref<const Matrix> x, Eigen::Ref<const Vector> t,
                           Eigen::Ref<Matrix> out, MlpWorkspace<T>& ws, bool derivatives) const {
  check_inputs(ws, x.rows(), x.cols(), t.size());
  if (out.rows() != x.rows() || out.cols() != x.cols())
    throw Error("network: output must have the shape of the input");
  ws.tape_ = MlpWorkspace<T>::Tape::none;
  pack_weights(ws);
  run_chunks(ws, int(x.rows()), [&](Chunk<T>& ch, int r0, int n, int) {
    const int width = derivatives ? C : inference_width<T>(n);
    load_input(*this, x, t, r0, n, width, ch);
    forward_chunk(*this, ch, Pass<T>{.width = width, .derivatives = derivatives, .packed = &ws.packed_});
    store_rows(ch.pre.back(), r0, n, out);
  });
}

template <class T>
void Mlp<T>::evaluate(Eigen::Ref<const Matrix> x, T t, Eigen::Ref<Matrix> out,
                      MlpWorkspace<T>& ws) const {
  check_inputs(ws, x.rows(), x.cols(), x.rows());
  if (out.rows() != x.rows() || out.cols() != x.cols())
    throw Error("network: output must have the shape of the input");
  ws.tape_ = MlpWorkspace<T>::Tape::none;
  const int d = config_.dim, nf = config_.frequencies;
  const Layer& first = layers_.front();
  const Eigen::Map<const ColVector<T>> f(frequencies_.data(), nf);
  auto& features = ws.time_features_;
  features.head(nf) = ((T(2 * std::numbers::pi) * t) * f).array().sin();
  features.tail(nf) = ((T(2 * std::numbers::pi) * t) * f).array().cos();
  // Row by row: Eigen's product with a column block of a row-major matrix
  // would allocate a temporary.
  const auto W = weights(*this, first);
  const auto b = bias(*this, first);
  for (int o = 0; o < first.out; ++o) ws.time_bias_[o] = b[o] + W.row(o).tail(2 * nf).dot(features);
  pack_weights(ws);
  run_chunks(ws, int(x.rows()), [&](Chunk<T>& ch, int r0, int n, int) {
    load_columns<T>(x, r0, n, ch.input.topRows(d));
    forward_chunk(*this, ch,
                  Pass<T>{.width = inference_width<T>(n), .derivatives = false,
                          .time_bias = ws.time_bias_.data(), .packed = &ws.packed_});
    store_rows(ch.pre.back(), r0, n, out);
  });
}

template <class T>
void Mlp<T>::divergence(Eigen::Ref<const Matrix> x, Eigen::Ref<const Vector> t,
                        Eigen::Ref<Matrix> out, Eigen::Ref<Vector> div, MlpWorkspace<T>& ws) const {
  check_inputs(ws, x.rows(), x.cols(), t.size());
  if (out.rows() != x.rows() || out.cols() != x.cols() || div.size() != x.rows())
    throw Error("network: divergence outputs must match the input's rows");
  ws.tape_ = MlpWorkspace<T>::Tape::none;
  const int d = config_.dim, group = ws.tangents_;
  pack_weights(ws);
  run_chunks(ws, int(x.rows()), [&](Chunk<T>& ch, int r0, int n, int) {
    const int width = inference_width<T>(n);
    load_input(*this, x, t, r0, n, width, ch);
    div.segment(r0, n).setZero();
    for (int first = 0; first < d; first += group) {
      const int count = std::min(group, d - first);
      ch.tangent.setZero();  // tangent j is the unit vector e_(first + j)
      for (int j = 0; j < count; ++j) ch.tangent.row(first + j).segment(j * C, C).setOnes();
      forward_chunk(*this, ch, Pass<T>{.width = width, .tangents = count, .packed = &ws.packed_});
      const Block<T>& output = ch.pre.back();  // [net | J e_first | ...]
      for (int j = 0; j < count; ++j)
        div.segment(r0, n) += output.row(first + j).segment((1 + j) * C, n).transpose();
    }
    store_rows(ch.pre.back().leftCols(C), r0, n, out);
  });
}

template <class T>
void Mlp<T>::backward(Eigen::Ref<const Matrix> dout, std::span<T> grad,
                      MlpWorkspace<T>& ws) const {
  check_backward(ws, dout.rows(), dout.cols(), grad.size(), false);
  const int d = config_.dim;
  pack_transposed_weights(ws);
  run_chunks(ws, ws.recorded_batch_, [&](Chunk<T>& ch, int r0, int n, int k) {
    load_columns<T>(dout, r0, n, BlockMap<T>(ch.adjoint[0].data(), d, C));
    backward_chunk(*this, ch, false, ws.chunk_grads_.col(k).data(), ws.packed_transposed_);
  });
  reduce_gradient(ws, ws.recorded_batch_, grad);
}

template <class T>
void Mlp<T>::jvp(Eigen::Ref<const Matrix> x, Eigen::Ref<const Vector> t,
                 Eigen::Ref<const Matrix> v, Eigen::Ref<Matrix> out, Eigen::Ref<Matrix> jv,
                 MlpWorkspace<T>& ws) const {
  check_inputs(ws, x.rows(), x.cols(), t.size());
  if (v.rows() != x.rows() || v.cols() != x.cols() || out.rows() != x.rows() ||
      out.cols() != x.cols() || jv.rows() != x.rows() || jv.cols() != x.cols())
    throw Error("network: tangent and outputs must have the shape of the input");
  const int batch = int(x.rows());
  ws.tape_ = MlpWorkspace<T>::Tape::none;
  pack_weights(ws);
  run_chunks(ws, batch, [&](Chunk<T>& ch, int r0, int n, int) {
    load_input(*this, x, t, r0, n, C, ch);
    load_columns<T>(v, r0, n, ch.tangent.leftCols(C));
    forward_chunk(*this, ch, Pass<T>{.tangents = 1, .curvature = true, .packed = &ws.packed_});
    store_rows(ch.pre.back().leftCols(C), r0, n, out);
    store_rows(ch.pre.back().middleCols(C, C), r0, n, jv);
  });
  if (batch <= ws.capacity()) ws.tape_ = MlpWorkspace<T>::Tape::tangent;
  ws.recorded_batch_ = batch;
}

template <class T>
void Mlp<T>::jvp_backward(Eigen::Ref<const Matrix> a, Eigen::Ref<const Matrix> b,
                          std::span<T> grad, MlpWorkspace<T>& ws) const {
  check_backward(ws, a.rows(), a.cols(), grad.size(), true);
  if (b.rows() != a.rows() || b.cols() != a.cols())
    throw Error("network: jvp_backward needs a and b of the same shape");
  const int d = config_.dim;
  pack_transposed_weights(ws);
  run_chunks(ws, ws.recorded_batch_, [&](Chunk<T>& ch, int r0, int n, int k) {
    BlockMap<T> adj(ch.adjoint[0].data(), d, 2 * C);
    load_columns<T>(a, r0, n, adj.leftCols(C));
    load_columns<T>(b, r0, n, adj.rightCols(C));
    backward_chunk(*this, ch, true, ws.chunk_grads_.col(k).data(), ws.packed_transposed_);
  });
  reduce_gradient(ws, ws.recorded_batch_, grad);
}

// ---------------------------------------------------------------- workspace

template <class T>
MlpWorkspace<T>::MlpWorkspace(const Mlp<T>& net, int capacity, int threads)
    : layers_(net.layers()), threads_(std::max(threads, 1)),
      tangents_(std::clamp(net.config().dim, 1, kMaxTangents)) {
  if (capacity < 1) throw Error(fmt::format("network: workspace capacity {} < 1", capacity));
  const NetConfig& cfg = net.config();
  int widest = cfg.dim;
  for (int w : cfg.hidden) widest = std::max(widest, w);
  chunks_.resize((capacity + C - 1) / C);
  for (auto& ch : chunks_) {
    ch.input.resize(cfg.input_features(), C);
    ch.phase.resize(cfg.frequencies, C);
    ch.wave.resize(cfg.frequencies, C);
    ch.tangent.resize(cfg.dim, tangents_ * C);
    for (const auto& layer : layers_) ch.pre.emplace_back(layer.out, (1 + tangents_) * C);
    for (std::size_t l = 0; l + 1 < layers_.size(); ++l) {
      ch.post.emplace_back(layers_[l].out, (1 + tangents_) * C);
      ch.curv.emplace_back(layers_[l].out, C);
    }
    for (auto& a : ch.adjoint) a.resize(widest, 2 * C);
    ch.pre_adjoint.resize(widest, 2 * C);
    ch.scratch.resize(widest, C);
    if constexpr (std::is_same_v<T, float>) {
      ch.adjoint_transposed.resize(2 * C, widest);
      ch.packed_activations.resize(widest, 2 * C);
    }
  }
  chunk_grads_.resize(Eigen::Index(net.num_params()), Eigen::Index(chunks_.size()));
  packed_.resize(layers_.size());
  packed_transposed_.resize(layers_.size());
  if constexpr (std::is_same_v<T, float>)
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      packed_[l].resize(dense::packed_size(layers_[l].out, layers_[l].in));
      if (backward_kernel<T>(layers_[l])) packed_transposed_[l].resize(dense::packed_size(layers_[l].in, layers_[l].out));
    }
  time_bias_.resize(layers_.front().out);
  time_features_.resize(cfg.embedding_features());
}

template <class T>
MlpWorkspace<T>::~MlpWorkspace() = default;
template <class T>
MlpWorkspace<T>::MlpWorkspace(MlpWorkspace&&) noexcept = default;
template <class T>
MlpWorkspace<T>& MlpWorkspace<T>::operator=(MlpWorkspace&&) noexcept = default;

template <class T>
int MlpWorkspace<T>::capacity() const {
  return int(chunks_.size()) * C;
}

template class Mlp<float>;
template class Mlp<double>;
template class MlpWorkspace<float>;
template class MlpWorkspace<double>;

}  // namespace sde

// Speed of the score network at the reference workload: batch 512, d = 2,
// 64 Fourier features, 3 x 128 SiLU; each benchmark for 1 and 2 threads.
// Also one step of the adaptive ODE sampler (BM_OdeStep) and the machine's
// fp32 peak (BM_FmaPeak). GFLOP/s counts 2 m n k per GEMM (elementwise work
// is not counted); peak% is that rate over the fp32 peak measured here for
// the same thread count (independent FMA chains, no memory traffic), so it
// needs no clock-speed assumption; steps/s is iterations per wall-clock second.
//
// On a shared machine, repeat short runs and read the medians:
//
//   bench_net --benchmark_repetitions=15 --benchmark_min_time=0.1
//             --benchmark_report_aggregates_only=true      (one command line)
//   bench_net --benchmark_filter=TrainStep    (compare with the peer's train_steps_per_s)
//   bench_net --benchmark_filter=FmaPeak      (the machine's fp32 peak alone)
#include <benchmark/benchmark.h>

#include <immintrin.h>  // the FMA peak kernels

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numbers>
#include <thread>
#include <vector>

#include "dense.hpp"
#include "enum_names.hpp"
#include "model.hpp"
#include "net.hpp"
#include "ode.hpp"
#include "optim.hpp"
#include "parallel.hpp"
#include "rng.hpp"
#include "sde.hpp"

namespace {

constexpr int kBatch = 512;

// Wall-clock time since construction: started just before a timed loop and
// read just after it, it gives the counters below as plain numbers (Google
// Benchmark's own rate counters would print peak% as "peak%/s").
class Stopwatch {
public:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// ---------------------------------------------------------------- fp32 peak
// kChains independent FMA accumulators cover the FMA latency (4 cycles on
// Zen 4) times the FMA pipes (2) with room to spare, so the loop is bound by
// FMA throughput alone: no loads, no stores, no dependency stalls.
constexpr int kChains = 12;
constexpr long kPeakIterations = 1'000'000;  // ~2-5 ms per call on one core

// Each instruction set's peak is measured with its own instructions (the
// build targets AVX2; the AVX-512 chains are compiled for it alone and run
// only where the CPU has it), and the kernel's share is taken of the peak of
// the instruction set it runs (SDE_ISA): on Zen 4 the two peaks are equal
// (AVX-512 runs as two 256-bit halves), on Zen 5 AVX-512's is twice AVX2's.
#define SDE_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define SDE_TARGET_AVX512 __attribute__((target("avx512f")))

struct Avx2 {
  static constexpr int lanes = 8;
  static constexpr sde::dense::Isa isa = sde::dense::Isa::avx2;
  SDE_TARGET_AVX2 static float chains(long iterations) {
    __m256 acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(1.0f + 1e-3f * float(c));
    // x <- 0.9999 x + 1e-4 converges to 1: no overflow, no denormals.
    const __m256 a = _mm256_set1_ps(0.9999f), b = _mm256_set1_ps(1e-4f);
    for (long n = 0; n < iterations; ++n) {
#pragma GCC unroll 16
      for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
    }
    float sum = 0;
    for (int c = 0; c < kChains; ++c) sum += _mm256_cvtss_f32(acc[c]);
    return sum;
  }
};

struct Avx512 {
  static constexpr int lanes = 16;
  static constexpr sde::dense::Isa isa = sde::dense::Isa::avx512;
  SDE_TARGET_AVX512 static float chains(long iterations) {
    __m512 acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(1.0f + 1e-3f * float(c));
    const __m512 a = _mm512_set1_ps(0.9999f), b = _mm512_set1_ps(1e-4f);
    for (long n = 0; n < iterations; ++n) {
#pragma GCC unroll 16
      for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
    }
    float sum = 0;
    for (int c = 0; c < kChains; ++c) sum += _mm512_cvtss_f32(acc[c]);
    return sum;
  }
};

// Runs the chains for `iterations` rounds; returns the flops done (2 per lane per FMA).
template <class S>
double fma_chains(long iterations) {
  benchmark::DoNotOptimize(S::chains(iterations));
  return 2.0 * S::lanes * kChains * double(iterations);
}

// The chains on `threads` threads at once (own std::threads, so every one is
// surely busy at the same time); returns the total flops.
template <class S>
double fma_on_threads(int threads, long iterations) {
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([=] { fma_chains<S>(iterations); });
  const double flops = fma_chains<S>(iterations);
  for (auto& th : pool) th.join();
  return threads * flops;
}

// The fp32 peak in GFLOP/s of the kernel's instruction set on `threads`
// threads: best of a few short runs, and at least `threads` times the
// 1-thread peak (other load on a shared machine only lowers a measurement),
// measured once per thread count. 0 for the generic kernel.
double peak_gflops(int threads) {
  static std::vector<double> cache(64, -1.0);
  double& best = cache.at(std::size_t(threads));
  if (best >= 0) return best;
  best = 0;
  const sde::dense::Isa isa = sde::dense::active_isa();
  for (int trial = 0; trial < 10 && isa != sde::dense::Isa::generic; ++trial) {
    const auto start = std::chrono::steady_clock::now();
    const double flops = isa == sde::dense::Isa::avx512 ? fma_on_threads<Avx512>(threads, kPeakIterations)
                                                         : fma_on_threads<Avx2>(threads, kPeakIterations);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    best = std::max(best, flops / took.count() * 1e-9);
  }
  if (threads > 1) best = std::max(best, threads * peak_gflops(1));
  return best;
}

template <class S>
void BM_FmaPeak(benchmark::State& state) {
  if (!sde::dense::supported(S::isa)) return state.SkipWithError("not on this CPU");
  const int threads = int(state.range(0));
  double flops = 0;
  const Stopwatch loop;
  for (auto _ : state) flops += fma_on_threads<S>(threads, kPeakIterations);
  state.counters["GFLOP/s"] = flops * 1e-9 / loop.seconds();
}

// ---------------------------------------------------------------- the network

// GEMM flops of each pass for one batch.
struct Flops {
  double forward = 0, backward = 0, jvp = 0, jvp_backward = 0;
  Flops(const sde::Net& net, int batch) {
    const int d = net.config().dim;
    for (std::size_t l = 0; l < net.layers().size(); ++l) {
      const double layer = 2.0 * net.layers()[l].in * net.layers()[l].out * batch;
      const double tangent_in = l == 0 ? 2.0 * d * net.layers()[l].out * batch : layer;
      forward += layer;
      backward += l == 0 ? layer : 2 * layer;  // weight gradient + input adjoint
      jvp += layer + tangent_in;
      jvp_backward += l == 0 ? layer + tangent_in : 4 * layer;
    }
  }
};

struct Setup {
  sde::Net net{sde::NetConfig{}, 0};
  sde::NetWorkspace ws;
  sde::Net::Matrix x, v, out, jv, dout;
  sde::Net::Vector t;
  sde::FloatBuffer grad;  // aligned, as Adam wants

  explicit Setup(int threads)
      : ws(net, kBatch, threads),
        x(kBatch, 2),
        v(kBatch, 2),
        out(kBatch, 2),
        jv(kBatch, 2),
        dout(kBatch, 2),
        t(kBatch),
        grad(net.num_params()) {
    sde::Stream rng(1, sde::Purpose::noise, 0);
    for (int i = 0; i < kBatch; ++i) {
      for (int j = 0; j < 2; ++j) {
        x(i, j) = float(4 * rng.normal());
        v(i, j) = float(rng.normal());
        dout(i, j) = float(rng.normal() / kBatch);
      }
      t[i] = float(rng.uniform());
    }
  }
};

// Iterations per second, GFLOP/s and its share of the fp32 peak on the same
// number of threads. Call right after the timed loop; the one-off peak
// measurement comes after the clock is read.
void report(benchmark::State& state, const Stopwatch& loop, double flops, int threads) {
  const double seconds = loop.seconds(), n = double(state.iterations());
  state.counters["steps/s"] = n / seconds;
  if (flops == 0) return;  // no GEMMs (Adam, EMA)
  const double gflops = n * flops * 1e-9 / seconds;
  state.counters["GFLOP/s"] = gflops;
  if (const double peak = peak_gflops(threads); peak > 0) state.counters["peak%"] = 100 * gflops / peak;
}

// The kernel alone: one 128 x 128 hidden layer with its fused SiLU over the
// batch's columns, in chunks of kChunkRows spread over the threads as the
// network spreads them. Its peak% is the kernel's share of the FMA peak.
void BM_Kernel(benchmark::State& state) {
  const int threads = int(state.range(0)), width = 128;
  sde::Stream rng(3, sde::Purpose::noise, 0);
  std::vector<float> W(std::size_t(width) * width), b(width), H(std::size_t(width) * kBatch),
      Z(std::size_t(width) * kBatch), packed(sde::dense::packed_size(width, width));
  for (float& w : W) w = float(rng.normal() / std::sqrt(double(width)));
  for (float& h : H) h = float(rng.normal());
  sde::dense::pack(W.data(), width, width, packed.data());
  const Stopwatch loop;
  for (auto _ : state) {
    sde::parallel_for(kBatch, sde::kChunkRows, threads, [&](std::size_t begin, std::size_t end) {
      sde::dense::apply(packed.data(), width, width, width, b.data(), H.data() + begin * width, width,
                        int(end - begin), Z.data() + begin * width, width, sde::dense::Epilogue::silu);
    });
    benchmark::ClobberMemory();
  }
  report(state, loop, 2.0 * width * width * kBatch, threads);
}

void BM_Forward(benchmark::State& state) {
  Setup s(int(state.range(0)));
  const Stopwatch loop;
  for (auto _ : state) {
    s.net.forward(s.x, s.t, s.out, s.ws);
    benchmark::ClobberMemory();
  }
  report(state, loop, Flops(s.net, kBatch).forward, int(state.range(0)));
}

// The network part of a denoising score matching step.
void BM_ForwardBackward(benchmark::State& state) {
  Setup s(int(state.range(0)));
  const Stopwatch loop;
  for (auto _ : state) {
    s.net.forward(s.x, s.t, s.out, s.ws);
    s.net.backward(s.dout, s.grad, s.ws);
    benchmark::ClobberMemory();
  }
  const Flops f(s.net, kBatch);
  report(state, loop, f.forward + f.backward, int(state.range(0)));
}

void BM_Jvp(benchmark::State& state) {
  Setup s(int(state.range(0)));
  const Stopwatch loop;
  for (auto _ : state) {
    s.net.jvp(s.x, s.t, s.v, s.out, s.jv, s.ws);
    benchmark::ClobberMemory();
  }
  report(state, loop, Flops(s.net, kBatch).jvp, int(state.range(0)));
}

// The network part of a sliced score matching step.
void BM_JvpBackward(benchmark::State& state) {
  Setup s(int(state.range(0)));
  const Stopwatch loop;
  for (auto _ : state) {
    s.net.jvp(s.x, s.t, s.v, s.out, s.jv, s.ws);
    s.net.jvp_backward(s.dout, s.dout, s.grad, s.ws);
    benchmark::ClobberMemory();
  }
  const Flops f(s.net, kBatch);
  report(state, loop, f.jvp + f.jvp_backward, int(state.range(0)));
}

void BM_AdamEma(benchmark::State& state) {
  Setup s(1);
  sde::Adam adam(s.net.num_params());
  sde::Ema ema(s.net.params(), sde::EmaConfig{0.999, 0});
  const Stopwatch loop;
  for (auto _ : state) {
    adam.step(s.net.params(), s.grad);
    ema.update(s.net.params());
  }
  report(state, loop, 0, 1);
}

// A whole denoising score matching step as the peer times it: draw x0 from
// the 8-Gaussian ring, t ~ U(1e-5, 1), z ~ N(0, I); forward the perturbed
// batch, loss gradient, backward, Adam, EMA. The draws use per-sample
// counter-based streams, so they can be split across threads like the
// network's chunks without changing a bit.
void BM_TrainStep(benchmark::State& state) {
  const int threads = int(state.range(0));
  Setup s(threads);
  const sde::Sde sde = sde::Sde::vp();
  sde::Adam adam(s.net.num_params());
  sde::Ema ema(s.net.params(), sde::EmaConfig{0.999, 0});
  sde::Net::Matrix z(kBatch, 2);
  std::uint64_t step = 0;
  auto draw = [&](std::size_t begin, std::size_t end) {
    for (auto i = begin; i < end; ++i) {
      sde::Stream data(0, sde::Purpose::data, i, step), noise(0, sde::Purpose::noise, i, step);
      const double angle = 2 * std::numbers::pi * data.below(8) / 8;
      const double t = 1e-5 + (1 - 1e-5) * sde::Stream(0, sde::Purpose::time, i, step).uniform();
      const double m = sde.mean_coeff(t), sd = sde.std(t);
      for (int j = 0; j < 2; ++j) {
        const double x0 = 4 * (j == 0 ? std::cos(angle) : std::sin(angle)) + 0.3 * data.normal();
        z(i, j) = float(noise.normal());
        s.x(i, j) = float(m * x0 + sd * z(i, j));
      }
      s.t[i] = float(t);
    }
  };
  const Stopwatch loop;
  for (auto _ : state) {
    sde::parallel_for(kBatch, sde::kChunkRows, threads, draw);
    s.net.forward(s.x, s.t, s.out, s.ws);
    s.dout = (s.out - z) * (2.0f / (kBatch * 2));  // d/d out of mean |out - z|^2
    s.net.backward(s.dout, s.grad, s.ws);
    adam.step(s.net.params(), s.grad);
    ema.update(s.net.params());
    ++step;
  }
  const Flops f(s.net, kBatch);
  report(state, loop, f.forward + f.backward, threads);
}

// One step of the adaptive probability-flow ODE sampler on 512 rows, as
// sde-sample --sampler ode runs it: chunks of kChunkRows rows spread over
// the threads, each its own Dormand-Prince integration through the network
// score (fp32 network, double-precision solver). The interval [T - 1e-3, T]
// is covered by Hairer's starting heuristic (2 evaluations) and one accepted
// step (6); the NFE/row counter shows it. GFLOP/s counts the network's GEMMs
// only, so the gap to BM_Forward is the solver's and the adapter's overhead.
void BM_OdeStep(benchmark::State& state) {
  const int threads = int(state.range(0));
  const sde::Model model{sde::Net(sde::NetConfig{}, 0)};  // VP with the default betas
  const sde::NetScore score(model);
  const sde::Sde& sde = score.sde();
  sde::Matrix x0(kBatch, 2);
  sde::Stream rng(2, sde::Purpose::prior, 0);
  for (int i = 0; i < kBatch; ++i)
    for (int j = 0; j < 2; ++j) x0(i, j) = rng.normal();
  std::vector<int> nfe(kBatch);
  const Stopwatch loop;
  for (auto _ : state) {
    sde::parallel_for(kBatch, sde::kChunkRows, threads, [&](std::size_t begin, std::size_t end) {
      sde::Matrix y = x0.middleRows(Eigen::Index(begin), Eigen::Index(end - begin));
      sde::Matrix s;
      const sde::OdeRhs rhs = [&](sde::ConstMatrixRef yy, sde::ConstVectorRef t,
                                  std::span<const Eigen::Index>, sde::MatrixRef dy) {
        s.resize(yy.rows(), yy.cols());
        score.score(yy, t, s);
        for (Eigen::Index i = 0; i < yy.rows(); ++i) {
          const double g = sde.diffusion(t(i));
          dy.row(i) = sde.drift_coeff(t(i)) * yy.row(i) - 0.5 * g * g * s.row(i);
        }
      };
      std::vector<sde::OdeRowStats> stats;
      sde::integrate_dopri5(rhs, y, sde.T, {sde.T - 1e-3}, sde::OdeOptions{}, stats);
      for (std::size_t i = 0; i < stats.size(); ++i) nfe[begin + i] = stats[i].nfe;
    });
  }
  double evaluations = 0;  // per iteration, over all rows
  for (int k : nfe) evaluations += k;
  state.counters["NFE/row"] = evaluations / kBatch;
  report(state, loop, evaluations * Flops(model.net, 1).forward, threads);
}

#define THREADS \
  ->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMicrosecond)
BENCHMARK(BM_Kernel) THREADS;
BENCHMARK(BM_Forward) THREADS;
BENCHMARK(BM_ForwardBackward) THREADS;
BENCHMARK(BM_Jvp) THREADS;
BENCHMARK(BM_JvpBackward) THREADS;
BENCHMARK(BM_TrainStep) THREADS;
BENCHMARK(BM_OdeStep) THREADS;
BENCHMARK(BM_AdamEma)->Unit(benchmark::kMicrosecond);
#define PEAK ->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMillisecond)
BENCHMARK_TEMPLATE(BM_FmaPeak, Avx2) PEAK;
BENCHMARK_TEMPLATE(BM_FmaPeak, Avx512) PEAK;

}  // namespace

// SDE_ISA=generic|avx2|avx512 times that kernel, as it forces it in the tools.
int main(int argc, char** argv) {
  try {
    if (const char* isa = std::getenv("SDE_ISA"); isa && *isa)
      sde::dense::select_isa(sde::parse_name(sde::dense::kIsaNames, isa, "instruction set"));
  } catch (const sde::Error& e) {
    std::fprintf(stderr, "bench_net: SDE_ISA: %s\n", e.what());
    return 2;
  }
  benchmark::AddCustomContext("isa", sde::name_of(sde::dense::kIsaNames, sde::dense::active_isa()));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

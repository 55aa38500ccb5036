// Speed of the score network at the reference workload: batch 512, d = 2,
// 64 Fourier features, 3 x 128 SiLU; each benchmark for 1 and 2 threads.
// GFLOP/s counts 2 m n k per GEMM (elementwise work is not counted);
// steps/s is iterations per wall-clock second.
//
// On a shared machine, repeat short runs and read the medians:
//
//   bench_net --benchmark_repetitions=15 --benchmark_min_time=0.1
//             --benchmark_report_aggregates_only=true      (one command line)
//   bench_net --benchmark_filter=TrainStep    (compare with the peer's train_steps_per_s)
#include <benchmark/benchmark.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "net.hpp"
#include "optim.hpp"
#include "parallel.hpp"
#include "rng.hpp"
#include "sde.hpp"

namespace {

constexpr int kBatch = 512;

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

void report(benchmark::State& state, double flops) {
  const auto n = double(state.iterations());
  state.counters["GFLOP/s"] = benchmark::Counter(n * flops * 1e-9, benchmark::Counter::kIsRate);
  state.counters["steps/s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
}

void BM_Forward(benchmark::State& state) {
  Setup s(int(state.range(0)));
  for (auto _ : state) {
    s.net.forward(s.x, s.t, s.out, s.ws);
    benchmark::ClobberMemory();
  }
  report(state, Flops(s.net, kBatch).forward);
}

// The network part of a denoising score matching step.
void BM_ForwardBackward(benchmark::State& state) {
  Setup s(int(state.range(0)));
  for (auto _ : state) {
    s.net.forward(s.x, s.t, s.out, s.ws);
    s.net.backward(s.dout, s.grad, s.ws);
    benchmark::ClobberMemory();
  }
  const Flops f(s.net, kBatch);
  report(state, f.forward + f.backward);
}

void BM_Jvp(benchmark::State& state) {
  Setup s(int(state.range(0)));
  for (auto _ : state) {
    s.net.jvp(s.x, s.t, s.v, s.out, s.jv, s.ws);
    benchmark::ClobberMemory();
  }
  report(state, Flops(s.net, kBatch).jvp);
}

// The network part of a sliced score matching step.
void BM_JvpBackward(benchmark::State& state) {
  Setup s(int(state.range(0)));
  for (auto _ : state) {
    s.net.jvp(s.x, s.t, s.v, s.out, s.jv, s.ws);
    s.net.jvp_backward(s.dout, s.dout, s.grad, s.ws);
    benchmark::ClobberMemory();
  }
  const Flops f(s.net, kBatch);
  report(state, f.jvp + f.jvp_backward);
}

void BM_AdamEma(benchmark::State& state) {
  Setup s(1);
  sde::Adam adam(s.net.num_params());
  sde::Ema ema(s.net.params(), 0.999);
  for (auto _ : state) {
    adam.step(s.net.params(), s.grad);
    ema.update(s.net.params());
  }
  report(state, 0);
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
  sde::Ema ema(s.net.params(), 0.999);
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
  report(state, f.forward + f.backward);
}

#define THREADS \
  ->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMicrosecond)
BENCHMARK(BM_Forward) THREADS;
BENCHMARK(BM_ForwardBackward) THREADS;
BENCHMARK(BM_Jvp) THREADS;
BENCHMARK(BM_JvpBackward) THREADS;
BENCHMARK(BM_TrainStep) THREADS;
BENCHMARK(BM_AdamEma)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

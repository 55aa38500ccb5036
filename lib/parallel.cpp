#include "parallel.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace sde {

int hardware_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

namespace {

// True on a thread that is already running parallel work (a pool worker,
// or a caller inside parallel_for): nested calls then run serially instead
// of waiting for a pool that is busy with their own parent.
thread_local bool in_parallel_work = false;

// Persistent worker threads: starting threads for every call cost tens of
// microseconds, which adds up over the thousands of network passes of a run.
// Between jobs a worker spins briefly before it sleeps, and so does the
// caller waiting for the helpers: a training step runs three parallel
// passes a few hundred microseconds apart, and a futex wake-up costs tens of
// microseconds each time.
class Pool {
public:
  static Pool& instance() {
    static Pool pool;
    return pool;
  }

  // Runs job on `helpers` pool threads and on the caller; returns when all
  // of them have finished it.
  void run(int helpers, const std::function<void()>& job) {
    std::lock_guard one_job_at_a_time(submit_);
    {
      std::lock_guard lock(mutex_);
      while (static_cast<int>(threads_.size()) < helpers)
        threads_.emplace_back([this] { loop(); });
      job_ = &job;
      wanted_ = helpers;
      taken_ = 0;
      finished_.store(0);
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    job();
    spin_until([&] { return finished_.load() == helpers; });
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return finished_.load() == wanted_; });
    job_ = nullptr;
  }

  ~Pool() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
  }

private:
  // Spins up to kSpin for done() to turn true.
  template <class Done>
  static void spin_until(Done&& done) {
    constexpr auto kSpin = std::chrono::microseconds(50);
    const auto until = std::chrono::steady_clock::now() + kSpin;
    while (!done() && std::chrono::steady_clock::now() < until) {
    }
  }

  void loop() {
    in_parallel_work = true;
    std::uint64_t seen = 0;
    for (;;) {
      spin_until([&] { return generation_.load() != seen; });
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || (generation_.load() != seen && taken_ < wanted_); });
      if (stop_) return;
      seen = generation_.load();
      ++taken_;
      const std::function<void()>* job = job_;
      lock.unlock();
      (*job)();
      lock.lock();
      if (finished_.fetch_add(1) + 1 == wanted_) done_.notify_one();
    }
  }

  std::mutex submit_, mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> threads_;
  const std::function<void()>* job_ = nullptr;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> finished_{0};
  int wanted_ = 0, taken_ = 0;
  bool stop_ = false;
};

}  // namespace

void parallel_for(std::size_t n, std::size_t chunk, int threads,
                  const std::function<void(std::size_t, std::size_t)>& body) {
  if (n == 0) return;
  chunk = std::max<std::size_t>(chunk, 1);
  const std::size_t chunks = (n + chunk - 1) / chunk;
  const auto workers = in_parallel_work ? 1
                                        : static_cast<int>(std::clamp<long>(
                                              threads, 1, static_cast<long>(chunks)));
  std::vector<std::exception_ptr> errors(chunks);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  const std::function<void()> work = [&] {
    for (std::size_t c; !failed && (c = next++) < chunks;) {
      try {
        body(c * chunk, std::min(n, (c + 1) * chunk));
      } catch (...) {
        errors[c] = std::current_exception();
        failed = true;
      }
    }
  };
  if (workers == 1) {
    work();
  } else {
    in_parallel_work = true;
    try {
      Pool::instance().run(workers - 1, work);
    } catch (...) {
      in_parallel_work = false;
      throw;
    }
    in_parallel_work = false;
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace sde

// Progress reporting without printing: long-running library loops report
// work done to a Progress; the tools decide how (or whether) to show it.
#pragma once
#include <cstddef>
#include <string>

namespace sde {

class Progress {
public:
  virtual ~Progress() = default;
  // Called from any thread; n units of work finished.
  virtual void advance(std::size_t n) = 0;
  // A short live figure shown beside the progress (e.g. "loss 0.512").
  virtual void detail(const std::string&) {}
};

// The do-nothing progress, for tests and quiet runs.
class NoProgress final : public Progress {
public:
  void advance(std::size_t) override {}
};

}  // namespace sde

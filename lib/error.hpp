// One error type for the whole toolkit. The library throws it with the cause;
// whoever knows the file (a loader, a tool) adds it with with_file(), and the
// tools' single printer shows "tool: file: cause".
#pragma once
#include <stdexcept>
#include <string>

namespace sde {

class Error : public std::runtime_error {
public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
  Error(std::string file, const std::string& what)
      : std::runtime_error(what), file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  // Attach a file name unless one is already known (the innermost wins).
  Error with_file(const std::string& file) const {
    return file_.empty() ? Error(file, what()) : *this;
  }
  // "file: cause" or just "cause".
  std::string message() const { return file_.empty() ? what() : file_ + ": " + what(); }

private:
  std::string file_;
};

}  // namespace sde

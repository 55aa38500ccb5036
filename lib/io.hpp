// Files in and out, with errors that name the path.
//
// OutputFile makes output files appear only when complete: data are written to
// a temporary file beside the target (same directory, so the rename cannot
// cross file systems) and renamed over it on commit(). If the object is
// destroyed without commit() (an error was thrown), the temporary is removed,
// so a failed run leaves no partial output and an existing file untouched.
// The rename makes the file appear atomically to other processes; there is no
// fsync, so it is not a guarantee against power loss.
//
// Special targets: "-" means stdout, which is refused when it is a terminal and
// the content is binary. An existing target that is not a regular file (a FIFO,
// /dev/null, /dev/fd/N from process substitution) is written directly, since
// it cannot be replaced by a rename; so is a symlink (such as /dev/stderr),
// which a rename would replace instead of writing through.
#pragma once
#include <cstddef>
#include <fstream>
#include <ostream>
#include <string>

namespace sde {

class OutputFile {
public:
  // binary: refuse a terminal on stdout
  // ("refusing to write binary data to a terminal; use -o FILE").
  // Throws sde::Error naming the path if the file cannot be created
  // (missing directory, no permission, the path is a directory).
  explicit OutputFile(std::string path, bool binary = true);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  std::ostream& stream();
  const std::string& path() const { return path_; }
  // Flush, check for write errors, rename into place. Calling it again does nothing.
  void commit();

private:
  std::string path_;
  std::string temp_;  // empty when writing directly (stdout, FIFO, device)
  std::ofstream file_;
  bool committed_ = false;
  int slot_ = -1;     // in the registry remove_temporary_outputs() reads
};

// Removes the temporary files of every OutputFile not yet committed.
// Async-signal-safe (it only calls unlink): for the tools' INT/TERM/HUP
// handlers, so that an interrupted run leaves no partial file behind.
void remove_temporary_outputs() noexcept;

// How an input path appears in messages: "-" is "<stdin>".
std::string input_name(const std::string& path);

// Opens a file for binary reading; throws sde::Error carrying the path if it
// is missing, unreadable or a directory.
std::ifstream open_input_file(const std::string& path);

// Text inputs (specs, model files, summaries, logs) larger than this are
// refused while reading: a model of 3 x 1024 units with its optimizer state
// is ~100 MB, and /dev/zero must not grow without limit.
inline constexpr std::size_t kMaxTextFileBytes = std::size_t(256) << 20;
// Whole file (or "-" for stdin) as a string; errors carry the path.
std::string read_text_file(const std::string& path);

}  // namespace sde

#include "io.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <mutex>

#include "error.hpp"

namespace sde {
namespace {

namespace fs = std::filesystem;

// mkstemp creates files with mode 0600; a finished output should get the mode
// any other new file would (0666 less the umask). The umask can only be read
// by setting it, so do that once, before any output file exists.
mode_t process_umask() {
  static const mode_t mask = [] {
    const mode_t m = ::umask(0);
    ::umask(m);
    return m;
  }();
  return mask;
}

std::string errno_text(int err) { return std::strerror(err); }

// The temporaries in use, as fixed buffers a signal handler can read: a
// slot's path is complete before its flag is set, and the flag is cleared
// before the path is reused.
struct TemporarySlot {
  std::atomic<bool> used{false};
  char path[4096];
};
TemporarySlot temporary_slots[16];

int register_temporary(const std::string& path) {
  if (path.size() >= sizeof(TemporarySlot::path)) return -1;
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  for (int i = 0; i < static_cast<int>(std::size(temporary_slots)); ++i) {
    TemporarySlot& slot = temporary_slots[i];
    if (slot.used.load()) continue;
    std::memcpy(slot.path, path.c_str(), path.size() + 1);
    slot.used.store(true);
    return i;
  }
  return -1;  // more than 16 at once: left to the destructor
}

void unregister_temporary(int& slot) {
  if (slot >= 0) temporary_slots[slot].used.store(false);
  slot = -1;
}
}  // namespace

void remove_temporary_outputs() noexcept {
  for (TemporarySlot& slot : temporary_slots)
    if (slot.used.load()) ::unlink(slot.path);
}

OutputFile::OutputFile(std::string path, bool binary) : path_(std::move(path)) {
  if (path_.empty()) throw Error("empty output file name");
  if (path_ == "-") {
    if (binary && ::isatty(STDOUT_FILENO))
      throw Error("refusing to write binary data to a terminal; use -o FILE");
    return;
  }
  std::error_code ec;
  const fs::file_status status = fs::status(path_, ec);
  if (fs::is_directory(status)) throw Error(path_, "is a directory");
  if ((fs::exists(status) && !fs::is_regular_file(status)) ||
      fs::is_symlink(fs::symlink_status(path_, ec))) {
    // A FIFO or device cannot be replaced by a rename, and renaming over a
    // symlink would replace the link (think /dev/stderr): write through it.
    file_.open(path_, std::ios::binary | std::ios::trunc);
    if (!file_) throw Error(path_, "cannot open for writing: " + errno_text(errno));
    return;
  }

  // The temporary sits beside the output (rename stays within one file
  // system). An output name within 11 bytes of the 255-byte name limit gets a
  // short hidden temporary instead of NAME.tmp.XXXXXX.
  const fs::path target(path_);
  const std::string name = target.filename().string();
  temp_ = name.size() + 11 <= 255 ? path_ + ".tmp.XXXXXX" : (target.parent_path() / ".sde-tmp.XXXXXX").string();
  const int fd = ::mkstemp(temp_.data());
  if (fd < 0) {
    const int err = errno;
    temp_.clear();
    throw Error(path_, "cannot create: " + errno_text(err));
  }
  slot_ = register_temporary(temp_);
  ::fchmod(fd, 0666 & ~process_umask());
  ::close(fd);
  file_.open(temp_, std::ios::binary | std::ios::trunc);
  if (!file_) {
    const int err = errno;
    std::remove(temp_.c_str());
    temp_.clear();
    throw Error(path_, "cannot open for writing: " + errno_text(err));
  }
}

OutputFile::~OutputFile() {
  unregister_temporary(slot_);
  if (committed_ || temp_.empty()) return;
  file_.close();
  std::remove(temp_.c_str());
}

std::ostream& OutputFile::stream() { return path_ == "-" ? std::cout : file_; }

void OutputFile::commit() {
  if (committed_) return;
  if (path_ == "-") {
    std::cout.flush();
    if (!std::cout) throw Error("write error on standard output");
  } else {
    file_.close();  // flushes; a failed write or close leaves failbit set
    if (file_.fail()) throw Error(path_, "write error");
    if (!temp_.empty() && std::rename(temp_.c_str(), path_.c_str()) != 0)
      throw Error(path_, "cannot rename the temporary file into place: " + errno_text(errno));
  }
  committed_ = true;
  unregister_temporary(slot_);
}

std::string input_name(const std::string& path) { return path == "-" ? "<stdin>" : path; }

std::ifstream open_input_file(const std::string& path) {
  std::error_code ec;
  // Opening a directory succeeds on Linux and only reading fails; say why up front.
  if (fs::is_directory(path, ec)) throw Error(path, "is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, "cannot open: " + errno_text(errno));
  return in;
}

std::string read_text_file(const std::string& path) {
  const auto read_all = [](std::istream& in) {
    std::string text;
    char buf[1 << 16];
    while (in) {
      in.read(buf, sizeof buf);
      text.append(buf, static_cast<std::size_t>(in.gcount()));
      if (text.size() > kMaxTextFileBytes)
        throw Error(fmt::format("longer than {} MB: not a spec, model or summary", kMaxTextFileBytes >> 20));
    }
    if (in.bad()) throw Error("read error");
    return text;
  };
  try {
    if (path == "-") return read_all(std::cin);
    std::ifstream in = open_input_file(path);
    return read_all(in);
  } catch (const Error& e) {
    throw e.with_file(input_name(path));
  }
}

}  // namespace sde

// Output files that appear only when complete: data are written to a
// temporary file beside the target and renamed over it on commit(). If the
// object is destroyed without commit() (an error was thrown), the temporary
// is removed, so a failed run leaves no partial output. "-" means stdout,
// which is refused when it is a terminal and the content is binary.
#pragma once
#include <fstream>
#include <memory>
#include <ostream>
#include <string>

namespace sde {

class OutputFile {
public:
  // binary: refuse a terminal on stdout ("binary output to a terminal; use -o FILE").
  explicit OutputFile(std::string path, bool binary = true);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  std::ostream& stream();
  const std::string& path() const { return path_; }
  // Flush, check for write errors, rename into place.
  void commit();

private:
  std::string path_;
  std::string temp_;
  std::ofstream file_;
  bool committed_ = false;
};

// Whole file (or "-" for stdin) as a string; errors carry the path.
std::string read_text_file(const std::string& path);

}  // namespace sde

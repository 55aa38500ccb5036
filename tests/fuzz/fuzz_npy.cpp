// libFuzzer harness: the .npy reader on arbitrary bytes. The contract is
// that bad input is an sde::Error (the tools' "tool: file: cause"); any
// other exception, a crash, a sanitizer report, a hang or a huge
// allocation is a finding.
#include <cstdint>
#include <sstream>
#include <string>

#include "error.hpp"
#include "npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    const sde::NpyArray a = sde::read_npy(in);
    (void)sde::as_matrix(a);
  } catch (const sde::Error&) {
  }
  return 0;
}

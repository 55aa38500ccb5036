// libFuzzer harness: the CSV reader of sde-npy from-csv on arbitrary text;
// only sde::Error may come out.
#include <cstdint>
#include <string>

#include "error.hpp"
#include "text_arrays.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)sde::parse_csv(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const sde::Error&) {
  }
  return 0;
}

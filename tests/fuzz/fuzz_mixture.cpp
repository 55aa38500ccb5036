// libFuzzer harness: a mixture spec (JSON text) through the one bounded JSON
// reader and the spec's checks, as --mixture FILE reads it; only
// sde::Error may come out.
#include <cstdint>
#include <string>

#include "error.hpp"
#include "spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const sde::GaussianMixture mixture =
        sde::mixture_from_json(sde::parse_json(std::string(reinterpret_cast<const char*>(data), size)));
    (void)mixture.dim();
  } catch (const sde::Error&) {
  }
  return 0;
}

// libFuzzer harness: a model file (JSON text) through the bounded JSON
// reader and the model's checks, as --model FILE reads it; only sde::Error
// may come out.
#include <cstdint>
#include <string>

#include "error.hpp"
#include "model.hpp"
#include "spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const sde::Model model =
        sde::model_from_json(sde::parse_json(std::string(reinterpret_cast<const char*>(data), size)));
    (void)model.net.num_params();
  } catch (const sde::Error&) {
  }
  return 0;
}

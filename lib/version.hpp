// What --version and every run summary say: the release and the commit the
// tools were built from (so a result can be traced to its source).
#pragma once
#include <string>

namespace sde {

extern const char* const kCommit;  // git describe of the build's source, or "unknown"

inline std::string version() { return std::string(SDE_VERSION) + " (commit " + kCommit + ")"; }

}  // namespace sde

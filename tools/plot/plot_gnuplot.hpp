// Rendering a figure script with gnuplot, run as a child process: the script
// (with its data inline) goes to gnuplot's standard input and the image comes
// back on its standard output, so nothing is written until the caller has the
// complete image in hand.
#pragma once
#include <string>

#include "plot.hpp"

namespace sde::plot {

struct Rendered {
  std::string image;     // the file's bytes
  std::string warnings;  // what gnuplot printed on stderr while succeeding
};

// Runs gnuplot -d (no user init files, so the result depends only on the
// script) found on PATH, with the script on its standard input. Throws sde::Error when gnuplot is
// missing ("gnuplot not found on PATH ..."), fails (with its message), or writes nothing. PDF
// creation dates are set to SOURCE_DATE_EPOCH (0 when unset), so the same script always gives the
// same bytes in every format.
Rendered render(const std::string& script, Format format);

// Renders the script into the file at `path` ("-": standard output), which
// appears only once gnuplot has succeeded; errors name the file. Returns
// gnuplot's warnings.
std::string render_to_file(const std::string& script, Format format, const std::string& path);

// The PDF with the digits of every /CreationDate and /ModDate replaced by
// the UTC date of `epoch` (same length, so the cross-reference offsets stay
// valid). Other bytes are unchanged.
std::string with_pdf_dates(std::string pdf, long long epoch);

}  // namespace sde::plot

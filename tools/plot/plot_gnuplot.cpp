#include "plot_gnuplot.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "error.hpp"
#include "io.hpp"

extern char** environ;

namespace sde::plot {
namespace {

// Both ends of a pipe, closed when done with.
struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() {
    if (::pipe2(fd, O_CLOEXEC) != 0)
      throw Error(std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  ~Pipe() {
    close_end(0);
    close_end(1);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  void close_end(int k) {
    if (fd[k] >= 0) ::close(fd[k]);
    fd[k] = -1;
  }
};

// Ignores SIGPIPE while alive, so a gnuplot that quits early (a script
// error) makes our write fail with EPIPE instead of killing the tool.
class IgnoreSigpipe {
 public:
  IgnoreSigpipe() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, &saved_);
  }
  ~IgnoreSigpipe() { ::sigaction(SIGPIPE, &saved_, nullptr); }
  IgnoreSigpipe(const IgnoreSigpipe&) = delete;
  IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;

 private:
  struct sigaction saved_ {};
};

// gnuplot's error message without the echo of the offending line around
// it: its last non-empty line, trimmed, without the name of the script.
std::string error_message(const std::string& text) {
  const auto end = text.find_last_not_of(" \t\r\n");
  if (end == std::string::npos) return "";
  const auto begin = text.find_last_of('\n', end);
  std::string line = text.substr(begin == std::string::npos ? 0 : begin + 1, end - begin);
  line.erase(0, std::min(line.size(), line.find_first_not_of(" \t")));
  const std::string script = "\"/dev/stdin\" ";
  if (line.starts_with(script)) line.erase(0, script.size());
  return line;
}

long long source_date_epoch() {
  const char* text = std::getenv("SOURCE_DATE_EPOCH");
  return text ? std::strtoll(text, nullptr, 10) : 0;
}

}  // namespace

Rendered render(const std::string& script, Format format) {
  Pipe in, out, err;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.fd[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.fd[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.fd[1], STDERR_FILENO);
  // gnuplot reads its standard input one byte per read() (it must not read
  // past a line it may hand on), which is slow for megabytes of inline data;
  // loading /dev/stdin as a script file reads the same pipe buffered.
  char name[] = "gnuplot", defaults[] = "-d", execute[] = "-e", load[] = "load '/dev/stdin'";
  char* argv[] = {name, defaults, execute, load, nullptr};
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, name, &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned == ENOENT)
    throw Error("gnuplot not found on PATH (install it: apt-get install gnuplot-nox)");
  if (spawned != 0) throw Error(std::string("cannot run gnuplot: ") + std::strerror(spawned));
  in.close_end(0);
  out.close_end(1);
  err.close_end(1);

  // Feed the script while draining both outputs: gnuplot may start writing
  // the image before it has read all of its input, and either pipe filling
  // up while we wait on the other would deadlock.
  const IgnoreSigpipe ignore_sigpipe;
  ::fcntl(in.fd[1], F_SETFL, O_NONBLOCK);
  Rendered result;
  std::string messages;
  std::size_t written = 0;
  if (script.empty()) in.close_end(1);
  while (out.fd[0] >= 0 || err.fd[0] >= 0) {
    pollfd fds[3] = {{in.fd[1], POLLOUT, 0}, {out.fd[0], POLLIN, 0}, {err.fd[0], POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      in.close_end(1), out.close_end(0), err.close_end(0);  // gnuplot then ends too
      break;
    }
    if (fds[0].revents) {
      const ssize_t n = ::write(in.fd[1], script.data() + written, script.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if ((n < 0 && errno != EAGAIN) || written == script.size())
        in.close_end(1);  // EPIPE: gnuplot quit
    }
    for (int k : {1, 2}) {
      if (!fds[k].revents) continue;
      char buffer[65536];
      const ssize_t n = ::read(fds[k].fd, buffer, sizeof buffer);
      if (n > 0)
        (k == 1 ? result.image : messages).append(buffer, static_cast<std::size_t>(n));
      else if (n == 0 || errno != EINTR)
        (k == 1 ? out : err).close_end(0);
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || written != script.size()) {
    const std::string cause = error_message(messages);
    throw Error("gnuplot failed" + (cause.empty() ? std::string() : ": " + cause));
  }
  if (result.image.empty()) throw Error("gnuplot wrote no image");
  if (format == Format::pdf)
    result.image = with_pdf_dates(std::move(result.image), source_date_epoch());
  result.warnings = messages;
  return result;
}

std::string render_to_file(const std::string& script, Format format, const std::string& path) {
  try {
    OutputFile file(path);  // created first: a bad path fails before the work is done
    Rendered rendered = render(script, format);
    file.stream() << rendered.image;
    file.commit();
    return rendered.warnings;
  } catch (const Error& e) {
    throw e.with_file(path);
  }
}

std::string with_pdf_dates(std::string pdf, long long epoch) {
  const std::time_t time = static_cast<std::time_t>(epoch);
  std::tm utc{};
  ::gmtime_r(&time, &utc);
  char digits[32];
  std::strftime(digits, sizeof digits, "%Y%m%d%H%M%S", &utc);
  for (const std::string key : {"/CreationDate (D:", "/ModDate (D:"})
    for (auto at = pdf.find(key); at != std::string::npos; at = pdf.find(key, at + 1)) {
      const std::size_t start = at + key.size();
      std::size_t end = start;
      while (end < pdf.size() && end - start < 14 &&
             std::isdigit(static_cast<unsigned char>(pdf[end])))
        ++end;
      pdf.replace(start, end - start, std::string(digits).substr(0, end - start));
    }
  return pdf;
}

}  // namespace sde::plot

// A temporary file for the commands (e.g. the log behind simulate --report when no --log file is given).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>

namespace hooksim::cli {

// A temporary file (for a log the user did not ask to keep), removed when this goes out of scope.
class TempLog {
 public:
  static std::optional<TempLog> create() {
    std::string pattern = (std::filesystem::temp_directory_path() / "hooksim-log-XXXXXX").string();
    int fd = ::mkstemp(pattern.data());
    if (fd < 0) return std::nullopt;
    ::close(fd);
    return TempLog(pattern);
  }
  TempLog(TempLog&& o) noexcept : path_(std::exchange(o.path_, {})) {}
  TempLog& operator=(TempLog&&) = delete;
  ~TempLog() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  explicit TempLog(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

}  // namespace hooksim::cli

// A temporary file for the commands (e.g. the log behind simulate --report when no --log file is given).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace hooksim::cli {

// A temporary file (for a log the user did not ask to keep), created empty by the constructor and removed
// by the destructor. path() is empty when it could not be created.
class TempLog {
 public:
  TempLog() : path_((std::filesystem::temp_directory_path() / "hooksim-log-XXXXXX").string()) {
    int fd = ::mkstemp(path_.data());
    if (fd < 0) path_.clear();
    if (fd >= 0) ::close(fd);
  }
  TempLog(const TempLog&) = delete;
  TempLog& operator=(const TempLog&) = delete;
  ~TempLog() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace hooksim::cli

// Helpers for tests that use files or run the hooksim binary: a temporary directory, files, and running a
// command with its output captured.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace hooksim::testutil {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "hooksim-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (std::filesystem::path(path_) / name).string(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The lines of `text` without their newlines; empty lines are left out unless `keep_empty`.
inline std::vector<std::string> lines_of(const std::string& text, bool keep_empty = false) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (keep_empty || !line.empty()) out.push_back(line);
  return out;
}

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `hooksim <args>` (args already quoted) with stdin from /dev/null and stdout/stderr captured in files
// (so neither is a terminal). With `merge_stderr`, stderr goes to stdout (2>&1): `out` has both, as written.
inline RunResult run_hooksim(const std::string& args, const TempDir& dir, bool merge_stderr = false) {
  std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
  std::string cmd = shell_quote(HOOKSIM_BINARY) + " " + args + " </dev/null >" + shell_quote(out) +
                    (merge_stderr ? " 2>&1" : " 2>" + shell_quote(err));
  int rc = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = (rc != -1 && WIFEXITED(rc)) ? WEXITSTATUS(rc) : -1;
  r.out = read_file(out);
  if (!merge_stderr) r.err = read_file(err);
  return r;
}

// Runs `hooksim <args> 2>&1` as above, in a temporary directory of its own: {exit status, stdout and stderr}.
inline std::pair<int, std::string> run_hooksim_merged(const std::string& args) {
  TempDir dir;
  RunResult r = run_hooksim(args, dir, /*merge_stderr=*/true);
  return {r.exit_code, r.out};
}

}  // namespace hooksim::testutil

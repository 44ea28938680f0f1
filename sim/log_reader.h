// Reading an attempt log (docs/attempt-log.md) back, one record at a time, for `hooksim report` and
// `hooksim replay`. The reader streams: it holds one line at a time, so a log of any size can be read.
#pragma once

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/status.h"
#include "engine/subscription.h"
#include "sim/attempt_log.h"

namespace hooksim::sim {

// One parsed log line. Which fields are meaningful depends on `kind` (see docs/attempt-log.md); the others
// keep their defaults.
struct LogRecord {
  enum class Kind { kRun, kAttempt, kPublish, kDeactivated, kReactivated, kRestart };
  Kind kind = Kind::kAttempt;
  int64_t t_ms = 0;   // all kinds but kRun
  std::string sub;    // attempt, deactivated, reactivated
  std::string event;  // attempt, publish
  // attempt
  uint64_t seq = 0;
  uint32_t attempt = 0;
  ErrorClass error = ErrorClass::kNone;  // kNone: delivered
  int status = 0;
  int64_t latency_ms = 0;
  bool probe = false;
  bool exhausted = false;  // a failed attempt that was its event's last (the event left the queue)
  // deactivated
  uint64_t discarded = 0;
  // publish: (subscription, seq) of each queue the event joined; the delivery body when the log has payloads
  std::vector<std::pair<std::string, uint64_t>> subs;
  std::vector<std::string> dropped;  // publish: deactivated subscriptions that matched and dropped it
  std::optional<std::string> body;
  // run
  RunHeader run;

  bool delivered() const { return error == ErrorClass::kNone; }
};

// Reads a log file line by line. Empty lines are skipped; records of an unknown kind are skipped too (a
// newer hooksim may add kinds); a line that is not a JSON object, or a known record with a missing or
// mistyped field, is an error naming the file, the line number and the field.
class LogReader {
 public:
  // InvalidArgument "PATH: cannot open the file" when it cannot be read.
  static Result<LogReader> open(const std::string& path);

  // Reads the next record into `out`. Returns true when a record was read, false at the end of the file,
  // or InvalidArgument "PATH:LINE: FIELD: problem".
  Result<bool> next(LogRecord& out);

  // Number of the line last read, from 1.
  uint64_t line_number() const { return line_no_; }

 private:
  LogReader(std::string path, std::ifstream in) : path_(std::move(path)), in_(std::move(in)) {}
  std::string path_;
  std::ifstream in_;
  std::string line_;
  uint64_t line_no_ = 0;
};

// Parses one log line (without its newline). nullopt for a record of an unknown kind; InvalidArgument
// "FIELD: problem" (no file or line) for a bad one.
Result<std::optional<LogRecord>> parse_log_line(std::string_view line);

}  // namespace hooksim::sim

// A progress line for long runs on a terminal: virtual time reached out of the run's duration, events
// published, attempts made. It is a DeliveryObserver, so the engine's hot loop pays one counter increment
// per callback; the wall clock is read only every `check_every` callbacks, and the line is redrawn at most
// every `interval` of wall time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "engine/delivery_observer.h"

namespace hooksim::sim {

// "[########............]  40%  2d 19:12 of 7d  events 1234  attempts 5678" (`width` bar cells).
std::string format_progress(Duration reached, Duration total, uint64_t events, uint64_t attempts,
                            int width = 24);

// The same bar for `hooksim replay`: "[########............]  40%  2d 19:12 of 7d  sent 120 of 300" (the
// recorded run's time reached, and the attempts answered out of those to send).
std::string format_replay_progress(Duration reached, Duration total, uint64_t sent, uint64_t of,
                                   int width = 24);

// Whether a progress line belongs on the stream with file descriptor `fd`: only on a terminal.
bool progress_wanted(int fd);

class ProgressMeter final : public DeliveryObserver {
 public:
  using WallClock = std::function<std::chrono::steady_clock::time_point()>;
  // Draws on `out` ("\r" + line, cleared by finish()). `start` is the run's t = 0 and `total` its duration.
  // `wall` reads the real clock (injectable for tests).
  ProgressMeter(std::ostream& out, TimePoint start, Duration total,
                WallClock wall = std::chrono::steady_clock::now,
                std::chrono::milliseconds interval = std::chrono::milliseconds(250),
                uint32_t check_every = 1024);

  void on_attempt(const AttemptRecord& r) override;
  void on_published(const PublishRecord& r) override;
  bool wants_published() const override { return true; }
  // From now on the line counts attempts out of `total` (format_replay_progress) instead of events and
  // attempts: what `hooksim replay` shows.
  void count_sent_of(uint64_t total) { sent_of_ = total; }
  // Erases the line (the summary that follows starts on a clean line). Idempotent.
  void finish();

  uint64_t draws() const { return draws_; }

 private:
  void step(TimePoint t);
  void draw();

  std::ostream& out_;
  TimePoint start_;
  Duration total_;
  WallClock wall_;
  std::chrono::milliseconds interval_;
  uint32_t check_every_;
  uint32_t since_check_ = 0;
  std::chrono::steady_clock::time_point next_draw_;
  TimePoint reached_;
  uint64_t events_ = 0, attempts_ = 0, draws_ = 0;
  std::optional<uint64_t> sent_of_;  // count_sent_of()
  bool drawn_ = false;
};

}  // namespace hooksim::sim

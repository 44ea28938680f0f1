#include "sim/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

namespace hooksim::sim {

namespace {
// "[########............]  40%  2d 19:12 of 7d": the part both lines share.
std::string bar(Duration reached, Duration total, int width) {
  int64_t r = std::clamp<int64_t>(reached.count(), 0, std::max<int64_t>(total.count(), 0));
  int64_t t = std::max<int64_t>(total.count(), 1);
  int filled = static_cast<int>(r * width / t);
  int percent = static_cast<int>(r * 100 / t);
  return fmt::format("[{}{}] {:>3}%  {} of {}", std::string(filled, '#'), std::string(width - filled, '.'),
                     percent, format_elapsed_minutes(Duration(r)), format_duration(Duration(total.count())));
}
}  // namespace

std::string format_progress(Duration reached, Duration total, uint64_t events, uint64_t attempts, int width) {
  return fmt::format("{}  events {}  attempts {}", bar(reached, total, width), events, attempts);
}

std::string format_replay_progress(Duration reached, Duration total, uint64_t sent, uint64_t of, int width) {
  return fmt::format("{}  sent {} of {}", bar(reached, total, width), sent, of);
}

bool progress_wanted(int fd) {
  return ::isatty(fd) == 1;
}

ProgressMeter::ProgressMeter(std::ostream& out, TimePoint start, Duration total, WallClock wall,
                             std::chrono::milliseconds interval, uint32_t check_every)
    : out_(out),
      start_(start),
      total_(total),
      wall_(std::move(wall)),
      interval_(interval),
      check_every_(std::max<uint32_t>(check_every, 1)),
      next_draw_(wall_() + interval),
      reached_(start) {}

void ProgressMeter::on_attempt(const AttemptRecord& r) {
  ++attempts_;
  step(r.started + r.latency);
}

void ProgressMeter::on_published(const PublishRecord& r) {
  ++events_;
  step(r.at);
}

void ProgressMeter::step(TimePoint t) {
  reached_ = std::max(reached_, t);
  if (++since_check_ < check_every_) return;
  since_check_ = 0;
  auto now = wall_();
  if (now < next_draw_) return;
  next_draw_ = now + interval_;
  draw();
}

void ProgressMeter::draw() {
  out_ << '\r'
       << (sent_of_ ? format_replay_progress(reached_ - start_, total_, attempts_, *sent_of_)
                    : format_progress(reached_ - start_, total_, events_, attempts_))
       << "\x1b[K" << std::flush;
  drawn_ = true;
  ++draws_;
}

void ProgressMeter::finish() {
  if (!drawn_) return;
  out_ << "\r\x1b[K" << std::flush;
  drawn_ = false;
}

}  // namespace hooksim::sim

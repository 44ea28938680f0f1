#include "sim/timeline.h"

#include <fmt/format.h>

namespace hooksim::sim {

std::string TimelinePrinter::when(TimePoint t) const {
  return format_elapsed(t - start_);
}

void TimelinePrinter::line(TimePoint at, std::string_view sub, const std::string& text) {
  out_ << fmt::format("{}  {:<12} {}\n", when(at), sub, text);
}

void TimelinePrinter::flush() {
  for (auto& [sub, run] : runs_) {
    line(run.first_at, sub,
         run.count == 1 ? fmt::format("seq {:<6} delivered", run.first_seq)
                        : fmt::format("seq {}..{} delivered in order ({} events, last at {})", run.first_seq,
                                      run.last_seq, run.count, when(run.last_at)));
  }
  runs_.clear();
}

void TimelinePrinter::on_attempt(const AttemptRecord& r) {
  if (r.delivered() && !r.probe && r.attempt == 1) {
    auto it = runs_.find(r.sub);
    if (it != runs_.end() && it->second.last_seq + 1 == r.seq) {
      it->second.last_seq = r.seq;
      it->second.last_at = r.started;
      ++it->second.count;
      return;
    }
    flush();
    runs_[std::string(r.sub)] = Run{r.started, r.started, r.seq, r.seq, 1};
    return;
  }
  flush();
  std::string what = fmt::format("seq {:<6} attempt {:<3}", r.seq, r.attempt);
  if (r.delivered()) {
    what += fmt::format("delivered{}", r.probe ? " (live probe)" : "");
  } else {
    what += r.error == ErrorClass::kStatus ? fmt::format("FAILED {}", r.status)
                                           : fmt::format("FAILED {}", to_string(r.error));
    if (r.probe) what += " (live probe)";
    if (r.next_attempt) {
      what += fmt::format("  -> retry at {} (+{})", when(*r.next_attempt),
                          format_duration(*r.next_attempt - (r.started + r.latency)));
    } else if (r.error != ErrorClass::kAbandoned) {
      what += "  -> no retry before the deactivation deadline";
    }
  }
  line(r.started, r.sub, what);
}

void TimelinePrinter::on_lifecycle(const LifecycleRecord& r) {
  flush();
  line(r.at, r.sub,
       r.kind == LifecycleRecord::Kind::kDeactivated
           ? fmt::format("DEACTIVATED: {} queued events discarded", r.discarded)
           : "reactivated (empty queue)");
}

void TimelinePrinter::on_restart(TimePoint at) {
  note(at, "engine restart: store closed and reopened");
}

void TimelinePrinter::note(TimePoint at, const std::string& text) {
  flush();
  line(at, "*", text);
}

}  // namespace hooksim::sim

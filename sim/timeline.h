// A human-readable timeline of a run: one line per attempt or lifecycle change, with runs of consecutive
// in-order deliveries to a subscription folded into one line.
#pragma once

#include <map>
#include <ostream>
#include <string>

#include "engine/delivery_observer.h"

namespace hooksim::sim {

class TimelinePrinter final : public DeliveryObserver {
 public:
  TimelinePrinter(std::ostream& out, TimePoint start) : out_(out), start_(start) {}
  ~TimelinePrinter() override { flush(); }
  void on_attempt(const AttemptRecord& r) override;
  void on_lifecycle(const LifecycleRecord& r) override;
  void on_restart(TimePoint at);
  void note(TimePoint at, const std::string& text);
  // Prints the folded delivery runs still pending.
  void flush();

 private:
  struct Run {
    TimePoint first_at, last_at;
    uint64_t first_seq = 0, last_seq = 0, count = 0;
  };
  std::string when(TimePoint t) const;
  void line(TimePoint at, std::string_view sub, const std::string& text);

  std::ostream& out_;
  TimePoint start_;
  std::map<std::string, Run, std::less<>> runs_;
};

}  // namespace hooksim::sim

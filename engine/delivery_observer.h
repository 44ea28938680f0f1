// DeliveryObserver: what the engine reports as it works (the attempt log, the status views, the audit).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include "engine/subscription.h"
#include "engine/time.h"

namespace hooksim {

// One completed (or abandoned) attempt. Views are valid only during the callback.
struct AttemptRecord {
  std::string_view sub;
  std::string_view event_id;
  uint64_t seq = 0;
  uint32_t attempt = 0;  // attempt number for this event, from 1
  bool probe = false;    // a live-mode probe: the newest event sent ahead of an older head
  TimePoint started;
  TimePoint enqueued_at;  // when the event was published
  Duration latency{0};
  int status = 0;
  ErrorClass error = ErrorClass::kNone;   // kNone means delivered
  std::optional<TimePoint> next_attempt;  // after a failure: when the next retry is due (none: giving up)
  // After a failure: the event's last attempt (RetryPolicy::max_attempts); it left the queue, and
  // next_attempt, if any, is the next event's first attempt.
  bool exhausted = false;

  bool delivered() const { return error == ErrorClass::kNone; }
};

struct LifecycleRecord {
  enum class Kind { kDeactivated, kReactivated };
  Kind kind;
  std::string_view sub;
  TimePoint at;
  uint64_t discarded = 0;  // kDeactivated: events discarded from the backlog
};

// One published event and the queues it joined, reported once the publish batch is stored. Views are valid
// only during the callback.
struct PublishRecord {
  const Event* event = nullptr;
  std::string_view body;  // the delivery envelope (make_envelope), as queued; empty when no queue took it
  TimePoint at;           // when it was published (its enqueued_at)
  // (subscription id, sequence number) of every queue it was appended to, in subscription order.
  // Matching deactivated subscriptions drop the event and are not listed.
  std::span<const std::pair<std::string_view, uint64_t>> queued;
  // The subscriptions whose filter matched but which were deactivated, so dropped the event (counted in
  // their dropped_inactive), in subscription order.
  std::span<const std::string_view> dropped = {};
};

class DeliveryObserver {
 public:
  virtual ~DeliveryObserver() = default;
  virtual void on_attempt(const AttemptRecord&) {}
  virtual void on_lifecycle(const LifecycleRecord&) {}
  // After a successful publish, once per event of the call, in order (also for events no queue took); only
  // when wants_published() is true, so that an observer without use for it (the service) costs publish
  // nothing.
  virtual void on_published(const PublishRecord&) {}
  virtual bool wants_published() const { return false; }
  // A store failure the engine could not report to a caller (e.g. while acknowledging a delivery).
  virtual void on_error(std::string_view /*sub*/, const Status&) {}
};

}  // namespace hooksim

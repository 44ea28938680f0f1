// `hooksim replay`: re-sends the attempts of a recorded run (an attempt log written with --log-payloads) to
// a receiver, with the recorded ids, bodies, sequence and attempt numbers, in the recorded order and with
// the recorded gaps between attempts divided by a speed factor. See docs/replay.md.
//
// The Replayer only plans and paces; requests go out through a Transport (CurlTransport for real HTTP,
// which signs and builds the headers exactly as a delivery does), and time comes from a Scheduler, so a
// test can drive a replay on a VirtualScheduler and check every send time exactly.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/clock.h"
#include "engine/delivery_observer.h"
#include "engine/status.h"
#include "engine/transport.h"
#include "sim/log_reader.h"

namespace hooksim::sim {

// Which recorded attempts to replay.
struct ReplayFilter {
  // kFailed: every attempt recorded as failed (each one, with its attempt number; "abandoned" included).
  // kDelivered: every attempt recorded as delivered (one per delivered event and subscription).
  enum class Only { kAll, kFailed, kDelivered };
  Only only = Only::kAll;
  std::string sub;  // only this subscription's attempts; empty: all
};

// One attempt to send again.
struct ReplayItem {
  std::string sub;
  std::string event;
  uint64_t seq = 0;
  uint32_t attempt = 0;
  int64_t t_ms = 0;  // when the recorded attempt began (virtual ms since the run's start)
  ErrorClass recorded_error = ErrorClass::kNone;  // kNone: it was delivered
  int recorded_status = 0;
  std::shared_ptr<const std::string> body;  // the delivery body, as recorded
};

struct ReplayPlan {
  TimePoint start;                         // virtual time of t_ms 0 (from the log's header)
  std::vector<ReplayItem> items;           // by recorded start time; ties in log order
  std::vector<std::string> subscriptions;  // every subscription the log mentions, first appearance first
};

// Reads the log and selects the attempts to replay. InvalidArgument (naming the file, and the line where
// one is at fault) when the log is unreadable or malformed, when it has no payloads (it was not written
// with --log-payloads), when an attempt's event has no recorded body, or when `filter.sub` names a
// subscription the log does not mention. The bodies of events that can no longer be selected are dropped
// while reading, so memory holds what will be sent plus the bodies of events still queued.
Result<ReplayPlan> load_replay_plan(const std::string& log_path, const ReplayFilter& filter);

// Where and how to send.
struct ReplayTarget {
  std::string url;
  std::string secret;        // "whsec_...": Standard Webhooks signature; or
  std::string token;         // bearer token; neither: unsigned
  Duration timeout{10'000};  // per request
};

// What came of one replayed attempt.
struct ReplayOutcome {
  size_t item = 0;    // index into the plan's items
  TimePoint sent_at;  // on the replay's scheduler
  AttemptResult result;
  bool delivered() const { return result.error == ErrorClass::kNone && is_2xx(result.status); }
};

// Sends a plan's items one at a time, in order: item i goes at T0 + (t_i - t_0) / speed, where T0 is the
// scheduler's time at start() and t_0 the first item's recorded time, or as soon as the answer to item
// i-1 arrived if that is later (one request in flight at a time, so the receiver sees the recorded order).
// Each request carries the recorded event id, body, sequence number, attempt number and subscription; its
// virtual time is the recorded attempt's start (so a receiver script on the virtual clock answers as it did
// in the run); the timestamp and the signature are made fresh (headers: protocol/delivery.h).
class Replayer {
 public:
  // References must outlive the replayer. REQUIRES: speed > 0.
  Replayer(Scheduler& scheduler, Transport& transport, ReplayTarget target, double speed);

  // Starts sending `plan` (kept by reference; must outlive the replay); `done` runs after the last answer.
  void start(const ReplayPlan& plan, std::function<void()> done);

  const std::vector<ReplayOutcome>& outcomes() const { return outcomes_; }

  // `observer` (nullptr: none; must outlive the replay) hears each answer as it arrives, as an attempt that
  // started at the recorded attempt's virtual time: what a ProgressMeter needs to show how far the replay got
  // through the recorded run.
  void set_observer(DeliveryObserver* observer) { observer_ = observer; }

 private:
  void send_next();
  // The configuration the requests of `sub` carry: its id and the target (made on first use).
  const SubscriptionConfig& config(const std::string& sub);

  Scheduler& scheduler_;
  Transport& transport_;
  ReplayTarget target_;
  double speed_;
  const ReplayPlan* plan_ = nullptr;
  std::function<void()> done_;
  TimePoint t0_;
  size_t next_ = 0;
  std::map<std::string, SubscriptionConfig, std::less<>> configs_;
  std::vector<ReplayOutcome> outcomes_;
  DeliveryObserver* observer_ = nullptr;
};

}  // namespace hooksim::sim

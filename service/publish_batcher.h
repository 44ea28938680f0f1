// PublishBatcher: the group commit of POST /v1/events.
//
// Each request's events (already validated) are queued; one flush, posted to the io_context when the first
// request of a group arrives, publishes every queued request's events in one synced engine batch and then
// answers all of them. Requests that arrive while that batch is being written (the fsync) wait on the
// io_context and form the next group. So N concurrent publishers cost one fsync per group, not N.
//
// Single-threaded: submit(), the publish and every `done` run on the io_context's thread; no locks.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <vector>

#include "engine/engine.h"

namespace hooksim::service {

class PublishBatcher {
 public:
  // How one request came out. On success `duplicate[i]` says whether events[i] was skipped as a repeat
  // (of an event published earlier, or of one earlier in the same group) instead of published. On error
  // (the engine's Status) nothing of the group was stored and `duplicate` is empty.
  using Done = std::function<void(const Status& status, const std::vector<Event>& events,
                                  const std::vector<bool>& duplicate)>;

  // Engine::publish, or Shards::publish.
  using Publish = std::function<Status(std::span<const Event> events, PublishResult* result)>;

  // `io` must outlive the batcher (and the flushes it posts).
  PublishBatcher(boost::asio::io_context& io, Publish publish) : io_(io), publish_(std::move(publish)) {}

  // Queues `events` for the next group; `done` runs exactly once, after the group's batch is written or
  // refused. The requests of a group are answered in the order they were submitted.
  void submit(std::vector<Event> events, Done done);

 private:
  struct Request {
    std::vector<Event> events;
    Done done;
  };
  void flush();

  boost::asio::io_context& io_;
  Publish publish_;
  std::vector<Request> pending_;
  bool flush_posted_ = false;
};

}  // namespace hooksim::service

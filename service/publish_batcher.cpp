#include "service/publish_batcher.h"

#include <boost/asio/post.hpp>
#include <string>
#include <unordered_set>

namespace hooksim::service {

void PublishBatcher::submit(std::vector<Event> events, Done done) {
  pending_.push_back({std::move(events), std::move(done)});
  if (!flush_posted_) {
    flush_posted_ = true;
    boost::asio::post(io_, [this] { flush(); });
  }
}

void PublishBatcher::flush() {
  flush_posted_ = false;  // a request submitted from a `done` below starts the next group
  std::vector<Request> group = std::move(pending_);
  pending_.clear();
  // The engine refuses a batch holding one id twice: a repeat within the group is answered as a duplicate
  // here and published once.
  std::vector<Event> all;
  std::vector<std::pair<size_t, size_t>> owner;  // for each event of `all`: (request, index in request)
  std::unordered_set<std::string> ids;
  std::vector<std::vector<bool>> duplicate(group.size());
  for (size_t r = 0; r < group.size(); ++r) {
    duplicate[r].assign(group[r].events.size(), false);
    for (size_t i = 0; i < group[r].events.size(); ++i) {
      if (!ids.insert(group[r].events[i].id).second) {
        duplicate[r][i] = true;
        continue;
      }
      all.push_back(group[r].events[i]);
      owner.emplace_back(r, i);
    }
  }
  PublishResult result;
  Status st = publish_(all, &result);
  if (!st.ok()) {
    for (auto& request : group) request.done(st, request.events, {});
    return;
  }
  for (size_t d : result.duplicates) duplicate[owner[d].first][owner[d].second] = true;
  for (size_t r = 0; r < group.size(); ++r) group[r].done(st, group[r].events, duplicate[r]);
}

}  // namespace hooksim::service

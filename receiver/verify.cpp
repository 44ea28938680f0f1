#include "receiver/verify.h"

#include <algorithm>

#include "protocol/delivery.h"

namespace hooksim::receiver {

Result<std::unique_ptr<Verifier>> Verifier::make(Checks checks) {
  std::unique_ptr<protocol::Signer> signer;
  if (!checks.secret.empty()) {
    auto s = protocol::make_signer(checks.secret, checks.scheme);
    if (!s.ok()) return Status::InvalidArgument("secret: " + s.status().message());
    signer = std::move(*s);
  }
  return std::unique_ptr<Verifier>(new Verifier(std::move(checks), std::move(signer)));
}

Verifier::Verifier(Checks checks, std::unique_ptr<protocol::Signer> signer)
    : checks_(std::move(checks)), signer_(std::move(signer)) {}

protocol::AuthCheck Verifier::authenticate(const protocol::HeaderLookup& headers, std::string_view body,
                                           int64_t now) const {
  protocol::AuthRequirements required{.signer = signer_.get(),
                                      .timestamp_tolerance = checks_.ignore_timestamps
                                                                 ? std::nullopt
                                                                 : std::optional(checks_.timestamp_tolerance),
                                      .bearer_token = checks_.token};
  return protocol::check_delivery_auth(required, headers, body, now);
}

bool Verifier::rejects(protocol::AuthCheck a) const {
  using protocol::AuthCheck;
  return a == AuthCheck::kStale ||
         ((a == AuthCheck::kBad || a == AuthCheck::kMissing) && !checks_.accept_bad_signatures);
}

std::string_view Verifier::rejection_reason(protocol::AuthCheck a) {
  return a == protocol::AuthCheck::kStale ? "webhook-timestamp outside the tolerance\n"
                                          : "signature or token check failed\n";
}

bool Verifier::misbehaves() const {
  return checks_.fail_duplicates || checks_.reject_out_of_order || checks_.rate_limit_per_minute > 0;
}

int Verifier::misbehaviour(const RequestRecord& r, std::chrono::steady_clock::time_point now) {
  if (!misbehaves()) return 0;
  Subscription& s = subs_[r.sub];
  if (checks_.rate_limit_per_minute > 0) {
    const auto capacity = static_cast<double>(checks_.rate_limit_per_minute);
    if (s.tokens < 0) {
      s.tokens = capacity;
    } else {
      double minutes = std::chrono::duration<double, std::ratio<60>>(now - s.refilled).count();
      s.tokens = std::min(capacity, s.tokens + minutes * capacity);
    }
    s.refilled = now;
    if (s.tokens < 1) return 429;
    s.tokens -= 1;
  }
  bool duplicate = r.event && s.accepted_ids.contains(*r.event);
  if (checks_.fail_duplicates && duplicate) return 500;
  if (checks_.reject_out_of_order && !duplicate && r.seq && s.last_seq && *r.seq < *s.last_seq + 1)
    return 409;
  return 0;
}

RequestRecord::Order Verifier::accept(const RequestRecord& r) {
  using Order = RequestRecord::Order;
  Subscription& s = subs_[r.sub];
  if (r.event && s.accepted_ids.contains(*r.event)) return Order::kDuplicate;
  if (r.event) {
    s.accepted_ids.insert(*r.event);
    s.id_fifo.push_back(*r.event);
    while (s.id_fifo.size() > checks_.dedup_window) {
      s.accepted_ids.erase(s.id_fifo.front());
      s.id_fifo.pop_front();
    }
  }
  if (!r.seq) return Order::kNotApplicable;
  Order order = Order::kOk;
  if (s.last_seq && *r.seq != *s.last_seq + 1)
    order = *r.seq > *s.last_seq + 1 ? Order::kGap : Order::kOutOfOrder;
  s.last_seq = *r.seq;
  return order;
}

}  // namespace hooksim::receiver

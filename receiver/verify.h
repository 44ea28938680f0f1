// What the mock receiver checks about the requests it gets (docs/receiver.md, "Checks") and the rules it
// breaks on purpose (docs/receiver.md, "Misbehaving on purpose"). Pure: no sockets, no clock of its own
// (every time comes in as an argument), so every rule is testable in-process.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "engine/status.h"
#include "engine/time.h"
#include "protocol/signing.h"
#include "receiver/record.h"

namespace hooksim::receiver {

// The checks and misbehaviours of a receiver.
struct Checks {
  // A signing secret, of the form `scheme` takes ("whsec_..." for Standard Webhooks). When set, every
  // request's signature is verified as the scheme says (protocol/signing.h: against the body, and the event
  // id and timestamp where the scheme signs them); a missing or wrong one is answered 401.
  std::string secret;
  // The signing scheme of `secret`: one of protocol::signature_schemes().
  std::string scheme = std::string(protocol::kDefaultSignatureScheme);
  // When set, every request must carry "authorization: Bearer <token>"; otherwise it is answered 401.
  std::string token;
  // With a secret, a signed timestamp (webhook-timestamp for Standard Webhooks) further than this from the
  // wall clock (either way) is answered 401 and recorded as "stale" (replay protection), even when the
  // signature matches. Schemes that sign no timestamp (github, shopify) are never stale.
  Duration timestamp_tolerance = std::chrono::minutes(5);

  // Misbehaviours, to test a sender or `hooksim check` against a receiver that gets things wrong. Each
  // applies only to a request the script answers with a 2xx and whose signature or token check passed.
  //
  // Answer as the script says even when the signature or token check fails (still recorded and counted).
  bool accept_bad_signatures = false;
  // Do not check webhook-timestamp against timestamp_tolerance (stale and future requests are accepted).
  bool ignore_timestamps = false;
  // Answer 500 to a webhook-id already answered 2xx for the subscription (instead of 2xx again).
  bool fail_duplicates = false;
  // Answer 409 to a sequence number lower than the last accepted one + 1 that is not a duplicate (an older
  // event after a newer one, as after a live probe).
  bool reject_out_of_order = false;
  // When > 0: at most this many requests per subscription per minute (a token bucket holding up to this
  // many, refilled evenly over a minute); requests beyond it are answered 429.
  uint64_t rate_limit_per_minute = 0;
  // Accepted event ids remembered per subscription for duplicate detection (oldest forgotten first);
  // bounds memory under a long benchmark. Sequence checks are unaffected.
  size_t dedup_window = 100000;
};

// The checks of one receiver. authenticate() and the other const methods are thread-safe; misbehaviour()
// and accept() change the per-subscription state: the caller serialises them.
class Verifier {
 public:
  // InvalidArgument "secret: ..." when checks.secret is set but not a secret make_signer() accepts for
  // checks.scheme (or the scheme is unknown).
  static Result<std::unique_ptr<Verifier>> make(Checks checks);

  // The request's authentication at `now` (wall clock, Unix seconds): the signature and/or the token as
  // configured (protocol::check_delivery_auth), kUnchecked when neither is.
  protocol::AuthCheck authenticate(const protocol::HeaderLookup& headers, std::string_view body,
                                   int64_t now) const;
  // Whether a request so authenticated is answered 401 instead of as scripted: a stale one always, a bad
  // or missing one unless accept_bad_signatures.
  bool rejects(protocol::AuthCheck a) const;
  // The one-line text/plain body of that 401.
  static std::string_view rejection_reason(protocol::AuthCheck a);

  // Whether misbehaviour() can ever return a status (fail_duplicates, reject_out_of_order or a rate limit
  // is on). When false it need not be called.
  bool misbehaves() const;
  // The status a misbehaviour answers, instead of the scripted 2xx, to `r` (its sub, event and seq) arriving
  // at `now`, or 0 to answer as scripted: 429 beyond the rate limit (which takes one token otherwise), 500
  // for a duplicate under fail_duplicates, 409 for an older sequence under reject_out_of_order.
  int misbehaviour(const RequestRecord& r, std::chrono::steady_clock::time_point now);
  // Judges `r`, answered 2xx, against the requests of its subscription accepted before it, and remembers
  // it as accepted: kDuplicate (an accepted event id; not remembered again), kGap, kOutOfOrder, kOk, or
  // kNotApplicable without a sequence number. A gap or out-of-order request becomes the last accepted one.
  RequestRecord::Order accept(const RequestRecord& r);

 private:
  // The requests of one subscription accepted so far.
  struct Subscription {
    std::optional<uint64_t> last_seq;
    std::unordered_set<std::string> accepted_ids;
    std::deque<std::string> id_fifo;  // accepted_ids in insertion order, to forget the oldest
    // The rate limit's token bucket.
    double tokens = -1;  // < 0: not started (a full bucket)
    std::chrono::steady_clock::time_point refilled;
  };

  Verifier(Checks checks, std::unique_ptr<protocol::Signer> signer);

  const Checks checks_;
  const std::unique_ptr<protocol::Signer> signer_;  // of checks_.secret, if any
  std::unordered_map<std::string, Subscription> subs_;
};

}  // namespace hooksim::receiver

#include "check/gate.h"

#include <fmt/format.h>

namespace hooksim::check {

std::string diagnose(const ProbeRecord& miss, ErrorClass error, std::string_view auth, Duration timeout) {
  if (error == ErrorClass::kTimeout)
    return fmt::format(
        "a valid delivery got no answer within the {} timeout: the receiver is too slow (acknowledge at "
        "once, or give --timeout the sender's timeout)",
        format_duration(timeout));
  if (error == ErrorClass::kTls)
    return fmt::format(
        "the TLS handshake failed ({}): the certificate is not trusted or not valid for the host (give "
        "--ca-file with the CA that issued it, or fix the certificate)",
        miss.error);
  if (error == ErrorClass::kNone && (miss.status == 401 || miss.status == 403)) {
    if (auth == "secret")
      return fmt::format(
          "correctly signed deliveries were rejected with {}: secret mismatch? (--secret must be the whsec_ "
          "secret the receiver verifies with)",
          miss.status);
    if (auth == "token")
      return fmt::format(
          "deliveries with the bearer token were rejected with {}: token mismatch? (--token must be the "
          "token the receiver expects)",
          miss.status);
    return fmt::format(
        "deliveries without credentials were rejected with {}: the receiver expects a credential (give "
        "--secret or --token)",
        miss.status);
  }
  if (error == ErrorClass::kNone && (miss.status == 404 || miss.status == 405))
    return fmt::format(
        "valid deliveries were answered {}: wrong path? (the URL must be the receiver's webhook route)",
        miss.status);
  return fmt::format("no valid delivery was accepted ({}: {})", miss.what, miss.answer());
}

void Gate::start_check() {
  sent_ = accepted_ = 0;
  first_miss_.reset();
  timeout_.reset();
}

void Gate::saw_valid(const ProbeRecord& probe, ErrorClass error) {
  ++sent_;
  if (probe.met) {
    ++accepted_;
    return;
  }
  if (!first_miss_) first_miss_ = Miss{probe, error};
  if (error == ErrorClass::kTimeout && !timeout_) timeout_ = Miss{probe, error};
}

bool Gate::end_check(std::string_view check, std::string_view auth, Duration timeout) {
  if (state_ == State::kTimedOut) return false;
  const std::optional<Miss>* closing = nullptr;
  if (timeout_) {
    state_ = State::kTimedOut;
    closing = &timeout_;
  } else if (state_ == State::kUnknown && sent_ > 0) {
    if (accepted_ > 0) {
      state_ = State::kOpen;
      return false;
    }
    state_ = State::kRejected;
    closing = &first_miss_;
  } else {
    return false;
  }
  cause_ = diagnose((*closing)->probe, (*closing)->error, auth, timeout);
  found_by_ = std::string(check);
  return true;
}

}  // namespace hooksim::check

// Suite 4: Standard Webhooks signing of one request (HMAC-SHA256 over "id.timestamp.body", base64).
//
//   signing/sign_300B     protocol::sign for a ~300-byte envelope, the key already decoded
//   signing/verify_300B   protocol::verify of the same signature (what `hooksim receiver` does per request)
#include <benchmark/benchmark.h>

#include "bench/bench_util.h"
#include "protocol/standard_webhooks.h"

namespace hooksim::bench {
namespace {

// The Standard Webhooks test-vector secret (docs: wire format).
constexpr std::string_view kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr int64_t kTimestamp = 1767225600;

std::string body_300() {
  std::string b = protocol::make_envelope(tracking_event(1, kStart));
  b.resize(300, ' ');  // exactly 300 bytes (trailing JSON whitespace)
  return b;
}

void BM_Sign(benchmark::State& state) {
  const std::string key = *protocol::signing_key(kSecret);
  const std::string body = body_300();
  for (auto _ : state) {
    std::string sig = protocol::sign(key, "evt_0000000000000001", kTimestamp, body);
    benchmark::DoNotOptimize(sig);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_Sign)->Name("signing/sign_300B");

void BM_Verify(benchmark::State& state) {
  const std::string key = *protocol::signing_key(kSecret);
  const std::string body = body_300();
  const std::string header = protocol::sign(key, "evt_0000000000000001", kTimestamp, body);
  for (auto _ : state) {
    bool ok = protocol::verify(key, "evt_0000000000000001", kTimestamp, body, header);
    if (!ok) {
      state.SkipWithError("signature did not verify");
      break;
    }
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Verify)->Name("signing/verify_300B");

}  // namespace
}  // namespace hooksim::bench

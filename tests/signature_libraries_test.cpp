// hooksim's signatures verified by each sender's official library: npm svix (Webhook.verify), stripe
// (stripe.webhooks.constructEvent), @octokit/webhooks-methods (verify), standardwebhooks (the Standard
// Webhooks reference library); Shopify's and Hook0's by the formula their documentation gives. The deliveries
// are built by the one header builder the sender uses (protocol::build_delivery_headers), signed now; a
// tampered copy of each must be refused, so the libraries' verdicts are seen to depend on the signature.
// tests/signatures/verify.mjs runs the libraries under Node; scripts/test.sh installs Node (apt) and the
// libraries (npm ci in tests/signatures).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/event.h"
#include "protocol/delivery.h"
#include "protocol/envelope.h"
#include "protocol/signing.h"
#include "tests/cli_test_util.h"

namespace hooksim::protocol {
namespace {

using nlohmann::json;

const std::string kLibraries = std::string(HOOKSIM_SOURCE_DIR) + "/tests/signatures";
constexpr char kMissing[] =
    "Node and the senders' libraries are required for this test: scripts/test.sh installs them (apt-get "
    "install "
    "nodejs npm; npm ci --prefix tests/signatures)";

// Runs verify.mjs on `cases`: its verdicts, or a failure.
json verify_with_libraries(const json& cases) {
  testutil::TempDir dir;
  testutil::write_file(dir.file("cases.json"), cases.dump());
  std::string cmd = "node " + testutil::shell_quote(kLibraries + "/verify.mjs") + " " +
                    testutil::shell_quote(dir.file("cases.json")) + " </dev/null 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return json();
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int rc = ::pclose(p);
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << out;
  json verdicts = json::parse(out, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(verdicts.is_array()) << out;
  return verdicts;
}

// A delivery of `body` as the sender builds it, signed by `signer` now.
json delivery(std::string_view scheme, const std::string& secret, const Signer& signer,
              const std::string& body) {
  int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  json headers = json::object();
  build_delivery_headers(
      {.event_id = "evt_lib_1", .timestamp = now, .seq = 1, .attempt = 1, .subscription = "acme"},
      {.signer = &signer}, body,
      [&](std::string_view n, std::string_view v) { headers[std::string(n)] = v; });
  return {{"scheme", scheme}, {"secret", secret}, {"headers", headers}, {"body", body}};
}

TEST(SignatureLibraries, EachSendersLibraryVerifiesHooksimsSignatureAndRefusesATamperedOne) {
  // Skipped, visibly, where the npm registry could not be reached (scripts/test.sh warns then).
  if (!std::filesystem::exists(kLibraries + "/node_modules/svix") ||
      std::system("node --version >/dev/null 2>&1") != 0)
    GTEST_SKIP() << kMissing;
  Event e{.id = "evt_lib_1",
          .type = "tracking",
          .account = "acme",
          .vehicle = "truck-07",
          .data = R"({"speed":42})"};
  const std::string body = make_envelope(e);
  // Each scheme with a secret of its own form; Stripe's is not base64 after whsec_, as Stripe's are not.
  const std::vector<std::pair<std::string, std::string>> schemes = {
      {"standard-webhooks", random_secret("standard-webhooks")},
      {"svix", random_secret("svix")},
      {"stripe", "whsec_" + random_hex(32) + "_Zz"},
      {"github", "It's a Secret to Everybody"},
      {"shopify", random_secret("shopify")},
      {"hook0", "3f1c8a2e-5b7d-4e9f-a1c3-" + random_hex(12)},
  };
  json cases = json::array();
  for (const auto& [scheme, secret] : schemes) {
    auto signer = make_signer(secret, scheme);
    ASSERT_TRUE(signer.ok()) << scheme << ": " << signer.status().message();
    json valid = delivery(scheme, secret, **signer, body);
    json tampered = valid;
    tampered["body"] = body.substr(0, body.size() - 1) + R"(,"extra":1})";
    cases.push_back(valid);
    cases.push_back(tampered);
  }
  json verdicts = verify_with_libraries(cases);
  ASSERT_EQ(verdicts.size(), cases.size()) << verdicts.dump();
  for (size_t i = 0; i < cases.size(); i += 2) {
    std::string scheme = cases[i]["scheme"];
    EXPECT_EQ(verdicts[i]["ok"], true)
        << scheme << " refused hooksim's signature: " << verdicts[i].dump() << "\n"
        << cases[i].dump();
    EXPECT_EQ(verdicts[i + 1]["ok"], false) << scheme << " accepted a tampered body";
  }
  EXPECT_EQ(signature_schemes().size() * 2, cases.size());  // every scheme is covered
}

}  // namespace
}  // namespace hooksim::protocol

// Policy presets: names a policy can be given by ("policy": "svix"), each standing for a policy object
// exactly as a user could write it. The values and where each comes from (the sender's own documentation
// or code, and what hooksim fills in where the sender publishes nothing) are in docs/policies.md, "Presets".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hooksim::protocol {

// The preset names, "frotcom" (the default, the documented platform schedule) first, then the senders:
// svix, stripe, github, shopify, hook0, outpost, convoy.
const std::vector<std::string>& policy_presets();

// The policy object preset `name` stands for, as JSON text that parse_policy() reads through its object
// path (protocol/policy_json.h); fields it leaves out take frotcom's values, so "frotcom" is "{}".
// nullopt when `name` is not one of policy_presets(). The view refers to static storage.
std::optional<std::string_view> preset_policy(std::string_view name);

}  // namespace hooksim::protocol

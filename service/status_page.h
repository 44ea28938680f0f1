// The self-contained status page served at GET / (HTML, CSS and JavaScript in one string).
#pragma once

#include <string_view>

namespace hooksim::service {
extern const std::string_view kStatusPage;
}  // namespace hooksim::service

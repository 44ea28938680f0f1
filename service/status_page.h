// The status page served at GET /: one self-contained document (HTML with its CSS and JavaScript inline),
// built from service/page/ into a generated .cpp at build time (service/page/embed.cmake).
#pragma once

#include <string_view>

namespace hooksim::service {
extern const std::string_view kStatusPage;
}  // namespace hooksim::service

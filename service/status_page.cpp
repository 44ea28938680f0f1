#include "service/status_page.h"

namespace hooksim::service {
// Replaced by the real page.
const std::string_view kStatusPage = R"html(<!doctype html><title>hooksim</title><p>hooksim</p>)html";
}  // namespace hooksim::service

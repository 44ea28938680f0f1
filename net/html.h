// Escaping text for HTML pages that hooksim writes (the check report, the run report).
#pragma once

#include <string>
#include <string_view>

namespace hooksim::net {

// `s` with & < > " ' replaced by entities: safe as element text and inside quoted attribute values.
std::string escape_html(std::string_view s);

}  // namespace hooksim::net

#include "protocol/envelope.h"

#include "engine/time.h"

namespace hooksim::protocol {

namespace {
// Appends `s` as a JSON string, escaped as nlohmann::json::dump() does it (", \, and control characters;
// other bytes as they are). `s` is valid UTF-8: ids, types, accounts and vehicles come from parsed JSON.
// Building a json value and dumping it per field costs more than this escaper (bench/README.md, the
// simulation-speed section, measures the publish path that calls it).
void append_quoted(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t run = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    static constexpr std::string_view kEscaped = "\"\\\b\f\n\r\t", kLetter = "\"\\bfnrt";
    if (size_t k = kEscaped.find(static_cast<char>(c)); k != std::string_view::npos) {
      out += '\\';
      out += kLetter[k];
    } else {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}
}  // namespace

std::string make_envelope(const Event& event) {
  std::string out;
  out.reserve(96 + event.id.size() + event.type.size() + event.account.size() + event.vehicle.size() +
              event.data.size());
  for (auto [key, value] : {std::pair{"{\"id\":", &event.id},
                            {",\"type\":", &event.type},
                            {",\"account\":", &event.account},
                            {",\"vehicle\":", &event.vehicle}}) {
    out += key;
    append_quoted(out, *value);
  }
  out += ",\"occurred_at\":\"";
  append_utc(out, event.occurred_at);
  out += "\",\"data\":";
  out += event.data;
  out += '}';
  return out;
}

}  // namespace hooksim::protocol

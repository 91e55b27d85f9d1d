// A UUID's text form, checked without the services' code.
#include "support/uuid_text.hpp"

#include <cstddef>

namespace flashtix::test {

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash_here = i == 8 || i == 13 || i == 18 || i == 23;
    const char c = text[i];
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (dash_here ? c != '-' : !hex) return false;
  }
  return true;
}

}  // namespace flashtix::test

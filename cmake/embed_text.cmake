# Compiles a text file (a page, a document) into the binary as `std::string_view <function>()` in
# namespace `<ns>`, so a service serves it without looking for files at run time.
function(flashtix_embed_text target ns function file)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
  file(READ ${file} text)
  get_filename_component(name ${file} NAME)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${function}_embedded.cpp)
  # Written beside, then copied only when changed, so an unchanged file does not rebuild.
  file(WRITE ${out}.new
"// Generated from ${name} by cmake/embed_text.cmake; edit that file instead.
#include <string_view>

namespace ${ns} {
std::string_view ${function}() {
  static constexpr std::string_view text = R\"flashtix_text(${text})flashtix_text\";
  return text;
}
}  // namespace ${ns}
")
  configure_file(${out}.new ${out} COPYONLY)
  target_sources(${target} PRIVATE ${out})
endfunction()

# Compiles a service's db/<schema>/*.sql migrations into the binary, in file-name order,
# so a service carries its own schema and never looks for files at run time.
function(flashtix_embed_migrations target schema)
  file(GLOB files CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/db/${schema}/*.sql)
  list(SORT files)
  set(entries "")
  foreach(file IN LISTS files)
    get_filename_component(name ${file} NAME)
    string(REGEX MATCH "^[0-9]+" version ${name})
    if(version STREQUAL "")
      message(FATAL_ERROR "migration ${name} must start with its version number")
    endif()
    # "008" would be an (invalid) octal literal in C++.
    string(REGEX REPLACE "^0+([0-9])" "\\1" version ${version})
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
    file(READ ${file} sql)
    string(APPEND entries "    {${version}, \"${name}\", R\"flashtix_sql(${sql})flashtix_sql\"},\n")
  endforeach()
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${schema}_migrations.cpp)
  # Written beside, then copied only when changed, so an unchanged schema does not rebuild.
  file(WRITE ${out}.new
"// Generated from db/${schema}/ by cmake/embed_migrations.cmake; edit the .sql files instead.
#include \"core/migrations.hpp\"

namespace flashtix::${schema} {
const std::vector<core::Migration>& migrations() {
  static const std::vector<core::Migration> list{
${entries}  };
  return list;
}
}  // namespace flashtix::${schema}
")
  configure_file(${out}.new ${out} COPYONLY)
  target_sources(${target} PRIVATE ${out})
endfunction()

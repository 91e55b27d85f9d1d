# A service under src/<service>/, built the way all four are: its code as a library flashtix_<service>
# on the core (with its migrations and its OpenAPI document compiled in), the binary flashtix-<service>
# from main.cpp, and with FLASHTIX_TESTS its unit tests as <service>_unit_test. Written once, so that a
# service cannot miss a step the others take (a test not registered, a document not embedded).
#   flashtix_add_service(<service> SOURCES <files> [LINK <libraries>] UNIT_TESTS <files>)
function(flashtix_add_service service)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;LINK;UNIT_TESTS")
  set(library flashtix_${service})
  add_library(${library} STATIC ${arg_SOURCES})
  target_link_libraries(${library} PUBLIC flashtix_core ${arg_LINK})
  flashtix_embed_migrations(${library} ${service})
  flashtix_embed_openapi(${library} ${service})

  add_executable(flashtix-${service} main.cpp)
  target_link_libraries(flashtix-${service} PRIVATE ${library})

  if(FLASHTIX_TESTS)
    add_executable(${service}_unit_test ${arg_UNIT_TESTS})
    target_link_libraries(${service}_unit_test PRIVATE ${library} GTest::gtest_main)
    add_test(NAME ${service}_unit_test COMMAND ${service}_unit_test)
  endif()
endfunction()

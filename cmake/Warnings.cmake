# Project-wide warnings; applied to our own targets through sjs_warnings.
add_library(sjs_warnings INTERFACE)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  set(sjs_shadow -Wshadow=local)
else()  # clang (the fuzz build): its nearest
  set(sjs_shadow -Wshadow-uncaptured-local)
endif()
target_compile_options(sjs_warnings INTERFACE -Wall -Wextra -Wpedantic ${sjs_shadow}
  -Wnon-virtual-dtor -Wcast-align -Wunused -Woverloaded-virtual -Wformat=2)

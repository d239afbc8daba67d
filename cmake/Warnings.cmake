# Project-wide warnings; applied to our own targets through sjs_warnings.
add_library(sjs_warnings INTERFACE)
target_compile_options(sjs_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow=local
  -Wnon-virtual-dtor -Wcast-align -Wunused -Woverloaded-virtual -Wformat=2)

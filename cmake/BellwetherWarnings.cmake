# Warnings live in one place. Every Bellwether target calls
# bellwether_target_defaults(<target>).
function(bellwether_target_defaults target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  set_target_properties(${target} PROPERTIES CXX_EXTENSIONS OFF)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion
    -Wnull-dereference -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
  # GCC 12 at -O2 reports std::string concatenations as overlapping memcpy
  # (GCC bug 105651, fixed in 13): a false positive in libstdc++ itself.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
  if(BELLWETHER_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(BELLWETHER_SANITIZE)
    target_compile_options(${target} PUBLIC -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_link_options(${target} PUBLIC -fsanitize=address,undefined)
  endif()
endfunction()

# Tests get the same warnings but are allowed gtest's idioms.
function(bellwether_test_defaults target)
  bellwether_target_defaults(${target})
  target_compile_options(${target} PRIVATE -Wno-conversion -Wno-sign-conversion -Wno-old-style-cast -Wno-null-dereference)
endfunction()

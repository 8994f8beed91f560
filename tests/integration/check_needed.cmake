# Fails if the ELF binary FILE lists a shared library matching the regular
# expression FORBIDDEN among its NEEDED entries (the host dlopen()s those on
# first use; linking one back would slow every host start-up).
# Usage: cmake -DFILE=... -DFORBIDDEN=... -P check_needed.cmake
execute_process(COMMAND readelf -d "${FILE}" OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "readelf -d ${FILE} failed: ${err}")
endif()
if(NOT out MATCHES "\\(NEEDED\\)[^\n]*libcrypto")
  message(FATAL_ERROR "no NEEDED entry for libcrypto in ${FILE}: cannot read its dependencies")
endif()
string(REGEX MATCHALL "\\(NEEDED\\)[^\n]*" needed "${out}")
foreach(line IN LISTS needed)
  if(line MATCHES "${FORBIDDEN}")
    message(FATAL_ERROR "${FILE} links a library it should load on first use: ${line}")
  endif()
endforeach()
message(STATUS "NEEDED entries of ${FILE}: none matches ${FORBIDDEN}")

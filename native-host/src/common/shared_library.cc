#include "common/shared_library.h"

#include <dlfcn.h>

namespace bellwether {

SharedLibrary::SharedLibrary(const char* soname) : handle_(::dlopen(soname, RTLD_NOW | RTLD_LOCAL)) {
  if (handle_ == nullptr) {
    const char* why = ::dlerror();
    error_ = why != nullptr ? why : std::string("cannot load ") + soname;
  }
}

void* SharedLibrary::Find(const char* symbol) const {
  return handle_ != nullptr ? ::dlsym(handle_, symbol) : nullptr;
}

}  // namespace bellwether

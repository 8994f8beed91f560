// A shared library loaded on first use (dlopen) instead of linked.
//
// Every sendNativeMessage starts a host, and most never need libcurl,
// libsecret or SQLite; linking them would make each start pay for loading
// and relocating them (docs/performance.md, "Host start-up"). Their users
// open them through this class and resolve each function into a typed
// pointer, declared with the library's own header so the ABI is the one
// the code was compiled against. A library, once loaded, stays loaded for
// the life of the process (its function pointers are kept in statics).
#ifndef BELLWETHER_COMMON_SHARED_LIBRARY_H_
#define BELLWETHER_COMMON_SHARED_LIBRARY_H_

#include <string>

namespace bellwether {

class SharedLibrary {
 public:
  // dlopen(soname, RTLD_NOW | RTLD_LOCAL); never closed.
  explicit SharedLibrary(const char* soname);

  bool loaded() const { return handle_ != nullptr; }
  // Why loading failed (dlerror), empty when it did not.
  const std::string& error() const { return error_; }

  // Points `out` at `symbol`; false (and `out` null) when the library lacks it.
  template <typename Fn>
  bool Resolve(const char* symbol, Fn& out) const {
    void* address = Find(symbol);
    // POSIX guarantees the conversion of dlsym's result to a function pointer.
    out = reinterpret_cast<Fn>(address);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
    return address != nullptr;
  }

 private:
  void* Find(const char* symbol) const;

  void* handle_ = nullptr;
  std::string error_;
};

}  // namespace bellwether

#endif  // BELLWETHER_COMMON_SHARED_LIBRARY_H_

// FunctionRef: a non-owning reference to a callable (C++26's
// std::function_ref, reduced to what Bellwether needs).
//
// For callbacks that are called before the call that takes them returns,
// such as a transaction body: unlike std::function it never copies the
// callable or allocates, which matters on paths run for every vault read.
// The referenced callable must outlive the FunctionRef, so take one only as
// a parameter, never store it.
#ifndef BELLWETHER_COMMON_FUNCTION_REF_H_
#define BELLWETHER_COMMON_FUNCTION_REF_H_

#include <memory>
#include <type_traits>
#include <utility>

namespace bellwether {

template <typename Signature>
class FunctionRef;

template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
 public:
  template <typename F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> && std::is_invocable_r_v<R, F&, Args...>)
  FunctionRef(F&& f) noexcept  // NOLINT(google-explicit-constructor): used like a function parameter.
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* object, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(object))(std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

}  // namespace bellwether

#endif  // BELLWETHER_COMMON_FUNCTION_REF_H_

// The host's own methods: host.hello and host.ping.
#ifndef BELLWETHER_APP_HOST_METHODS_H_
#define BELLWETHER_APP_HOST_METHODS_H_

#include "messaging/dispatcher.h"

namespace bellwether::app {

// Largest "echo" string host.ping returns (lets tests and the extension
// probe the reply-size limit without any other method).
inline constexpr std::size_t kMaxPingEchoBytes = 1024 * 1024;

// Registers host.hello and host.ping. host.hello lists the methods the
// dispatcher holds when it is called, so register it any time.
void RegisterHostMethods(messaging::Dispatcher& dispatcher);

}  // namespace bellwether::app

#endif  // BELLWETHER_APP_HOST_METHODS_H_

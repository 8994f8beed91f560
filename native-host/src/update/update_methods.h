// JSON-RPC methods of the update service (docs/updates.md has examples):
//
//   update.status     -> status object
//   update.check      -> runs a check now, returns the new status
//                        (error update_in_progress if another check runs)
//   update.setPolicy  {automatic?: bool, intervalHours?: 1..168} -> status
//   content.get       -> {"source":"update"|"none","version":n|null,"pack":{...}|null}
//
// Notifications sent while a port is open:
//   update.progress   {target, bytesDone, bytesTotal}
//   update.completed  {contentVersion}
//
// The first update.status or update.check starts the background schedule
// (ctx.notify is valid for the whole process life).
#ifndef BELLWETHER_UPDATE_UPDATE_METHODS_H_
#define BELLWETHER_UPDATE_UPDATE_METHODS_H_

#include "messaging/dispatcher.h"
#include "update/update_service.h"

namespace bellwether::update {

// Registers the methods above on `dispatcher`. The service they share is
// owned by the registered handlers and stops its thread when the dispatcher
// is destroyed.
void RegisterUpdateMethods(messaging::Dispatcher& dispatcher, UpdateServiceOptions options);

}  // namespace bellwether::update

#endif  // BELLWETHER_UPDATE_UPDATE_METHODS_H_

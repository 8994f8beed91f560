// bellwether-host's command line: the browser-launched host mode and the
// commands a person runs (install, uninstall, update, --version, --help).
#ifndef BELLWETHER_APP_CLI_H_
#define BELLWETHER_APP_CLI_H_

#include <string>
#include <vector>

namespace bellwether::app {

// Runs the program for `args` (argv without argv[0]); returns the exit code.
int RunMain(const std::vector<std::string>& args);

}  // namespace bellwether::app

#endif  // BELLWETHER_APP_CLI_H_

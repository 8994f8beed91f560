// bellwether-host: see app/cli.h.
#include <string>
#include <vector>

#include "app/cli.h"
#include "common/heap.h"

int main(int argc, char** argv) {
  bellwether::KeepFreedHeapForReuse();
  std::vector<std::string> args(argv + 1, argv + argc);
  return bellwether::app::RunMain(args);
}

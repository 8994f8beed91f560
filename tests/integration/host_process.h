// Runs the real bellwether-host binary as a child with pipes on stdin,
// stdout and stderr, the way a browser does.
#ifndef BELLWETHER_TESTS_INTEGRATION_HOST_PROCESS_H_
#define BELLWETHER_TESTS_INTEGRATION_HOST_PROCESS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bellwether::testing {

class HostProcess {
 public:
  // Starts `binary args...` with exactly `env` as its environment.
  HostProcess(const std::string& binary, const std::vector<std::string>& args,
              const std::map<std::string, std::string>& env);
  ~HostProcess();
  HostProcess(const HostProcess&) = delete;
  HostProcess& operator=(const HostProcess&) = delete;

  void Send(const std::string& raw_bytes);
  void SendFrame(const std::string& payload);
  // Next frame's payload from stdout, or nullopt on EOF / 10 s without data.
  std::optional<std::string> ReadFrame();
  void CloseStdin();
  // Waits (bounded to 10 s, then SIGKILL) and returns the exit status.
  int Wait();
  std::string Stderr();  // After Wait().
  // Bytes left on stdout after the last frame (must be none).
  std::string DrainStdout();
  // Minor page faults of the running child so far (/proc/PID/stat), or -1.
  long MinorFaults() const;

 private:
  bool ReadExactly(char* out, std::size_t n);

  int pid_ = -1;
  int in_fd_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::optional<int> exit_code_;
};

// Runs a command to completion and returns {exit code, stdout}.
std::pair<int, std::string> RunCommand(const std::string& binary, const std::vector<std::string>& args,
                                       const std::map<std::string, std::string>& env);

}  // namespace bellwether::testing

#endif  // BELLWETHER_TESTS_INTEGRATION_HOST_PROCESS_H_

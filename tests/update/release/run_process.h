// Runs a binary under test and collects its exit status and stderr, with a
// bounded wait. Shared by the release tool's CLI tests and the attack suite.
#ifndef BELLWETHER_TESTS_UPDATE_RELEASE_RUN_PROCESS_H_
#define BELLWETHER_TESTS_UPDATE_RELEASE_RUN_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace bellwether::testing {

struct ProcessResult {
  // Exit status; -1 when the process could not start, was killed by a
  // signal (then `signal` is set) or timed out.
  int exit_code = -1;
  int signal = 0;
  bool timed_out = false;
  std::string stdout_text;
  std::string stderr_text;
};

// Runs `argv` (argv[0] is a path) with the current environment, stdin from
// /dev/null; `output_prefix` names two scratch files for stdout and stderr.
inline ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& output_prefix,
                                std::chrono::seconds timeout = std::chrono::seconds(60)) {
  ProcessResult result;
  const std::string out_path = output_prefix + ".stdout";
  const std::string err_path = output_prefix + ".stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    result.stderr_text = "posix_spawn failed for " + argv[0];
    return result;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      result.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto slurp = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  result.stdout_text = slurp(out_path);
  result.stderr_text = slurp(err_path);
  std::remove(out_path.c_str());
  std::remove(err_path.c_str());
  if (!result.timed_out && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (!result.timed_out && WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

}  // namespace bellwether::testing

#endif  // BELLWETHER_TESTS_UPDATE_RELEASE_RUN_PROCESS_H_

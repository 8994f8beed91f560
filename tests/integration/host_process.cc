#include "host_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace bellwether::testing {
namespace {

constexpr int kReadTimeoutMs = 10'000;

std::vector<char*> CStrings(std::vector<std::string>& owned) {
  std::vector<char*> out;
  for (auto& s : owned) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

HostProcess::HostProcess(const std::string& binary, const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) {
    throw std::runtime_error("pipe failed");
  }
  std::vector<std::string> argv_owned = {binary};
  argv_owned.insert(argv_owned.end(), args.begin(), args.end());
  std::vector<std::string> env_owned;
  for (const auto& [k, v] : env) env_owned.push_back(k + "=" + v);
  auto argv = CStrings(argv_owned);
  auto envp = CStrings(env_owned);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execve(binary.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  in_fd_ = in[1];
  out_fd_ = out[0];
  err_fd_ = err[0];
  ::signal(SIGPIPE, SIG_IGN);
}

HostProcess::~HostProcess() {
  if (!exit_code_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  for (int fd : {in_fd_, out_fd_, err_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

void HostProcess::Send(const std::string& raw) {
  std::size_t done = 0;
  while (done < raw.size()) {
    ssize_t n = ::write(in_fd_, raw.data() + done, raw.size() - done);
    if (n <= 0) return;  // The host may legitimately have exited.
    done += static_cast<std::size_t>(n);
  }
}

void HostProcess::SendFrame(const std::string& payload) {
  auto len = static_cast<std::uint32_t>(payload.size());
  std::string header(4, '\0');
  std::memcpy(header.data(), &len, 4);
  Send(header + payload);
}

bool HostProcess::ReadExactly(char* out, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, kReadTimeoutMs) <= 0) return false;
    ssize_t got = ::read(out_fd_, out + done, n - done);
    if (got <= 0) return false;
    done += static_cast<std::size_t>(got);
  }
  return true;
}

std::optional<std::string> HostProcess::ReadFrame() {
  std::uint32_t len = 0;
  if (!ReadExactly(reinterpret_cast<char*>(&len), 4)) return std::nullopt;
  std::string payload(len, '\0');
  if (!ReadExactly(payload.data(), len)) return std::nullopt;
  return payload;
}

void HostProcess::CloseStdin() {
  if (in_fd_ >= 0) ::close(in_fd_);
  in_fd_ = -1;
}

int HostProcess::Wait() {
  if (exit_code_) return *exit_code_;
  CloseStdin();
  int status = 0;
  for (int i = 0; i < 1000; ++i) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return *exit_code_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  exit_code_ = -1;  // Hung: never a pass.
  return *exit_code_;
}

std::string HostProcess::Stderr() {
  std::string out;
  char buf[4096];
  pollfd p{err_fd_, POLLIN, 0};
  while (::poll(&p, 1, 1000) > 0) {
    ssize_t n = ::read(err_fd_, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string HostProcess::DrainStdout() {
  std::string out;
  char buf[4096];
  pollfd p{out_fd_, POLLIN, 0};
  while (::poll(&p, 1, kReadTimeoutMs) > 0) {
    ssize_t n = ::read(out_fd_, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::pair<int, std::string> RunCommand(const std::string& binary, const std::vector<std::string>& args,
                                       const std::map<std::string, std::string>& env) {
  HostProcess p(binary, args, env);
  p.CloseStdin();
  std::string out = p.DrainStdout();
  int code = p.Wait();
  return {code, out};
}

long HostProcess::MinorFaults() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // After "pid (comm)": state, ppid, pgrp, session, tty_nr, tpgid, flags, minflt.
  const auto comm_end = stat.rfind(')');
  if (comm_end == std::string::npos) return -1;
  std::istringstream fields(stat.substr(comm_end + 1));
  std::string skipped;
  for (int i = 0; i < 7; ++i) fields >> skipped;
  long minflt = -1;
  fields >> minflt;
  return fields ? minflt : -1;
}

}  // namespace bellwether::testing

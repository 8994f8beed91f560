#include "update/fetcher.h"

#include <utility>

namespace bellwether::update {

Result<std::string> FetchToString(Fetcher& fetcher, std::string_view url, std::uint64_t max_bytes,
                                  const ProgressFn& progress) {
  std::string body;
  BW_RETURN_IF_ERROR(fetcher.Fetch(
      url, max_bytes,
      [&body](std::string_view chunk) {
        body.append(chunk);
        return Status::Ok();
      },
      progress));
  return body;
}

std::string JoinUrl(std::string_view base, std::string_view path) {
  std::string out(base);
  if (out.empty() || out.back() != '/') out.push_back('/');
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  out.append(path);
  return out;
}

}  // namespace bellwether::update

/* The floor for bench_host_startup: the least a native-messaging host can do
 * (read one frame, write it back, exit). */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static int read_fully(char* out, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t got = read(0, out + done, n - done);
    if (got <= 0) return -1;
    done += (size_t)got;
  }
  return 0;
}

int main(void) {
  uint32_t len;
  if (read_fully((char*)&len, sizeof len) != 0 || len == 0 || len > (1u << 20)) return 1;
  char* body = malloc(len);
  if (body == NULL || read_fully(body, len) != 0) return 1;
  if (write(1, &len, sizeof len) != (ssize_t)sizeof len || write(1, body, len) != (ssize_t)len) return 1;
  free(body);
  return 0;
}

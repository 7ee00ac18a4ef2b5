// Connect latency for hack/benchmark-bypass.sh, compiled there with cc.
//   connect-loop serve PORT          accept and close, forever (the remote)
//   connect-loop connect IP PORT N   N blocking connect()+close() in a row;
//                                    prints the mean microseconds per pair
// The client closes with SO_LINGER 0 (a reset, no TIME_WAIT): runs of 10 000
// never run out of ephemeral ports. SO_LINGER is set after connect(), on
// whatever socket the fd then is (a bypassed one is the host's).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int serve(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(s, (struct sockaddr*)&a, sizeof a) < 0 || listen(s, 4096) < 0) return perror("serve"), 1;
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c >= 0) close(c);
  }
}

static int loop(const char* ip, int port, int n) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) return fprintf(stderr, "bad address %s\n", ip), 2;
  struct linger lg = {1, 0};
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < n; i++) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr*)&a, sizeof a) < 0) return perror("connect"), 1;
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(s);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3;
  printf("%.1f\n", us / n);
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 3 && !strcmp(argv[1], "serve")) return serve(atoi(argv[2]));
  if (argc == 5 && !strcmp(argv[1], "connect")) return loop(argv[2], atoi(argv[3]), atoi(argv[4]));
  fprintf(stderr, "usage: connect-loop serve PORT | connect-loop connect IP PORT N\n");
  return 2;
}

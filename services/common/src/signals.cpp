#include "common/signals.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

namespace cc {
namespace {
sigset_t StopSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}
}  // namespace

void ShutdownSignal::Block() {
  sigset_t set = StopSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int ShutdownSignal::Wait() {
  sigset_t set = StopSet();
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  return sig;
}

void ShutdownSignal::RequestStop() {
  kill(getpid(), SIGTERM);
}

}  // namespace cc

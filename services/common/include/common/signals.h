#pragma once

namespace cc {

// SIGTERM / SIGINT handling without signal handlers: Block() must run at the top of main,
// before any thread starts, so that every thread inherits the mask; Wait() then returns the
// signal number from sigwait() on the calling thread. RequestStop() wakes Wait() from code
// (tests, an admin "drain").
class ShutdownSignal {
 public:
  static void Block();
  static int Wait();
  static void RequestStop();
};

}  // namespace cc

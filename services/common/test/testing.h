#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <grpcpp/client_context.h>
#include <vector>

#include "common/nats.h"

// Helpers for integration tests. The test command (tools/test.sh) starts one PostgreSQL and
// one nats-server and exports CC_TEST_PG_ADMIN_URL and CC_TEST_NATS_URL; every test then
// gets its own database and its own subject prefix, so tests run in parallel.
namespace cc::testing {

// A fresh database with every migration applied; dropped when destroyed. On the shared test
// server by default, or on the server of `admin_url`.
class TestDatabase {
 public:
  explicit TestDatabase(bool migrate = true);
  TestDatabase(std::string admin_url, bool migrate);
  ~TestDatabase();
  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  // Runs one SQL statement and returns the first column of the first row ("" if none).
  std::string scalar(const std::string& sql) const;

 private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

std::string NatsUrl();              // the shared test server
std::string UniqueSubjectPrefix();  // "t<random>" for one test
// A client of the shared test server under `subject_prefix` (aborts the test run if it
// cannot connect).
std::unique_ptr<NatsClient> ConnectNats(const std::string& subject_prefix);
int FreePort();  // a TCP port free on 127.0.0.1 right now
int FreeUdpPort();
// The first of `n` consecutive ports free on 127.0.0.1 for both TCP and UDP right now (a
// program that takes port p and p + 1, as baresip does for SIP and SIP over TLS).
int FreePortRun(int n);

// A child process with its stderr/stdout captured to a file; SIGTERM then SIGKILL on
// destruction.
class ChildProcess {
 public:
  ChildProcess(std::string binary, std::vector<std::string> args,
               std::map<std::string, std::string> env = {});
  ~ChildProcess();
  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits for exit; returns the exit code (128+signal if killed) or -1 on timeout.
  int wait(std::chrono::milliseconds timeout);
  std::string output() const;  // what it wrote so far
  const std::string& log_path() const { return log_path_; }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  bool exited_ = false;
  std::string log_path_;
};

// Runs a command to completion; returns exit code and combined output.
struct CommandResult {
  int exit_code;
  std::string output;  // stdout
  std::string errors;  // stderr
};
CommandResult RunCommand(const std::string& binary, const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env = {});

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// GET http://127.0.0.1:port/path; returns the body ("" on any failure).
std::string HttpGet(int port, const std::string& path);

// True once grpc.health.v1 at `target` answers SERVING.
bool WaitForServing(const std::string& target, std::chrono::milliseconds timeout);

// A PostgreSQL server of its own (a cluster in a temporary folder, on a free port, commits
// durable against a crash of the server), for tests that stop or crash the database. As the
// postgres user when run as root.
class PostgresServer {
 public:
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;
  std::string admin_url() const;
  bool start();
  // pg_ctl stop -m immediate: every backend killed at once, no checkpoint (a crash).
  void crash();

 private:
  std::string bin_;
  std::string data_;
  int port_;
};

// A nats-server of its own on a free port (for tests that stop or restart the bus).
class NatsServerProcess {
 public:
  NatsServerProcess();
  std::string url() const;
  void stop();
  void start();

 private:
  int port_;
  std::unique_ptr<ChildProcess> proc_;
};

// One of our service binaries on free gRPC and metrics ports; ready() once grpc.health.v1
// answers SERVING. `args` come after --grpc-listen / --metrics-listen.
// The bearer tokens every ServiceProcess accepts (one file per test process), one per role.
// Starting a ServiceProcess makes the test process itself call as admin (MakeContext).
struct TestApiTokens {
  std::string file;  // for --api-tokens
  std::string admin, supervisor, read_only, edge;
  std::string edge_file;   // for --api-token-file
  std::string admin_file;  // for ccctl --token-file
};
const TestApiTokens& ApiTokens();
// A client context with a 5 s deadline carrying `token` ("": none) instead of the admin's.
std::unique_ptr<grpc::ClientContext> ContextAs(const std::string& token);

// A service binary on free gRPC and metrics ports, with the test tokens (ApiTokens()).
class ServiceProcess {
 public:
  ServiceProcess(const std::string& binary, std::vector<std::string> args,
                 std::chrono::milliseconds ready_timeout = std::chrono::seconds(20));
  bool ready() const { return ready_; }
  // kill -9, and wait for it to be gone.
  void kill();
  // Starts it again with the same arguments and ports; true once it serves.
  bool restart(std::chrono::milliseconds ready_timeout = std::chrono::seconds(20));
  std::string target() const { return "127.0.0.1:" + std::to_string(grpc_port_); }
  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }
  ChildProcess& process() { return *proc_; }

 private:
  int grpc_port_, metrics_port_;
  std::string binary_;
  std::vector<std::string> args_;
  std::unique_ptr<ChildProcess> proc_;
  bool ready_ = false;
};

// A UDP socket bound to a free port of 127.0.0.1 (close-on-exec); the port in *port.
int BoundUdpSocket(int* port);

// Sends raw datagrams to 127.0.0.1:port (bad-input tests).
class UdpJunk {
 public:
  explicit UdpJunk(int port);
  ~UdpJunk();
  void send(const std::string& bytes);

 private:
  int fd_ = -1;
  int port_;
};

// A port-mapping NAT on loopback in front of one UDP service (a SIP edge behind a load
// balancer, and phones behind NAT at once): datagrams a client sends to public_port() go on
// to the service from a socket of the NAT's own for that client (its mapping), and whatever
// reaches that socket goes back to the client from the public port. The service never sees
// the clients' own ports, and reaches a client only through its mapping. Thread-safe.
class UdpNat {
 public:
  explicit UdpNat(int service_port);
  ~UdpNat();
  int public_port() const { return public_port_; }
  // The port the service sees a client come from (0 before the client sent anything).
  int mapped_port(int client_port) const;

 private:
  void run();
  int service_port_;
  int public_fd_ = -1;
  int public_port_ = 0;
  mutable std::mutex mu_;
  std::map<int, std::pair<int, int>> mappings_;  // client port -> (fd, mapped port)
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Collects messages from a subject (thread-safe).
class MessageCollector {
 public:
  MessageCollector(NatsClient& nats, const std::string& subject);
  std::vector<NatsMessage> messages() const;
  // Waits until at least n messages arrived.
  bool wait_for(size_t n, std::chrono::milliseconds timeout) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<NatsMessage> messages_;
  NatsSubscription sub_;
};

}  // namespace cc::testing

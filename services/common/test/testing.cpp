#include "testing.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "common/grpc_server.h"
#include "common/ids.h"
#include "common/migrations.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace cc::testing {
namespace {

std::string RequireEnv(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) {
    throw std::runtime_error(std::string(name) +
                             " is not set: run the tests through tools/test.sh, which starts "
                             "PostgreSQL and NATS for them");
  }
  return v;
}

// Replaces the database name (the path) of a postgresql:// URL.
std::string WithDatabase(const std::string& url, const std::string& db) {
  const auto scheme = url.find("://");
  const auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  const auto query = url.find('?');
  std::string base = slash == std::string::npos ? url.substr(0, query) : url.substr(0, slash);
  std::string rest = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + db + rest;
}

std::string TempDir() {
  const char* t = std::getenv("TMPDIR");
  return t ? t : "/tmp";
}

}  // namespace

TestDatabase::TestDatabase(bool migrate)
    : TestDatabase(RequireEnv("CC_TEST_PG_ADMIN_URL"), migrate) {}

TestDatabase::TestDatabase(std::string admin_url, bool migrate) {
  admin_url_ = std::move(admin_url);
  name_ = "cct_" + std::to_string(getpid()) + "_" + RandomHex(4);
  {
    pqxx::connection admin(admin_url_);
    pqxx::nontransaction tx(admin);
    tx.exec("CREATE DATABASE " + name_);
  }
  url_ = WithDatabase(admin_url_, name_);
  if (migrate) {
    pqxx::connection conn(url_);
    auto r = ApplyMigrations(conn, EmbeddedMigrations());
    if (!r.ok()) throw std::runtime_error("migrations failed: " + r.error().message);
  }
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection admin(admin_url_);
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception& e) {
    fprintf(stderr, "warning: could not drop test database %s: %s\n", name_.c_str(), e.what());
  }
}

std::string TestDatabase::scalar(const std::string& sql) const {
  pqxx::connection conn(url_);
  pqxx::nontransaction tx(conn);
  auto r = tx.exec(sql);
  if (r.empty() || r[0][0].is_null()) return "";
  return r[0][0].as<std::string>();
}

std::string NatsUrl() {
  return RequireEnv("CC_TEST_NATS_URL");
}

std::string UniqueSubjectPrefix() {
  return "t" + RandomHex(6);
}

std::unique_ptr<NatsClient> ConnectNats(const std::string& subject_prefix) {
  NatsSettings s;
  s.url = NatsUrl();
  s.subject_prefix = subject_prefix;
  return std::move(NatsClient::Connect(s)).value();
}

namespace {
int FreePortOf(int type) {
  int fd = socket(AF_INET, type, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    throw std::runtime_error("bind failed");
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}
}  // namespace

int FreePort() {
  return FreePortOf(SOCK_STREAM);
}
int FreeUdpPort() {
  return FreePortOf(SOCK_DGRAM);
}

namespace {
bool Bindable(int type, int port) {
  int fd = socket(AF_INET, type, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}
}  // namespace

int FreePortRun(int n) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int first = FreePort();
    if (first + n > 65535) continue;
    bool free = true;
    for (int p = first; p < first + n && free; ++p) {
      free = Bindable(SOCK_STREAM, p) && Bindable(SOCK_DGRAM, p);
    }
    if (free) return first;
  }
  throw std::runtime_error("no run of free ports");
}

ChildProcess::ChildProcess(std::string binary, std::vector<std::string> args,
                           std::map<std::string, std::string> env) {
  log_path_ = TempDir() + "/cc-child-" + std::to_string(getpid()) + "-" + RandomHex(4) + ".log";
  std::vector<std::string> argv_store;
  argv_store.push_back(binary);
  for (auto& a : args) argv_store.push_back(a);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    // Children start with default signal handling, whatever the test process blocked.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    for (auto& s : argv_store) argv.push_back(s.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && running()) {
    signal(SIGTERM);
    if (wait(std::chrono::milliseconds(5000)) < 0) {
      signal(SIGKILL);
      wait(std::chrono::milliseconds(5000));
    }
  }
  if (std::getenv("CC_KEEP_CHILD_LOGS") == nullptr) unlink(log_path_.c_str());
}

bool ChildProcess::running() {
  if (exited_) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exited_ = true;
    status_ = status;
    return false;
  }
  return true;
}

void ChildProcess::signal(int sig) {
  if (pid_ > 0 && !exited_) kill(pid_, sig);
}

int ChildProcess::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

std::string ChildProcess::output() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult RunCommand(const std::string& binary, const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env) {
  const std::string base = TempDir() + "/cc-cmd-" + std::to_string(getpid()) + "-" + RandomHex(4);
  const std::string out_path = base + ".out", err_path = base + ".err";
  pid_t pid = fork();
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<std::string> store{binary};
    for (const auto& a : args) store.push_back(a);
    std::vector<char*> argv;
    for (auto& s : store) argv.push_back(s.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    unlink(p.c_str());
    return ss.str();
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), slurp(out_path),
          slurp(err_path)};
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (send(fd, req.data(), req.size(), 0) < 0) {
    close(fd);
    return "";
  }
  std::string resp;
  char buf[8192];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) resp.append(buf, static_cast<size_t>(n));
  close(fd);
  const auto body = resp.find("\r\n\r\n");
  return body == std::string::npos ? "" : resp.substr(body + 4);
}

bool WaitForServing(const std::string& target, std::chrono::milliseconds timeout) {
  auto stub = grpc::health::v1::Health::NewStub(MakeChannel(target));
  return WaitFor(
      [&] {
        grpc::health::v1::HealthCheckRequest req;
        grpc::health::v1::HealthCheckResponse resp;
        auto ctx = MakeContext(std::chrono::milliseconds(500));
        ctx->set_wait_for_ready(true);
        return stub->Check(ctx.get(), req, &resp).ok() &&
               resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
      },
      timeout);
}

const TestApiTokens& ApiTokens() {
  static const TestApiTokens tokens = [] {
    TestApiTokens t;
    const std::string dir = ::testing::TempDir() + "/cc-api-" + RandomHex(4);
    std::filesystem::create_directories(dir);
    t.admin = "admin-" + RandomHex(12);
    t.supervisor = "supervisor-" + RandomHex(12);
    t.read_only = "reader-" + RandomHex(12);
    t.edge = "edge-" + RandomHex(12);
    t.file = dir + "/tokens";
    t.edge_file = dir + "/edge-token";
    t.admin_file = dir + "/admin-token";
    std::ofstream(t.admin_file) << t.admin << "\n";
    std::ofstream(t.file) << "# test identities\nadmin test-admin " << t.admin
                          << "\nsupervisor test-supervisor " << t.supervisor
                          << "\nread-only test-reader " << t.read_only << "\nedge test-edge "
                          << t.edge << "\n";
    std::ofstream(t.edge_file) << t.edge << "\n";
    return t;
  }();
  return tokens;
}

std::unique_ptr<grpc::ClientContext> ContextAs(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

ServiceProcess::ServiceProcess(const std::string& binary, std::vector<std::string> args,
                               std::chrono::milliseconds ready_timeout)
    : grpc_port_(FreePort()), metrics_port_(FreePort()), binary_(binary) {
  const TestApiTokens& tokens = ApiTokens();
  SetApiToken(tokens.admin);
  args.insert(args.begin(),
              {"--grpc-listen=127.0.0.1:" + std::to_string(grpc_port_),
               "--metrics-listen=127.0.0.1:" + std::to_string(metrics_port_),
               "--api-tokens=" + tokens.file, "--api-token-file=" + tokens.edge_file});
  args_ = std::move(args);
  proc_ = std::make_unique<ChildProcess>(binary_, args_);
  ready_ = WaitForServing(target(), ready_timeout);
}

void ServiceProcess::kill() {
  if (!proc_) return;
  proc_->signal(SIGKILL);
  proc_->wait(std::chrono::seconds(10));
}

bool ServiceProcess::restart(std::chrono::milliseconds ready_timeout) {
  kill();
  // The old process's output stays readable in its log; the new one gets its own.
  proc_ = std::make_unique<ChildProcess>(binary_, args_);
  ready_ = WaitForServing(target(), ready_timeout);
  return ready_;
}

UdpJunk::UdpJunk(int port) : fd_(socket(AF_INET, SOCK_DGRAM, 0)), port_(port) {}

UdpJunk::~UdpJunk() {
  close(fd_);
}

void UdpJunk::send(const std::string& bytes) {
  sockaddr_in d{};
  d.sin_family = AF_INET;
  d.sin_port = htons(static_cast<uint16_t>(port_));
  d.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&d), sizeof d);
}

int BoundUdpSocket(int* port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

namespace {
void SendTo(int fd, int port, const char* data, ssize_t n) {
  sockaddr_in d{};
  d.sin_family = AF_INET;
  d.sin_port = htons(static_cast<uint16_t>(port));
  d.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sendto(fd, data, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&d), sizeof d);
}
}  // namespace

UdpNat::UdpNat(int service_port) : service_port_(service_port) {
  public_fd_ = BoundUdpSocket(&public_port_);
  thread_ = std::thread([this] { run(); });
}

UdpNat::~UdpNat() {
  stop_ = true;
  thread_.join();
  close(public_fd_);
  for (auto& [client, m] : mappings_) close(m.first);
}

int UdpNat::mapped_port(int client_port) const {
  std::lock_guard lock(mu_);
  auto it = mappings_.find(client_port);
  return it == mappings_.end() ? 0 : it->second.second;
}

void UdpNat::run() {
  std::vector<char> buf(65536);
  while (!stop_) {
    std::vector<pollfd> fds{{public_fd_, POLLIN, 0}};
    std::vector<int> clients{0};
    {
      std::lock_guard lock(mu_);
      for (const auto& [client, m] : mappings_) {
        fds.push_back({m.first, POLLIN, 0});
        clients.push_back(client);
      }
    }
    if (poll(fds.data(), fds.size(), 100) <= 0) continue;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n =
          recvfrom(fds[i].fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n <= 0) continue;
      if (i == 0) {  // from a client: on to the service through its mapping
        const int client = ntohs(from.sin_port);
        int fd = -1;
        {
          std::lock_guard lock(mu_);
          auto it = mappings_.find(client);
          if (it == mappings_.end()) {
            int mapped = 0;
            const int mfd = BoundUdpSocket(&mapped);
            it = mappings_.emplace(client, std::make_pair(mfd, mapped)).first;
          }
          fd = it->second.first;
        }
        SendTo(fd, service_port_, buf.data(), n);
      } else {  // to a mapping: back to its client from the public port
        SendTo(public_fd_, clients[i], buf.data(), n);
      }
    }
  }
}

namespace {

// The newest PostgreSQL server binaries installed (/usr/lib/postgresql/<version>/bin).
std::string PostgresBin() {
  std::string best;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string bin = e.path().string() + "/bin";
    if (std::filesystem::exists(bin + "/pg_ctl") && bin > best) best = bin;
  }
  if (best.empty()) throw std::runtime_error("PostgreSQL server binaries not found");
  return best;
}

// Runs a PostgreSQL tool, as the postgres user when we are root (initdb refuses root).
int RunAsPostgres(const std::vector<std::string>& argv) {
  std::vector<std::string> full = argv;
  if (geteuid() == 0) full.insert(full.begin(), {"runuser", "-u", "postgres", "--"});
  CommandResult r = RunCommand(full[0], std::vector<std::string>(full.begin() + 1, full.end()));
  if (r.exit_code != 0) {
    fprintf(stderr, "%s failed (%d): %s%s\n", argv[0].c_str(), r.exit_code, r.output.c_str(),
            r.errors.c_str());
  }
  return r.exit_code;
}

}  // namespace

PostgresServer::PostgresServer() : bin_(PostgresBin()), port_(FreePort()) {
  data_ = "/tmp/cc-pg-" + std::to_string(getpid()) + "-" + RandomHex(4);
  std::filesystem::create_directories(data_);
  if (geteuid() == 0) {
    RunCommand("chown", {"postgres:postgres", data_});
  }
  chmod(data_.c_str(), 0700);
  if (RunAsPostgres({bin_ + "/initdb", "-D", data_, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                     "--no-locale"}) != 0) {
    throw std::runtime_error("initdb failed in " + data_);
  }
  if (!start()) throw std::runtime_error("PostgreSQL did not start in " + data_);
}

PostgresServer::~PostgresServer() {
  RunAsPostgres({bin_ + "/pg_ctl", "-D", data_, "-m", "immediate", "-w", "stop"});
  std::error_code ec;
  std::filesystem::remove_all(data_, ec);
}

std::string PostgresServer::admin_url() const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/postgres";
}

bool PostgresServer::start() {
  // Commits are durable as in production (synchronous_commit on: a crash loses no
  // acknowledged commit); fsync is off because only the server process crashes here, never
  // the machine, whose page cache keeps what was written.
  const std::string opts = "-p " + std::to_string(port_) + " -k " + data_ +
                           " -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off"
                           " -c full_page_writes=off";
  return RunAsPostgres({bin_ + "/pg_ctl", "-D", data_, "-l", data_ + "/server.log", "-w", "-t",
                        "60", "-o", opts, "start"}) == 0;
}

void PostgresServer::crash() {
  RunAsPostgres({bin_ + "/pg_ctl", "-D", data_, "-m", "immediate", "-w", "stop"});
}

NatsServerProcess::NatsServerProcess() : port_(FreePort()) {
  start();
}

std::string NatsServerProcess::url() const {
  return "nats://127.0.0.1:" + std::to_string(port_);
}

void NatsServerProcess::start() {
  const char* bin = std::getenv("CC_NATS_SERVER_BIN");
  proc_ = std::make_unique<ChildProcess>(
      bin ? bin : "nats-server",
      std::vector<std::string>{"-a", "127.0.0.1", "-p", std::to_string(port_)});
  // Ready once it accepts connections.
  WaitFor(
      [&] {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(port_));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        close(fd);
        return ok;
      },
      std::chrono::seconds(10));
}

void NatsServerProcess::stop() {
  proc_.reset();
}

MessageCollector::MessageCollector(NatsClient& nats, const std::string& subject) {
  auto sub = nats.subscribe(subject, [this](NatsMessage m) {
    std::lock_guard lock(mu_);
    messages_.push_back(std::move(m));
    cv_.notify_all();
  });
  if (!sub.ok()) throw std::runtime_error(sub.error().message);
  sub_ = std::move(sub).value();
  (void)nats.flush(std::chrono::milliseconds(2000));
}

std::vector<NatsMessage> MessageCollector::messages() const {
  std::lock_guard lock(mu_);
  return messages_;
}

bool MessageCollector::wait_for(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return messages_.size() >= n; });
}

}  // namespace cc::testing

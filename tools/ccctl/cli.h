#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

// Small pieces shared by every ccctl command: argument parsing, output, server addresses.
namespace ccctl {

// A usage mistake: printed as "ccctl: <message>" with exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A failed RPC: printed as "ccctl: <CODE>: <message>" with exit code 1.
struct RpcError : std::runtime_error {
  RpcError(const grpc::Status& s);
};

// The arguments after the command words: positionals and --flags (repeatable).
class Args {
 public:
  Args(std::vector<std::string> argv, const std::vector<std::string>& flags_with_values,
       const std::vector<std::string>& bool_flags);
  std::string positional(size_t i, const char* what) const;  // UsageError when missing
  size_t positional_count() const { return positionals_.size(); }
  std::optional<std::string> get(const std::string& flag) const;
  std::vector<std::string> all(const std::string& flag) const;
  bool has(const std::string& flag) const;
  int get_int(const std::string& flag, int def) const;
  void expect_positionals(size_t n) const;

 private:
  std::vector<std::string> positionals_;
  std::multimap<std::string, std::string> values_;
};

struct Globals {
  bool json = false;
  std::string server;  // --server, empty = from the env file
  int timeout_ms = 5000;
  std::string token_file;  // --token-file, empty = $CC_API_TOKEN_FILE
};

// Sets the bearer token every call carries, from --token-file (which must be readable) or the
// CC_API_TOKEN_FILE setting (a relative path is the checkout's; missing: no token).
void LoadToken(const Globals& g);

// Reads KEY=VALUE lines of the local stack's env file ($CC_ENV_FILE or the checkout's
// deploy/local/stack.env); the process environment wins over the file.
std::string Setting(const std::string& key, const std::string& fallback);

std::shared_ptr<grpc::Channel> Channel(const Globals& g, const std::string& env_key,
                                       const std::string& fallback);
std::unique_ptr<grpc::ClientContext> Context(const Globals& g);
void Check(const grpc::Status& s);

// Output: JSON (protobuf's mapping, field names as in the .proto) or a plain table.
void PrintJson(const google::protobuf::Message& m);
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  void print() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};
std::string FormatTimestamp(std::int64_t seconds);
// "CALL_STATE_WAITING" less "CALL_STATE_" -> "WAITING".
std::string Strip(const std::string& enum_name, const std::string& prefix);
// A flag's value as an enum's suffix: "ring-until-agent" -> "RING_UNTIL_AGENT".
std::string Upper(const std::string& s);
// An enum's suffix as the flags spell it: "LOGGED_IN" -> "logged-in".
std::string Lower(const std::string& s);
std::string Ago(std::int64_t seconds);

using Command = std::function<int(const Globals&, std::vector<std::string>)>;
struct CommandInfo {
  std::string usage;
  Command run;
};
// "agent create" -> handler; filled by each *_commands.cpp.
std::map<std::string, CommandInfo>& Commands();
void RegisterAgentCommands();
void RegisterQueueCommands();
void RegisterEdgeCommands();
void RegisterIvrCommands();
void RegisterCallCommands();

}  // namespace ccctl

#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace cc {

// Typed configuration with three sources, later ones winning:
//   defaults < file (--config=FILE, "name = value" lines) < environment (CC_NAME_WITH_UNDERSCORES)
//   < command-line flags (--name=value or --name value).
// Every value is validated when parsed; errors name the option, the source and what is wrong.
// Not thread-safe while being set up; read-only (and so thread-safe) once parse() returned.
class Config {
 public:
  enum class Type { kString, kInt, kBool, kDuration, kHostPort, kHostPortList };
  using Validator = std::function<std::optional<std::string>(const std::string&)>;

  explicit Config(std::string program) : program_(std::move(program)) {}

  Config& add_string(const std::string& name, std::string def, std::string help,
                     Validator validate = nullptr);
  Config& add_int(const std::string& name, std::int64_t def, std::string help, std::int64_t min,
                  std::int64_t max);
  Config& add_bool(const std::string& name, bool def, std::string help);
  // Durations accept "250ms", "30s", "5m", "1h" or a bare number of milliseconds.
  Config& add_duration(const std::string& name, Duration def, std::string help, Duration min,
                       Duration max);
  // "host:port" with a numeric port 0..65535 (0 only if allowed).
  Config& add_host_port(const std::string& name, std::string def, std::string help,
                        bool allow_port_zero = false);

  // "host:port[,host:port...]": the replicas of a service. With more than one, every host
  // must be an IP address; a DNS name that resolves to every replica goes alone.
  Config& add_host_port_list(const std::string& name, std::string def, std::string help);

  // `env` maps names to values as from the process environment (tests pass their own).
  Status parse(const std::vector<std::string>& args, const std::map<std::string, std::string>& env);
  Status parse_command_line(int argc, char** argv);  // uses the real environment

  bool help_requested() const { return help_requested_; }
  std::string help() const;

  std::string str(const std::string& name) const;
  std::int64_t integer(const std::string& name) const;
  bool boolean(const std::string& name) const;
  Duration duration(const std::string& name) const;
  std::string source(const std::string& name) const;  // "default", "file", "env", "flag"

  static std::string EnvName(const std::string& name);
  static std::optional<Duration> ParseDuration(const std::string& text);
  static std::optional<std::pair<std::string, int>> ParseHostPort(const std::string& text);
  // The entries of a host:port list (trimmed, empty ones dropped).
  static std::vector<std::string> SplitList(const std::string& text);

 private:
  struct Option {
    Option() = default;
    Option(Type t, std::string h, std::string v)
        : type(t), help(std::move(h)), value(std::move(v)) {}
    Type type = Type::kString;
    std::string help;
    std::string value;
    std::string source = "default";
    std::int64_t min = 0, max = 0;
    bool allow_zero_port = false;
    Validator validate;
  };
  Status set(const std::string& name, const std::string& value, const std::string& source);
  const Option& get(const std::string& name, Type type) const;
  Status load_file(const std::string& path);

  std::string program_;
  std::map<std::string, Option> options_;
  std::vector<std::string> order_;
  bool help_requested_ = false;
};

}  // namespace cc

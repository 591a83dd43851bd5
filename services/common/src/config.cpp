#include "common/config.h"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace cc {
namespace {

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::optional<std::int64_t> ParseInt(const std::string& text) {
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

std::optional<bool> ParseBool(const std::string& text) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  return std::nullopt;
}

}  // namespace

std::string Config::EnvName(const std::string& name) {
  std::string env = "CC_";
  for (char c : name) env.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(c)));
  return env;
}

std::optional<Duration> Config::ParseDuration(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0) return std::nullopt;
  auto n = ParseInt(text.substr(0, i));
  if (!n) return std::nullopt;
  const std::string unit = text.substr(i);
  std::int64_t scale;
  if (unit.empty() || unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "m")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  else
    return std::nullopt;
  // Found by fuzz_config: "86666666666666666s" overflowed. Longer than ~292 million years is
  // not a duration anyone means.
  if (*n > std::numeric_limits<std::int64_t>::max() / scale) return std::nullopt;
  return Duration{*n * scale};
}

std::optional<std::pair<std::string, int>> Config::ParseHostPort(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  auto port = ParseInt(text.substr(colon + 1));
  if (!port || *port < 0 || *port > 65535) return std::nullopt;
  return std::make_pair(host, static_cast<int>(*port));
}

Config& Config::add_string(const std::string& name, std::string def, std::string help,
                           Validator validate) {
  options_[name] = Option{Type::kString, std::move(help), std::move(def)};
  options_[name].validate = std::move(validate);
  order_.push_back(name);
  return *this;
}

Config& Config::add_int(const std::string& name, std::int64_t def, std::string help,
                        std::int64_t min, std::int64_t max) {
  Option o{Type::kInt, std::move(help), std::to_string(def)};
  o.min = min;
  o.max = max;
  options_[name] = std::move(o);
  order_.push_back(name);
  return *this;
}

Config& Config::add_bool(const std::string& name, bool def, std::string help) {
  options_[name] = Option{Type::kBool, std::move(help), def ? "true" : "false"};
  order_.push_back(name);
  return *this;
}

Config& Config::add_duration(const std::string& name, Duration def, std::string help, Duration min,
                             Duration max) {
  Option o{Type::kDuration, std::move(help), std::to_string(def.count()) + "ms"};
  o.min = min.count();
  o.max = max.count();
  options_[name] = std::move(o);
  order_.push_back(name);
  return *this;
}

Config& Config::add_host_port(const std::string& name, std::string def, std::string help,
                              bool allow_port_zero) {
  Option o{Type::kHostPort, std::move(help), std::move(def)};
  o.allow_zero_port = allow_port_zero;
  options_[name] = std::move(o);
  order_.push_back(name);
  return *this;
}

Config& Config::add_host_port_list(const std::string& name, std::string def, std::string help) {
  options_[name] = Option{Type::kHostPortList, std::move(help), std::move(def)};
  order_.push_back(name);
  return *this;
}

std::vector<std::string> Config::SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const std::string item =
        Trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

Status Config::set(const std::string& name, const std::string& raw, const std::string& source) {
  auto it = options_.find(name);
  if (it == options_.end()) {
    return InvalidArgument("unknown option '" + name + "' (from " + source + "); see --help");
  }
  Option& o = it->second;
  const std::string value = Trim(raw);
  auto bad = [&](const std::string& why) {
    return InvalidArgument("option '" + name + "' (from " + source + ") = '" + value + "': " + why);
  };
  switch (o.type) {
    case Type::kString:
      if (o.validate) {
        if (auto err = o.validate(value)) return bad(*err);
      }
      break;
    case Type::kInt: {
      auto v = ParseInt(value);
      if (!v) return bad("not an integer");
      if (*v < o.min || *v > o.max) {
        return bad("must be between " + std::to_string(o.min) + " and " + std::to_string(o.max));
      }
      break;
    }
    case Type::kBool:
      if (!ParseBool(value)) return bad("expected true or false");
      break;
    case Type::kDuration: {
      auto d = ParseDuration(value);
      if (!d) return bad("not a duration (examples: 250ms, 30s, 5m)");
      if (d->count() < o.min || d->count() > o.max) {
        return bad("must be between " + std::to_string(o.min) + "ms and " + std::to_string(o.max) +
                   "ms");
      }
      break;
    }
    case Type::kHostPort: {
      auto hp = ParseHostPort(value);
      if (!hp || hp->first.empty()) return bad("expected host:port");
      if (hp->second == 0 && !o.allow_zero_port) return bad("port must be 1..65535");
      break;
    }
    case Type::kHostPortList: {
      const auto items = SplitList(value);
      if (items.empty()) return bad("expected host:port[,host:port...]");
      for (const auto& item : items) {
        auto hp = ParseHostPort(item);
        if (!hp || hp->first.empty() || hp->second == 0) {
          return bad("'" + item + "' is not host:port with a port 1..65535");
        }
        in_addr a4{};
        in6_addr a6{};
        const bool ip = inet_pton(AF_INET, hp->first.c_str(), &a4) == 1 ||
                        inet_pton(AF_INET6, hp->first.c_str(), &a6) == 1;
        if (items.size() > 1 && !ip) {
          return bad("'" + hp->first +
                     "' in a list: give IP addresses, or one DNS name that resolves to every "
                     "replica");
        }
      }
      break;
    }
  }
  o.value = value;
  o.source = source;
  return OkStatus();
}

Status Config::load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read config file '" + path + "'");
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const std::string t = Trim(line);
    if (t.empty() || t[0] == '#') continue;
    const auto eq = t.find('=');
    if (eq == std::string::npos) {
      return InvalidArgument(path + ":" + std::to_string(lineno) + ": expected 'name = value'");
    }
    std::string key = Trim(t.substr(0, eq));
    for (char& c : key) {
      if (c == '_') c = '-';
    }
    CC_RETURN_IF_ERROR(set(key, t.substr(eq + 1), "file " + path + ":" + std::to_string(lineno)));
  }
  return OkStatus();
}

Status Config::parse(const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env) {
  // Flags are collected first so that --config is known before the file is read.
  std::vector<std::pair<std::string, std::string>> flags;
  std::string config_file;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      help_requested_ = true;
      return OkStatus();
    }
    if (a.rfind("--", 0) != 0) return InvalidArgument("unexpected argument '" + a + "'");
    std::string name = a.substr(2), value;
    const auto eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else {
      auto it = options_.find(name);
      if (it != options_.end() && it->second.type == Type::kBool) {
        value = "true";
      } else if (name == "config" || it != options_.end()) {
        if (i + 1 >= args.size()) return InvalidArgument("option --" + name + " needs a value");
        value = args[++i];
      } else {
        return InvalidArgument("unknown option '--" + name + "'; see --help");
      }
    }
    if (name == "config") {
      config_file = value;
    } else {
      flags.emplace_back(name, value);
    }
  }
  if (config_file.empty()) {
    if (auto it = env.find("CC_CONFIG"); it != env.end()) config_file = it->second;
  }
  if (!config_file.empty()) CC_RETURN_IF_ERROR(load_file(config_file));
  for (const auto& name : order_) {
    if (auto it = env.find(EnvName(name)); it != env.end()) {
      CC_RETURN_IF_ERROR(set(name, it->second, "env " + EnvName(name)));
    }
  }
  for (const auto& [name, value] : flags) CC_RETURN_IF_ERROR(set(name, value, "flag --" + name));
  // Defaults are validated too, so that a bad built-in default cannot slip through.
  for (const auto& name : order_) {
    Option& o = options_.at(name);
    if (o.source == "default") {
      CC_RETURN_IF_ERROR(set(name, o.value, "default"));
    }
  }
  return OkStatus();
}

Status Config::parse_command_line(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    const auto eq = kv.find('=');
    if (eq != std::string::npos && kv.rfind("CC_", 0) == 0)
      env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return parse(args, env);
}

std::string Config::help() const {
  std::ostringstream out;
  out << "usage: " << program_ << " [--config=FILE] [--name=value ...]\n\n"
      << "Each option may also come from the environment (CC_NAME) or a config file line\n"
      << "'name = value'. Flags win over the environment, which wins over the file.\n\n";
  for (const auto& name : order_) {
    const Option& o = options_.at(name);
    out << "  --" << name << " (" << EnvName(name) << ", default '" << o.value << "')\n      "
        << o.help << "\n";
  }
  return out.str();
}

const Config::Option& Config::get(const std::string& name, Type type) const {
  auto it = options_.find(name);
  if (it == options_.end() || it->second.type != type) {
    throw std::logic_error("config option '" + name + "' not declared with this type");
  }
  return it->second;
}

std::string Config::str(const std::string& name) const {
  auto it = options_.find(name);
  if (it == options_.end()) throw std::logic_error("config option '" + name + "' not declared");
  return it->second.value;
}

std::int64_t Config::integer(const std::string& name) const {
  return *ParseInt(get(name, Type::kInt).value);
}

bool Config::boolean(const std::string& name) const {
  return *ParseBool(get(name, Type::kBool).value);
}

Duration Config::duration(const std::string& name) const {
  return *ParseDuration(get(name, Type::kDuration).value);
}

std::string Config::source(const std::string& name) const {
  auto it = options_.find(name);
  return it == options_.end() ? "" : it->second.source;
}

}  // namespace cc

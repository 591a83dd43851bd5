#include "cli.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <google/protobuf/util/json_util.h>

#include "common/grpc_server.h"

namespace ccctl {

RpcError::RpcError(const grpc::Status& s)
    : std::runtime_error(std::string(cc::GrpcCodeName(s.error_code())) + ": " +
                         (s.error_code() == grpc::StatusCode::UNAVAILABLE &&
                                  s.error_message().find("connect") != std::string::npos
                              ? s.error_message() + " (is the stack running? try --server)"
                              : s.error_message())) {}

Args::Args(std::vector<std::string> argv, const std::vector<std::string>& with_values,
           const std::vector<std::string>& bools) {
  auto known = [](const std::vector<std::string>& v, const std::string& f) {
    return std::find(v.begin(), v.end(), f) != v.end();
  };
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      positionals_.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    const auto eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (known(bools, name)) {
      if (inline_value) throw UsageError("--" + name + " takes no value");
      values_.emplace(name, "true");
    } else if (known(with_values, name)) {
      if (!inline_value) {
        if (i + 1 >= argv.size()) throw UsageError("--" + name + " needs a value");
        value = argv[++i];
      }
      values_.emplace(name, value);
    } else {
      throw UsageError("unknown option --" + name);
    }
  }
}

std::string Args::positional(size_t i, const char* what) const {
  if (i >= positionals_.size()) throw UsageError(std::string("missing ") + what);
  return positionals_[i];
}

void Args::expect_positionals(size_t n) const {
  if (positionals_.size() > n) throw UsageError("unexpected argument '" + positionals_[n] + "'");
}

std::optional<std::string> Args::get(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Args::all(const std::string& flag) const {
  std::vector<std::string> out;
  auto [b, e] = values_.equal_range(flag);
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  return out;
}

bool Args::has(const std::string& flag) const {
  return values_.count(flag) > 0;
}

int Args::get_int(const std::string& flag, int def) const {
  auto v = get(flag);
  if (!v) return def;
  try {
    size_t used = 0;
    int n = std::stoi(*v, &used);
    if (used != v->size()) throw std::invalid_argument("trailing");
    return n;
  } catch (const std::exception&) {
    throw UsageError("--" + flag + " expects a whole number, got '" + *v + "'");
  }
}

std::string Setting(const std::string& key, const std::string& fallback) {
  if (const char* v = std::getenv(key.c_str())) return v;
  const char* file = std::getenv("CC_ENV_FILE");
  std::ifstream in(file ? file : CC_DEFAULT_ENV_FILE);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos || line.substr(0, eq) != key) continue;
    std::string v = line.substr(eq + 1);
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
      v = v.substr(1, v.size() - 2);
    }
    return v;
  }
  return fallback;
}

std::shared_ptr<grpc::Channel> Channel(const Globals& g, const std::string& env_key,
                                       const std::string& fallback) {
  return cc::MakeChannel(g.server.empty() ? Setting(env_key, fallback) : g.server);
}

void LoadToken(const Globals& g) {
  std::string path = g.token_file;
  const bool given = !path.empty();
  if (!given) {
    path = Setting("CC_API_TOKEN_FILE", "");
    if (path.empty()) return;
    if (path.front() != '/') {
      const char* file = std::getenv("CC_ENV_FILE");
      const std::filesystem::path env(file ? file : CC_DEFAULT_ENV_FILE);
      path = (env.parent_path() / ".." / ".." / path).lexically_normal().string();
    }
  }
  std::ifstream in(path);
  std::string token;
  if (!in || !(in >> token)) {
    if (given) throw UsageError("cannot read a token from " + path);
    return;
  }
  cc::SetApiToken(token);
}

std::unique_ptr<grpc::ClientContext> Context(const Globals& g) {
  return cc::MakeContext(std::chrono::milliseconds(g.timeout_ms));
}

void Check(const grpc::Status& s) {
  if (!s.ok()) throw RpcError(s);
}

void PrintJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.always_print_primitive_fields = true;
  opts.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, opts);
  std::cout << out;
  if (out.empty() || out.back() != '\n') std::cout << "\n";
}

void Table::print() const {
  std::vector<size_t> width(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], r[i].size());
    }
  };
  measure(header_);
  for (const auto& r : rows_) measure(r);
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (size_t i = 0; i < width.size(); ++i) {
      std::string cell = i < r.size() ? r[i] : "";
      if (i + 1 < width.size()) cell.resize(width[i] + 2, ' ');
      out += cell;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    std::cout << out << "\n";
  };
  line(header_);
  for (const auto& r : rows_) line(r);
}

std::string FormatTimestamp(std::int64_t seconds) {
  if (seconds == 0) return "-";
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

std::string Strip(const std::string& enum_name, const std::string& prefix) {
  return enum_name.rfind(prefix, 0) == 0 ? enum_name.substr(prefix.size()) : enum_name;
}

std::string Upper(const std::string& s) {
  std::string out;
  for (char c : s) out.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(c)));
  return out;
}

std::string Lower(const std::string& s) {
  std::string out;
  for (char c : s) out.push_back(c == '_' ? '-' : static_cast<char>(std::tolower(c)));
  return out;
}

std::string Ago(std::int64_t seconds) {
  if (seconds == 0) return "-";
  const std::int64_t d = std::time(nullptr) - seconds;
  if (d < 0) return "in " + std::to_string(-d) + "s";
  if (d < 120) return std::to_string(d) + "s";
  if (d < 7200) return std::to_string(d / 60) + "m";
  return std::to_string(d / 3600) + "h";
}

std::map<std::string, CommandInfo>& Commands() {
  static std::map<std::string, CommandInfo> commands;
  return commands;
}

}  // namespace ccctl

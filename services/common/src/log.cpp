#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>

#include "common/clock.h"

namespace cc::log {
namespace {

struct Settings {
  std::string service = "unknown";
  std::string instance;
  bool json = true;
};

std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};
std::mutex g_mu;
Settings g_settings;

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

void AppendValue(std::string& out, const Field::Value& v, bool json) {
  if (auto s = std::get_if<std::string_view>(&v)) {
    if (json) {
      AppendJsonString(out, *s);
    } else {
      out.append(*s);
    }
  } else if (auto i = std::get_if<std::int64_t>(&v)) {
    out += std::to_string(*i);
  } else if (auto d = std::get_if<double>(&v)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", *d);
    out += buf;
  } else if (auto b = std::get_if<bool>(&v)) {
    out += *b ? "true" : "false";
  }
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void Configure(std::string service, std::string instance, Level min_level, bool json) {
  std::lock_guard lock(g_mu);
  g_settings.service = std::move(service);
  g_settings.instance = std::move(instance);
  g_settings.json = json;
  g_min_level = static_cast<int>(min_level);
}

bool ParseLevel(std::string_view text, Level* out) {
  if (text == "debug")
    *out = Level::kDebug;
  else if (text == "info")
    *out = Level::kInfo;
  else if (text == "warn" || text == "warning")
    *out = Level::kWarn;
  else if (text == "error")
    *out = Level::kError;
  else
    return false;
  return true;
}

bool Enabled(Level level) {
  return static_cast<int>(level) >= g_min_level.load();
}

std::string Format(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  Settings s;
  {
    std::lock_guard lock(g_mu);
    s = g_settings;
  }
  std::string out;
  out.reserve(160 + msg.size());
  const std::string ts = FormatTime(SystemClock::instance().now());
  if (s.json) {
    out += "{\"ts\":\"" + ts + "\",\"level\":\"" + LevelName(level) + "\",\"service\":";
    AppendJsonString(out, s.service);
    if (!s.instance.empty()) {
      out += ",\"instance\":";
      AppendJsonString(out, s.instance);
    }
    out += ",\"msg\":";
    AppendJsonString(out, msg);
    for (const auto& f : fields) {
      out.push_back(',');
      AppendJsonString(out, f.key);
      out.push_back(':');
      AppendValue(out, f.value, true);
    }
    out += "}\n";
  } else {
    out += ts + " " + LevelName(level) + " " + s.service + ": ";
    out.append(msg);
    for (const auto& f : fields) {
      out.push_back(' ');
      out.append(f.key);
      out.push_back('=');
      AppendValue(out, f.value, false);
    }
    out.push_back('\n');
  }
  return out;
}

void Write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  const std::string line = Format(level, msg, fields);
  ssize_t r = ::write(STDERR_FILENO, line.data(), line.size());
  (void)r;
}

}  // namespace cc::log

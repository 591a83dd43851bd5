// libFuzzer: configuration as operators write it — flags, CC_* environment, durations, host:port
// lists — and the edge's own settings parsed from text (rate limits, trusted networks).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/config.h"
#include "signaling_edge/source_guard.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args = {"fuzz"};
  std::map<std::string, std::string> env;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '\n') {
      std::string line = text.substr(start, i - start);
      if (line.rfind("CC_", 0) == 0 && line.find('=') != std::string::npos) {
        env[line.substr(0, line.find('='))] = line.substr(line.find('=') + 1);
      } else {
        args.push_back(line);
      }
      start = i + 1;
    }
  }
  cc::Config config("fuzz");
  config.add_string("name", "x", "a string");
  config.add_int("count", 1, "an int", 0, 1000);
  config.add_bool("flag", false, "a bool");
  config.add_duration("wait", cc::Duration{1000}, "a duration", cc::Duration{0},
                      cc::Duration{60000});
  config.add_host_port("listen", "127.0.0.1:1", "an address");
  config.add_host_port_list("peers", "127.0.0.1:2", "addresses");
  (void)config.parse(args, env);
  (void)cc::Config::ParseDuration(text);
  (void)cc::Config::ParseHostPort(text);
  (void)cc::Config::SplitList(text);
  (void)cc::edge::ParseRateLimit(text);
  cc::edge::SourceGuardSettings s;
  s.trusted = cc::Config::SplitList(text);
  if (cc::edge::SourceGuard::Validate(s).ok()) {
    cc::edge::SourceGuard guard(s, cc::SystemClock::instance());
    for (const auto& t : s.trusted) (void)guard.trusted(t.substr(0, t.find('/')));
    (void)guard.trusted(text);
  }
  return 0;
}

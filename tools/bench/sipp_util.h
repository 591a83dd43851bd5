#pragma once

// Reading what SIPp and the services wrote, for the SIP benchmark programs under tools/bench.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace cc::bench {

// What one SIPp run counted (its final cumulative statistics line).
struct SippCounts {
  long created = 0, ok = 0, failed = 0, retransmissions = 0;
};

inline SippCounts ReadSippStats(const std::string& path) {
  std::ifstream in(path);
  std::string header, line, last;
  std::getline(in, header);
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  auto split = [](const std::string& s) {
    std::vector<std::string> v;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ';')) v.push_back(item);
    return v;
  };
  const auto names = split(header), values = split(last);
  auto get = [&](const std::string& name) -> long {
    for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
      if (names[i] == name) return std::atol(values[i].c_str());
    }
    return 0;
  };
  return {get("TotalCallCreated"), get("SuccessfulCall(C)"), get("FailedCall(C)"),
          get("Retransmissions(C)")};
}

// Response times SIPp wrote with -trace_rtt -rtt_freq 1 (one line per measured call):
// the milliseconds of each and the span of time they were measured over.
struct Rtts {
  std::vector<double> ms;
  double first_at_ms = 0, last_at_ms = 0;
};

inline Rtts ReadRtts(const std::string& dir) {
  Rtts r;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().string().find("_rtt.csv") == std::string::npos) continue;
    std::ifstream in(e.path());
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      double at = 0, ms = 0;
      if (std::sscanf(line.c_str(), "%lf;%lf", &at, &ms) != 2) continue;
      if (r.ms.empty() || at < r.first_at_ms) r.first_at_ms = at;
      r.last_at_ms = std::max(r.last_at_ms, at);
      r.ms.push_back(ms);
    }
    std::filesystem::remove(e.path());
  }
  return r;
}

// The first lines of a SIPp error file, to say why a step failed.
inline std::string FirstLines(const std::string& path, int n = 12) {
  std::ifstream in(path);
  std::string out, line;
  for (int i = 0; i < n && std::getline(in, line); ++i) out += "    " + line + "\n";
  return out;
}

// Sums the samples of one Prometheus counter family by its label set, from /metrics text.
inline std::map<std::string, double> Counters(const std::string& text, const std::string& family) {
  std::map<std::string, double> out;
  std::stringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(family + "{", 0) != 0) continue;
    const auto space = line.rfind(' ');
    out[line.substr(family.size(), space - family.size())] += std::atof(line.c_str() + space + 1);
  }
  return out;
}

}  // namespace cc::bench

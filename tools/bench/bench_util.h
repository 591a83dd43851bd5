#pragma once

// Small helpers shared by the benchmark programs under tools/bench.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/config.h"

namespace cc::bench {

// The servers a benchmark uses (it creates its own database): the local stack's by default.
inline void AddServerOptions(Config& config) {
  config.add_string("pg-admin-url", "postgresql://postgres@127.0.0.1:55432/postgres",
                    "PostgreSQL URL of a role that may CREATE DATABASE (default: the local stack)");
  config.add_string("nats-url", "nats://127.0.0.1:54222", "NATS server (default: the local stack)");
}

// The p-th quantile (0..1) of the samples, nearest rank; 0 when there are none.
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

// "1,2,4" -> {1, 2, 4}; items that are not numbers are skipped.
inline std::vector<int> SplitInts(const std::string& list) {
  std::vector<int> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      out.push_back(std::stoi(item));
    } catch (...) {
    }
  }
  return out;
}

// CPU time (user + system) in clock ticks used so far by `pid` and all its descendants,
// from /proc. Processes that already exited are not counted.
inline long ProcessTreeTicks(pid_t root) {
  std::map<pid_t, pid_t> parent;
  std::map<pid_t, long> ticks;
  DIR* d = opendir("/proc");
  if (!d) return 0;
  while (dirent* e = readdir(d)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(f, line)) continue;
    const auto close = line.rfind(')');  // the command name may hold spaces
    if (close == std::string::npos) continue;
    std::stringstream rest(line.substr(close + 2));
    std::vector<std::string> fields;
    std::string field;
    while (rest >> field) fields.push_back(field);
    if (fields.size() < 13) continue;
    // After "pid (comm)": state ppid ... utime(12th) stime(13th), counting state as 1st.
    parent[pid] = static_cast<pid_t>(std::stol(fields[1]));
    ticks[pid] = std::stol(fields[11]) + std::stol(fields[12]);
  }
  closedir(d);
  long sum = 0;
  for (const auto& [pid, t] : ticks) {
    for (pid_t p = pid; p > 1; p = parent.count(p) ? parent[p] : 0) {
      if (p == root) {
        sum += t;
        break;
      }
    }
  }
  return sum;
}

inline double TicksPerSecond() {
  return static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace cc::bench
